"""The ``fapi2`` portal profile: what the FAPI 2.0 Security Profile asks of a portal.

FAPI 2.0 Security Profile (final), section 5.3: pushed authorization requests (RFC 9126), PKCE
with S256, ``response_type=code`` only, ``iss`` in authorization responses (RFC 9207),
confidential clients authenticated with ``private_key_jwt`` (no client secrets), sender-constrained
(DPoP, RFC 9449) access tokens, and PS256 or ES256 for every signature (section 5.4).

A portal registered with ``profile: "fapi2"`` gets these at registration (the metadata validator,
``idp.oauth.clients.validation``: refusals name the rule) and at request time (the check table,
``idp.oauth.authorize``: refusals carry the reason in ``error_description``). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

FAPI2 = "fapi2"
PROFILES = (FAPI2,)
# FAPI 2.0 Security Profile 5.4.1: PS256 or ES256 (EdDSA is not offered by this provider).
FAPI2_ALGORITHMS = ("PS256", "ES256")
# FAPI 2.0 Security Profile 5.3.2.1 (private_key_jwt, or mTLS which we do not offer).
FAPI2_AUTH_METHOD = "private_key_jwt"


def is_fapi2(client: Any) -> bool:
    """Whether ``client`` (a ``Client``) is registered with the ``fapi2`` profile."""
    return getattr(client, "profile", None) == FAPI2
