"""Pairwise subject identifiers (OpenID Connect Core 1.0 section 8.1).

A portal registered with ``subject_type=pairwise`` (through the admin API) sees its own ``sub``
for a person: the same at every login, in the ID token, userinfo and introspection alike, the
same for portals of one sector, different from what a public portal or another sector sees, and
accepted back as ``id_token_hint``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin_portals.helpers import AdminApi, admin_api_token
from tests.support import RelyingParty


@pytest.fixture
def api(cli, client) -> AdminApi:  # type: ignore[no-untyped-def]
    return AdminApi(client, admin_api_token(cli))


def _portal(api: AdminApi, client: Any, host: str, subject_type: str) -> RelyingParty:
    redirect_uri = f"https://{host}/callback"
    created = api.create(
        redirect_uris=[redirect_uri],
        post_logout_redirect_uris=None,
        subject_type=subject_type,
        token_endpoint_auth_method="client_secret_basic",
    )
    return RelyingParty(client, created["client_id"], created["client_secret"], redirect_uri)


def _sign_in(rp: RelyingParty, user: dict[str, str], **extra: Any) -> tuple[dict, dict]:
    attempt = rp.login(user["username"], user["password"], **extra)
    assert "code" in attempt.result, attempt.result
    tokens = rp.exchange(attempt).get_json()
    return tokens, rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])


def test_discovery_lists_both_subject_types(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()

    assert metadata["subject_types_supported"] == ["public", "pairwise"]


def test_a_pairwise_portal_sees_its_own_stable_sub_everywhere(api, client, user):
    public = _portal(api, client, "public.example.gov.cn", "public")
    pairwise = _portal(api, client, "tax.example.gov.cn", "pairwise")

    _tokens, public_claims = _sign_in(public, user)
    tokens, claims = _sign_in(pairwise, user)
    _again, claims_again = _sign_in(pairwise, user)

    assert claims["sub"] != public_claims["sub"] == user["sub"]
    assert claims_again["sub"] == claims["sub"]
    assert user["sub"] not in claims["sub"] and user["id"] not in claims["sub"]
    assert pairwise.userinfo(tokens["access_token"]).get_json()["sub"] == claims["sub"]
    introspected = pairwise.introspect(tokens["access_token"]).get_json()
    assert introspected["active"] is True
    assert introspected["sub"] == claims["sub"]


def test_portals_of_one_sector_share_the_sub_and_other_sectors_do_not(api, client, user):
    first = _portal(api, client, "tax.example.gov.cn", "pairwise")
    same_host = _portal(api, client, "tax.example.gov.cn", "pairwise")
    other_sector = _portal(api, client, "health.example.gov.cn", "pairwise")

    subs = [_sign_in(rp, user)[1]["sub"] for rp in (first, same_host, other_sector)]

    assert subs[0] == subs[1]
    assert subs[2] != subs[0]


def test_the_pairwise_sub_comes_back_as_id_token_hint(api, client, user):
    """OIDC Core 3.1.2.1: a hint naming the logged-in person lets ``prompt=none`` through; a
    hint of another portal's view of someone does not match."""
    pairwise = _portal(api, client, "tax.example.gov.cn", "pairwise")
    tokens, _claims = _sign_in(pairwise, user)

    silent = pairwise.authorize(prompt="none", id_token_hint=tokens["id_token"])

    assert "code" in silent.result, silent.result


def test_logout_tokens_and_rp_initiated_logout_use_the_pairwise_sub(api, client, user):
    """Back-Channel Logout 1.0 2.4: the logout token's ``sub`` is the one the portal knows;
    RP-Initiated Logout 1.0: the portal's own ID token is a valid hint (no confirmation page)."""
    from tests.logout.helpers import Receiver, validate_logout_token

    receiver = Receiver()
    try:
        created = api.create(
            redirect_uris=["https://tax.example.gov.cn/callback"],
            post_logout_redirect_uris=["https://tax.example.gov.cn/logged-out"],
            backchannel_logout_uri=receiver.url,
            subject_type="pairwise",
            token_endpoint_auth_method="client_secret_basic",
        )
        rp = RelyingParty(
            client,
            created["client_id"],
            created["client_secret"],
            "https://tax.example.gov.cn/callback",
        )
        tokens, claims = _sign_in(rp, user)

        response = client.get(
            "/logout",
            query_string={
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": "https://tax.example.gov.cn/logged-out",
            },
        )

        assert response.status_code == 303
        assert response.headers["Location"].startswith("https://tax.example.gov.cn/logged-out")
        logout = validate_logout_token(client, receiver.wait_for_tokens()[0], rp.client_id)
        assert logout["sub"] == claims["sub"] != user["sub"]
    finally:
        receiver.stop()
