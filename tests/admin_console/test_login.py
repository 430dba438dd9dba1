"""Console login: password, then TOTP (RFC 6238), enrolled at the first login, with recovery codes.

docs/administration.md; RFC 6238 section 5.2 (a code is accepted once; one step of drift);
NIST SP 800-63B 5.1.2 (look-up secrets: shown once, used once, stored hashed) and 5.2.2
(throttling); OWASP Session Management (a new id at every privilege change).
"""

from __future__ import annotations

import hashlib
import re

from tests.admin_console.helpers import (
    alert,
    code_at,
    console_admin,
    create_admin,
    enrolment_secret,
    log_out,
    page,
    password_step,
    second_factor,
    totp_code,
    wrong_codes,
)
from tests.logout.helpers import audit_events, rows
from tests.support import csrf_token, form_action


def test_first_login_enrols_totp_and_shows_ten_recovery_codes_once(client, cli, provider):
    created = create_admin(cli, "operator")

    response = password_step(client, created["username"], created["password"])
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/enrol"
    html = page(client, "/admin/enrol?lang=en")
    secret = enrolment_secret(html)
    uri = re.search(r'id="otpauth-uri">([^<]+)<', html).group(1).replace("&amp;", "&")
    response = client.post(
        form_action(html, "/admin/enrol"),
        data={"csrf_token": csrf_token(html), "code": totp_code(secret)},
    )
    assert response.status_code == 303
    codes_page = page(client, "/admin/recovery-codes?lang=en")
    shown_again = client.get("/admin/recovery-codes")

    # 160 bits in base32, and the Key Uri Format of authenticator apps, without any script.
    assert len(secret) == 32
    assert uri.startswith(f"otpauth://totp/localhost:{created['username']}?secret={secret}&")
    assert "algorithm=SHA1" in uri and "digits=6" in uri and "period=30" in uri
    assert "<script" not in html
    codes = re.findall(r'data-recovery-code="([a-z2-7-]+)"', codes_page)
    assert len(codes) == len(set(codes)) == 10
    assert all(len(code.replace("-", "")) == 24 for code in codes)  # 120 bits each
    assert shown_again.status_code == 303 and shown_again.headers["Location"] == "/admin"
    # Stored: the secret only sealed, the codes only as SHA-256.
    (row,) = rows(provider, "SELECT * FROM administrators WHERE account_id = :a", a=created["id"])
    assert secret not in str(row)
    assert all(code not in str(row) for code in codes)
    stored = row["recovery_code_hashes"]
    stored = stored if isinstance(stored, list) else __import__("json").loads(stored)
    assert sorted(stored) == sorted(
        hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes
    )
    assert row["totp_enabled_at"] is not None
    assert [e["account_id"] for e in audit_events(provider, "admin_totp_enrolled")] == [
        created["id"]
    ]


def test_a_wrong_code_does_not_complete_the_enrolment(client, cli):
    created = create_admin(cli, "operator")
    password_step(client, created["username"], created["password"])
    html = page(client, "/admin/enrol?lang=en")
    secret = enrolment_secret(html)

    wrong = client.post(
        "/admin/enrol?lang=en",
        data={"csrf_token": csrf_token(html), "code": wrong_codes(secret, 1)[0]},
    )

    assert wrong.status_code == 401
    assert "not correct" in alert(wrong.get_data(as_text=True))
    assert client.get("/admin").headers["Location"].startswith("/admin/login")
    # The same secret is still the one to confirm.
    assert enrolment_secret(page(client, "/admin/enrol")) == secret


def test_a_later_login_asks_for_a_code_from_the_app(client, cli, provider):
    admin = console_admin(client, cli)
    log_out(client)

    response = second_factor(client, admin, admin.next_code())

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin"
    assert 'id="admin-identity" data-role="operator"' in page(client, "/admin?lang=en")
    logins = audit_events(provider, "admin_login")
    assert [e["details"]["second_factor"] for e in logins] == ["totp", "totp"]
    assert all(e["actor"] == admin.account_id for e in logins)


def test_a_totp_code_is_accepted_only_once(client, cli):
    """RFC 6238 section 5.2: the code used at enrolment cannot log in again, nor can a code of
    an earlier step; a code of a later step can, once."""
    admin = console_admin(client, cli)
    log_out(client)
    earlier_code = code_at(admin.secret, admin.last_step - 1)
    later_code = code_at(admin.secret, admin.last_step + 1)

    replayed = second_factor(client, admin, admin.enrolment_code)
    earlier = client.post(
        "/admin/verify",
        data={"csrf_token": csrf_token(page(client, "/admin/verify")), "code": earlier_code},
    )
    later = client.post(
        "/admin/verify",
        data={"csrf_token": csrf_token(page(client, "/admin/verify")), "code": later_code},
    )
    log_out(client)
    later_again = second_factor(client, admin, later_code)

    assert replayed.status_code == 401
    assert earlier.status_code == 401
    assert later.status_code == 303 and later.headers["Location"] == "/admin"
    assert later_again.status_code == 401


def test_a_recovery_code_logs_in_once(client, cli, provider):
    admin = console_admin(client, cli)
    log_out(client)
    code = admin.recovery_codes[3]

    first = second_factor(client, admin, code.upper().replace("-", " "))  # typed loosely
    home = page(client, "/admin?lang=en")
    log_out(client)
    again = second_factor(client, admin, code)

    assert first.status_code == 303
    assert "9 recovery codes are left" in alert(home)
    assert again.status_code == 401
    (event,) = [
        e for e in audit_events(provider, "admin_login") if e["details"]["second_factor"] != "totp"
    ]
    assert event["details"] == {
        "via": "console",
        "second_factor": "recovery_code",
        "recovery_codes_left": 9,
    }


def test_wrong_codes_are_throttled(client, cli, provider):
    """NIST SP 800-63B 5.2.2: after five wrong codes every code is refused for a while, the
    right one included."""
    admin = console_admin(client, cli)
    log_out(client)

    answers = [
        second_factor(client, admin, code).status_code for code in wrong_codes(admin.secret, 5)
    ]
    right = client.post(
        "/admin/verify?lang=en",
        data={
            "csrf_token": csrf_token(page(client, "/admin/verify")),
            "code": admin.next_code(),
        },
    )
    recovery = client.post(
        "/admin/verify?lang=en",
        data={
            "csrf_token": csrf_token(page(client, "/admin/verify")),
            "code": admin.recovery_codes[0],
        },
    )

    assert answers == [401, 401, 401, 401, 429]
    assert right.status_code == 429
    assert "Too many wrong codes" in alert(right.get_data(as_text=True))
    assert recovery.status_code == 429
    assert client.get("/admin").status_code == 303
    failures = audit_events(provider, "admin_second_factor_failed")
    assert len(failures) == 7
    assert {e["details"]["reason"] for e in failures} == {"wrong", "throttled"}


def test_an_account_that_is_no_administrator_gets_the_wrong_password_answer(client, cli, user):
    wrong = password_step(client, user["username"], "not the password")
    right = password_step(client, user["username"], user["password"])

    assert right.status_code == wrong.status_code == 401
    assert alert(right.get_data(as_text=True)) == alert(wrong.get_data(as_text=True))
    assert alert(right.get_data(as_text=True)) == "Invalid username or password."
    assert "idp_admin" not in right.headers.get("Set-Cookie", "")


def test_passwords_are_throttled_like_every_login(client, cli):
    created = create_admin(cli, "operator")
    statuses = [
        password_step(client, created["username"], f"wrong {n}").status_code for n in range(6)
    ]
    assert statuses == [401] * 5 + [429]


def test_empty_fields_and_missing_csrf_are_refused(client, cli):
    created = create_admin(cli, "operator")
    html = page(client, "/admin/login?lang=en")

    empty = client.post(
        "/admin/login?lang=en", data={"csrf_token": csrf_token(html), "username": "x"}
    )
    no_csrf = client.post(
        "/admin/login", data={"username": created["username"], "password": created["password"]}
    )

    assert empty.status_code == 400
    assert alert(empty.get_data(as_text=True)) == "Please fill in both fields."
    assert no_csrf.status_code == 400
    assert "idp_admin" not in no_csrf.headers.get("Set-Cookie", "")


def test_pending_steps_need_the_password_first(client):
    for path in ("/admin/enrol", "/admin/verify", "/admin/recovery-codes", "/admin"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["Location"].startswith("/admin/login"), path
