"""Helpers for the console tests, and for anyone who needs a logged-in console.

``console_login(client, cli, role="operator")`` walks the real first login of a new
administrator: an account from ``idp users create``, a role from ``idp admins grant``, the
password form at ``/admin/login``, TOTP enrolment with a code computed here, independently of
the provider, per RFC 6238 (HMAC-SHA-1, 6 digits, 30-second steps) and RFC 4226 section 5.3,
and the recovery codes page. It returns the client, logged in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from tests.support import CliRunner, csrf_token, form_action

PASSWORD = "console password for tests"


def step_now() -> int:
    return int(time.time() // 30)


def code_at(secret: str, step: int) -> str:
    """RFC 6238 (RFC 4226 section 5.3): HMAC-SHA-1 of the step, dynamic truncation, 6 digits."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    start = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[start : start + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{value:06d}"


def totp_code(secret: str, offset: int = 0) -> str:
    """The TOTP code of ``secret`` (base32) now, or ``offset`` steps away."""
    return code_at(secret, step_now() + offset)


def wrong_codes(secret: str, count: int) -> list[str]:
    """Six-digit codes that no step within reach (now, one before, one after) accepts."""
    now = step_now()
    valid = {code_at(secret, step) for step in range(now - 2, now + 3)}
    return [code for code in (f"{n:06d}" for n in range(count + 5)) if code not in valid][:count]


@dataclass
class ConsoleAdmin:
    """An administrator logged into the console through ``client``."""

    client: Any
    account_id: str
    username: str
    password: str
    role: str
    secret: str = ""
    recovery_codes: list[str] = field(default_factory=list)
    enrolment_code: str = ""
    last_step: int = 0  # the last TOTP step used

    def next_code(self) -> str:
        """A code the provider has not seen: for the step after the last one used (the
        provider accepts one step ahead); waits for the clock when that is still too far."""
        step = max(self.last_step + 1, step_now() - 1)
        while step > step_now() + 1:
            time.sleep(0.5)
        self.last_step = step
        return code_at(self.secret, step)


def page(client: Any, path: str) -> str:
    """The HTML of a console page that must be shown (not a redirect)."""
    response = client.get(path)
    assert response.status_code == 200, (
        path,
        response.status_code,
        response.headers.get("Location"),
    )
    return response.get_data(as_text=True)


def post_form(client: Any, page_path: str, action_contains: str, **fields: Any) -> Any:
    """GET ``page_path``, then post the form whose action contains ``action_contains`` with its
    CSRF token and ``fields``."""
    html = page(client, page_path)
    return client.post(
        form_action(html, action_contains), data={"csrf_token": csrf_token(html), **fields}
    )


def password_step(client: Any, username: str, password: str) -> Any:
    html = page(client, "/admin/login?lang=en")
    return client.post(
        form_action(html, "/admin/login"),
        data={"csrf_token": csrf_token(html), "username": username, "password": password},
    )


def enrolment_secret(html: str) -> str:
    match = re.search(r'id="totp-secret" data-secret="([A-Z2-7]+)"', html)
    assert match, "no TOTP secret on the enrolment page"
    return match.group(1)


def create_admin(
    cli: CliRunner, role: str = "operator", username: str | None = None
) -> dict[str, str]:
    username = username or f"admin-{role}-{secrets.token_hex(3)}"
    account = cli.ok("users", "create", "--username", username, "--password", PASSWORD)
    cli.ok("admins", "grant", account["id"], "--role", role, "--reason", "tests")
    return {"id": account["id"], "username": username, "password": PASSWORD, "role": role}


def console_admin(client: Any, cli: CliRunner, role: str = "operator") -> ConsoleAdmin:
    """A new administrator with ``role``, through its first console login (enrolment)."""
    created = create_admin(cli, role)
    admin = ConsoleAdmin(client, created["id"], created["username"], PASSWORD, role)
    response = password_step(client, admin.username, admin.password)
    assert response.status_code == 303, response.status_code
    assert response.headers["Location"].startswith("/admin/enrol"), response.headers["Location"]
    html = page(client, "/admin/enrol?lang=en")
    admin.secret = enrolment_secret(html)
    admin.last_step = step_now()
    admin.enrolment_code = code_at(admin.secret, admin.last_step)
    response = client.post(
        form_action(html, "/admin/enrol"),
        data={"csrf_token": csrf_token(html), "code": admin.enrolment_code},
    )
    assert response.status_code == 303, response.status_code
    assert response.headers["Location"] == "/admin/recovery-codes"
    html = page(client, "/admin/recovery-codes?lang=en")
    admin.recovery_codes = re.findall(r'data-recovery-code="([a-z2-7-]+)"', html)
    assert len(admin.recovery_codes) == 10
    return admin


def console_login(client: Any, cli: CliRunner, role: str = "operator") -> Any:
    """The contract's helper: ``client``, logged into the console as a new ``role``."""
    return console_admin(client, cli, role).client


def log_out(client: Any) -> Any:
    return post_form(client, "/admin?lang=en", "/admin/logout")


def second_factor(client: Any, admin: ConsoleAdmin, code: str) -> Any:
    """Log in again (password, then ``code`` at /admin/verify); returns the answer to the code."""
    response = password_step(client, admin.username, admin.password)
    assert response.status_code == 303, response.status_code
    assert response.headers["Location"].startswith("/admin/verify"), response.headers["Location"]
    html = page(client, "/admin/verify?lang=en")
    return client.post(
        form_action(html, "/admin/verify"), data={"csrf_token": csrf_token(html), "code": code}
    )


def alert(html: str) -> str | None:
    """The text of the page's alert (errors) or notice."""
    match = re.search(r'(?:role="alert"|id="admin-notice")[^>]*><p>([^<]*)</p>', html)
    return match.group(1) if match else None


# -- people registered through the real registration page --------------------------------------

# A person of the development registry (idp/data/demo-registry.json).
PERSON = {
    "name": "张三",
    "id_type": "resident_id",
    "id_number": "110105198503120178",
    "phone": "13800131001",
    "password": "a long pass phrase for zhang",
}


def register_person(
    browser: Any, cli: CliRunner, rp: Any, provider: Any, person: dict[str, str] = PERSON
) -> str:
    """Register ``person`` at the portal login's registration page (SMS code from the development
    outbox), as a person would; returns the new account's id."""
    from urllib.parse import urlsplit

    attempt = rp.authorize()
    register_path = urlsplit(attempt.response.headers["Location"]).path + "/register"
    html = page(browser, register_path + "?lang=en")
    fields = {k: person[k] for k in ("name", "id_type", "id_number", "phone")}
    response = browser.post(
        register_path, data={"csrf_token": csrf_token(html), "action": "send_code", **fields}
    )
    assert response.status_code == 200, response.status_code
    cli.ok("sms", "send-pending")  # no sender thread in the tests
    sent = cli.ok("sms", "outbox", "--phone", person["phone"], "--json")
    response = browser.post(
        register_path,
        data={
            "csrf_token": csrf_token(response.get_data(as_text=True)),
            "action": "register",
            **fields,
            "sms_code": sent[0]["code"],
            "password": person["password"],
            "password_confirm": person["password"],
            "accept_agreement": "yes",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    account = provider.people.find_by_identifier(person["phone"])
    assert account is not None
    return account.id  # type: ignore[no-any-return]


def log_in_again(client: Any, admin: ConsoleAdmin) -> None:
    """A later console login of ``admin`` with a fresh TOTP code."""
    response = second_factor(client, admin, admin.next_code())
    assert response.status_code == 303, response.status_code
