"""``prompt``, ``max_age``, ``id_token_hint`` and ``login_hint``.

OpenID Connect Core 1.0 sections 3.1.2.1 (request parameters), 3.1.2.3 (re-authentication),
3.1.2.6 (login_required, consent_required) and 2 (``auth_time``).
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from jwcrypto import jwk, jwt

from tests.authorize.helpers import (
    ISSUER,
    assert_error_redirect,
    input_value,
    interaction_page,
    is_consent_page,
    is_login_page,
    tokens_for,
)
from tests.support import RelyingParty

# -- prompt ----------------------------------------------------------------------------------


def test_prompt_none_without_session_is_login_required(public_rp):
    """OIDC Core 3.1.2.6: prompt=none and nobody logged in -> login_required."""
    attempt = public_rp.authorize(prompt="none")
    result = assert_error_redirect(attempt, public_rp, "login_required")
    assert result.get("error_description")


def test_prompt_none_with_session_but_no_consent_is_consent_required(public_rp, user):
    """OIDC Core 3.1.2.6: prompt=none and a scope not yet approved -> consent_required."""
    first = public_rp.login(user["username"], user["password"], scope="openid")
    assert "code" in first.result
    attempt = public_rp.authorize(prompt="none", scope="openid profile")
    assert_error_redirect(attempt, public_rp, "consent_required")


def test_prompt_none_with_session_and_consent_answers_without_a_page(public_rp, signed_in):
    """OIDC Core 3.1.2.1: prompt=none -> no page; the code comes back at once."""
    attempt = public_rp.authorize(prompt="none")
    assert attempt.response.headers["Location"].startswith(public_rp.redirect_uri)
    assert attempt.result["state"] == attempt.params["state"]
    assert attempt.result["iss"] == ISSUER
    tokens = tokens_for(public_rp, attempt)
    claims = public_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert claims["sub"] == signed_in["claims"]["sub"]
    assert claims["sid"] == signed_in["claims"]["sid"]


def test_live_session_and_remembered_consent_need_no_page(public_rp, signed_in):
    """OIDC Core 3.1.2.3: the OP may use an existing session; consent is remembered."""
    attempt = public_rp.authorize()
    assert "code" in attempt.result, attempt.response.headers.get("Location")


def test_prompt_login_forces_the_login_form_and_a_fresh_authentication(public_rp, user, signed_in):
    """OIDC Core 3.1.2.1: prompt=login re-authenticates even with a live session."""
    before = int(time.time())
    attempt = public_rp.authorize(prompt="login")
    assert is_login_page(interaction_page(public_rp.browser, attempt.response))
    attempt = public_rp.login(user["username"], user["password"], prompt="login")
    tokens = tokens_for(public_rp, attempt)
    claims = public_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert claims["auth_time"] >= before
    assert claims["sid"] != signed_in["claims"]["sid"]


def test_prompt_consent_forces_the_consent_page(public_rp, signed_in):
    """OIDC Core 3.1.2.1: prompt=consent asks again even when consent was remembered."""
    attempt = public_rp.authorize(prompt="consent")
    page = interaction_page(public_rp.browser, attempt.response)
    assert is_consent_page(page)
    assert not is_login_page(page)
    attempt.response = public_rp.browser.get(attempt.response.headers["Location"])
    public_rp.submit_consent(attempt)
    assert "code" in attempt.result


# -- max_age ---------------------------------------------------------------------------------


def test_max_age_zero_requires_a_new_login(public_rp, user, signed_in):
    """OIDC Core 3.1.2.1: the session is older than max_age=0, so the person logs in again."""
    attempt = public_rp.authorize(max_age="0")
    assert is_login_page(interaction_page(public_rp.browser, attempt.response))
    attempt = public_rp.login(user["username"], user["password"], max_age="0")
    tokens = tokens_for(public_rp, attempt)
    claims = public_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert isinstance(claims["auth_time"], int)
    assert claims["sid"] != signed_in["claims"]["sid"]


def test_max_age_zero_with_prompt_none_is_login_required(public_rp, signed_in):
    """OIDC Core 3.1.2.1 and 3.1.2.6: re-authentication is needed but no page may be shown."""
    attempt = public_rp.authorize(max_age="0", prompt="none")
    assert_error_redirect(attempt, public_rp, "login_required")


def test_max_age_older_than_the_session_needs_no_login(public_rp, signed_in):
    """OIDC Core 3.1.2.1 and 2: a recent enough login is reused; auth_time is the login's."""
    attempt = public_rp.authorize(max_age="3600", prompt="none")
    tokens = tokens_for(public_rp, attempt)
    claims = public_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert claims["auth_time"] == signed_in["claims"]["auth_time"]


def test_session_older_than_max_age_requires_login(public_rp, user, signed_in):
    """OIDC Core 3.1.2.1: after max_age seconds the person must actively re-authenticate."""
    time.sleep(1.2)
    attempt = public_rp.authorize(max_age="1")
    assert is_login_page(interaction_page(public_rp.browser, attempt.response))
    attempt = public_rp.login(user["username"], user["password"], max_age="1")
    tokens = tokens_for(public_rp, attempt)
    claims = public_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert claims["auth_time"] > signed_in["claims"]["auth_time"]


# -- id_token_hint ---------------------------------------------------------------------------


def test_id_token_hint_for_the_current_user_with_prompt_none_issues_a_code(public_rp, signed_in):
    """OIDC Core 3.1.2.1: a hint naming the logged-in person is honoured silently."""
    attempt = public_rp.authorize(prompt="none", id_token_hint=signed_in["id_token"])
    assert "code" in attempt.result, attempt.result


def test_expired_id_token_hint_is_accepted(public_rp, provider, signed_in):
    """OIDC Core 3.1.2.1: the OP need not be listed as an audience of a valid, expired hint."""
    now = int(time.time())
    claims = {**signed_in["claims"], "iat": now - 7200, "exp": now - 3600}
    hint = provider.keys.sign(claims)
    attempt = public_rp.authorize(prompt="none", id_token_hint=hint)
    assert "code" in attempt.result, attempt.result


def test_id_token_hint_for_another_user_with_prompt_none_is_login_required(
    app, cli, public_rp, signed_in
):
    """OIDC Core 3.1.2.1: the hinted person is not the one logged in -> login_required."""
    cli.ok("users", "create", "--username", "bob", "--password", "another long password")
    other_browser = RelyingParty(
        app.test_client(), public_rp.client_id, None, public_rp.redirect_uri
    )
    bob = other_browser.login("bob", "another long password")
    bob_id_token = tokens_for(other_browser, bob)["id_token"]

    attempt = public_rp.authorize(prompt="none", id_token_hint=bob_id_token)
    assert_error_redirect(attempt, public_rp, "login_required")
    attempt = public_rp.authorize(id_token_hint=bob_id_token)
    assert is_login_page(interaction_page(public_rp.browser, attempt.response))


def _b64(data: dict) -> str:  # type: ignore[type-arg]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _signed_by_another_key(claims: dict, kid: str) -> str:  # type: ignore[type-arg]
    foreign = jwt.JWT(header={"alg": "RS256", "kid": kid}, claims=claims)
    foreign.make_signed_token(jwk.JWK.generate(kty="RSA", size=2048))
    return str(foreign.serialize())


def _forged_hint(kind: str, provider, signed_in) -> str:  # type: ignore[no-untyped-def]
    header, payload, signature = signed_in["id_token"].split(".")
    claims = signed_in["claims"]
    if kind == "bad signature":
        return f"{header}.{_b64({**claims, 'sub': 'someone-else'})}.{signature}"
    if kind == "alg none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    if kind == "another key":
        kid = json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]
        return _signed_by_another_key(claims, kid)
    if kind == "wrong issuer":
        return str(provider.keys.sign({**claims, "iss": "https://other-idp.example"}))
    return "definitely-not-a-jwt"


@pytest.mark.parametrize(
    "kind", ["bad signature", "alg none", "another key", "wrong issuer", "not a jwt"]
)
def test_forged_id_token_hint_is_invalid_request(public_rp, provider, signed_in, kind):
    """OIDC Core 3.1.2.1: the hint must be an ID token this OP issued (signature, iss)."""
    hint = _forged_hint(kind, provider, signed_in)
    attempt = public_rp.authorize(prompt="none", id_token_hint=hint)
    assert_error_redirect(attempt, public_rp, "invalid_request")


def test_id_token_hint_for_another_portal_is_invalid_request(cli, public_rp, signed_in):
    """OIDC Core 3.1.2.1: a hint issued to another audience is not this portal's."""
    data = cli.ok(
        "clients", "create", "--name", "Other", "--public",
        "--redirect-uri", "http://127.0.0.1:8765/other", "--json",
    )  # fmt: skip
    other = RelyingParty(public_rp.browser, data["client_id"], None, "http://127.0.0.1:8765/other")
    other_attempt = other.login("unused", "unused")
    other_id_token = tokens_for(other, other_attempt)["id_token"]
    assert other.validate_id_token(other_id_token)["aud"] == data["client_id"]

    attempt = public_rp.authorize(prompt="none", id_token_hint=other_id_token)
    assert_error_redirect(attempt, public_rp, "invalid_request")


# -- login_hint ------------------------------------------------------------------------------


def test_login_hint_prefills_the_username(public_rp):
    """OIDC Core 3.1.2.1: login_hint may pre-fill the login identifier."""
    attempt = public_rp.authorize(login_hint="alice")
    page = interaction_page(public_rp.browser, attempt.response)
    assert input_value(page, "username") == "alice"


def test_login_hint_is_escaped_in_the_page(public_rp):
    """A hint is untrusted input: it appears only as an attribute value, never as markup."""
    hint = '"><script>alert(1)</script>'
    attempt = public_rp.authorize(login_hint=hint)
    page = interaction_page(public_rp.browser, attempt.response)
    assert "<script>" not in page
    assert input_value(page, "username") == hint
