"""Every route of the application fuzzed with Hypothesis (issue 17), on SQLite and on
PostgreSQL alike: the routes come from the application's URL map, so a new route is fuzzed
without a line here.

For each route and method, requests are generated (``tests.fuzz.strategies``): plausible ones,
and hostile ones carrying NUL or another control character, bytes that are not UTF-8, a lone
surrogate or an over-long value in the path, the query, a form or JSON body, or HTTP Basic
credentials. Every answer must be

- no server error (never 5xx);
- in the shape of the endpoint: JSON with ``error`` on the back channel and at dynamic
  registration, RFC 9457 problem details on the admin API, a page elsewhere;
- for a hostile request: a 4xx, and not one row more or less in any table.

Some requests are sent signed in (a person's session with its CSRF token) and with an admin API
token, so that they reach past the login. Examples per route: ``tests/fuzz/conftest.py``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given, note

from tests.account.helpers import account_login
from tests.admin_portals.helpers import admin_api_token
from tests.fuzz.conftest import fuzz_settings
from tests.fuzz.strategies import Fuzzed, requests_for
from tests.security.hostile import table_counts
from tests.support import csrf_token

SHARES = 8  # the routes are split into this many tests, so that pytest-xdist spreads them
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def routes(app: Any) -> list[tuple[Any, str]]:
    """(rule, method) of every route, in a stable order."""
    return sorted(
        (
            (rule, method)
            for rule in app.url_map.iter_rules()
            for method in rule.methods - IGNORED_METHODS
        ),
        key=lambda pair: (pair[0].rule, pair[1]),
    )


def door(path: str) -> str:
    """What kind of endpoint answers ``path`` (docs/architecture.md, "Error model")."""
    # The materials API is a bearer-token API answered like UserInfo (RFC 6750 3.1).
    if path.startswith(("/token", "/par", "/revoke", "/introspect", "/userinfo", "/api/materials")):
        return "protocol"
    if path.startswith("/register-client"):
        return "registration"
    # The portal API (matters, messages) answers problem details as the admin API does.
    if path.startswith(("/admin/api", "/api/matters", "/api/messages")):
        return "admin_api"
    if path.startswith(("/.well-known/", "/jwks.json", "/healthz", "/readyz")):
        return "back_channel"
    return "page"


def assert_shape(request: Fuzzed, response: Any) -> None:
    status = response.status_code
    assert status < 500, f"{status} for {request!r}"
    if status < 400:
        return
    kind = door(request.path)
    if kind == "admin_api":
        assert response.mimetype == "application/problem+json", response.mimetype
        assert response.get_json()["status"] == status
    elif kind == "page":
        assert response.mimetype == "text/html", response.mimetype
    else:
        assert response.mimetype == "application/json", response.mimetype
        body = response.get_json()
        if status == 401 and "error" not in body:
            # RFC 6750 3.1: a request without a token gets a challenge and no error code.
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        else:
            assert isinstance(body["error"], str), body


def fuzz(browser: Any, provider: Any, rule: Any, method: str, credentials: dict[str, str]) -> None:
    @given(request=requests_for(rule, method, credentials))
    @fuzz_settings()
    def answers(request: Fuzzed) -> None:
        note(f"route: {method} {rule.rule}")
        before = table_counts(provider) if request.hostile else None
        response = browser.open(
            request.url(),
            method=request.method,
            data=request.body,
            content_type=request.content_type,
            headers=request.headers,
            # The path as a server hands it over (PEP 3333: the raw bytes as ISO 8859-1):
            # werkzeug's test client would decode it, bytes that are not UTF-8 as U+FFFD.
            environ_overrides={"PATH_INFO": unquote_to_bytes(request.path).decode("latin-1")},
        )
        assert_shape(request, response)
        if request.hostile:
            assert 400 <= response.status_code < 500, f"{response.status_code} for {request!r}"
            assert table_counts(provider) == before, f"rows changed after {request!r}"

    answers()


@pytest.fixture
def credentials(app: Any, client: Any, cli: Any, user: dict[str, str]) -> dict[str, str]:
    """``client`` signed in as a person, its CSRF token, and an admin API token."""
    response = account_login(client, user["username"], user["password"])
    assert response.status_code == 303, response.status_code
    token = csrf_token(client.get("/account?lang=en").get_data(as_text=True))
    return {"csrf_token": token, "bearer": admin_api_token(cli)}


def test_the_url_map_is_enumerated(app: Any) -> None:
    """Every route is in one share, including the protocol endpoints and the admin API."""
    rules = {rule.rule for rule, _method in routes(app)}
    assert {"/authorize", "/token", "/register-client/<client_id>", "/admin/api/clients"} <= rules
    shared = [pair for share in range(SHARES) for pair in routes(app)[share::SHARES]]
    assert sorted(shared, key=lambda p: (p[0].rule, p[1])) == routes(app)


@pytest.mark.parametrize("share", range(SHARES))
def test_no_route_answers_a_server_error_or_writes_after_a_refusal(
    app: Any, provider: Any, client: Any, credentials: dict[str, str], share: int
) -> None:
    for rule, method in routes(app)[share::SHARES]:
        fuzz(client, provider, rule, method, credentials)
