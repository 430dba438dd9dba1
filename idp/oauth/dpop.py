"""DPoP: Demonstrating Proof of Possession (RFC 9449).

A portal holding a key pair sends, with a request, a *proof*: a JWT in the ``DPoP`` header,
signed with the private key, naming the public key (``jwk``), the request (``htm``, ``htu``),
the time (``iat``), a unique ``jti`` and, at a resource, the hash of the access token (``ath``).
Tokens issued on a proof are bound to the key's thumbprint (``cnf.jkt``, RFC 7638), so a stolen
token is useless without the key.

What is checked here (RFC 9449 4.3), in this order, with ``invalid_dpop_proof`` on failure:
one header, a compact JWS; ``typ`` ``dpop+jwt``; an asymmetric ``alg`` of
:data:`ALGORITHMS`; a public ``jwk`` (no private member), and the signature with it; ``jti``,
``htm`` (the request's method), ``htu`` (the request's URL without query and fragment,
compared normalised), ``iat`` within ``IDP_DPOP_IAT_WINDOW`` seconds of now; at a resource,
``ath``; then the server nonce (section 8, 9: ``use_dpop_nonce`` with a ``DPoP-Nonce`` header)
when ``IDP_DPOP_REQUIRE_NONCE`` is on or the proof carries one. Last, the ``jti`` is claimed in
Redis (one ``SET NX`` with the window's TTL, per key thumbprint): a replayed proof is refused
(section 11.1).

Nonces are stateless (no Redis): an HMAC of the minute under a key derived from
``IDP_SECRET_KEY``, so every worker issues and accepts the same ones; a nonce is accepted for
:data:`NONCE_STEPS` minutes.

A request without a ``DPoP`` header costs nothing here (no parsing, no I/O).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from idp.oauth.errors import OAuth2Error
from idp.oauth.requests import ProtocolRequest

# dpop_signing_alg_values_supported (RFC 9449 5.1): asymmetric only, never "none" or HMAC.
# Ed25519 is the fully specified name of EdDSA over Ed25519 (RFC 9864).
ALGORITHMS = ("ES256", "PS256", "RS256", "Ed25519")
_KEY_TYPES = {"ES256": ECKey, "PS256": RSAKey, "RS256": RSAKey, "Ed25519": OKPKey}
# Members of a JWK that only a private (or symmetric) key has (RFC 7517, RFC 7518 6).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048
MAX_PROOF_LENGTH = 8192
MAX_JTI_LENGTH = 256
# An RFC 7638 SHA-256 thumbprint, base64url without padding: 43 characters.
JKT_LENGTH = 43
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# Server nonces: one a minute, each accepted for this many minutes (the current one included).
NONCE_STEP = 60
NONCE_STEPS = 5
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _ProofRegistry(JWSRegistry):
    """joserfc's JWS rules with room for the key in the header (an RSA key's ``jwk`` is longer
    than joserfc's default 512 bytes); the whole proof is bounded by MAX_PROOF_LENGTH."""

    max_header_length = MAX_PROOF_LENGTH


_REGISTRIES = {alg: _ProofRegistry(algorithms=[alg]) for alg in ALGORITHMS}
_HEADER_REGISTRY = _ProofRegistry(algorithms=list(ALGORITHMS))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_token_hash(access_token: str) -> str:
    """``ath`` (RFC 9449 4.2): base64url of the SHA-256 of the access token's ASCII."""
    return b64url(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def is_thumbprint(value: object) -> bool:
    """A well-formed ``dpop_jkt`` (RFC 9449 10): a base64url SHA-256 JWK thumbprint."""
    return isinstance(value, str) and len(value) == JKT_LENGTH and set(value) <= _B64URL


def normalise_uri(uri: str) -> str | None:
    """``htu`` as compared (RFC 9449 4.3 item 9, RFC 3986 6.2.2 and 6.2.3): scheme and host in
    lower case, a default port dropped, an empty path as ``/``, no query and no fragment."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


class InvalidDPoPProofError(OAuth2Error):
    """RFC 9449 5, 7.1: the proof is missing where it must be, malformed, or does not match."""

    error = "invalid_dpop_proof"
    status_code = 400


class UseDPoPNonceError(OAuth2Error):
    """RFC 9449 8, 9: send the proof again with the nonce in the ``DPoP-Nonce`` header."""

    error = "use_dpop_nonce"
    status_code = 400

    def __init__(self, description: str, nonce: str) -> None:
        super().__init__(description)
        self.nonce = nonce

    def get_headers(self) -> list[tuple[str, str]]:
        return [*super().get_headers(), ("DPoP-Nonce", self.nonce)]


@dataclass(frozen=True)
class Proof:
    """A checked proof: the key's thumbprint (``jkt``), its ``jti``, and the nonce to send back
    in ``DPoP-Nonce`` (a fresh one when nonces are in use and the proof's is not the newest)."""

    jkt: str
    jti: str
    next_nonce: str | None = None


class Nonces:
    """Stateless server nonces (RFC 9449 8): ``HMAC(key, minute)``, accepted for
    :data:`NONCE_STEPS` minutes, the same in every process sharing ``IDP_SECRET_KEY``."""

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), b"idp dpop nonce", hashlib.sha256).digest()

    def _value(self, step: int) -> str:
        return b64url(hmac.new(self._key, step.to_bytes(8, "big"), hashlib.sha256).digest())

    def current(self, now: float | None = None) -> str:
        return self._value(int((time.time() if now is None else now) // NONCE_STEP))

    def valid(self, nonce: str, now: float | None = None) -> bool:
        step = int((time.time() if now is None else now) // NONCE_STEP)
        matched = False
        for earlier in range(NONCE_STEPS):
            matched |= hmac.compare_digest(self._value(step - earlier), nonce)
        return matched


def _modulus_bits(value: Any) -> int:
    if not isinstance(value, str) or len(value) > 2048:
        return 0
    try:
        data = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return 0
    return int.from_bytes(data, "big").bit_length()


def bind_pushed_request(params: dict[str, list[str]], proof: Proof | None) -> None:
    """RFC 9449 10.1: a proof at the pushed authorization request endpoint binds the code as
    ``dpop_jkt`` does; when both are sent they must name the same key."""
    if proof is None:
        return
    sent = params.get("dpop_jkt")
    if sent and sent != [proof.jkt]:
        raise InvalidDPoPProofError("The DPoP proof's key is not the one dpop_jkt names.")
    params["dpop_jkt"] = [proof.jkt]


def proof_header(request: ProtocolRequest) -> str | None:
    """The ``DPoP`` header's value, or None. Header names are case-insensitive (RFC 9110 5.1);
    repeated headers reach us joined with commas, which a compact JWS never has."""
    for name, value in request.headers.items():
        if len(name) == 4 and name.lower() == "dpop":
            return str(value)
    return None


class DPoP:
    """Checks DPoP proofs (the service ``dpop``)."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        secret_key: str,
        iat_window: int,
        require_nonce: bool,
    ) -> None:
        self._redis = redis_client
        self.iat_window = iat_window
        self.require_nonce = require_nonce
        self.nonces = Nonces(secret_key)

    def check(self, request: ProtocolRequest, *, access_token: str | None = None) -> Proof | None:
        """The request's proof, checked and its ``jti`` claimed; None when it has none."""
        proof = self.verify(request, access_token=access_token)
        if proof is not None:
            self.claim(proof)
        return proof

    def verify(self, request: ProtocolRequest, *, access_token: str | None = None) -> Proof | None:
        """Everything but the replay check (no I/O): raises InvalidDPoPProofError or
        UseDPoPNonceError. ``access_token``: the token the proof must cover (``ath``)."""
        value = proof_header(request)
        if value is None:
            return None
        return self._verify(value.strip(), request, access_token)

    def claim(self, proof: Proof) -> None:
        """RFC 9449 11.1: a ``jti`` is accepted once per key within the ``iat`` window (the
        key lives twice the window: an ``iat`` may be that far ahead, too)."""
        digest = hashlib.sha256(proof.jti.encode()).hexdigest()[:32]
        key = f"idp:dpop:jti:{proof.jkt}:{digest}"
        if not self._redis.set(key, "1", nx=True, ex=2 * self.iat_window):
            raise InvalidDPoPProofError("The DPoP proof was already used (jti replayed).")

    # -- the checks --------------------------------------------------------------------------
    def _verify(self, value: str, request: ProtocolRequest, access_token: str | None) -> Proof:
        if not value or len(value) > MAX_PROOF_LENGTH or value.count(".") != 2 or "," in value:
            raise InvalidDPoPProofError("The DPoP header must hold one JWT.")
        try:
            header = jws.extract_compact(value.encode("ascii"), None, _HEADER_REGISTRY).protected
        except (JoseError, ValueError, TypeError):
            raise InvalidDPoPProofError("The DPoP proof is not a JWS.") from None
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() != "dpop+jwt":
            raise InvalidDPoPProofError("The DPoP proof's typ must be dpop+jwt.")
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise InvalidDPoPProofError(
                f"The DPoP proof's alg must be one of {', '.join(ALGORITHMS)}."
            )
        key = self._public_key(header.get("jwk"), alg)
        try:
            payload = jws.deserialize_compact(value, key, registry=_REGISTRIES[alg]).payload
            claims = json.loads(payload)
        except (JoseError, ValueError, TypeError):
            raise InvalidDPoPProofError("The DPoP proof's signature does not verify.") from None
        if not isinstance(claims, dict):
            raise InvalidDPoPProofError("The DPoP proof's payload must be a JSON object.")
        nonce = self._check_claims(claims, request, access_token)
        return Proof(jkt=key.thumbprint(), jti=claims["jti"], next_nonce=nonce)

    @staticmethod
    def _public_key(jwk: Any, alg: str) -> ECKey | RSAKey | OKPKey:
        if not isinstance(jwk, dict):
            raise InvalidDPoPProofError("The DPoP proof must carry its public key in jwk.")
        if PRIVATE_MEMBERS.intersection(jwk):
            raise InvalidDPoPProofError("The DPoP proof's jwk must be a public key.")
        if jwk.get("kty") == "RSA" and _modulus_bits(jwk.get("n")) < MIN_RSA_BITS:
            # Before the import, which only warns about a short key.
            raise InvalidDPoPProofError("The DPoP proof's RSA key is shorter than 2048 bits.")
        try:
            key = JWKRegistry.import_key(jwk)
        except (JoseError, ValueError, TypeError, KeyError):
            raise InvalidDPoPProofError("The DPoP proof's jwk is not a usable key.") from None
        if not isinstance(key, _KEY_TYPES[alg]):
            raise InvalidDPoPProofError("The DPoP proof's jwk does not fit its alg.")
        if isinstance(key, RSAKey) and key.raw_value.key_size < MIN_RSA_BITS:
            raise InvalidDPoPProofError("The DPoP proof's RSA key is shorter than 2048 bits.")
        return key

    def _check_claims(
        self, claims: dict[str, Any], request: ProtocolRequest, access_token: str | None
    ) -> str | None:
        """The claims (RFC 9449 4.2, 4.3); returns the ``DPoP-Nonce`` to send back, if any."""
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise InvalidDPoPProofError("The DPoP proof needs a jti (at most 256 characters).")
        if claims.get("htm") != request.method:
            raise InvalidDPoPProofError("The DPoP proof's htm is not this request's method.")
        htu = claims.get("htu")
        expected = normalise_uri(request.uri)
        if not isinstance(htu, str) or expected is None or normalise_uri(htu) != expected:
            raise InvalidDPoPProofError("The DPoP proof's htu is not this endpoint's URL.")
        iat = claims.get("iat")
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise InvalidDPoPProofError("The DPoP proof needs a numeric iat.")
        now = time.time()
        if abs(now - iat) > self.iat_window:
            raise InvalidDPoPProofError("The DPoP proof's iat is too old or in the future.")
        if access_token is not None:
            ath = claims.get("ath")
            if ath is None:
                raise InvalidDPoPProofError("The DPoP proof must carry ath for the access token.")
            if not isinstance(ath, str) or not hmac.compare_digest(
                ath, access_token_hash(access_token)
            ):
                raise InvalidDPoPProofError("The DPoP proof's ath does not match the token.")
        nonce = claims.get("nonce")
        if nonce is None:
            if self.require_nonce:
                raise UseDPoPNonceError(
                    "The DPoP proof must carry the server's nonce.", self.nonces.current(now)
                )
            return None
        if not isinstance(nonce, str) or not self.nonces.valid(nonce, now):
            raise UseDPoPNonceError(
                "The DPoP proof's nonce is unknown or expired.", self.nonces.current(now)
            )
        current = self.nonces.current(now)
        return None if hmac.compare_digest(nonce, current) else current

    # -- resource servers (RFC 9449 7.1) -----------------------------------------------------
    @staticmethod
    def challenge(error: str | None = None, description: str | None = None) -> str:
        """The ``WWW-Authenticate: DPoP`` challenge of a resource, with ``algs``."""
        parts = []
        if error:
            parts.append(f'error="{error}"')
            if description:
                parts.append(f'error_description="{description}"')
        parts.append(f'algs="{" ".join(ALGORITHMS)}"')
        return "DPoP " + ", ".join(parts)
