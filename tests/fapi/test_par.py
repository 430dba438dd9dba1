"""Pushed authorization requests (RFC 9126): POST /par, then /authorize with the request_uri."""

from __future__ import annotations

import hashlib

from tests.fapi.helpers import PAR_PREFIX, authorize_url, key_portal, push, pushed_login


def test_push_answers_a_single_use_request_uri(confidential_rp, user, redis_client):
    """RFC 9126 2.2: 201 with request_uri (urn:ietf:params:oauth:request_uri:) and expires_in;
    kept in Redis for that long, under a hash of the request_uri."""
    response, _, _ = push(confidential_rp)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["request_uri"].startswith(PAR_PREFIX)
    assert body["expires_in"] == 60
    assert response.headers["Cache-Control"] == "no-store"
    key = "idp:par:{" + hashlib.sha256(body["request_uri"].encode()).hexdigest() + "}"
    assert 0 < redis_client.ttl(key) <= 60


def test_pushed_request_completes_the_flow(confidential_rp, user):
    """RFC 9126 4: the authorization request is client_id and request_uri; the pushed
    parameters (redirect_uri, scope, state, PKCE) are the ones used."""
    response, verifier, params = push(confidential_rp)
    request_uri = response.get_json()["request_uri"]

    attempt = pushed_login(confidential_rp, user, request_uri, verifier)

    assert attempt.result["state"] == params["state"]
    tokens = confidential_rp.exchange(attempt)
    assert tokens.status_code == 200, tokens.get_json()
    claims = confidential_rp.validate_id_token(tokens.get_json()["id_token"], params["nonce"])
    assert claims["aud"] == confidential_rp.client_id


def test_parameters_outside_the_pushed_request_are_ignored(confidential_rp, user):
    """RFC 9126 4: the authorization server uses the pushed parameters only."""
    response, verifier, params = push(confidential_rp, scope="openid")
    request_uri = response.get_json()["request_uri"]

    attempt = pushed_login(
        confidential_rp, user, request_uri, verifier, state="outside", scope="openid profile"
    )

    assert attempt.result["state"] == params["state"]
    tokens = confidential_rp.exchange(attempt).get_json()
    assert tokens["scope"] == "openid"


def test_reused_request_uri_is_refused(confidential_rp, user, client):
    """RFC 9126 4 (FAPI 2.0 5.3.2.2): a request_uri is used once; afterwards it is
    invalid_request_uri on a page (the pushed redirect URI is unknown: nothing is redirected)."""
    response, verifier, _ = push(confidential_rp)
    request_uri = response.get_json()["request_uri"]
    first = client.get(authorize_url(confidential_rp, request_uri=request_uri))
    assert first.status_code == 303

    again = client.get(authorize_url(confidential_rp, request_uri=request_uri))

    assert again.status_code == 400
    assert "invalid_request_uri" in again.get_data(as_text=True)
    assert "Location" not in again.headers


def test_request_uri_is_bound_to_its_client(confidential_rp, public_rp, client):
    """RFC 9126 4: the request_uri is bound to the client that pushed it."""
    response, _, _ = push(confidential_rp)
    request_uri = response.get_json()["request_uri"]

    answer = client.get(authorize_url(public_rp, request_uri=request_uri))

    assert answer.status_code == 400
    assert "invalid_request_uri" in answer.get_data(as_text=True)


def test_unknown_request_uri_is_refused(confidential_rp, client):
    answer = client.get(authorize_url(confidential_rp, request_uri=PAR_PREFIX + "nothing"))

    assert answer.status_code == 400
    assert "invalid_request_uri" in answer.get_data(as_text=True)


def test_request_uri_by_reference_is_refused(confidential_rp):
    """RFC 9101 5.2: a request_uri other than /par's is not fetched: invalid_request_uri, sent
    to the redirect URI (which is trusted)."""
    attempt = confidential_rp.authorize(request_uri="https://portal.example.gov.cn/request.jwt")

    assert attempt.result["error"] == "invalid_request_uri"


def test_push_errors_are_json(confidential_rp):
    """RFC 9126 2.3: a pushed request is validated at once, the error answered as JSON."""
    bad_scope, _, _ = push(confidential_rp, scope="openid nonsense")
    bad_redirect, _, _ = push(confidential_rp, redirect_uri="https://evil.example.com/cb")
    no_pkce_method, _, _ = push(confidential_rp, code_challenge_method="plain")
    nested, _, _ = push(confidential_rp, request_uri=PAR_PREFIX + "x")

    assert bad_scope.status_code == 400
    assert bad_scope.get_json()["error"] == "invalid_scope"
    assert bad_redirect.status_code == 400
    assert bad_redirect.get_json()["error"] == "invalid_request"
    assert "redirect_uri" in bad_redirect.get_json()["error_description"]
    assert no_pkce_method.get_json()["error"] == "invalid_request"
    assert nested.status_code == 400
    assert nested.get_json()["error"] == "invalid_request"
    assert "request_uri" in nested.get_json()["error_description"]


def test_push_needs_the_client_authentication_of_the_token_endpoint(confidential_rp, client):
    """RFC 9126 2: the client authenticates as at the token endpoint (here client_secret_basic);
    a wrong secret is invalid_client (401 with a Basic challenge), another client_id in the body
    invalid_request."""
    params, _ = confidential_rp.authorization_params()
    wrong = client.post(
        "/par",
        data=params,
        headers={"Authorization": "Basic " + "d3Jvbmc6c2VjcmV0"},
    )
    headers, _ = confidential_rp.client_auth()
    mismatch = client.post("/par", data={**params, "client_id": "someone-else"}, headers=headers)

    assert wrong.status_code == 401
    assert wrong.get_json()["error"] == "invalid_client"
    assert mismatch.status_code == 400
    assert mismatch.get_json()["error"] == "invalid_request"


def test_push_with_private_key_jwt(cli, client, tmp_path, user):
    """RFC 9126 2 with RFC 7523: a private_key_jwt assertion whose audience is the issuer."""
    rp = key_portal(cli, client, tmp_path)
    response, verifier, _ = push(rp)
    assert response.status_code == 201, response.get_json()

    attempt = pushed_login(rp, user, response.get_json()["request_uri"], verifier)

    tokens = rp.exchange(attempt)
    assert tokens.status_code == 200, tokens.get_json()


def test_public_client_can_push(public_rp, user):
    """RFC 9126 2: a public client pushes with its client_id (and PKCE)."""
    response, verifier, _ = push(public_rp)
    assert response.status_code == 201, response.get_json()

    attempt = pushed_login(public_rp, user, response.get_json()["request_uri"], verifier)

    assert public_rp.exchange(attempt).status_code == 200


def test_portal_required_to_push(cli, confidential_rp, user):
    """RFC 9126 6: require_pushed_authorization_requests per portal; plain requests refused."""
    cli.ok("clients", "update", confidential_rp.client_id, "--require-par", "yes")

    plain = confidential_rp.authorize()
    response, verifier, _ = push(confidential_rp)
    attempt = pushed_login(confidential_rp, user, response.get_json()["request_uri"], verifier)

    assert plain.result["error"] == "invalid_request"
    assert "pushed" in plain.result["error_description"]
    assert "code" in attempt.result


def test_require_par_everywhere(make_app, cli, confidential_rp):
    """IDP_REQUIRE_PAR: every portal must push; discovery says so."""
    application = make_app(REQUIRE_PAR=True)
    browser = application.test_client()
    metadata = browser.get("/.well-known/openid-configuration").get_json()
    params, _ = confidential_rp.authorization_params()

    plain = browser.get("/authorize", query_string=params)

    assert metadata["require_pushed_authorization_requests"] is True
    assert plain.status_code == 303
    assert "error=invalid_request" in plain.headers["Location"]


def test_discovery_advertises_par(client):
    """RFC 9126 5."""
    metadata = client.get("/.well-known/openid-configuration").get_json()

    assert metadata["pushed_authorization_request_endpoint"] == "http://localhost/par"
    assert metadata["require_pushed_authorization_requests"] is False
