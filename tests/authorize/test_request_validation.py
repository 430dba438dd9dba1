"""Validation of authorization requests: which errors redirect, which show a page.

RFC 6749 sections 3.1, 3.1.2, 4.1.1 and 4.1.2.1, OpenID Connect Core 1.0 section 3.1.2,
RFC 7636 (PKCE), RFC 9207 (``iss``), RFC 9700 sections 2.1 and 4.1 (exact redirect URI matching).
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import urlencode

import pytest

from tests.authorize.helpers import (
    ISSUER,
    assert_error_page,
    assert_error_redirect,
    get_authorize,
    interaction_page,
    is_login_page,
    returned,
)
from tests.support import RelyingParty


def test_get_without_session_goes_to_the_login_interaction(public_rp):
    """RFC 6749 3.1: the endpoint supports GET; a valid request starts the interaction."""
    attempt = public_rp.authorize()
    assert is_login_page(interaction_page(public_rp.browser, attempt.response))


def test_form_encoded_post_from_a_portal_is_accepted_without_csrf_token(public_rp):
    """OIDC Core 3.1.2.1: the endpoint supports POST (form-encoded); portals have no CSRF token."""
    params, _ = public_rp.authorization_params()
    response = public_rp.browser.post("/authorize", data=params)
    assert is_login_page(interaction_page(public_rp.browser, response))


# -- trust: client and redirect URI ------------------------------------------------------------


def test_unknown_client_gets_an_error_page(public_rp):
    """RFC 6749 4.1.2.1: an invalid client_id is never redirected."""
    params, _ = public_rp.authorization_params(client_id="no-such-portal")
    page = assert_error_page(get_authorize(public_rp.browser, params))
    assert not re.search(r'(href|action)="https?://', page)


def test_missing_client_id_gets_an_error_page(public_rp):
    """RFC 6749 4.1.2.1: without a client the redirect URI cannot be trusted."""
    params, _ = public_rp.authorization_params(client_id=None)
    assert_error_page(get_authorize(public_rp.browser, params))


def test_missing_redirect_uri_gets_an_error_page(public_rp):
    """OIDC Core 3.1.2.1: redirect_uri is required; RFC 6749 4.1.2.1: no redirect."""
    params, _ = public_rp.authorization_params(redirect_uri=None)
    assert_error_page(get_authorize(public_rp.browser, params))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://attacker.example/callback",
        "http://127.0.0.1:8765/callback/",
        "http://127.0.0.1:8765/callback?next=x",
        "http://127.0.0.1:8765/Callback",
        "http://127.0.0.1:8765/callback#frag",
        "http://127.0.0.1:8765/callback/../callback",
        "http://127.0.0.1:8766/callback",
    ],
)
def test_redirect_uri_must_match_exactly(public_rp, redirect_uri):
    """RFC 9700 2.1 and 4.1.3: exact string matching; a near miss gets a page, not a redirect."""
    params, _ = public_rp.authorization_params(redirect_uri=redirect_uri)
    page = assert_error_page(get_authorize(public_rp.browser, params))
    assert not re.search(r'(href|action)="https?://', page)


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
def test_repeated_client_id_or_redirect_uri_gets_an_error_page(public_rp, name):
    """RFC 6749 3.1: parameters must not be included more than once; untrusted, so no redirect."""
    params, _ = public_rp.authorization_params()
    pairs = [*params.items(), (name, params[name])]
    assert_error_page(get_authorize(public_rp.browser, pairs))


def test_other_errors_are_not_redirected_while_the_redirect_uri_is_untrusted(public_rp):
    """RFC 9700 4.11.2: an unregistered redirect URI wins over any later error."""
    params, _ = public_rp.authorization_params(
        redirect_uri="https://attacker.example/cb", response_type="token"
    )
    assert_error_page(get_authorize(public_rp.browser, params))


# -- response_type --------------------------------------------------------------------------


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token"])
def test_only_the_code_flow_is_supported(public_rp, response_type):
    """RFC 9700 2.1.2 (no implicit or hybrid); RFC 6749 4.1.2.1: unsupported_response_type."""
    attempt = public_rp.authorize(response_type=response_type)
    result = assert_error_redirect(attempt, public_rp, "unsupported_response_type")
    assert result.get("error_description")


def test_missing_response_type_is_invalid_request(public_rp):
    """RFC 6749 4.1.1: response_type is required."""
    attempt = public_rp.authorize(response_type=None)
    assert_error_redirect(attempt, public_rp, "invalid_request")


# -- PKCE -----------------------------------------------------------------------------------


def test_public_client_without_code_challenge_is_refused(public_rp):
    """RFC 9700 2.1.1: public clients must use PKCE."""
    attempt = public_rp.authorize(code_challenge=None, code_challenge_method=None)
    result = assert_error_redirect(attempt, public_rp, "invalid_request")
    assert "code_challenge" in result["error_description"]


def test_plain_code_challenge_method_is_refused(public_rp):
    """RFC 9700 2.1.1: only S256; ``plain`` is refused."""
    verifier = "a" * 50
    attempt = public_rp.authorize(code_challenge=verifier, code_challenge_method="plain")
    assert_error_redirect(attempt, public_rp, "invalid_request")


def test_code_challenge_without_method_is_refused(public_rp):
    """RFC 7636 4.3: the method defaults to ``plain``, which we refuse."""
    attempt = public_rp.authorize(code_challenge_method=None)
    assert_error_redirect(attempt, public_rp, "invalid_request")


def test_code_challenge_method_without_challenge_is_refused(confidential_rp):
    """RFC 7636 4.3: a method without a challenge is a malformed request."""
    attempt = confidential_rp.authorize(code_challenge=None)
    assert_error_redirect(attempt, confidential_rp, "invalid_request")


@pytest.mark.parametrize(
    "challenge",
    ["short", "a" * 42, "a" * 129, "a" * 42 + "=", "a" * 42 + "+", "a" * 42 + "/"],
)
def test_malformed_code_challenge_is_refused(public_rp, challenge):
    """RFC 7636 4.2: 43 to 128 characters of the unreserved set (base64url, no padding)."""
    attempt = public_rp.authorize(code_challenge=challenge)
    assert_error_redirect(attempt, public_rp, "invalid_request")


def test_confidential_client_may_omit_pkce(confidential_rp, user):
    """RFC 9700 2.1.1: PKCE is recommended, not required, for confidential clients."""
    attempt = confidential_rp.login(
        user["username"], user["password"], code_challenge=None, code_challenge_method=None
    )
    assert "code" in attempt.result
    response = confidential_rp.exchange(attempt)
    assert response.status_code == 200, response.get_json()


# -- scope ----------------------------------------------------------------------------------


def test_missing_scope_is_invalid_scope(public_rp):
    """RFC 6749 3.3 and 4.1.2.1: no scope and no default."""
    attempt = public_rp.authorize(scope=None)
    assert_error_redirect(attempt, public_rp, "invalid_scope")


def test_unknown_scope_is_invalid_scope(public_rp):
    """RFC 6749 4.1.2.1: an unknown scope."""
    attempt = public_rp.authorize(scope="openid payroll")
    result = assert_error_redirect(attempt, public_rp, "invalid_scope")
    assert "payroll" in result["error_description"]


def test_scope_not_allowed_for_the_portal_is_invalid_scope(cli, client):
    """RFC 6749 3.3: the server may refuse scopes the client is not registered for."""
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "Narrow Portal",
        "--public",
        "--scope",
        "profile",
        "--redirect-uri",
        "http://127.0.0.1:8765/narrow",
        "--json",
    )
    rp = RelyingParty(client, data["client_id"], None, "http://127.0.0.1:8765/narrow")
    attempt = rp.authorize(scope="openid offline_access")
    assert_error_redirect(attempt, rp, "invalid_scope")


# -- repeated and unknown parameters ---------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["scope", "state", "response_type", "code_challenge", "nonce", "prompt"]
)
def test_repeated_parameter_is_invalid_request(public_rp, name):
    """RFC 6749 3.1: request parameters must not be included more than once."""
    params, _ = public_rp.authorization_params(prompt="login")
    pairs = [*params.items(), (name, params[name])]
    response = get_authorize(public_rp.browser, pairs)
    result = returned(response, public_rp.redirect_uri)
    assert result["error"] == "invalid_request"
    assert result["iss"] == ISSUER
    assert name in result["error_description"]


def test_unknown_parameters_are_ignored(public_rp, user):
    """RFC 6749 3.1: the server must ignore unrecognized request parameters."""
    attempt = public_rp.login(
        user["username"], user["password"], foo="bar", display_mode="tiny", registration="{}"
    )
    assert "code" in attempt.result, attempt.result


# -- request objects ------------------------------------------------------------------------


def _unsigned_request_object(rp):  # type: ignore[no-untyped-def]
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    body = json.dumps({"client_id": rp.client_id, "scope": "openid"}).encode()
    return f"{header}.{base64.urlsafe_b64encode(body).rstrip(b'=').decode()}."


def test_unsigned_request_object_is_refused(public_rp):
    """RFC 9101 (issue 18): request objects must be signed with the portal's registered keys;
    an unsigned one is invalid_request_object (tests/fapi/test_jar.py has the signed ones)."""
    attempt = public_rp.authorize(request=_unsigned_request_object(public_rp))
    assert_error_redirect(attempt, public_rp, "invalid_request_object")


def test_request_uri_by_reference_is_refused(public_rp):
    """RFC 9101 5.2 / RFC 9126 (issue 18): only /par's request_uri is accepted; one by
    reference is never fetched: invalid_request_uri."""
    attempt = public_rp.authorize(request_uri="https://portal.example/request.jwt")
    assert_error_redirect(attempt, public_rp, "invalid_request_uri")


def test_discovery_announces_iss_parameter_and_request_objects_by_value_only(client):
    """RFC 9207 3 and OIDC Discovery 3: what the metadata promises about this endpoint
    (request objects by value since issue 18; by reference only through /par)."""
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["request_parameter_supported"] is True
    assert meta["request_uri_parameter_supported"] is False
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "plain" not in meta["code_challenge_methods_supported"]


# -- prompt, max_age and claims syntax --------------------------------------------------------


@pytest.mark.parametrize("prompt", ["none login", "consent none", "sometimes", "login bogus"])
def test_invalid_prompt_is_invalid_request(public_rp, prompt):
    """OIDC Core 3.1.2.1: ``none`` with another value, or an unknown value, is an error."""
    attempt = public_rp.authorize(prompt=prompt)
    assert_error_redirect(attempt, public_rp, "invalid_request")


@pytest.mark.parametrize("max_age", ["-1", "1.5", "ten", "1e3", " 5"])
def test_invalid_max_age_is_invalid_request(public_rp, max_age):
    """OIDC Core 3.1.2.1: max_age is a non-negative integer number of seconds."""
    attempt = public_rp.authorize(max_age=max_age)
    assert_error_redirect(attempt, public_rp, "invalid_request")


@pytest.mark.parametrize(
    "claims",
    ["{not json", "[]", '"id_token"', "42", '{"id_token": []}', '{"id_token": {"name": 1}}'],
)
def test_malformed_claims_parameter_is_invalid_request(public_rp, claims):
    """OIDC Core 5.5: the claims parameter is a JSON object of objects."""
    attempt = public_rp.authorize(claims=claims)
    assert_error_redirect(attempt, public_rp, "invalid_request")


# -- response modes ------------------------------------------------------------------------


def test_unknown_response_mode_is_invalid_request(public_rp):
    """OAuth 2.0 Multiple Response Type Encoding Practices 2.1: unsupported modes are errors."""
    attempt = public_rp.authorize(response_mode="web_message")
    assert_error_redirect(attempt, public_rp, "invalid_request")


def test_fragment_mode_returns_errors_in_the_fragment(public_rp):
    """Multiple Response Type Encoding Practices 2.1: errors use the requested mode too."""
    attempt = public_rp.authorize(response_mode="fragment", response_type="token")
    result = returned(attempt.response, public_rp.redirect_uri, "fragment")
    assert result["error"] == "unsupported_response_type"
    assert result["state"] == attempt.params["state"]
    assert result["iss"] == ISSUER
    assert "?" not in attempt.response.headers["Location"]


def test_form_post_mode_returns_errors_in_a_form(public_rp):
    """OAuth 2.0 Form Post Response Mode 2: errors are posted to the portal too."""
    attempt = public_rp.authorize(response_mode="form_post", scope="openid payroll")
    assert attempt.response.status_code == 200
    page = attempt.response.get_data(as_text=True)
    assert f'action="{public_rp.redirect_uri}"' in page
    assert 'name="error" value="invalid_scope"' in page
    assert f'name="iss" value="{ISSUER}"' in page
    assert f'name="state" value="{attempt.params["state"]}"' in page


def test_error_redirect_without_state_has_no_state(public_rp):
    """RFC 6749 4.1.2.1: state is returned only if it was in the request; iss always."""
    attempt = public_rp.authorize(state=None, response_type="token")
    result = returned(attempt.response, public_rp.redirect_uri)
    assert result["error"] == "unsupported_response_type"
    assert "state" not in result
    assert result["iss"] == ISSUER


def test_error_redirect_keeps_the_redirect_uri_query(cli, client):
    """RFC 6749 3.1.2: the query of a registered redirect URI is retained."""
    uri = "http://127.0.0.1:8765/cb?tenant=7"
    data = cli.ok("clients", "create", "--name", "Q", "--public", "--redirect-uri", uri, "--json")
    rp = RelyingParty(client, data["client_id"], None, uri)
    attempt = rp.authorize(response_type="token")
    result = returned(attempt.response, uri)
    assert result["tenant"] == "7"
    assert result["error"] == "unsupported_response_type"


# -- CORS -----------------------------------------------------------------------------------


def test_authorization_endpoint_sends_no_cors_headers(public_rp):
    """The endpoint is for top-level navigation only (RFC 9700 4.16): no CORS, even on errors."""
    params, _ = public_rp.authorization_params()
    origin = {"Origin": "https://attacker.example"}
    for response in (
        public_rp.browser.get("/authorize?" + urlencode(params), headers=origin),
        public_rp.browser.get("/authorize?client_id=nope", headers=origin),
        public_rp.browser.post("/authorize", data=params, headers=origin),
        public_rp.browser.options(
            "/authorize",
            headers={**origin, "Access-Control-Request-Method": "POST"},
        ),
    ):
        assert not [h for h in response.headers.keys() if h.lower().startswith("access-control")]
