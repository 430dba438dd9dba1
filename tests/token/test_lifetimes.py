"""Token lifetimes (RFC 9700 section 4.14.2: refresh tokens expire after an idle period and
at an absolute limit; RFC 7662 / RFC 6750: an expired access token is inactive).

Each test runs a second application with short lifetimes over the same database and Redis;
the sleeps are the lifetimes themselves (4 s), measured from the moment the code was issued.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support import RelyingParty
from tests.token.helpers import register

# 4 s leave room for a code exchange that takes seconds on a loaded machine (one took 2.6 s in
# CI): the tokens must still be alive when the test first looks at them.
SHORT_IDLE = {"REFRESH_TOKEN_IDLE_TTL": 4, "REFRESH_TOKEN_ABSOLUTE_TTL": 10, "ACCESS_TOKEN_TTL": 4}
# The idle lifetime equals the absolute one, so the last refresh token is always within its idle
# lifetime when the absolute limit stops it.
SHORT_ABSOLUTE = {"REFRESH_TOKEN_IDLE_TTL": 4, "REFRESH_TOKEN_ABSOLUTE_TTL": 4}


def _short_app(overrides: dict[str, int]) -> Iterator[object]:
    from idp import create_app

    application = create_app(overrides)
    yield application
    application.extensions["idp"].db.dispose()


@pytest.fixture(scope="module")
def idle_app(app) -> Iterator[object]:  # type: ignore[no-untyped-def]
    yield from _short_app(SHORT_IDLE)


@pytest.fixture(scope="module")
def absolute_app(app) -> Iterator[object]:  # type: ignore[no-untyped-def]
    yield from _short_app(SHORT_ABSOLUTE)


def _portal(cli, short_app) -> RelyingParty:  # type: ignore[no-untyped-def]
    data = register(cli)
    return RelyingParty(
        short_app.test_client(), data["client_id"], data["client_secret"], data["redirect_uris"][0]
    )


def _tokens(rp: RelyingParty, user: dict[str, str]) -> tuple[float, dict[str, str]]:
    """Log in and exchange the code; returns (time just after the code was issued, tokens)."""
    attempt = rp.login(user["username"], user["password"])
    issued = time.monotonic()
    response = rp.exchange(attempt)
    assert response.status_code == 200, response.get_json()
    return issued, response.get_json()


def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def test_idle_refresh_token_and_access_token_expire(cli, user, idle_app):
    """RFC 9700 4.14.2: an unused refresh token expires after the idle lifetime even though
    the grant's absolute lifetime is not reached; the expired access token is refused at
    userinfo (RFC 6750 3.1 invalid_token) and inactive at introspection (RFC 7662 2.2)."""
    rp = _portal(cli, idle_app)
    issued, tokens = _tokens(rp, user)
    assert rp.introspect(tokens["access_token"]).get_json()["active"] is True

    _sleep_until(issued + 4.3)

    refreshed = rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"
    assert rp.introspect(tokens["refresh_token"]).get_json() == {"active": False}
    assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    info = rp.userinfo(tokens["access_token"])
    assert info.status_code == 401
    assert 'error="invalid_token"' in info.headers["WWW-Authenticate"]


def test_absolute_lifetime_ends_the_family(cli, user, absolute_app):
    """RFC 9700 4.14.2: rotation does not extend a grant past its absolute lifetime; the last
    refresh token is still within its idle lifetime when the absolute limit stops it."""
    rp = _portal(cli, absolute_app)
    issued, tokens = _tokens(rp, user)

    _sleep_until(issued + 1.0)
    refreshed = rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    rotated = refreshed.get_json()

    # Past the absolute 4 s, and at most 3.3 s after the rotation (which came after issued + 1):
    # the rotated token is inside its 4 s idle lifetime, so only the absolute limit can stop it.
    _sleep_until(issued + 4.3)
    final = rp.refresh(rotated["refresh_token"])

    assert final.status_code == 400
    assert final.get_json()["error"] == "invalid_grant"
    assert rp.introspect(rotated["refresh_token"]).get_json() == {"active": False}
