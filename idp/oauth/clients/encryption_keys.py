"""What a portal's encryption metadata may be, and which of its keys answers are encrypted to
(OpenID Connect Dynamic Client Registration 1.0 section 2; Core 10.2). Pure: no I/O.

``id_token_encrypted_response_alg`` / ``_enc``, ``userinfo_encrypted_response_alg`` / ``_enc``
and ``userinfo_signed_response_alg`` are checked by ``.validation``; the encryption itself is
``idp.oauth.encryption``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idp.errors import IdpError
from idp.oauth.keys import SUPPORTED_ALGORITHMS

# id_token_encryption_alg_values_supported, userinfo_encryption_alg_values_supported.
ENCRYPTION_ALGORITHMS = ("RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A256KW")
# id_token_encryption_enc_values_supported, userinfo_encryption_enc_values_supported.
CONTENT_ENCRYPTIONS = ("A256GCM", "A128CBC-HS256")
# Registration 2: "If ..._alg is specified, the default ..._enc value is A128CBC-HS256."
DEFAULT_CONTENT_ENCRYPTION = "A128CBC-HS256"
KEY_TYPES = {"RSA-OAEP-256": "RSA", "ECDH-ES": "EC", "ECDH-ES+A256KW": "EC"}
# (alg field, enc field) of each kind of encrypted answer.
ENCRYPTED_ANSWERS = (
    ("id_token_encrypted_response_alg", "id_token_encrypted_response_enc"),
    ("userinfo_encrypted_response_alg", "userinfo_encrypted_response_enc"),
)


def pick_encryption_key(keys: list[Any], alg: str) -> dict[str, Any] | None:
    """The first public key with ``use: "enc"`` of the type ``alg`` needs (RSA; EC P-256),
    whose ``alg``, when it names one, is ``alg``."""
    kind = KEY_TYPES.get(alg)
    for key in keys:
        if (
            isinstance(key, dict)
            and key.get("use") == "enc"
            and key.get("kty") == kind
            and key.get("alg") in (None, alg)
            and (kind != "EC" or key.get("crv") == "P-256")
        ):
            return key
    return None


def encryption_key_problem(key_set: Any, alg: str) -> str | None:
    """What is wrong with ``key_set`` (a JWK set document) as the recipient of ``alg``, or
    None."""
    if not isinstance(key_set, Mapping) or not isinstance(key_set.get("keys"), list):
        return "holds no JWK set"
    if pick_encryption_key(key_set["keys"], alg) is None:
        kind = "an RSA" if KEY_TYPES.get(alg) == "RSA" else "an EC P-256"
        return f'holds no {kind} key with "use": "enc" for {alg}'
    return None


def check_encryption(check: Any) -> None:
    """The field checks of the encryption metadata (a ``.validation.Check``): known algorithms;
    an ``..._enc`` only with its ``..._alg`` (defaulting to A128CBC-HS256); and a portal asking
    for encryption must register a key set (``jwks`` or ``jwks_uri``) whose registered ``jwks``
    holds a key with ``use: "enc"`` for the algorithm (``jwks_uri``: see
    :func:`check_remote_encryption_keys`)."""
    signing = check.data.get("userinfo_signed_response_alg")
    if signing in (None, ""):
        check.result["userinfo_signed_response_alg"] = None
    elif not isinstance(signing, str) or signing not in SUPPORTED_ALGORITHMS:
        check.error(
            "userinfo_signed_response_alg",
            "unknown_value",
            f"must be one of: {', '.join(SUPPORTED_ALGORITHMS)}",
        )
    else:
        check.result["userinfo_signed_response_alg"] = signing
    for alg_field, enc_field in ENCRYPTED_ANSWERS:
        alg = check.data.get(alg_field)
        enc = check.data.get(enc_field)
        check.result[alg_field] = check.result[enc_field] = None
        if alg in (None, ""):
            if enc not in (None, ""):
                check.error(enc_field, "required", f"needs {alg_field} (Registration 2)")
            continue
        if not isinstance(alg, str) or alg not in ENCRYPTION_ALGORITHMS:
            check.error(
                alg_field, "unknown_value", f"must be one of: {', '.join(ENCRYPTION_ALGORITHMS)}"
            )
            continue
        if enc in (None, ""):
            enc = DEFAULT_CONTENT_ENCRYPTION
        if not isinstance(enc, str) or enc not in CONTENT_ENCRYPTIONS:
            check.error(
                enc_field, "unknown_value", f"must be one of: {', '.join(CONTENT_ENCRYPTIONS)}"
            )
            continue
        check.result[alg_field], check.result[enc_field] = alg, enc
        jwks, jwks_uri = check.data.get("jwks"), check.data.get("jwks_uri")
        if jwks is None and jwks_uri in (None, ""):
            check.error(
                alg_field,
                "no_encryption_key",
                'needs jwks or jwks_uri with a key for encryption ("use": "enc")',
            )
        elif jwks is not None and not check.failed("jwks"):
            problem = encryption_key_problem(jwks, alg)
            if problem:
                check.error(alg_field, "no_encryption_key", f"jwks {problem}")


def check_remote_encryption_keys(check: Any, fetch: Any) -> None:
    """A portal asking for encryption with a ``jwks_uri``: the document it answers must hold
    the encryption key (fetched when the URI or an encryption algorithm changed; a failure to
    fetch is reported by the key set's own check)."""
    jwks_uri = check.result.get("jwks_uri")
    if not jwks_uri or check.failed("jwks_uri") or check.failed("jwks"):
        return
    wanted = [
        (name, check.result[name])
        for name, _ in ENCRYPTED_ANSWERS
        if check.result.get(name) and not check.failed(name)
    ]
    if not wanted or not (check.changed("jwks_uri") or any(check.changed(n) for n, _ in wanted)):
        return
    try:
        document = fetch(jwks_uri, check.policy.fetch_timeout)
    except IdpError:  # a FetchError: check_remote reports the fetch itself
        return
    for name, alg in wanted:
        problem = encryption_key_problem(document, alg)
        if problem:
            check.error(name, "no_encryption_key", f"the jwks_uri document {problem}")
