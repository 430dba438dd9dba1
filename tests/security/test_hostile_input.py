"""Hostile input answered at the door (issue 17): every row of the issue's table, on SQLite and
on PostgreSQL alike, answers 4xx in the endpoint's own error shape, and nothing is written.

NUL and other control characters, bytes that are not UTF-8, lone surrogates and over-long values
are refused by the boundary (``idp.views.boundary``) before any lookup: ``invalid_request`` or
``invalid_client`` on the protocol endpoints, an error page that names the field in the person's
language on pages, RFC 9457 problem details on the admin API, ``invalid_client_metadata`` at
dynamic registration. A malformed identifier in a path answers as an unknown one.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.account.helpers import account_login
from tests.admin_portals.helpers import AdminApi, admin_api_token
from tests.security.hostile import (
    assert_admin_problem,
    assert_page_refusal,
    assert_protocol_error,
    table_counts,
)
from tests.support import RelyingParty, csrf_token


@pytest.fixture
def signed_in(client: Any, user: dict[str, str]) -> Any:
    response = account_login(client, user["username"], user["password"])
    assert response.status_code == 303, response.status_code
    return client


def _token(client: Any) -> str:
    return csrf_token(client.get("/account/login?lang=en").get_data(as_text=True))


# -- /authorize ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_nul_client_id_at_authorize_is_an_error_page(
    provider: Any, client: Any, method: str
) -> None:
    before = table_counts(provider)
    query = "client_id=%00&response_type=code"
    if method == "GET":
        response = client.get(f"/authorize?{query}&lang=en")
    else:
        response = client.post(
            "/authorize?lang=en",
            data=query,
            content_type="application/x-www-form-urlencoded",
        )
    assert_page_refusal(response, 400, "client_id")
    assert table_counts(provider) == before


def test_a_nul_in_the_scope_at_authorize_is_an_error_page(
    provider: Any, client: Any, confidential_rp: RelyingParty
) -> None:
    before = table_counts(provider)
    params, _verifier = confidential_rp.authorization_params(scope="openid\x00profile")
    response = client.get("/authorize", query_string={**params, "lang": "en"})
    assert_page_refusal(response, 400, "scope")
    assert "Location" not in response.headers
    assert table_counts(provider) == before


# -- back channel ---------------------------------------------------------------------------------


def _basic(user: bytes, password: bytes = b"secret") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(user + b":" + password).decode()}


@pytest.mark.parametrize(
    ("headers", "form"),
    [
        ({}, {"client_id": "\x00", "client_secret": "secret"}),
        (_basic(b"\x00"), {}),
        (_basic(b"%00"), {}),
        ({"Authorization": "Basic //46eA=="}, {}),  # decodes to bytes that are not UTF-8
        (_basic(b"portal", b"%FF%FE"), {}),  # a percent-encoded secret that is not UTF-8
    ],
    ids=["client_secret_post", "basic-raw-nul", "basic-percent-nul", "basic-not-utf8", "basic-pct"],
)
def test_hostile_client_credentials_at_token_are_invalid_client(
    provider: Any, client: Any, headers: dict[str, str], form: dict[str, str]
) -> None:
    before = table_counts(provider)
    response = client.post(
        "/token",
        data={"grant_type": "authorization_code", "code": "x", **form},
        headers=headers,
    )
    if "Authorization" in headers:  # RFC 6749 5.2: 401 with a challenge for HTTP Basic
        assert_protocol_error(response, 401, "invalid_client")
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    else:
        assert_protocol_error(response, 400, "invalid_client")
    assert table_counts(provider) == before


def test_a_nul_client_id_at_revoke_is_invalid_client(provider: Any, client: Any) -> None:
    before = table_counts(provider)
    response = client.post("/revoke", data={"client_id": "\x00", "token": "abc"})
    assert_protocol_error(response, 400, "invalid_client")
    assert table_counts(provider) == before


def test_a_nul_token_at_introspect_is_invalid_request(
    provider: Any, client: Any, confidential_rp: RelyingParty
) -> None:
    before = table_counts(provider)
    response = confidential_rp.introspect("abc\x00def")
    assert_protocol_error(response, 400, "invalid_request")
    assert table_counts(provider) == before


def test_a_control_character_in_a_bearer_token_at_userinfo(provider: Any, client: Any) -> None:
    """RFC 6750 3.1: a malformed token is ``invalid_token``, other parameters
    ``invalid_request``."""
    response = client.post("/userinfo", data={"access_token": "abc\x01"})
    assert_protocol_error(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    response = client.get("/userinfo?claims=%00", headers={"Authorization": "Bearer abc"})
    assert_protocol_error(response, 400, "invalid_request")
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


# -- dynamic registration (RFC 7591 / 7592) -------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_nul_client_id_at_the_configuration_endpoint_is_unknown(
    provider: Any, client: Any, method: str
) -> None:
    before = table_counts(provider)
    response = client.open(
        "/register-client/%00", method=method, headers={"Authorization": "Bearer abc"}
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert table_counts(provider) == before


def test_a_lone_surrogate_in_client_name_is_invalid_client_metadata(
    provider: Any, client: Any, cli: Any
) -> None:
    token = cli.ok("clients", "initial-access-token", "--json")["token"]
    before = table_counts(provider)
    response = client.post(
        "/register-client",
        data='{"client_name": "\\ud800", "redirect_uris": ["https://rp.example.gov.cn/cb"]}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_client_metadata"
    assert "client_name" in body["error_description"]
    assert table_counts(provider) == before


# -- pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fields", "field"),
    [
        ("/account/login", {"username": "al\x00ice", "password": "x"}, "username"),
        ("/admin/login", {"username": "al\x00ice", "password": "x"}, "username"),
        ("/account/recover", {"identifier": "1\x0038", "action": "send_code"}, "identifier"),
    ],
)
def test_a_nul_in_a_login_field_is_a_page_refusal(
    provider: Any, client: Any, path: str, fields: dict[str, str], field: str
) -> None:
    token = _token(client)
    before = table_counts(provider)
    response = client.post(f"{path}?lang=en", data={"csrf_token": token, **fields})
    assert_page_refusal(response, 400, field)
    assert table_counts(provider) == before


def test_a_nul_in_the_portal_login(
    provider: Any, client: Any, confidential_rp: RelyingParty
) -> None:
    attempt = confidential_rp.authorize(ui_locales="en")
    html = confidential_rp.follow(attempt)
    before = table_counts(provider)
    response = confidential_rp.submit_login(attempt, "al\x00ice", "password")
    assert_page_refusal(response, 400, "username")
    assert table_counts(provider) == before
    assert "password" in html


def test_a_nul_client_id_when_withdrawing_a_consent(provider: Any, signed_in: Any) -> None:
    token = csrf_token(signed_in.get("/account/consents?lang=en").get_data(as_text=True))
    before = table_counts(provider)
    response = signed_in.post(
        "/account/consents/withdraw?lang=en", data={"csrf_token": token, "client_id": "\x00"}
    )
    assert_page_refusal(response, 400, "client_id")
    assert table_counts(provider) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/account/companies/%00"),
        ("GET", "/account/companies/%00/grants/new"),
        ("POST", "/account/companies/%00/cancel"),
        ("POST", "/account/companies/grants/%00/respond"),
        ("GET", "/interaction/%00"),
        ("GET", "/admin/portals/%00"),
    ],
)
def test_a_nul_path_segment_is_not_found(
    provider: Any, signed_in: Any, method: str, path: str
) -> None:
    token = csrf_token(signed_in.get("/account?lang=en").get_data(as_text=True))
    before = table_counts(provider)
    data = {"csrf_token": token} if method == "POST" else None
    response = signed_in.open(f"{path}?lang=en", method=method, data=data)
    assert_page_refusal(response, 404)
    assert table_counts(provider) == before


# -- the admin API --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/clients/%00"),
        ("PATCH", "/clients/%00"),
        ("DELETE", "/clients/%00"),
        ("POST", "/clients/%00/rotate-secret"),
    ],
)
def test_a_nul_client_id_in_the_admin_api_is_not_found(
    provider: Any, app: Any, cli: Any, method: str, path: str
) -> None:
    api = AdminApi(app.test_client(), admin_api_token(cli))
    before = table_counts(provider)
    response = api.client.open(
        f"/admin/api{path}", method=method, headers=api.headers(), json={"client_name": "x"}
    )
    assert_admin_problem(response, 404)
    assert table_counts(provider) == before


def test_a_lone_surrogate_in_a_name_in_the_admin_api(provider: Any, app: Any, cli: Any) -> None:
    api = AdminApi(app.test_client(), admin_api_token(cli))
    before = table_counts(provider)
    response = api.client.post(
        "/admin/api/clients",
        data='{"name": "\\udfff", "redirect_uris": ["https://rp.example.gov.cn/cb"]}',
        content_type="application/json",
        headers=api.headers(),
    )
    body = assert_admin_problem(response, 400)
    assert body["errors"][0]["field"] == "name"
    assert body["errors"][0]["pointer"] == "/name"
    assert table_counts(provider) == before


def test_an_over_long_value_is_too_long_not_a_bad_character(provider: Any, client: Any) -> None:
    token = _token(client)
    response = client.post(
        "/account/login?lang=en",
        data={"csrf_token": token, "username": "a" * 5000, "password": "x"},
    )
    page = assert_page_refusal(response, 400, "username")
    assert "too long" in page
    assert "not allowed" not in page


def test_null_metadata_is_refused_not_taken_as_absent(provider: Any, client: Any, cli: Any) -> None:
    """RFC 7591 2: ``"token_endpoint_auth_method": null`` is no value, not the default."""
    token = cli.ok("clients", "initial-access-token", "--json")["token"]
    before = table_counts(provider)
    response = client.post(
        "/register-client",
        json={
            "client_name": "Portal",
            "redirect_uris": ["https://rp.example.gov.cn/cb"],
            "token_endpoint_auth_method": None,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_client_metadata"
    assert "token_endpoint_auth_method" in body["error_description"]
    assert table_counts(provider) == before


# -- text quoted back in an error_description (RFC 6749 4.1.2.1: a restricted ASCII set) ---------


@pytest.mark.parametrize("name", ["名", 'a"b', "back\\slash"])
def test_a_repeated_parameter_with_any_name_is_invalid_request(client: Any, name: str) -> None:
    response = client.post(
        "/token",
        data=urlencode([(name, "1"), (name, "2"), ("grant_type", "authorization_code")]),
        content_type="application/x-www-form-urlencoded",
    )
    body = assert_protocol_error(response, 400, "invalid_request")
    assert body["error_description"].startswith("Repeated parameter")


def test_a_claim_request_with_any_name_is_redirected_as_invalid_request(
    confidential_rp: RelyingParty,
) -> None:
    attempt = confidential_rp.authorize(claims='{"userinfo": {"名": 1}}')
    assert attempt.response.status_code == 303
    assert attempt.result["error"] == "invalid_request"


@pytest.mark.parametrize("scope", ['openid "x"', "openid 开放", "openid\tprofile"])
def test_a_scope_outside_its_syntax_is_refused_at_the_door(
    client: Any, confidential_rp: RelyingParty, scope: str
) -> None:
    """RFC 6749 3.3: scope tokens are %x21 / %x23-5B / %x5D-7E, separated by spaces."""
    params, _verifier = confidential_rp.authorization_params(scope=scope)
    response = client.get("/authorize", query_string={**params, "lang": "en"})
    assert_page_refusal(response, 400, "scope")


def test_the_page_refusal_speaks_the_persons_language(client: Any) -> None:
    token = _token(client)
    response = client.post(
        "/account/login?lang=zh-CN",
        data={"csrf_token": token, "username": "a" * 200, "password": "x"},
    )
    page = assert_page_refusal(response, 400, "username")
    assert "“手机号码、证件号码或用户名”过长：最多 128 个字符。" in page


def test_the_refusal_page_has_its_style_nonce(client: Any) -> None:
    response = client.get("/account/login?next=%00")
    assert_page_refusal(response, 400, "next")
    policy = response.headers["Content-Security-Policy"]
    nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
    assert nonce and f'nonce="{nonce}"' in response.get_data(as_text=True)
