"""Provider metadata: OpenID Connect Discovery 1.0 section 3 and RFC 8414 section 2."""

from __future__ import annotations

from typing import Any

from idp.identity import levels
from idp.identity.verifiers import SOURCES
from idp.oauth import claims as claims_module
from idp.oauth.authorize import PROMPT_VALUES, RESPONSE_MODES
from idp.oauth.client_auth import ASSERTION_ALGORITHMS
from idp.oauth.keys import SUPPORTED_ALGORITHMS

ACR_VALUES = [levels.acr(level) for level in levels.LEVELS]


def metadata(issuer: str, ui_locales: list[str], trust_framework: str) -> dict[str, Any]:
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
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": list(SUPPORTED_ALGORITHMS),
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods[:-1],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(claims_module.CLAIMS_SUPPORTED),
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
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
