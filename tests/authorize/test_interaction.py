"""Login and consent: the interaction between the portal's request and the code.

RFC 6749 sections 4.1.2 and 4.1.2.1 (``access_denied``), 10.10 and 10.12 (code entropy, CSRF),
OpenID Connect Core 1.0 sections 3.1.2.4 (consent) and 3.1.2.1 (``ui_locales``), OAuth 2.0 Form
Post Response Mode, Multiple Response Type Encoding Practices (``fragment``), RFC 9207 (``iss``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.authorize.helpers import (
    ISSUER,
    assert_error_page,
    assert_error_redirect,
    html_lang,
    input_value,
    interaction_page,
    is_consent_page,
    is_login_page,
    returned,
    tokens_for,
)
from tests.support import RelyingParty, csrf_token, form_action


def _login_page(rp, **overrides):  # type: ignore[no-untyped-def]
    attempt = rp.authorize(**overrides)
    attempt.response = rp.browser.get(attempt.response.headers["Location"])
    assert attempt.response.status_code == 200
    return attempt


def _has_session_cookie(response) -> bool:  # type: ignore[no-untyped-def]
    return any(h.startswith("idp_session=") for h in response.headers.getlist("Set-Cookie"))


# -- success responses -----------------------------------------------------------------------


def test_success_response_carries_code_state_and_iss_in_the_query(public_rp, user):
    """RFC 6749 4.1.2 and RFC 9207 2: the default mode is query; iss is always there."""
    attempt = public_rp.login(user["username"], user["password"])
    location = attempt.response.headers["Location"]
    assert urlsplit(location).fragment == ""
    result = returned(attempt.response, public_rp.redirect_uri)
    assert set(result) == {"code", "state", "iss"}
    assert result["iss"] == ISSUER
    assert result["state"] == attempt.params["state"]


def test_codes_have_at_least_128_bits_and_are_single_use(public_rp, user):
    """RFC 6749 10.10 (guessing probability 2^-128 or less) and 4.1.2 (single use)."""
    first = public_rp.login(user["username"], user["password"])
    second = public_rp.login(user["username"], user["password"])
    codes = [first.result["code"], second.result["code"]]
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", code), code  # 22 base64url chars = 132 bits
    assert codes[0] != codes[1]
    assert public_rp.exchange(first).status_code == 200
    replay = public_rp.exchange(first)
    assert replay.status_code == 400
    assert replay.get_json()["error"] == "invalid_grant"


def test_fragment_mode_puts_the_result_in_the_fragment(public_rp, user):
    """Multiple Response Type Encoding Practices 2.1: response_mode=fragment."""
    attempt = public_rp.login(user["username"], user["password"], response_mode="fragment")
    location = attempt.response.headers["Location"]
    assert urlsplit(location).query == ""
    result = returned(attempt.response, public_rp.redirect_uri, "fragment")
    assert set(result) == {"code", "state", "iss"}
    assert result["iss"] == ISSUER
    assert tokens_for(public_rp, attempt)["id_token"]


def test_form_post_mode_renders_a_form_to_the_redirect_uri(confidential_rp, user):
    """OAuth 2.0 Form Post Response Mode 2: a form posting code, state and iss; no script."""
    attempt = confidential_rp.login(user["username"], user["password"], response_mode="form_post")
    response = attempt.response
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "<script" not in page
    assert form_action(page) == confidential_rp.redirect_uri
    assert re.search(r'<form[^>]*method="post"', page)
    assert input_value(page, "state") == attempt.params["state"]
    assert input_value(page, "iss") == ISSUER
    code = input_value(page, "code")
    assert len(code) >= 22
    csp = response.headers["Content-Security-Policy"]
    form_action_directive = re.search(r"form-action ([^;]*)", csp)
    assert form_action_directive
    assert "https://portal.example.gov.cn" in form_action_directive.group(1).split()
    attempt.result = {"code": code}
    assert tokens_for(confidential_rp, attempt)["id_token"]


# -- consent ---------------------------------------------------------------------------------


def test_denying_consent_returns_access_denied(public_rp, user):
    """RFC 6749 4.1.2.1: the person refused -> access_denied with state and iss."""
    attempt = public_rp.login(user["username"], user["password"], consent="deny")
    assert_error_redirect(attempt, public_rp, "access_denied")


def test_cancel_on_the_login_page_returns_access_denied(public_rp):
    """RFC 6749 4.1.2.1: the person gave up at the login form -> access_denied."""
    attempt = _login_page(public_rp)
    page = attempt.response.get_data(as_text=True)
    cancel = form_action(page, "/abort")
    attempt.response = public_rp.browser.post(
        cancel, data={"csrf_token": csrf_token(page), "decision": "deny"}
    )
    assert_error_redirect(attempt, public_rp, "access_denied")


def test_consent_is_remembered_per_account_and_portal(app, public_rp, user):
    """OIDC Core 3.1.2.4: consent may be remembered; a fresh browser only asks for the password."""
    first = public_rp.login(user["username"], user["password"])
    assert "code" in first.result

    fresh = RelyingParty(app.test_client(), public_rp.client_id, None, public_rp.redirect_uri)
    attempt = _login_page(fresh)
    assert is_login_page(attempt.response.get_data(as_text=True))
    fresh.submit_login(attempt, user["username"], user["password"])
    assert "code" in attempt.result, attempt.response.headers.get("Location")


def test_consent_is_per_portal(cli, public_rp, user):
    """OIDC Core 3.1.2.4: approving one portal does not approve another."""
    assert "code" in public_rp.login(user["username"], user["password"]).result
    data = cli.ok(
        "clients", "create", "--name", "Second", "--public",
        "--redirect-uri", "http://127.0.0.1:8765/second", "--json",
    )  # fmt: skip
    other = RelyingParty(public_rp.browser, data["client_id"], None, "http://127.0.0.1:8765/second")
    attempt = other.authorize()
    assert is_consent_page(interaction_page(other.browser, attempt.response))


def test_a_new_scope_asks_for_consent_again(public_rp, user):
    """OIDC Core 3.1.2.4: consent covers the scopes approved; a new one must be approved."""
    assert "code" in public_rp.login(user["username"], user["password"], scope="openid").result
    attempt = public_rp.authorize(scope="openid profile")
    page = interaction_page(public_rp.browser, attempt.response)
    assert is_consent_page(page)
    assert 'data-claim="name"' in page  # what the profile scope releases, one claim a line


def test_consent_page_names_the_portal_and_the_scopes(public_rp, user):
    """OIDC Core 3.1.2.4: the person sees who asks and for what."""
    attempt = _login_page(public_rp)
    public_rp.submit_login(attempt, user["username"], user["password"])
    page = interaction_page(public_rp.browser, attempt.response)
    assert "Public Portal" in page
    assert 'data-scope="openid"' in page and 'data-claim="name"' in page


# -- interaction safety ----------------------------------------------------------------------


def test_interaction_cannot_be_continued_in_another_browser(app, public_rp, user):
    """RFC 9700 4.4.1 and 2.1: the interaction is bound to the browser that started it."""
    attempt = _login_page(public_rp)
    url = attempt.response.request.path
    page = attempt.response.get_data(as_text=True)

    other = app.test_client()
    assert_error_page(other.get(url))
    # Even with the victim's CSRF cookie and token, the browser binding is missing.
    csrf_cookie = public_rp.browser.get_cookie("idp_csrf")
    assert csrf_cookie is not None
    other.set_cookie("idp_csrf", csrf_cookie.value)
    stolen = other.post(form_action(page, "/login"), data={"csrf_token": csrf_token(page), **user})
    assert_error_page(stolen)
    assert not _has_session_cookie(stolen)
    # The browser that started it can still finish.
    public_rp.submit_login(attempt, user["username"], user["password"])
    assert is_consent_page(interaction_page(public_rp.browser, attempt.response))


def test_replayed_login_form_gets_an_error_page_and_no_second_code(public_rp, user):
    """RFC 6749 4.1.2: one authorization request yields at most one code."""
    public_rp.login(user["username"], user["password"], scope="openid")  # remember consent
    attempt = _login_page(public_rp, prompt="login", scope="openid")
    page = attempt.response.get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), **user}
    first = public_rp.browser.post(form_action(page, "/login"), data=form)
    assert returned(first, public_rp.redirect_uri)["code"]
    replay = public_rp.browser.post(form_action(page, "/login"), data=form)
    assert_error_page(replay)
    # The step is claimed before anything is recorded: the replay started no second session.
    assert not _has_session_cookie(replay)


def test_replayed_consent_form_gets_an_error_page_and_no_second_code(public_rp, user):
    """RFC 6749 4.1.2: the consent step completes once."""
    attempt = _login_page(public_rp)
    public_rp.submit_login(attempt, user["username"], user["password"])
    attempt.response = public_rp.browser.get(attempt.response.headers["Location"])
    page = attempt.response.get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "decision": "approve"}
    first = public_rp.browser.post(form_action(page, "/consent"), data=form)
    assert returned(first, public_rp.redirect_uri)["code"]
    assert_error_page(public_rp.browser.post(form_action(page, "/consent"), data=form))


def test_login_form_without_or_with_a_wrong_csrf_token_is_refused(public_rp, user):
    """RFC 6749 10.12: the login form is protected against cross-site request forgery."""
    attempt = _login_page(public_rp)
    page = attempt.response.get_data(as_text=True)
    action = form_action(page, "/login")
    for token in (None, "forged-token", csrf_token(page) + "x"):
        data = {**user} if token is None else {"csrf_token": token, **user}
        response = public_rp.browser.post(action, data=data)
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert not _has_session_cookie(response)
    # Nobody is logged in: prompt=none still needs a login, and the form still works.
    assert_error_redirect(public_rp.authorize(prompt="none"), public_rp, "login_required")
    public_rp.submit_login(attempt, user["username"], user["password"])
    assert attempt.response.headers["Location"].startswith("/interaction/")


def test_unknown_interaction_gets_an_error_page(client):
    """An unknown or expired interaction id shows a page (no redirect: nothing is trusted)."""
    assert_error_page(client.get("/interaction/not-a-real-id"))


# -- languages -------------------------------------------------------------------------------


def test_login_page_defaults_to_simplified_chinese(public_rp):
    """The default language is zh-CN when nothing asks otherwise."""
    page = _login_page(public_rp).response.get_data(as_text=True)
    assert html_lang(page) == "zh-CN"
    assert "登录" in page


def test_ui_locales_renders_the_login_page_in_english(public_rp):
    """OIDC Core 3.1.2.1: ui_locales is the person's preferred language for the pages."""
    page = _login_page(public_rp, ui_locales="fr en").response.get_data(as_text=True)
    assert html_lang(page) == "en"
    assert "Log in" in page and "登录" not in page


def test_lang_query_switches_the_language(public_rp):
    """The language links (``?lang=``) switch the page language."""
    attempt = _login_page(public_rp)
    url = attempt.response.request.path + "?lang=en"
    page = public_rp.browser.get(url)
    assert page.status_code == 200
    assert html_lang(page.get_data(as_text=True)) == "en"
