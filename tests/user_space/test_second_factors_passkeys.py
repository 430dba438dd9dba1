"""Passkeys (W3C Web Authentication) as a second factor, over HTTP with a software
authenticator posting what the page's script would post: registration and authentication
ceremonies, challenges single-use and bound to the browser, the origin and RP ID checked, the
signature counter kept, ``amr`` ``hwk`` and ``user`` in the ID token."""

from __future__ import annotations

from sqlalchemy import select

from idp.models import SecondFactor
from tests.account.helpers import account_login, create_user
from tests.support import csrf_token
from tests.user_space.factor_helpers import (
    SoftAuthenticator,
    enrol_passkey,
    finish,
    options_from,
    recovery_codes_on,
    submit_factor,
    to_second_factor,
)


def _with_passkey(cli, app):  # type: ignore[no-untyped-def]
    person = create_user(cli, "qian", "钱四")
    browser = app.test_client()
    account_login(browser, person["username"], person["password"])
    authenticator = SoftAuthenticator()
    done = enrol_passkey(browser, authenticator)
    assert done.status_code == 200, done.get_data(as_text=True)[:3000]
    assert len(recovery_codes_on(done.get_data(as_text=True))) == 10
    return person, browser, authenticator


def test_passkey_page_allows_only_its_own_script(cli, app) -> None:
    person = create_user(cli, "sun", "孙五")
    browser = app.test_client()
    account_login(browser, person["username"], person["password"])
    page = browser.get("/account/security/passkeys?lang=en")
    policy = page.headers["Content-Security-Policy"]
    nonce = policy.split("script-src 'nonce-")[1].split("'")[0]
    html = page.get_data(as_text=True)
    assert f'<script nonce="{nonce}">' in html
    options = options_from(html, "registration-options")
    assert options["rp"]["id"] == "localhost"
    assert options["user"]["name"] == "sun"
    # Without the script the form stays hidden and a note says why.
    assert 'id="passkey-form" hidden' in html and "data-webauthn-unsupported" in html


def test_passkey_registration_and_login_give_amr_hwk(cli, app, provider, confidential_rp) -> None:
    person, _browser, authenticator = _with_passkey(cli, app)
    row = provider.db.session.scalars(select(SecondFactor)).one()
    assert row.kind == "passkey" and row.name == "Laptop" and row.transports == ["internal"]
    assert row.user_verified is True and row.public_key

    attempt, html = to_second_factor(confidential_rp, person["username"], person["password"])
    assert "script-src 'nonce-" in attempt.response.headers["Content-Security-Policy"]
    options = options_from(html, "passkey-options")
    assert options["rpId"] == "localhost"
    answer = submit_factor(
        confidential_rp, attempt, html, method="passkey", credential=authenticator.get(options)
    )
    assert answer.status_code == 303
    claims = finish(confidential_rp, attempt)
    assert {"pwd", "hwk", "user", "mfa"} <= set(claims["amr"])
    provider.db.remove()
    row = provider.db.session.scalars(select(SecondFactor)).one()
    assert row.sign_count == 1 and row.last_used_at is not None


def test_an_assertion_from_another_origin_is_refused(cli, app, confidential_rp) -> None:
    person, _browser, authenticator = _with_passkey(cli, app)
    attempt, html = to_second_factor(confidential_rp, person["username"], person["password"])
    options = options_from(html, "passkey-options")
    phished = authenticator.get(options, origin="https://idp.example.com.evil.test")
    refused = submit_factor(confidential_rp, attempt, html, method="passkey", credential=phished)
    assert refused.status_code == 400
    assert "passkey was not accepted" in refused.get_data(as_text=True)


def test_a_challenge_is_used_once(cli, app, confidential_rp) -> None:
    person, _browser, authenticator = _with_passkey(cli, app)
    attempt, html = to_second_factor(confidential_rp, person["username"], person["password"])
    options = options_from(html, "passkey-options")
    first = authenticator.get(options)
    garbage = submit_factor(confidential_rp, attempt, html, method="passkey", credential="{}")
    assert garbage.status_code == 400
    # The failed attempt used the challenge up: the good assertion for it is refused too. The
    # page shown again carries a new challenge (the newest page's is the one that counts).
    replay = submit_factor(confidential_rp, attempt, html, method="passkey", credential=first)
    assert replay.status_code == 400
    retry_html = replay.get_data(as_text=True)
    fresh = options_from(retry_html, "passkey-options")
    assert fresh["challenge"] != options["challenge"]
    ok = submit_factor(
        confidential_rp, attempt, retry_html, method="passkey", credential=authenticator.get(fresh)
    )
    assert ok.status_code == 303


def test_a_registration_challenge_is_bound_to_the_session(cli, app, provider) -> None:
    person = create_user(cli, "zhou", "周六")
    browser = app.test_client()
    account_login(browser, person["username"], person["password"])
    html = browser.get("/account/security/passkeys?lang=en").get_data(as_text=True)
    options = options_from(html, "registration-options")
    # Another session of the same person cannot use this page's challenge.
    other = app.test_client()
    account_login(other, person["username"], person["password"])
    other_html = other.get("/account/security/passkeys?lang=en").get_data(as_text=True)
    stolen = other.post(
        "/account/security/passkeys",
        data={
            "csrf_token": csrf_token(other_html),
            "credential": SoftAuthenticator().create(options),
        },
    )
    assert stolen.status_code == 400
    assert provider.factors.has_any(person["id"]) is False


def test_registration_for_another_rp_is_refused(cli, app, provider) -> None:
    person = create_user(cli, "zheng", "郑七")
    browser = app.test_client()
    account_login(browser, person["username"], person["password"])
    refused = enrol_passkey(browser, SoftAuthenticator(rp_id="evil.test"))
    assert refused.status_code == 400
    assert provider.factors.has_any(person["id"]) is False


def test_passkey_confirms_the_user_space_session(cli, app, provider) -> None:
    person, _browser, authenticator = _with_passkey(cli, app)
    browser = app.test_client()
    account_login(browser, person["username"], person["password"])
    assert browser.get("/account/security/passkeys").status_code == 303
    page = browser.get("/account/security/confirm?next=/account/security/passkeys&lang=en")
    html = page.get_data(as_text=True)
    options = options_from(html, "passkey-options")
    confirmed = browser.post(
        "/account/security/confirm?next=/account/security/passkeys",
        data={
            "csrf_token": csrf_token(html),
            "method": "passkey",
            "credential": authenticator.get(options),
        },
    )
    assert confirmed.status_code == 303
    assert browser.get("/account/security/passkeys").status_code == 200
