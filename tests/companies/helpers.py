"""Helpers for the legal-person tests (docs/legal-persons.md): people of the demo registry
registered through the real form and raised to L3 on /account/verification, companies registered
on /account/companies/register, administrators and handlers appointed through the company pages
with the acting person's SMS code read from the development outbox, and a portal that serves
classes of matters (created with ``idp clients create --scope entity``, its ``matters`` and
``region`` set through the admin JSON API).

Everything goes through public interfaces: HTTP pages and forms, the ``idp`` command, the admin
API, the outbox file, and plain SQL reads of the tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.admin_portals.helpers import AdminApi, admin_api_token
from tests.realname.helpers import (
    PEOPLE,
    Person,
    count,
    field_errors,
    outbox_code,
    page,
    post_account_form,
    register,
)
from tests.support import AuthorizationAttempt, CliRunner, RelyingParty, csrf_token

# People of the demo registry (docs/registry.md).
CHEN_XIAOMING = PEOPLE["陈晓明"]  # legal representative of 杭州示例科技有限公司 (active)
LIU_FANG = PEOPLE["刘芳"]  # legal representative of 深圳示例实业有限公司 (revoked)
ZHANG_SAN = PEOPLE["张三"]
LI_SI = PEOPLE["李四"]
WANG_WU = PEOPLE["王五"]
# A passport cannot be checked online: the account stays at L1.
PASSPORT_HOLDER = Person(
    name="Anna Schmidt", id_number="C01X00T47", phone="13900139001", id_type="passport"
)
SAMPLE_CATALOGUE = Path(__file__).resolve().parents[2] / "idp" / "data" / "matters.sample.json"
REDIRECT_URI = "https://tax.example.gov.cn/callback"
HANGZHOU = {
    "uscc": "91330106064307423H",
    "name": "杭州示例科技有限公司",
    "entity_type": "limited_company",
    "region": "330106",
}
SHENZHEN = {  # revoked in the registry; legal representative 刘芳
    "uscc": "91440305524185755D",
    "name": "深圳示例实业有限公司",
    "entity_type": "limited_company",
    "region": "440305",
}
COMPANY_TABLES = ("legal_entities", "entity_roles", "handler_grants")


# -- people -----------------------------------------------------------------------------------


def registered(app: Any, provider: Any, person: Person) -> Any:
    """A new browser in which ``person`` registered through the real form (L2, logged in)."""
    browser = app.test_client()
    response = register(browser, person, provider=provider)
    assert response.status_code == 303, response.status_code
    return browser


def raise_to_l3(browser: Any, person: Person) -> None:
    """A bank card in the person's name on /account/verification (bank, four elements)."""
    response = post_account_form(
        browser,
        "/account/verification",
        {"method": "bank_card_four_elements", "bank_card": person.bank_cards[0]},
    )
    assert response.status_code == 200, response.status_code
    assert 'data-level="L3"' in page(response)


# -- pages and forms --------------------------------------------------------------------------


def get(browser: Any, path: str) -> Any:
    separator = "&" if "?" in path else "?"
    return browser.get(f"{path}{separator}lang=en")


def post(browser: Any, path: str, data: dict[str, Any]) -> Any:
    """POST ``data`` to ``path`` with the browser's CSRF token (one per session, read from the
    companies overview)."""
    token = csrf_token(page(get(browser, "/account/companies")))
    return browser.post(f"{path}?lang=en", data={"csrf_token": token, **data})


def location(response: Any) -> str:
    assert response.status_code == 303, (response.status_code, page(response)[-1500:])
    return str(response.headers["Location"])


def problem(html: str) -> str:
    match = re.search(r'id="(?:form-problem|refusal)"><p>(.*?)</p>', html, re.S)
    assert match, "no problem shown"
    return match.group(1)


def register_company(browser: Any, **fields: str) -> Any:
    data = {**HANGZHOU, "accept_agreement": "yes", **fields}
    return post(browser, "/account/companies/register", {k: v for k, v in data.items() if v})


def entity_path(response: Any) -> str:
    """The company page a successful POST went to: ``/account/companies/<id>``."""
    return urlsplit(location(response)).path


def entity_id_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


def send_grant_code(browser: Any, path: str, provider: Any, phone: str, **typed: Any) -> str:
    """Press ``send_code`` on a scope form; the code the acting person's own phone received."""
    response = post(browser, path, {**typed, "action": "send_code"})
    assert response.status_code == 200, (response.status_code, page(response)[-1500:])
    assert 'id="form-notice"' in page(response)
    return outbox_code(provider, phone)


def scope_form(
    *,
    grade: str,
    matters: list[str],
    regions: str = "",
    member: str | None = None,
    valid_until: str | None = None,
    sms_code: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"grade": grade, "matters": matters, "regions": regions}
    if member is not None:
        data["member"] = member
    if valid_until is not None:
        data["valid_until"] = valid_until
    if sms_code is not None:
        data["sms_code"] = sms_code
    return {**data, "action": "save"}


def appoint(
    browser: Any, company: str, provider: Any, acting: Person, member: Person, **scope: Any
) -> Any:
    path = f"{company}/administrators/new"
    code = send_grant_code(browser, path, provider, acting.phone)
    return post(browser, path, scope_form(member=member.phone, sms_code=code, **scope))


def authorise(
    browser: Any, company: str, provider: Any, acting: Person, handler: Person, **scope: Any
) -> Any:
    path = f"{company}/grants/new"
    code = send_grant_code(browser, path, provider, acting.phone)
    return post(browser, path, scope_form(member=handler.id_number, sms_code=code, **scope))


def grant_rows(html: str) -> dict[str, str]:
    """grant id -> status, from ``data-grant``/``data-status`` rows."""
    return dict(re.findall(r'data-grant="([^"]+)" data-status="([^"]+)"', html))


def company_rows(provider: Any) -> dict[str, int]:
    return {table: count(provider, table) for table in COMPANY_TABLES}


def errors_of(response: Any) -> dict[str, str]:
    return field_errors(page(response))


# -- portals ----------------------------------------------------------------------------------


def company_portal(
    cli: CliRunner,
    browser: Any,
    *,
    matters: list[str],
    region: str = "330100",
    name: str = "Hangzhou tax portal",
    trusted: bool = True,
) -> RelyingParty:
    """A trusted portal allowed scope ``entity`` (``idp clients create``) that serves
    ``matters`` in ``region``, set through the admin JSON API
    (``PATCH /admin/api/clients/<id>``)."""
    data = cli.ok(
        "clients",
        "create",
        "--name",
        name,
        "--redirect-uri",
        REDIRECT_URI,
        "--scope",
        "profile",
        "--scope",
        "offline_access",
        "--scope",
        "entity",
        *(["--trusted"] if trusted else []),
        "--json",
    )
    api = AdminApi(browser, admin_api_token(cli))
    changed = api.patch(f"/clients/{data['client_id']}", {"matters": matters, "region": region})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["matters"] == matters
    return RelyingParty(browser, data["client_id"], data["client_secret"], REDIRECT_URI)


@dataclass
class Choice:
    attempt: AuthorizationAttempt
    html: str

    @property
    def usable(self) -> list[str]:
        return re.findall(r'name="acting_as" value="([^"]+)"', self.html)

    @property
    def unavailable(self) -> dict[str, str]:
        return dict(re.findall(r'data-unavailable="([^"]+)">([^<]*)<', self.html))


def to_choice(rp: RelyingParty, **authorize: Any) -> Choice:
    """Authorize with scope ``entity`` in a browser already logged in; the login stops at the
    choose page."""
    authorize.setdefault("scope", "openid profile entity")
    authorize.setdefault("ui_locales", "en")
    attempt = rp.authorize(**authorize)
    assert attempt.response.status_code == 303, attempt.response.status_code
    assert not attempt.result, attempt.result
    html = rp.follow(attempt)
    assert 'name="acting_as"' in html, html[-1500:]
    return Choice(attempt, html)


def choose(rp: RelyingParty, choice: Choice, acting_as: str) -> AuthorizationAttempt:
    attempt = choice.attempt
    response = rp.browser.post(
        re.search(r'<form method="post" action="([^"]+/choose)"', choice.html).group(1),  # type: ignore[union-attr]
        data={"csrf_token": csrf_token(choice.html), "acting_as": acting_as},
    )
    attempt.response = response
    rp._capture(attempt)
    return attempt


Tokens = tuple[dict[str, Any], dict[str, Any]]


def company_tokens(rp: RelyingParty, attempt: AuthorizationAttempt) -> Tokens:
    """Exchange the code; (token response, id_token claims validated with jwcrypto)."""
    assert attempt.result.get("code"), attempt.result
    response = rp.exchange(attempt)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body, rp.validate_id_token(body["id_token"], nonce=attempt.params["nonce"])


def act_for_company(rp: RelyingParty, entity_id: str, **authorize: Any) -> Tokens:
    choice = to_choice(rp, **authorize)
    assert entity_id in choice.usable, choice.unavailable
    attempt = choose(rp, choice, entity_id)
    return company_tokens(rp, attempt)
