"""Secret rotation (docs/portals.md): the new secret is shown once; the previous one keeps
working for IDP_CLIENT_SECRET_GRACE_PERIOD seconds, then stops (Client.check_client_secret).
The secrets are tried at the introspection endpoint, which authenticates the portal (RFC 7662
2.1) with the method it registered (client_secret_basic)."""

from __future__ import annotations

import time
from datetime import datetime

from tests.admin_portals.helpers import REDIRECT_URI, AdminApi, admin_api_token, signs_in
from tests.support import RelyingParty


def authenticates(rp: RelyingParty, secret: str, token: str) -> bool:
    """Does ``secret`` authenticate the portal? (RFC 7662 2.1: 401 invalid_client if not.)"""
    as_portal = RelyingParty(rp.browser, rp.client_id, secret, rp.redirect_uri)
    response = as_portal.introspect(token)
    if response.status_code == 200:
        assert response.get_json()["active"] is True
        return True
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    return False


def test_rotated_secret_keeps_working_during_the_grace_period(client, cli, user):
    api = AdminApi(client, admin_api_token(cli))
    created = api.create()
    old = created["client_secret"]
    rp = RelyingParty(client, created["client_id"], old, REDIRECT_URI)
    tokens = signs_in(rp, user)

    rotated = api.post(f"/clients/{rp.client_id}/rotate-secret", {"reason": "yearly rotation"})

    assert rotated.status_code == 200
    body = rotated.get_json()
    new = body["client_secret"]
    assert new != old
    expires = datetime.fromisoformat(body["previous_secret_expires_at"])
    assert 86000 < expires.timestamp() - time.time() <= 86400  # the default: one day
    assert authenticates(rp, new, tokens["access_token"])
    assert authenticates(rp, old, tokens["access_token"])
    shown = api.get(f"/clients/{rp.client_id}").get_json()
    assert "client_secret" not in shown and shown["previous_secret_expires_at"]
    # The new secret serves a whole new login too.
    signs_in(RelyingParty(client, rp.client_id, new, REDIRECT_URI), user)


def test_previous_secret_stops_working_when_the_grace_period_ends(make_app, cli, user):
    short = make_app(CLIENT_SECRET_GRACE_PERIOD=2, BACKCHANNEL_DISPATCHER=False)
    browser = short.test_client()
    api = AdminApi(browser, admin_api_token(cli))
    created = api.create()
    old = created["client_secret"]
    rp = RelyingParty(browser, created["client_id"], old, REDIRECT_URI)
    tokens = signs_in(rp, user)

    body = api.post(f"/clients/{rp.client_id}/rotate-secret").get_json()
    assert authenticates(rp, old, tokens["access_token"])  # within the grace period
    expires = datetime.fromisoformat(body["previous_secret_expires_at"]).timestamp()
    time.sleep(max(0.0, expires - time.time()) + 0.2)

    assert not authenticates(rp, old, tokens["access_token"])
    assert authenticates(rp, body["client_secret"], tokens["access_token"])


def test_without_a_grace_period_the_previous_secret_stops_at_once(make_app, cli, user):
    immediate = make_app(CLIENT_SECRET_GRACE_PERIOD=0, BACKCHANNEL_DISPATCHER=False)
    browser = immediate.test_client()
    api = AdminApi(browser, admin_api_token(cli))
    created = api.create()
    rp = RelyingParty(browser, created["client_id"], created["client_secret"], REDIRECT_URI)
    tokens = signs_in(rp, user)

    body = api.post(f"/clients/{rp.client_id}/rotate-secret").get_json()

    assert body["previous_secret_expires_at"] is None
    assert not authenticates(rp, created["client_secret"], tokens["access_token"])
    assert authenticates(rp, body["client_secret"], tokens["access_token"])


def test_a_second_rotation_ends_the_first_secret(client, cli, user):
    """Only the immediately previous secret is kept."""
    api = AdminApi(client, admin_api_token(cli))
    created = api.create()
    rp = RelyingParty(client, created["client_id"], created["client_secret"], REDIRECT_URI)
    tokens = signs_in(rp, user)

    second = api.post(f"/clients/{rp.client_id}/rotate-secret").get_json()["client_secret"]
    third = api.post(f"/clients/{rp.client_id}/rotate-secret").get_json()["client_secret"]

    assert not authenticates(rp, created["client_secret"], tokens["access_token"])
    assert authenticates(rp, second, tokens["access_token"])
    assert authenticates(rp, third, tokens["access_token"])


def test_rotating_an_unknown_portal_is_404(client, cli):
    api = AdminApi(client, admin_api_token(cli))

    response = api.post("/clients/no-such-portal/rotate-secret")

    assert response.status_code == 404 and response.mimetype == "application/problem+json"
