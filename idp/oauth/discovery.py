"""Provider metadata: OpenID Connect Discovery 1.0 section 3 and RFC 8414 section 2."""

from __future__ import annotations

from typing import Any

from idp.identity import levels
from idp.identity.verifiers import SOURCES
from idp.oauth import claims as claims_module
from idp.oauth.authorization_details import TYPES_SUPPORTED as AUTHORIZATION_DETAILS_TYPES
from idp.oauth.authorize import PROMPT_VALUES, RESPONSE_MODES
from idp.oauth.client_auth import ASSERTION_ALGORITHMS
from idp.oauth.clients.encryption_keys import CONTENT_ENCRYPTIONS, ENCRYPTION_ALGORITHMS
from idp.oauth.dpop import ALGORITHMS as DPOP_ALGORITHMS
from idp.oauth.keys import SUPPORTED_ALGORITHMS
from idp.oauth.request_objects import REQUEST_OBJECT_ALGORITHMS
from idp.oauth.token_exchange import TOKEN_EXCHANGE

ACR_VALUES = [levels.acr(level) for level in levels.LEVELS]


def metadata(
    issuer: str, ui_locales: list[str], trust_framework: str, *, require_par: bool = False
) -> dict[str, Any]:
    auth_methods = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "end_session_endpoint": f"{issuer}/logout",
        # RFC 7591 3 / RFC 8414 2: dynamic registration with an initial access token.
        "registration_endpoint": f"{issuer}/register-client",
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "scopes_supported": list(claims_module.SCOPES_SUPPORTED),
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        # RFC 6749 4.4: a confidential portal's own token for the matters and messages API.
        # RFC 8693: token exchange between portals the operator paired.
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            TOKEN_EXCHANGE,
        ],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": list(SUPPORTED_ALGORITHMS),
        # OIDC Core 10.2 / Discovery 3 (idp.oauth.encryption): encrypted ID tokens, signed or
        # encrypted UserInfo, to the portal's key with "use": "enc".
        "id_token_encryption_alg_values_supported": list(ENCRYPTION_ALGORITHMS),
        "id_token_encryption_enc_values_supported": list(CONTENT_ENCRYPTIONS),
        "userinfo_signing_alg_values_supported": list(SUPPORTED_ALGORITHMS),
        "userinfo_encryption_alg_values_supported": list(ENCRYPTION_ALGORITHMS),
        "userinfo_encryption_enc_values_supported": list(CONTENT_ENCRYPTIONS),
        # RFC 9396 10: the type of rich authorization requests (idp.oauth.authorization_details).
        "authorization_details_types_supported": list(AUTHORIZATION_DETAILS_TYPES),
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods[:-1],
        "code_challenge_methods_supported": ["S256"],
        # RFC 9449 5.1: DPoP proofs (idp.oauth.dpop), asymmetric algorithms only.
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
        "claims_supported": list(claims_module.CLAIMS_SUPPORTED),
        "claims_parameter_supported": True,
        # FAPI 2.0 (docs/portals.md): PAR (RFC 9126 5), signed request objects by value (RFC 9101
        # 10.5; by reference only the request_uri of /par), signed responses (OpenID JARM 4).
        "pushed_authorization_request_endpoint": f"{issuer}/par",
        "require_pushed_authorization_requests": require_par,
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "request_object_signing_alg_values_supported": list(REQUEST_OBJECT_ALGORITHMS),
        "require_signed_request_object": False,
        "authorization_signing_alg_values_supported": list(SUPPORTED_ALGORITHMS),
        "acr_values_supported": ACR_VALUES,
        "prompt_values_supported": list(PROMPT_VALUES),
        "ui_locales_supported": ui_locales,
        "claim_types_supported": ["normal"],
        "authorization_response_iss_parameter_supported": True,
        # Discovery 1.0 section 3: the pages rendering the current registration agreements.
        "op_policy_uri": f"{issuer}/policy",
        "op_tos_uri": f"{issuer}/terms",
        # OpenID Connect for Identity Assurance 1.0, section 8 (verified claims from registries).
        "verified_claims_supported": True,
        "trust_frameworks_supported": [trust_framework],
        "evidence_supported": ["electronic_record"],
        "electronic_records_supported": sorted(set(SOURCES.values())),
        "claims_in_verified_claims_supported": list(claims_module.CLAIMS_IN_VERIFIED_CLAIMS),
    }
