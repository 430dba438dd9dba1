"""The authorization endpoint: a table of small checks, run in a visible order.

RFC 6749 section 4.1.1, OpenID Connect Core 1.0 section 3.1.2, RFC 7636, RFC 9207, RFC 9700.
Each check reads the raw parameters and fills in the :class:`AuthorizationRequest`. The first two
checks (client and redirect URI) raise :class:`UntrustedRedirectError`: nothing may be sent to a
redirect URI that is not registered. After them every error is returned to the portal.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from idp.errors import IdpError
from idp.identity import delegation, levels
from idp.models import Account, Client
from idp.oauth import authorization_details, dpop
from idp.oauth import claims as claims_module
from idp.oauth.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    InvalidRequestError,
    InvalidRequestURIError,
    InvalidScopeError,
    LoginRequiredError,
    OAuth2Error,
    UnmetAuthenticationRequirementsError,
    UnsupportedResponseTypeError,
    UntrustedRedirectError,
)
from idp.oauth.fapi import is_fapi2
from idp.store.sessions import LoginSession

# The JWT modes are OpenID JARM's (2.3); with response_type=code, "jwt" means "query.jwt".
RESPONSE_MODES = (
    "query",
    "fragment",
    "form_post",
    "jwt",
    "query.jwt",
    "fragment.jwt",
    "form_post.jwt",
)
# RFC 9126 2.2: the request_uri values the pushed authorization request endpoint hands out.
PUSHED_REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
PROMPT_VALUES = ("none", "login", "consent", "select_account")
CODE_CHALLENGE_PATTERN = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
MAX_PARAMETER_LENGTH = 4096


@dataclass
class AuthorizationRequest:
    """A validated authorization request; stored as JSON while the person logs in."""

    client_id: str
    redirect_uri: str
    response_mode: str = "query"
    state: str | None = None
    scopes: list[str] = field(default_factory=list)
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: list[str] = field(default_factory=list)
    max_age: int | None = None
    claims: dict[str, dict[str, Any]] | None = None
    acr_values: list[str] = field(default_factory=list)
    login_hint: str | None = None
    id_token_hint_subject: str | None = None
    ui_locales: list[str] = field(default_factory=list)
    # Classes of matters a company login is for (``matters`` parameter or ``delegation`` claim
    # request); none: the classes the portal serves.
    matters: list[str] = field(default_factory=list)
    # RFC 9396: the ``gov_matter`` details asked for (``idp.oauth.authorization_details``).
    authorization_details: list[dict[str, Any]] | None = None
    # RFC 9449 10: the DPoP key thumbprint the code is bound to (``dpop_jkt``).
    dpop_jkt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuthorizationRequest:
        return cls(**data)

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)


@dataclass
class CheckContext:
    """What the checks need besides the parameters."""

    params: dict[str, list[str]]
    find_client: Callable[[str], Client | None]
    verify_own_jwt: Callable[[str], dict[str, Any]]
    issuer: str
    scopes_supported: tuple[str, ...]
    client: Client | None = None
    # Pushed authorization requests (RFC 9126): take one by its request_uri (once), whether
    # every portal must push (IDP_REQUIRE_PAR), and whether this is the push itself (/par).
    take_pushed: Callable[[str], dict[str, Any] | None] | None = None
    require_par: bool = False
    pushing: bool = False
    pushed: bool = False
    # Signed request objects (RFC 9101): open one (verified) into its parameters.
    open_request_object: Callable[[Client, str], dict[str, list[str]]] | None = None
    signed: bool = False
    # A request object that failed in the trust checks, returned once the redirect URI is.
    deferred: OAuth2Error | None = None

    def permitted_claims(self) -> set[str]:
        """The user claims this portal may ask for: those its scopes release, less restricted
        claims (the full ID number) an administrator has not allowed it."""
        assert self.client is not None
        names = claims_module.claim_names_for([*self.client.scopes, "openid"], None)
        allowed = set(self.client.allowed_sensitive_claims or [])
        return {n for n in names if n not in claims_module.RESTRICTED_CLAIMS or n in allowed}


def _single(ctx: CheckContext, name: str) -> str | None:
    values = ctx.params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequestError(f"Parameter '{name}' is repeated.")
    if len(values[0]) > MAX_PARAMETER_LENGTH:
        raise InvalidRequestError(f"Parameter '{name}' is too long.")
    return values[0] or None


# -- checks before the redirect URI is trusted ----------------------------------------------


def check_pushed_request(ctx: CheckContext, req: dict[str, Any]) -> None:
    """RFC 9126 4: ``request_uri`` from /par, with ``client_id``: the pushed parameters (as
    validated at the push) replace every other one. Taken once; bound to the client. A
    ``request_uri`` of another kind is refused by :func:`check_request_object`."""
    values = ctx.params.get("request_uri")
    if not values or ctx.take_pushed is None or ctx.pushing:
        return
    if len(values) != 1 or not values[0].startswith(PUSHED_REQUEST_URI_PREFIX):
        return
    client_ids = ctx.params.get("client_id") or []
    if len(client_ids) != 1 or len(values[0]) > MAX_PARAMETER_LENGTH:
        raise UntrustedRedirectError("invalid_request", "client")
    pushed = ctx.take_pushed(values[0])
    if pushed is None or pushed.get("client_id") != client_ids[0]:
        raise UntrustedRedirectError("invalid_request_uri", "request_uri")
    ctx.params = {name: list(v) for name, v in pushed["params"].items()}
    ctx.pushed = True
    ctx.signed = bool(pushed.get("signed"))


def check_client(ctx: CheckContext, req: dict[str, Any]) -> None:
    try:
        client_id = _single(ctx, "client_id")
    except InvalidRequestError:
        raise UntrustedRedirectError("invalid_request", "client") from None
    client = ctx.find_client(client_id) if client_id else None
    if client is None or not client.active:
        raise UntrustedRedirectError("invalid_client", "client")
    ctx.client = client
    req["client_id"] = client.client_id


def check_signed_request(ctx: CheckContext, req: dict[str, Any]) -> None:
    """RFC 9101: a signed request object (``request``, by value). Its parameters, and only
    they, make the request (6.3), the redirect URI included; the ``client_id`` outside must be
    the object's (5). A failure is returned to the redirect URI given outside when that one is
    registered (:func:`check_request_object`), otherwise shown as a page."""
    assert ctx.client is not None
    values = ctx.params.get("request")
    if not values or ctx.open_request_object is None:
        return
    if len(values) > 1:
        ctx.deferred = InvalidRequestError("Parameter 'request' is repeated.")
        return
    try:
        params = ctx.open_request_object(ctx.client, values[0])
    except OAuth2Error as error:
        ctx.deferred = error
        return
    params["client_id"] = [ctx.client.client_id]
    ctx.params = params
    ctx.signed = True


def check_redirect_uri(ctx: CheckContext, req: dict[str, Any]) -> None:
    """Exact match against the registered URIs (RFC 9700 section 2.1); required for OIDC."""
    assert ctx.client is not None
    # A request object that failed: its error when the redirect URI outside it is trusted.
    error, key = (
        ("invalid_request", "redirect_uri")
        if ctx.deferred is None
        else (ctx.deferred.error, "request_object")
    )
    try:
        redirect_uri = _single(ctx, "redirect_uri")
    except InvalidRequestError:
        raise UntrustedRedirectError(error, key) from None
    if not redirect_uri or not ctx.client.check_redirect_uri(redirect_uri):
        raise UntrustedRedirectError(error, key)
    req["redirect_uri"] = redirect_uri


# -- checks whose errors go back to the portal ------------------------------------------------


def check_response_mode(ctx: CheckContext, req: dict[str, Any]) -> None:
    """OAuth 2.0 Multiple Response Type Encoding Practices and Form Post Response Mode."""
    mode = _single(ctx, "response_mode") or "query"
    if mode not in RESPONSE_MODES:
        raise InvalidRequestError("Unsupported 'response_mode'.")
    req["response_mode"] = mode


def check_state(ctx: CheckContext, req: dict[str, Any]) -> None:
    req["state"] = _single(ctx, "state")


def check_request_object(ctx: CheckContext, req: dict[str, Any]) -> None:
    """How the request came: pushed (RFC 9126), as a signed request object (RFC 9101), or
    as plain parameters; and whether the portal may send it so.

    A request object that failed is ``invalid_request_object``; a ``request_uri`` that is not
    one of /par's is refused (``invalid_request_uri``: requests by reference are not fetched),
    and one cannot be pushed (RFC 9126 2.1). A portal that must push (its
    ``require_pushed_authorization_requests``, IDP_REQUIRE_PAR or the ``fapi2`` profile) or
    must sign (``require_signed_request_object``, RFC 9101 10.5) is refused otherwise."""
    assert ctx.client is not None
    if ctx.deferred is not None:
        raise ctx.deferred
    if "request_uri" in ctx.params:
        if ctx.pushing:
            raise InvalidRequestError("'request_uri' cannot be pushed (RFC 9126 2.1).")
        raise InvalidRequestURIError(
            "Only a request_uri from the pushed authorization request endpoint is accepted."
        )
    if not ctx.pushed and not ctx.pushing:
        if is_fapi2(ctx.client):
            raise InvalidRequestError(
                "The fapi2 profile requires a pushed authorization request (RFC 9126)."
            )
        if ctx.require_par or ctx.client.require_pushed_authorization_requests:
            raise InvalidRequestError(
                "This portal must push its authorization requests to the pushed "
                "authorization request endpoint (RFC 9126)."
            )
    if ctx.client.require_signed_request_object and not ctx.signed:
        raise InvalidRequestError(
            "This portal must send its authorization requests as a signed request object "
            "(RFC 9101)."
        )


def check_response_type(ctx: CheckContext, req: dict[str, Any]) -> None:
    """Only the authorization code flow (RFC 9700 section 2.1.2: no implicit)."""
    response_type = _single(ctx, "response_type")
    if not response_type:
        raise InvalidRequestError("Missing 'response_type'.")
    if response_type != "code":
        raise UnsupportedResponseTypeError(
            response_type=response_type, description="Only 'response_type=code' is supported."
        )


def check_scope(ctx: CheckContext, req: dict[str, Any]) -> None:
    """RFC 6749 section 3.3; unknown scopes or scopes the portal may not ask for are refused."""
    assert ctx.client is not None
    raw = _single(ctx, "scope") or ""
    scopes = list(dict.fromkeys(raw.split()))
    if not scopes:
        raise InvalidScopeError("The 'scope' parameter is required.")
    allowed = set(ctx.client.scopes) | {"openid"}
    permitted = ctx.permitted_claims()
    # A scope releasing only sensitive claims the portal is not allowed is not allowed either.
    barred = {
        scope
        for scope, names in claims_module.SCOPE_CLAIMS.items()
        if names and not permitted.intersection(names)
    }
    # Portal scopes belong to the portal's own token (client credentials), never to a login.
    barred |= set(claims_module.PORTAL_SCOPES)
    unknown = [
        s for s in scopes if s not in ctx.scopes_supported or s not in allowed or s in barred
    ]
    if unknown:
        raise InvalidScopeError(f"Scope not allowed for this portal: {' '.join(unknown)}.")
    req["scopes"] = scopes


def check_pkce(ctx: CheckContext, req: dict[str, Any]) -> None:
    """RFC 7636 with RFC 9700 section 2.1.1: S256 only; required for public clients."""
    assert ctx.client is not None
    challenge = _single(ctx, "code_challenge")
    method = _single(ctx, "code_challenge_method")
    if challenge is None:
        if method is not None:
            raise InvalidRequestError("'code_challenge_method' without 'code_challenge'.")
        if ctx.client.public:
            raise InvalidRequestError("PKCE is required: send 'code_challenge' (S256).")
        if is_fapi2(ctx.client):
            raise InvalidRequestError("The fapi2 profile requires PKCE: send 'code_challenge'.")
        return
    # RFC 7636 4.3: the default method is "plain", which we refuse.
    if method != "S256":
        raise InvalidRequestError("Only 'code_challenge_method=S256' is supported.")
    if not CODE_CHALLENGE_PATTERN.match(challenge):
        raise InvalidRequestError("Invalid 'code_challenge'.")
    req["code_challenge"] = challenge
    req["code_challenge_method"] = method


def check_nonce(ctx: CheckContext, req: dict[str, Any]) -> None:
    """OIDC Core 3.1.2.1: optional for the code flow, echoed in the ID token."""
    req["nonce"] = _single(ctx, "nonce")


def check_prompt(ctx: CheckContext, req: dict[str, Any]) -> None:
    """OIDC Core 3.1.2.1: ``none`` with any other value is an error."""
    values = (_single(ctx, "prompt") or "").split()
    if any(v not in PROMPT_VALUES for v in values):
        raise InvalidRequestError("Unsupported 'prompt' value.")
    if "none" in values and len(values) > 1:
        raise InvalidRequestError("'prompt=none' cannot be combined with other values.")
    req["prompt"] = list(dict.fromkeys(values))


def check_max_age(ctx: CheckContext, req: dict[str, Any]) -> None:
    raw = _single(ctx, "max_age")
    if raw is None:
        return
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise InvalidRequestError("'max_age' must be a non-negative integer.")
    req["max_age"] = int(raw)


def check_claims(ctx: CheckContext, req: dict[str, Any]) -> None:
    """OIDC Core 5.5; user claims the portal's allowed scopes cannot release are dropped
    (5.5.1: the OP may decline requested claims; the scope allow-list is not bypassed)."""
    assert ctx.client is not None
    claims = claims_module.parse_claims_parameter(_single(ctx, "claims"))
    allowed = ctx.permitted_claims()
    for requested in (claims or {}).values():
        for name in [n for n in requested if n in claims_module.USER_CLAIMS]:
            if name not in allowed:
                del requested[name]
        verified = requested.get(claims_module.VERIFIED_CLAIMS)
        if verified is not None:
            inner = verified.get("claims") if isinstance(verified, dict) else None
            if not isinstance(inner, dict) or not isinstance(verified.get("verification"), dict):
                # OIDC4IDA section 5: both members are required in a verified_claims request.
                raise InvalidRequestError("'verified_claims' needs 'verification' and 'claims'.")
            for name in list(inner):
                if name not in claims_module.CLAIMS_IN_VERIFIED_CLAIMS or name not in allowed:
                    del inner[name]
    req["claims"] = claims


def check_matters(ctx: CheckContext, req: dict[str, Any]) -> None:
    """Legal-person issue, item 4: the classes of matters a company login is for, from the
    ``matters`` parameter (space-separated codes) or a ``delegation`` claim request with
    ``matters`` (OIDC Core 5.5: members of a claim request beyond ``essential``/``value(s)``
    may be defined)."""
    codes = (_single(ctx, "matters") or "").split()
    for target in (req.get("claims") or {}).values():
        request = target.get("delegation")
        if isinstance(request, dict) and request.get("matters") is not None:
            if not isinstance(request["matters"], list):
                raise InvalidRequestError("'delegation.matters' must be an array of codes.")
            codes += [str(code) for code in request["matters"]]
    codes = list(dict.fromkeys(codes))
    if len(codes) > 32 or any(not delegation.MATTER_CODE.match(code) for code in codes):
        raise InvalidRequestError("Invalid 'matters': codes such as tax or tax.declaration.")
    served = ctx.client.matters if ctx.client is not None else None
    if served and not delegation.matters_cover(served, codes):
        raise InvalidRequestError("'matters' names classes this portal does not serve.")
    req["matters"] = codes


def check_authorization_details(ctx: CheckContext, req: dict[str, Any]) -> None:
    """RFC 9396 2 and 5: ``authorization_details`` of the type ``gov_matter``, for classes of
    matters the portal serves; the classes also say what a company login is for (as the
    ``matters`` parameter does, when it is not given)."""
    assert ctx.client is not None
    raw = ctx.params.get("authorization_details")
    if raw and len(raw) > 1:
        raise InvalidRequestError("Parameter 'authorization_details' is repeated.")
    details = authorization_details.parse(
        raw[0] if raw else None, ctx.client, req.get("scopes") or []
    )
    req["authorization_details"] = details
    if details and not req.get("matters"):
        req["matters"] = authorization_details.matter_classes(details)


def check_acr_values(ctx: CheckContext, req: dict[str, Any]) -> None:
    req["acr_values"] = (_single(ctx, "acr_values") or "").split()


def check_id_token_hint(ctx: CheckContext, req: dict[str, Any]) -> None:
    """OIDC Core 3.1.2.1: an ID token we issued, to this portal; expiry is not checked."""
    hint = _single(ctx, "id_token_hint")
    if hint is None:
        return
    try:
        claims = ctx.verify_own_jwt(hint)
    except ValueError:
        raise InvalidRequestError("Invalid 'id_token_hint'.") from None
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if claims.get("iss") != ctx.issuer or req["client_id"] not in audiences:
        raise InvalidRequestError("Invalid 'id_token_hint'.")
    if not isinstance(claims.get("sub"), str):
        raise InvalidRequestError("Invalid 'id_token_hint'.")
    # A company login's ID token names the company in ``sub`` and the person in ``act.sub``.
    act = claims.get("act")
    person = act.get("sub") if isinstance(act, dict) else None
    req["id_token_hint_subject"] = person if isinstance(person, str) else claims["sub"]


def check_hints_and_locales(ctx: CheckContext, req: dict[str, Any]) -> None:
    req["login_hint"] = _single(ctx, "login_hint")
    req["ui_locales"] = (_single(ctx, "ui_locales") or "").split()


def check_dpop_jkt(ctx: CheckContext, req: dict[str, Any]) -> None:
    """RFC 9449 10: ``dpop_jkt``, the RFC 7638 thumbprint of the key the code is bound to: the
    code is redeemed only with a DPoP proof of that key. (At /par a DPoP proof sets it, 10.1:
    ``idp.oauth.dpop.bind_pushed_request``.)"""
    jkt = _single(ctx, "dpop_jkt")
    if jkt is not None and not dpop.is_thumbprint(jkt):
        raise InvalidRequestError(
            "Invalid 'dpop_jkt': the base64url SHA-256 thumbprint of a JWK (RFC 7638)."
        )
    req["dpop_jkt"] = jkt


# The order matters: nothing is redirected until the client and redirect URI are trusted, and
# the response mode and state are known before the first redirected error.
TRUST_CHECKS: tuple[Callable[[CheckContext, dict[str, Any]], None], ...] = (
    check_pushed_request,
    check_client,
    check_signed_request,
    check_redirect_uri,
)
CHECKS: tuple[Callable[[CheckContext, dict[str, Any]], None], ...] = (
    check_response_mode,
    check_state,
    check_request_object,
    check_response_type,
    check_scope,
    check_pkce,
    check_nonce,
    check_prompt,
    check_max_age,
    check_claims,
    check_matters,
    check_authorization_details,
    check_acr_values,
    check_id_token_hint,
    check_hints_and_locales,
    check_dpop_jkt,
)


class RedirectableError(IdpError):
    """An error to send to the trusted redirect URI of ``partial``: the protocol error
    ``error`` (its ``description`` is public), carried to the view that redirects."""

    def __init__(self, error: OAuth2Error, partial: dict[str, Any]) -> None:
        super().__init__(error.error, public_message=error.description)
        self.error = error
        self.partial = partial


def validate(ctx: CheckContext) -> AuthorizationRequest:
    """Run every check; raise UntrustedRedirectError or RedirectableError on the first failure."""
    req: dict[str, Any] = {}
    for check in TRUST_CHECKS:
        check(ctx, req)
    req.setdefault("response_mode", "query")
    for check in CHECKS:
        try:
            check(ctx, req)
        except OAuth2Error as error:
            if check is not check_state and "state" not in req:
                try:
                    check_state(ctx, req)
                except OAuth2Error:
                    pass
            raise RedirectableError(error, req) from None
    return AuthorizationRequest(**req)


# -- deciding what the person must do next ----------------------------------------------------


@dataclass
class Progress:
    """What has happened in this interaction so far."""

    logged_in_here: bool = False
    consented_here: bool = False
    # Scope ``entity``: whom the person chose to act as ("self" or a company id).
    acting_as: str | None = None
    # Scope ``materials``: the ids of the materials the person ticked on the consent page,
    # released to the grant the code is issued for (``idp.identity.materials``).
    released_materials: list[str] | None = None


def required_level(request: AuthorizationRequest, client: Client) -> str | None:
    """The lowest verification level this login must reach, or None.

    From the portal's registered minimum, the ``acr_values`` it lists (the lowest listed of ours
    is the floor: a higher level satisfies it), and an essential ``acr`` or
    ``verification_level`` claim request (OIDC Core 5.5.1.1). An essential request naming no
    level of ours cannot be met (``unmet_authentication_requirements``).
    """
    floors: list[str | None] = [client.minimum_verification_level]
    listed = [levels.from_acr(v) for v in request.acr_values]
    known = [level for level in listed if level]
    if known:
        floors.append(min(known, key=levels.rank))
    demanded_acr = claims_module.essential_acr_values(request.claims)
    demanded_level = claims_module.essential_levels(request.claims)
    for essential in (
        None if demanded_acr is None else [levels.from_acr(v) for v in demanded_acr],
        None
        if demanded_level is None
        else [v if v in levels.LEVELS else None for v in demanded_level],
    ):
        if essential is None:
            continue
        met = [level for level in essential if level]
        if not met:
            raise UnmetAuthenticationRequirementsError(
                "The portal requires an authentication level this provider does not offer."
            )
        floors.append(min(met, key=levels.rank))
    return levels.highest(floors)


def needs_login(
    request: AuthorizationRequest,
    session: LoginSession | None,
    progress: Progress,
    now: float | None = None,
) -> bool:
    if session is None:
        return True
    if progress.logged_in_here:
        return False
    if "login" in request.prompt or "select_account" in request.prompt:
        return True
    now = time.time() if now is None else now
    if request.max_age is not None and now - session.auth_time >= request.max_age:
        return True
    if request.id_token_hint_subject and request.id_token_hint_subject != session.subject:
        return True
    return False


def next_step(
    request: AuthorizationRequest,
    session: LoginSession | None,
    account: Account | None,
    progress: Progress,
    *,
    agreement: str | None = None,
    consent_needed: bool = True,
    required: str | None = None,
    reachable: str | None = None,
    second_factor: str | None = None,
) -> str:
    """``login``, ``second_factor``, ``agreement``, ``verify``, ``choose``, ``consent`` or
    ``issue``; raises the OAuth error to return.

    Agreement acceptance is part of login: an account that has not accepted the current
    material version of its agreement (``agreement="accept"``) does not get back to the portal
    before it does. A supplementary version (``agreement="notify"``) binds without re-signing
    (clause 10): the person is told at the next interactive login, and a silent one
    (``prompt=none``) goes on.

    A login below the ``required`` verification level goes to ``verify`` (step-up) when the
    account can reach it online (``reachable``); otherwise the portal hears
    ``unmet_authentication_requirements`` (OIDC Core 3.1.2.6).
    """
    if session is not None and account is None:
        session = None
    if needs_login(request, session, progress):
        if "none" in request.prompt:
            raise LoginRequiredError("The person is not logged in.")
        return "login"
    assert account is not None and session is not None
    # A second factor right after the first: the person has one and the session lacks it
    # (``ask``), or the portal requires one and the person has none (``enrol``: told so).
    if second_factor is not None:
        if "none" in request.prompt:
            raise InteractionRequiredError("The person must use a second factor.")
        return "second_factor"
    below = not levels.at_least(account.verification_level, required)
    if below and not levels.at_least(reachable, required):
        raise UnmetAuthenticationRequirementsError(
            "The person's identity is not verified to the level the portal requires."
        )
    if agreement == "accept" and "none" in request.prompt:
        raise InteractionRequiredError("The person must accept the current agreement.")
    if agreement is not None and "none" not in request.prompt:
        return "agreement"
    if below:
        if "none" in request.prompt:
            raise InteractionRequiredError("The person must verify their identity further.")
        return "verify"
    if "entity" in request.scopes and progress.acting_as is None:
        if "none" in request.prompt:
            raise InteractionRequiredError("The person must choose whom to act as.")
        return "choose"
    if consent_needed and not progress.consented_here:
        if "none" in request.prompt:
            raise ConsentRequiredError("The person has not consented to this request.")
        return "consent"
    return "issue"
