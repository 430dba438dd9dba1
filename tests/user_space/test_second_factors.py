"""Second factors of people (issue 12, item 5): TOTP enrolment on /account/security/totp, the
login's second-factor step raising ``amr`` (RFC 8176: ``otp``, ``mfa``), recovery codes,
portals that require a second factor, step-up of an older session, management guarded by the
factor, cancellation and export."""

from __future__ import annotations

import re

from sqlalchemy import select

from idp.models import AuditEvent, RecoveryCode, SecondFactor
from tests.account.helpers import account_login, create_user
from tests.support import RelyingParty, csrf_token
from tests.user_space.factor_helpers import (
    enrol_totp,
    finish,
    submit_factor,
    to_second_factor,
    totp_code,
)


def _signed_in_with_totp(cli, app, username: str = "mei"):  # type: ignore[no-untyped-def]
    person = create_user(cli, username, "李梅")
    browser = app.test_client()
    assert account_login(browser, person["username"], person["password"]).status_code == 303
    secret, codes = enrol_totp(browser)
    return person, browser, secret, codes


def test_totp_enrolment_shows_qr_and_text_and_seals_the_secret(cli, app, provider) -> None:
    person = create_user(cli, "lin", "林一")
    browser = app.test_client()
    account_login(browser, person["username"], person["password"])
    page = browser.get("/account/security/totp?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'class="qr-code"' in html and "<svg" in html
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', html).group(1)  # type: ignore[union-attr]
    assert "otpauth://totp/" in html and "secret=" + secret.replace(" ", "") in html
    # No script on a page that needs none.
    assert "script-src" not in page.headers["Content-Security-Policy"]
    # The same pending secret is shown again until it is confirmed.
    again = browser.get("/account/security/totp?lang=en").get_data(as_text=True)
    assert secret in again
    rows = provider.db.session.scalars(select(SecondFactor)).all()
    assert len(rows) == 1 and rows[0].confirmed_at is None
    assert secret.replace(" ", "") not in (rows[0].totp_secret_sealed or "")


def test_wrong_confirmation_code_enrols_nothing(cli, app, provider) -> None:
    person = create_user(cli, "wu", "吴二")
    browser = app.test_client()
    account_login(browser, person["username"], person["password"])
    html = browser.get("/account/security/totp?lang=en").get_data(as_text=True)
    factor_id = re.search(r'name="factor_id" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]
    refused = browser.post(
        "/account/security/totp",
        data={"csrf_token": csrf_token(html), "factor_id": factor_id, "code": "000000"},
    )
    assert refused.status_code == 400
    assert 'id="form-problem"' in refused.get_data(as_text=True)
    assert provider.factors.has_any(person["id"]) is False
    assert provider.db.session.scalars(select(RecoveryCode)).all() == []


def test_totp_login_gives_amr_otp_and_mfa(cli, app, provider, confidential_rp) -> None:
    person, _browser, secret, codes = _signed_in_with_totp(cli, app)
    assert len(codes) == 10 and len(set(codes)) == 10
    # Recovery codes are held as hashes only.
    stored = provider.db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)

    attempt, html = to_second_factor(confidential_rp, person["username"], person["password"])
    assert 'data-state="ask"' in html and 'name="code"' in html
    assert "script-src" not in attempt.response.headers["Content-Security-Policy"]
    # A wrong code: the page again, with the reason.
    wrong = submit_factor(confidential_rp, attempt, html, method="code", code="123456")
    assert wrong.status_code == 400 and 'id="factor-error"' in wrong.get_data(as_text=True)
    attempt.response = confidential_rp.browser.get(
        f"/interaction/{html.split('/interaction/')[1].split('/')[0]}"
    )
    html = attempt.response.get_data(as_text=True)
    answer = submit_factor(confidential_rp, attempt, html, method="code", code=totp_code(secret))
    assert answer.status_code == 303
    claims = finish(confidential_rp, attempt)
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])
    events = provider.db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.account_id == person["id"])
    ).all()
    assert "second_factor_enrolled" in events and "second_factor_passed" in events


def test_a_totp_code_is_accepted_once(cli, app, confidential_rp) -> None:
    person, _browser, secret, _codes = _signed_in_with_totp(cli, app)
    code = totp_code(secret)
    attempt, html = to_second_factor(confidential_rp, person["username"], person["password"])
    assert (
        submit_factor(confidential_rp, attempt, html, method="code", code=code).status_code == 303
    )
    # Another browser, the same code (RFC 6238 5.2: at most once).
    other = RelyingParty(
        app.test_client(),
        confidential_rp.client_id,
        confidential_rp.client_secret,
        confidential_rp.redirect_uri,
    )
    attempt2, html2 = to_second_factor(other, person["username"], person["password"])
    replay = submit_factor(other, attempt2, html2, method="code", code=code)
    assert replay.status_code == 400
    assert "already used" in replay.get_data(as_text=True)


def test_recovery_code_works_once(cli, app, provider, confidential_rp) -> None:
    person, _browser, _secret, codes = _signed_in_with_totp(cli, app)
    attempt, html = to_second_factor(confidential_rp, person["username"], person["password"])
    typed = codes[0].upper().replace("-", " ")  # case, spaces and hyphens do not matter
    assert (
        submit_factor(confidential_rp, attempt, html, method="code", code=typed).status_code == 303
    )
    claims = finish(confidential_rp, attempt)
    assert "mfa" in claims["amr"]
    assert provider.factors.recovery_codes_left(person["id"]) == 9

    other = RelyingParty(
        app.test_client(),
        confidential_rp.client_id,
        confidential_rp.client_secret,
        confidential_rp.redirect_uri,
    )
    attempt2, html2 = to_second_factor(other, person["username"], person["password"])
    assert submit_factor(other, attempt2, html2, method="code", code=codes[0]).status_code == 400


def test_too_many_wrong_codes_are_throttled(cli, app, confidential_rp) -> None:
    person, _browser, secret, _codes = _signed_in_with_totp(cli, app)
    attempt, html = to_second_factor(confidential_rp, person["username"], person["password"])
    statuses = [
        submit_factor(confidential_rp, attempt, html, method="code", code="000000").status_code
        for _ in range(10)
    ]
    assert statuses[-1] == 429
    # Even the right code waits now.
    right = submit_factor(confidential_rp, attempt, html, method="code", code=totp_code(secret))
    assert right.status_code == 429


def test_existing_sso_session_without_the_factor_is_stepped_up(cli, app, confidential_rp) -> None:
    person, _browser, secret, _codes = _signed_in_with_totp(cli, app)
    # A password-only session of the user space (its own login form): the portal login asks
    # for the second factor, not for the password again.
    account_login(confidential_rp.browser, person["username"], person["password"])
    attempt = confidential_rp.authorize(ui_locales="en")
    html = confidential_rp.follow(attempt)
    assert 'id="second-factor"' in html and 'name="password"' not in html
    submit_factor(confidential_rp, attempt, html, method="code", code=totp_code(secret))
    claims = finish(confidential_rp, attempt)
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])
    # The session now has it: the next login goes straight through.
    again = confidential_rp.authorize()
    assert "code" in again.result


def test_prompt_none_needing_a_second_factor_is_interaction_required(
    cli, app, confidential_rp
) -> None:
    person, _browser, _secret, _codes = _signed_in_with_totp(cli, app)
    account_login(confidential_rp.browser, person["username"], person["password"])
    attempt = confidential_rp.authorize(prompt="none")
    assert attempt.result["error"] == "interaction_required"


def test_portal_requiring_mfa_tells_a_person_without_one_to_enrol(
    cli, app, confidential_rp
) -> None:
    cli.ok("clients", "set-mfa", confidential_rp.client_id, "yes")
    person = create_user(cli, "zhao", "赵三")
    attempt, html = to_second_factor(confidential_rp, person["username"], person["password"])
    assert 'data-state="enrol"' in html
    assert 'id="enrol-link" href="/account/security/factors"' in html
    # Giving up: the portal hears why (OIDC Core 3.1.2.6), no loop.
    submit_factor(confidential_rp, attempt, html, decision="deny")
    assert attempt.result["error"] == "unmet_authentication_requirements"


def test_portal_requiring_mfa_with_enrolled_person(cli, app, confidential_rp) -> None:
    cli.ok("clients", "set-mfa", confidential_rp.client_id, "yes")
    assert cli.ok("clients", "show", confidential_rp.client_id)["require_mfa"] is True
    person, _browser, secret, _codes = _signed_in_with_totp(cli, app)
    attempt, html = to_second_factor(confidential_rp, person["username"], person["password"])
    submit_factor(confidential_rp, attempt, html, method="code", code=totp_code(secret))
    assert "mfa" in finish(confidential_rp, attempt)["amr"]


def test_a_person_without_factor_logs_in_as_before(user, confidential_rp) -> None:
    attempt = confidential_rp.login(user["username"], user["password"])
    claims = confidential_rp.validate_id_token(
        confidential_rp.exchange(attempt).get_json()["id_token"]
    )
    assert claims["amr"] == ["pwd"]


def test_managing_factors_needs_the_factor_in_the_session(cli, app, provider) -> None:
    person, _enrolling, secret, _codes = _signed_in_with_totp(cli, app)
    browser = app.test_client()
    account_login(browser, person["username"], person["password"])
    page = browser.get("/account/security/factors")
    assert page.status_code == 303
    assert page.headers["Location"].startswith("/account/security/confirm?next=")
    # A forged removal with the password-only session changes nothing.
    factor_id = provider.factors.factors(person["id"])[0].id
    html = browser.get("/account/security/confirm?lang=en").get_data(as_text=True)
    removal = browser.post(
        f"/account/security/factors/{factor_id}/remove", data={"csrf_token": csrf_token(html)}
    )
    assert removal.status_code == 303 and provider.factors.has_any(person["id"])
    confirmed = browser.post(
        "/account/security/confirm?next=/account/security/factors",
        data={"csrf_token": csrf_token(html), "method": "code", "code": totp_code(secret)},
    )
    assert confirmed.status_code == 303
    assert confirmed.headers["Location"] == "/account/security/factors"
    assert browser.get("/account/security/factors").status_code == 200


def test_rename_remove_and_regenerate(cli, app, provider) -> None:
    person, browser, _secret, codes = _signed_in_with_totp(cli, app)
    html = browser.get("/account/security/factors?lang=en").get_data(as_text=True)
    assert "My phone" in html and "Recovery codes left: 10" in html
    factor_id = provider.factors.factors(person["id"])[0].id
    token = csrf_token(html)
    renamed = browser.post(
        f"/account/security/factors/{factor_id}/rename",
        data={"csrf_token": token, "name": "Work phone"},
    )
    assert renamed.status_code == 303
    assert provider.factors.factors(person["id"])[0].name == "Work phone"
    # Another person's factor id: not found, nothing changed.
    assert (
        browser.post(
            "/account/security/factors/" + "0" * 32 + "/remove", data={"csrf_token": token}
        ).status_code
        == 404
    )
    regenerated = browser.post("/account/security/recovery-codes", data={"csrf_token": token})
    new_codes = re.findall(
        r"<li><code>([a-z2-7-]+)</code></li>", regenerated.get_data(as_text=True)
    )
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert provider.factors.recovery_codes_left(person["id"]) == 10
    removed = browser.post(
        f"/account/security/factors/{factor_id}/remove", data={"csrf_token": token}
    )
    assert removed.status_code == 303
    assert provider.factors.has_any(person["id"]) is False
    # With the last factor the recovery codes went too.
    assert provider.factors.recovery_codes_left(person["id"]) == 0
    actions = provider.db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.account_id == person["id"])
    ).all()
    for action in ("second_factor_renamed", "recovery_codes_regenerated", "second_factor_removed"):
        assert action in actions


def test_export_lists_factors_without_secrets(cli, app, provider) -> None:
    person, _browser, secret, codes = _signed_in_with_totp(cli, app)
    exported = provider.factors.export(person["id"])
    assert exported["recovery_codes_left"] == 10
    assert [f["kind"] for f in exported["second_factors"]] == ["totp"]
    text = repr(exported)
    assert secret not in text and not any(code in text for code in codes)


def test_cancellation_erases_the_factors(cli, app, provider) -> None:
    person, browser, _secret, _codes = _signed_in_with_totp(cli, app)
    html = browser.get("/account/cancel?lang=en").get_data(as_text=True)
    done = browser.post(
        "/account/cancel",
        data={
            "csrf_token": csrf_token(html),
            "confirm_cancel": "yes",
            "password": person["password"],
        },
    )
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    provider.db.remove()
    assert provider.db.session.scalars(select(SecondFactor)).all() == []
    assert provider.db.session.scalars(select(RecoveryCode)).all() == []


def test_the_require_mfa_setting_is_validated(provider, confidential_rp) -> None:
    from idp.oauth.clients import InvalidMetadata
    from idp.oauth.clients.registry import Actor

    actor = Actor(id="test", via="test")
    try:
        provider.clients.update(confidential_rp.client_id, {"require_mfa": "yes"}, actor=actor)
    except InvalidMetadata as refused:
        assert [e.field for e in refused.errors] == ["require_mfa"]
    else:
        raise AssertionError("a string was accepted as require_mfa")
    provider.clients.update(confidential_rp.client_id, {"require_mfa": True}, actor=actor)
    provider.db.remove()
    assert provider.portals.find(confidential_rp.client_id).require_mfa is True


def test_second_factor_page_is_chinese_by_default(cli, app, confidential_rp) -> None:
    person, _browser, _secret, _codes = _signed_in_with_totp(cli, app)
    attempt = confidential_rp.authorize()
    confidential_rp.follow(attempt)
    confidential_rp.submit_login(attempt, person["username"], person["password"])
    page = confidential_rp.follow(attempt)
    assert "两步验证" in page and "身份验证器应用中的验证码" in page


def test_the_user_space_asks_for_the_factor_after_a_password_login(cli, app) -> None:
    person, _enrolling, secret, _codes = _signed_in_with_totp(cli, app)
    browser = app.test_client()
    login = account_login(browser, person["username"], person["password"], "/account/consents")
    assert login.status_code == 303
    for path in ("/account", "/account/consents", "/account/companies"):
        page = browser.get(path)
        assert page.status_code == 303, path
        assert page.headers["Location"].startswith("/account/security/confirm?next="), path
    html = browser.get("/account/security/confirm?next=/account/consents&lang=en")
    text = html.get_data(as_text=True)
    confirmed = browser.post(
        "/account/security/confirm?next=/account/consents",
        data={"csrf_token": csrf_token(text), "method": "code", "code": totp_code(secret)},
    )
    assert confirmed.headers["Location"] == "/account/consents"
    assert browser.get("/account/consents").status_code == 200
    # Logging out stays possible without the factor.
    other = app.test_client()
    account_login(other, person["username"], person["password"])
    page = other.get("/account/security/confirm?lang=en").get_data(as_text=True)
    assert other.post("/account/logout", data={"csrf_token": csrf_token(page)}).status_code == 303


def test_a_new_data_key_reseals_totp_secrets(cli, app, provider, confidential_rp) -> None:
    person, _browser, secret, _codes = _signed_in_with_totp(cli, app)
    result = cli.ok("keys", "rotate-data")
    provider.db.remove()
    row = provider.db.session.scalars(select(SecondFactor)).one()
    assert row.totp_secret_sealed.split(".")[1] == result["current_key"]  # type: ignore[union-attr]
    attempt, html = to_second_factor(confidential_rp, person["username"], person["password"])
    assert (
        submit_factor(
            confidential_rp, attempt, html, method="code", code=totp_code(secret)
        ).status_code
        == 303
    )


def test_the_service_desk_resets_lost_factors(cli, app, provider, confidential_rp) -> None:
    person, _browser, _secret, _codes = _signed_in_with_totp(cli, app)
    code, _out, err = cli.run("users", "reset-factors", person["username"], "--reason", " ")
    assert code != 0 and "--reason" in err
    cli.ok("users", "reset-factors", person["username"], "--reason", "lost phone, ID checked")
    assert provider.factors.export(person["id"]) == {
        "second_factors": [],
        "recovery_codes_left": 0,
    }
    event = provider.db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "second_factors_reset")
    ).one()
    assert event.details == {"factors": 1, "reason": "lost phone, ID checked"}
    # The next login asks for no second factor.
    attempt = confidential_rp.login(person["username"], person["password"])
    assert "code" in attempt.result


def test_the_security_overview_lists_the_factors(cli, app) -> None:
    person = create_user(cli, "he", "何九")
    browser = app.test_client()
    account_login(browser, person["username"], person["password"])
    before = browser.get("/account/security?lang=en").get_data(as_text=True)
    assert 'id="security-factors"' in before and 'data-enrolled="no"' in before
    assert 'href="/account/security/totp"' in before
    enrol_totp(browser)
    after = browser.get("/account/security?lang=en").get_data(as_text=True)
    assert 'data-enrolled="yes"' in after and "My phone" in after
    assert "Recovery codes left: 10" in after
