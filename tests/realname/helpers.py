"""Helpers for the real-name tests: the demo registry's people, the registration form walked
like a browser (from the login page's register link, SMS code read from the development outbox),
the rest of a login (consent with sensitive ticks, step-up), and direct reads of the stores.

Everything goes through public interfaces: HTTP pages and forms, the outbox file the development
SMS sender writes (docs/sms.md), the ``idp`` command, and plain SQL over the tables.
"""

from __future__ import annotations

import html as html_module
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import String, cast, select, text

from idp.identity.sms import SmsCodes
from tests.support import (
    AuthorizationAttempt,
    CliRunner,
    RelyingParty,
    csrf_token,
    form_action,
)

DEMO_REGISTRY = Path(__file__).resolve().parents[2] / "idp" / "data" / "demo-registry.json"
PASSWORD = "quiet harbour lantern 42"
NEW_PASSWORD = "amber orchard violin 7"
REDIRECT_URI = "https://portal.example.gov.cn/callback"
ALL_SCOPES = ("profile", "phone", "realname", "id_number", "offline_access")


# -- people of the demo registry (docs/registry.md) -----------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str
    bank_cards: tuple[str, ...] = ()
    social_security: str | None = None
    housing_fund: str | None = None
    status: str = "normal"
    id_type: str = "resident_id"

    @property
    def masked_phone(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]}"

    @property
    def masked_id_number(self) -> str:
        return f"{self.id_number[:6]}********{self.id_number[-4:]}"


def _load_people() -> dict[str, Person]:
    data = json.loads(DEMO_REGISTRY.read_text(encoding="utf-8"))
    return {
        entry["name"]: Person(
            name=entry["name"],
            id_number=entry["id_number"],
            phone=entry["phone"],
            bank_cards=tuple(entry.get("bank_cards") or ()),
            social_security=entry.get("social_security"),
            housing_fund=entry.get("housing_fund"),
            status=entry["status"],
        )
        for entry in data["persons"]
    }


PEOPLE = _load_people()
ZHANG_SAN = PEOPLE["张三"]  # every element on record
LI_SI = PEOPLE["李四"]  # ID number ending in X, two bank cards
WANG_WU = PEOPLE["王五"]  # no bank card
ZHAO_LIU = PEOPLE["赵六"]  # deceased
CHEN_XIAOMING = PEOPLE["陈晓明"]  # every element on record
SUN_LI = PEOPLE["孙丽"]  # ID number ending in X (try lower-case x)
AYGUL = PEOPLE["阿依古丽·买买提"]  # middle dot; no social security, no housing fund

# A passport holder: not in any registry (a passport cannot be checked online).
PASSPORT_HOLDER = Person(
    name="Anna Schmidt", id_number="C01X00T47", phone="13900139001", id_type="passport"
)


# -- pages ----------------------------------------------------------------------------------------


def page(response: Any) -> str:
    return str(response.get_data(as_text=True))


def field_errors(html: str) -> dict[str, str]:
    """The per-field messages of a form: ``data-error-for`` -> message text."""
    found = re.findall(r'data-error-for="([^"]+)"[^>]*>([^<]*)<', html)
    return {name: html_module.unescape(message).strip() for name, message in found}


def input_values(html: str) -> dict[str, str]:
    """The ``value`` of every ``<input>`` that has one (passwords have none)."""
    values: dict[str, str] = {}
    for tag in re.findall(r"<input\b[^>]*>", html, flags=re.S):
        name = re.search(r'\bname="([^"]*)"', tag)
        value = re.search(r'\bvalue="([^"]*)"', tag)
        if name and value and 'type="checkbox"' not in tag and 'type="hidden"' not in tag:
            values[name.group(1)] = html_module.unescape(value.group(1))
    return values


def selected_option(html: str, select_name: str) -> str | None:
    block = re.search(rf'<select[^>]*name="{select_name}"[^>]*>(.*?)</select>', html, re.S)
    assert block, f"no select {select_name}"
    chosen = re.search(r'<option value="([^"]*)" selected', block.group(1))
    return chosen.group(1) if chosen else None


def alert(html: str) -> str:
    """The text of the form-wide alert (``id="form-problem"`` or ``id="login-error"``)."""
    match = re.search(r'id="(?:form-problem|login-error)"><p>(.*?)</p>', html, re.S)
    assert match, "no alert on the page"
    return html_module.unescape(match.group(1))


def notice(html: str) -> str:
    match = re.search(r'id="(?:form-notice|flash-notice)"><p>(.*?)</p>', html, re.S)
    assert match, "no notice on the page"
    return html_module.unescape(match.group(1))


def link_ending(html: str, suffix: str) -> str:
    """The first ``<a href>`` whose path ends with ``suffix``."""
    for href in re.findall(r'<a[^>]*href="([^"]+)"', html):
        href = html_module.unescape(href)
        if href.split("?", 1)[0].endswith(suffix):
            return href
    raise AssertionError(f"no link ending in {suffix}")


def send_pending() -> None:
    """Send the queued SMS messages now (the tests run no sender thread): ``idp sms
    send-pending``, through the development sender."""
    CliRunner().ok("sms", "send-pending")


def outbox_code(provider: Any, phone: str) -> str:
    """The latest code the development sender wrote to ``phone`` (IDP_SMS_OUTBOX), once the
    queued messages are sent."""
    send_pending()
    entries = SmsCodes.read_outbox(provider.config.SMS_OUTBOX, phone=phone, limit=1)
    assert entries, f"no SMS in the outbox for {phone}"
    return str(entries[0]["code"])


def outbox_count(provider: Any, phone: str) -> int:
    send_pending()
    return len(SmsCodes.read_outbox(provider.config.SMS_OUTBOX, phone=phone, limit=1000))


# -- registration ---------------------------------------------------------------------------------


def form_for(person: Person, **overrides: str | None) -> dict[str, str]:
    """Every registration field for ``person`` (``sms_code`` added later); None drops one."""
    fields: dict[str, str | None] = {
        "name": person.name,
        "id_type": person.id_type,
        "id_number": person.id_number,
        "phone": person.phone,
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "accept_agreement": "yes",
    }
    fields.update(overrides)
    return {key: value for key, value in fields.items() if value is not None}


@dataclass
class RegistrationForm:
    """One browser's registration page: opened from a login page's register link."""

    browser: Any
    html: str
    attempt: AuthorizationAttempt | None = None
    rp: RelyingParty | None = None

    @classmethod
    def open(
        cls,
        target: RelyingParty | Any,
        attempt: AuthorizationAttempt | None = None,
        lang: str | None = None,
        **authorize: Any,
    ) -> RegistrationForm:
        """From inside an authorization request (a RelyingParty: its login page) or from the
        user space (a Flask test client: ``/account/login``). The login page must link to a
        URL ending in ``/register``."""
        if isinstance(target, RelyingParty):
            rp = target
            if attempt is None:
                attempt = rp.authorize(**authorize)
            assert attempt.response.status_code == 303, attempt.response.status_code
            login_html = rp.follow(attempt)
            browser = rp.browser
        else:
            rp, browser = None, target
            login_page = browser.get("/account/login")
            assert login_page.status_code == 200, login_page.status_code
            login_html = page(login_page)
        assert 'name="password"' in login_html, "not the login page"
        url = link_ending(login_html, "/register")
        if lang:
            url += ("&" if "?" in url else "?") + urlencode({"lang": lang})
        response = browser.get(url)
        assert response.status_code == 200, response.status_code
        return cls(browser, page(response), attempt, rp)

    def post(self, data: dict[str, str]) -> Any:
        response = self.browser.post(
            form_action(self.html, "/register"), data={"csrf_token": csrf_token(self.html), **data}
        )
        if response.status_code != 303:
            self.html = page(response)
        if self.attempt is not None and self.rp is not None:
            self.attempt.response = response
            self.rp._capture(self.attempt)
        return response

    def send_code(self, phone: str, **typed: str) -> Any:
        """Press ``action=send_code`` with ``phone`` (and whatever else was typed)."""
        return self.post({**typed, "phone": phone, "action": "send_code"})

    def submit(self, fields: dict[str, str]) -> Any:
        """Press ``action=register`` with ``fields``."""
        return self.post({**fields, "action": "register"})


def register(
    target: RelyingParty | Any,
    person: Person,
    *,
    provider: Any,
    attempt: AuthorizationAttempt | None = None,
    sms_code: str | None = None,
    **overrides: str | None,
) -> Any:
    """The whole registration: open the login page, follow its register link, press
    ``send_code``, read the code from the outbox, press ``register`` with every field.
    Returns the final response (a 303 on success). With a RelyingParty the ``attempt`` (made
    here when not given) follows the responses, so ``attempt.result`` holds the portal's code."""
    form = RegistrationForm.open(target, attempt)
    fields = form_for(person, **overrides)
    sent = form.send_code(fields["phone"])
    assert sent.status_code == 200, (sent.status_code, alert(page(sent)))
    fields["sms_code"] = sms_code or outbox_code(provider, fields["phone"])
    return form.submit(fields)


# -- the rest of a login --------------------------------------------------------------------------


def follow_interaction(
    rp: RelyingParty,
    attempt: AuthorizationAttempt,
    *,
    sensitive: tuple[str, ...] = (),
    decision: str = "approve",
) -> str | None:
    """Walk the consent page(s) after a login or registration (ticking ``sensitive`` claims)
    until the portal has its answer. Returns the HTML of a page that is not consent (the
    verify or agreement page), or None when the portal got its answer."""
    for _ in range(4):
        if attempt.result:
            return None
        location = attempt.response.headers.get("Location", "")
        assert attempt.response.status_code == 303, attempt.response.status_code
        assert location.startswith("/interaction/"), location
        html = rp.follow(attempt)
        if not re.search(r'<form[^>]*action="[^"]*/consent"', html):
            return html
        data: dict[str, Any] = {"csrf_token": csrf_token(html), "decision": decision}
        if sensitive:
            data["sensitive_claims"] = list(sensitive)
        attempt.response = rp.browser.post(form_action(html, "/consent"), data=data)
        rp._capture(attempt)
    raise AssertionError("the login did not end")


def tokens(
    rp: RelyingParty, attempt: AuthorizationAttempt
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Exchange the attempt's code; returns (token response, validated ID token claims)."""
    assert attempt.result.get("code"), attempt.result
    response = rp.exchange(attempt)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    claims = rp.validate_id_token(body["id_token"], nonce=attempt.params.get("nonce"))
    return body, claims


def password_login(
    rp: RelyingParty, username: str, password: str = PASSWORD, **authorize: Any
) -> AuthorizationAttempt:
    """Authorize (``prompt=login``) and post the password form; consent is left to the caller."""
    authorize.setdefault("prompt", "login")
    attempt = rp.authorize(**authorize)
    html = rp.follow(attempt)
    assert 'name="password"' in html
    rp.submit_login(attempt, username, password)
    return attempt


def account_login(browser: Any, username: str, password: str = PASSWORD) -> Any:
    """Log in at ``/account/login``; returns the POST response."""
    login_page = browser.get("/account/login?lang=en")
    html = page(login_page)
    return browser.post(
        form_action(html, "/account/login"),
        data={"csrf_token": csrf_token(html), "username": username, "password": password},
    )


def post_account_form(browser: Any, path: str, data: dict[str, Any]) -> Any:
    """GET an account page (``?lang=en``) and post its form with the CSRF token."""
    response = browser.get(f"{path}?lang=en")
    assert response.status_code == 200, (response.status_code, response.headers.get("Location"))
    return browser.post(path, data={"csrf_token": csrf_token(page(response)), **data})


# -- portals --------------------------------------------------------------------------------------


def create_portal(
    cli: CliRunner,
    browser: Any,
    *,
    name: str = "Real-name Portal",
    trusted: bool = False,
    redirect_uri: str = REDIRECT_URI,
    scopes: tuple[str, ...] = ALL_SCOPES,
) -> RelyingParty:
    args = ["clients", "create", "--name", name, "--redirect-uri", redirect_uri, "--json"]
    for scope in scopes:
        args += ["--scope", scope]
    if trusted:
        args.append("--trusted")
    data = cli.ok(*args)
    return RelyingParty(browser, data["client_id"], data["client_secret"], redirect_uri)


# -- the stores, read directly --------------------------------------------------------------------


def count(provider: Any, table: str) -> int:
    with provider.db.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def rows(provider: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    with provider.db.engine.connect() as connection:
        return [dict(row) for row in connection.execute(text(sql), params).mappings()]


def every_value(provider: Any) -> list[tuple[str, str, str]]:
    """(table, column, value as text) of every non-null cell of every table in the models."""
    from idp.models import Base

    found: list[tuple[str, str, str]] = []
    with provider.db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = list(table.columns)
            query = select(*(cast(column, String).label(column.name) for column in columns))
            for row in connection.execute(query).mappings():
                for column in columns:
                    value = row[column.name]
                    if value is not None:
                        found.append((table.name, column.name, str(value)))
    return found


def redis_strings(redis_client: Any) -> list[str]:
    """Every key of the test Redis database, and every value of its string, hash, set and
    list keys, decoded."""
    out: list[str] = []
    for raw_key in redis_client.keys("*"):
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        out.append(key)
        kind = redis_client.type(raw_key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        values: list[Any] = []
        if kind == "string":
            values = [redis_client.get(raw_key)]
        elif kind == "hash":
            for name, value in redis_client.hgetall(raw_key).items():
                values += [name, value]
        elif kind == "set":
            values = list(redis_client.smembers(raw_key))
        elif kind == "list":
            values = list(redis_client.lrange(raw_key, 0, -1))
        elif kind == "zset":
            values = list(redis_client.zrange(raw_key, 0, -1))
        for value in values:
            out.append(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
    return out
