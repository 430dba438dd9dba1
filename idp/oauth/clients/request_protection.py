"""A portal's FAPI 2.0 metadata: how its authorization requests and responses are protected,
and the ``fapi2`` profile (``idp.oauth.fapi``). Pure: no I/O; run by ``.validation``.

- ``require_pushed_authorization_requests`` (RFC 9126 6), ``require_signed_request_object``
  (RFC 9101 10.5; needs ``jwks`` or ``jwks_uri``): booleans, default false;
- ``request_object_signing_alg`` (OIDC Registration 2): none (any of ours) or one of
  ``idp.oauth.request_objects.REQUEST_OBJECT_ALGORITHMS``;
- ``authorization_signed_response_alg`` (OpenID JARM 3): none (RS256) or an algorithm we sign
  with;
- ``profile``: none or ``fapi2``. A ``fapi2`` portal (FAPI 2.0 Security Profile 5.3, 5.4)
  authenticates with ``private_key_jwt`` only (a secret method is refused, and secrets are
  removed: ``.registry``), signs and has signed with PS256 or ES256 (ID token, request objects,
  JARM; JARM defaults to PS256), has https redirect URIs (outside development), pushes its
  requests (``require_pushed_authorization_requests`` is set) and gets DPoP-bound tokens only
  (``dpop_bound_access_tokens`` is set, RFC 9449 5.2). PKCE and ``response_type=code`` are
  enforced at request time (``idp.oauth.authorize``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from idp.oauth.fapi import FAPI2, FAPI2_ALGORITHMS, FAPI2_AUTH_METHOD, PROFILES
from idp.oauth.keys import SUPPORTED_ALGORITHMS
from idp.oauth.request_objects import REQUEST_OBJECT_ALGORITHMS


class _Policy(Protocol):
    @property
    def development(self) -> bool: ...


class _Check(Protocol):
    data: dict[str, Any]
    result: dict[str, Any]

    @property
    def policy(self) -> _Policy: ...

    def error(
        self,
        name: str,
        code: str,
        message: str,
        index: int | None = None,
        value: str | None = None,
    ) -> None: ...


def _flag(check: _Check, name: str) -> None:
    value = check.data.get(name, False)
    if value is None:
        value = False
    if not isinstance(value, bool):
        check.error(name, "type", "must be true or false")
    check.result[name] = value is True


def _optional_choice(check: _Check, name: str, choices: Sequence[str]) -> None:
    value = check.data.get(name)
    if value in (None, ""):
        check.result[name] = None
    elif isinstance(value, str) and value in choices:
        check.result[name] = value
    else:
        check.error(name, "unknown_value", f"must be one of: {', '.join(choices)}")
        check.result[name] = None


def check_request_protection(check: _Check) -> None:
    _flag(check, "require_pushed_authorization_requests")
    _flag(check, "require_signed_request_object")
    _optional_choice(check, "request_object_signing_alg", REQUEST_OBJECT_ALGORITHMS)
    _optional_choice(check, "authorization_signed_response_alg", SUPPORTED_ALGORITHMS)
    keys = check.data.get("jwks") is not None or check.data.get("jwks_uri") not in (None, "")
    if check.result["require_signed_request_object"] and not keys:
        check.error(
            "require_signed_request_object",
            "required",
            "needs jwks or jwks_uri, to verify the portal's request objects (RFC 9101)",
        )
    _optional_choice(check, "profile", PROFILES)
    if check.result["profile"] == FAPI2:
        _check_fapi2(check)


def _check_fapi2(check: _Check) -> None:
    """FAPI 2.0 Security Profile 5.3 and 5.4, each refusal naming its rule."""
    allowed = " or ".join(FAPI2_ALGORITHMS)
    if check.result.get("token_endpoint_auth_method") != FAPI2_AUTH_METHOD:
        check.error(
            "token_endpoint_auth_method",
            "profile_forbids",
            "the fapi2 profile allows only private_key_jwt: no client secrets and no public "
            "clients (FAPI 2.0 Security Profile 5.3.2.1)",
        )
    for name in ("id_token_signed_response_alg", "request_object_signing_alg"):
        value = check.result.get(name)
        if value is not None and value not in FAPI2_ALGORITHMS:
            check.error(
                name,
                "profile_forbids",
                f"the fapi2 profile signs with {allowed} only (FAPI 2.0 Security Profile 5.4.1)",
            )
    signed_response = check.result.get("authorization_signed_response_alg")
    if signed_response is None:
        check.result["authorization_signed_response_alg"] = FAPI2_ALGORITHMS[0]
    elif signed_response not in FAPI2_ALGORITHMS:
        check.error(
            "authorization_signed_response_alg",
            "profile_forbids",
            f"the fapi2 profile signs with {allowed} only (FAPI 2.0 Security Profile 5.4.1)",
        )
    if not check.policy.development:
        for index, uri in enumerate(check.result.get("redirect_uris") or []):
            if not uri.lower().startswith("https://"):
                check.error(
                    "redirect_uris",
                    "profile_forbids",
                    "the fapi2 profile requires https redirect URIs "
                    "(FAPI 2.0 Security Profile 5.3.2.2)",
                    index,
                )
    check.result["require_pushed_authorization_requests"] = True
    # RFC 9449 5.2: the portal's access tokens are DPoP-bound (idp.oauth.dpop).
    check.result["dpop_bound_access_tokens"] = True
