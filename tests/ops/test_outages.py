"""Store outages: clear 503 answers, never a 500, and recovery without a restart.

RFC 6749 4.1.2.1 / 5.2 and OIDC Core define ``temporarily_unavailable``; RFC 9110 15.6.4
(503 Service Unavailable, with Retry-After). Start-up needs neither store (keys are files), so
an app can be built while a store is down and recovers when it comes back. Access and refresh
tokens live in the database: a Redis outage loses no issued token.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.login.helpers import open_login_page, same_portal
from tests.ops.helpers import RedisServer

CLOSED_REDIS = "redis://127.0.0.1:1/0"
CLOSED_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/x"


def _assert_json_503(response, what: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, what
    assert response.get_json()["error"] == "temporarily_unavailable", what
    assert response.headers.get("Retry-After"), what
    assert "no-store" in response.headers.get("Cache-Control", ""), what


def _assert_html_503(response, what: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, what
    assert response.mimetype == "text/html", what
    assert response.headers.get("Retry-After"), what
    assert "Location" not in response.headers, what
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], what


def _issued_tokens(confidential_rp, user) -> dict:  # type: ignore[no-untyped-def,type-arg]
    attempt = confidential_rp.login(
        user["username"], user["password"], scope="openid profile offline_access"
    )
    response = confidential_rp.exchange(attempt)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_redis_outage_answers_503_and_keeps_issued_tokens(make_app, confidential_rp, user):
    """RFC 6749 5.2 temporarily_unavailable; start-up does not need Redis; tokens survive."""
    tokens = _issued_tokens(confidential_rp, user)
    down = make_app(REDIS_URL=CLOSED_REDIS)  # must not fail at start-up
    rp = same_portal(confidential_rp, down.test_client())

    assert rp.browser.get("/healthz").status_code == 200
    ready = rp.browser.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "unavailable"}
    _assert_html_503(rp.authorize().response, "authorize")
    _assert_json_503(
        rp.token_request(
            grant_type="authorization_code", code="a-code", redirect_uri=rp.redirect_uri
        ),
        "token",
    )
    # What lives in the database keeps working: no 500, no token lost.
    userinfo = rp.userinfo(tokens["access_token"])
    assert userinfo.status_code == 200
    assert userinfo.get_json()["sub"] == user["sub"]
    introspection = rp.introspect(tokens["access_token"])
    assert introspection.status_code == 200
    assert introspection.get_json()["active"] is True


def test_database_outage_answers_503_everywhere(make_app, confidential_rp, user):
    """RFC 6749 5.2 / RFC 9110 15.6.4: every endpoint that needs the database answers 503."""
    tokens = _issued_tokens(confidential_rp, user)
    down = make_app(DATABASE_URL=CLOSED_DATABASE)  # must not fail at start-up
    rp = same_portal(confidential_rp, down.test_client())

    assert rp.browser.get("/healthz").status_code == 200
    ready = rp.browser.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"database": "unavailable", "redis": "ok"}
    _assert_html_503(rp.authorize().response, "authorize")
    _assert_json_503(rp.refresh(tokens["refresh_token"]), "token")
    _assert_json_503(rp.userinfo(tokens["access_token"]), "userinfo")
    _assert_json_503(rp.introspect(tokens["access_token"]), "introspect")
    # The shared database was never touched: the tokens still work through the suite's app.
    assert confidential_rp.userinfo(tokens["access_token"]).status_code == 200


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.close()


def test_the_same_app_recovers_when_redis_comes_back(make_app, redis_server, confidential_rp, user):
    """RFC 9110 15.6.4: 503 while Redis is down, normal answers once it is back, no restart;
    tokens issued before the outage still work after it."""
    application = make_app(REDIS_URL=redis_server.url)
    rp = same_portal(confidential_rp, application.test_client())
    tokens = _issued_tokens(rp, user)
    assert rp.browser.get("/readyz").status_code == 200

    redis_server.shutdown()

    assert rp.browser.get("/readyz").status_code == 503
    _assert_html_503(same_portal(rp, application.test_client()).authorize().response, "authorize")
    _assert_json_503(
        rp.token_request(grant_type="authorization_code", code="x", redirect_uri=rp.redirect_uri),
        "token",
    )

    redis_server.start()

    assert rp.browser.get("/readyz").status_code == 200
    assert rp.userinfo(tokens["access_token"]).status_code == 200
    refreshed = rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    # Redis forgot the sessions (SHUTDOWN NOSAVE): the person logs in again, and that works.
    again = same_portal(rp, application.test_client())
    attempt = open_login_page(again)
    again.submit_login(attempt, user["username"], user["password"])
    assert "code" in attempt.result
    assert again.exchange(attempt).status_code == 200
