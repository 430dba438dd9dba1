"""``idp demo setup``: the development state of ``make run`` (issue 19, item 1).

Loads the sample catalogue of matters, creates the demo people from the fictional demo registry
(docs/registry.md) -- a person, a legal representative with a registered company, and a handler
whose grant the company gave and the handler confirmed -- registers two example portals
(clients/portal: one for people, one that asks for the scope ``entity`` so that a company login
can be tried at once), keeps their credentials in ``instance/run-portals.json`` for
``clients/demo.py serve``, and prints what to open and which accounts to try.

Every step looks first and does only what is missing, so a second run changes nothing (a portal
whose kept secret no longer works gets a new one). Development only: the people are checked
against the development registry and their SMS codes are never needed, which only the demo
registry may allow.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from idp.cli.base import ACTOR, CommandError
from idp.cli.clients import REGISTRY_ACTOR, create_client
from idp.cli.matters import read_rows
from idp.cli.users import create_account
from idp.config import PROJECT_ROOT
from idp.identity.delegation import Scope
from idp.identity.people import Application
from idp.models import Account
from idp.oauth.clients import ClientNotFound
from idp.services import Services

SAMPLE_CATALOGUE = PROJECT_ROOT / "idp" / "data" / "matters.sample.json"
PORTALS_FILE = "run-portals.json"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password-2026"
# Every demo person's password (the password policy allows it: it names neither phone nor ID).
PEOPLE_PASSWORD = "demo-password-2026"
# The class of matters the handler may do and the company portal serves (sample catalogue).
HANDLER_MATTERS = ("tax",)


@dataclass(frozen=True)
class DemoPerson:
    role: str  # what the instructions call them
    name: str
    id_number: str
    phone: str
    bank_card: str | None = None  # raises the person to L3 (bank, four elements)


@dataclass(frozen=True)
class DemoPortal:
    client_id: str
    name: str
    port: int
    scopes: tuple[str, ...]
    matters: tuple[str, ...] = ()

    def base_url(self, host: str) -> str:
        return f"http://{host}:{self.port}"


# People of the demo registry (docs/registry.md). 李四 and 阿依古丽·买买提 are left for trying
# the registration form by hand.
PERSON = DemoPerson("a person", "孙丽", "32010619950621038X", "13800131007")
LEGAL_REPRESENTATIVE = DemoPerson(
    "legal representative", "陈晓明", "330106198809160719", "13800131005", "6217003826060586517"
)
HANDLER = DemoPerson("handler", "王五", "330106197811250516", "13800131003")
COMPANY = {
    "uscc": "91330106064307423H",
    "name": "杭州示例科技有限公司",
    "entity_type": "limited_company",
    "region": "330106",
}
PORTALS = (
    DemoPortal("run-portal-people", "示例市政务服务网", 5001, ("profile", "phone")),
    DemoPortal(
        "run-portal-companies", "示例市企业服务网", 5003, ("profile", "entity"), HANDLER_MATTERS
    ),
)


def parse_ports(text: str) -> tuple[int, ...]:
    """``--ports 5001,5003``: one port per demo portal, in the order of :data:`PORTALS`."""
    try:
        ports = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("ports are numbers, e.g. 5001,5003") from None
    if len(ports) != len(PORTALS) or not all(0 < port < 65536 for port in ports):
        raise argparse.ArgumentTypeError(f"give {len(PORTALS)} ports between 1 and 65535")
    return ports


def setup(services: Services, args: argparse.Namespace) -> None:
    if not services.config.development:
        raise CommandError("idp demo setup is for development only (IDP_ENV=development)")
    import_catalogue(services)
    if services.people.find_by_identifier(DEMO_USERNAME) is None:
        create_account(services, username=DEMO_USERNAME, password=DEMO_PASSWORD, name="张三")
    person(services, PERSON)
    representative = person(services, LEGAL_REPRESENTATIVE)
    handler = person(services, HANDLER)
    entity_id = company(services, representative)
    handler_grant(services, entity_id, representative, handler)
    path = Path(args.portals_file or services.config.instance_path / PORTALS_FILE)
    ports = args.ports or tuple(item.port for item in PORTALS)
    portals = [
        portal(services, replace(item, port=port), args.portal_host, path)
        for item, port in zip(PORTALS, ports, strict=True)
    ]
    text = instructions(services.issuer, portals)
    write_private(path, json.dumps({"portals": portals, "instructions": text}, indent=2) + "\n")
    print(text, flush=True)


def import_catalogue(services: Services) -> None:
    """The sample catalogue, once: an operator's own catalogue is never overwritten."""
    if services.entities.matters(include_inactive=True):
        return
    rows = read_rows(str(SAMPLE_CATALOGUE))
    added, updated = services.entities.import_matters(rows)
    services.audit("matters_imported", actor=ACTOR, details={"added": added, "updated": updated})


def person(services: Services, who: DemoPerson) -> Account:
    """The person registered at L2 by the demo registry (L3 with a bank card); their first
    login asks them to accept the registration agreement, as anyone's does."""
    account = services.people.find_by_identifier(who.phone)
    if account is None:
        application = Application(
            name=who.name,
            id_number=who.id_number,
            phone=who.phone,
            password=PEOPLE_PASSWORD,
            password_confirm=PEOPLE_PASSWORD,
            accepted_agreement=True,
        )
        errors = application.validate()
        registered = None if errors else services.people.register(application)
        account = registered.account if registered else None
        if account is None:
            problem = errors or (registered.errors if registered else {})
            raise CommandError(f"cannot register the demo person {who.name}: {problem}")
        services.audit("account_registered", actor=ACTOR, account_id=account.id)
    if who.bank_card and account.verification_level != "L3":
        services.registration.verify_identity(
            account, "bank_card_four_elements", {"bank_card": who.bank_card}, ip_address=None
        )
        account = services.people.by_id(account.id) or account
    return account


def company(services: Services, representative: Account) -> str:
    existing = services.entities.by_uscc(COMPANY["uscc"])
    if existing is not None:
        return existing.id
    outcome = services.registration.register_company(
        representative, **COMPANY, ip_address=None, user_agent="idp demo setup"
    )
    if outcome.entity is None:
        raise CommandError(f"cannot register the demo company: {outcome.errors}")
    return outcome.entity.id


def handler_grant(
    services: Services, entity_id: str, representative: Account, handler: Account
) -> None:
    """A confirmed grant to do the company's tax matters (graded ``apply``)."""
    entities = services.entities
    if any(g.account_id == handler.id and g.status == "active" for g in entities.grants(entity_id)):
        return
    entity = entities.get(entity_id)
    assert entity is not None
    grant = entities.create_grant(
        entity, representative, handler.id, Scope(grade="apply", matters=HANDLER_MATTERS)
    )
    entities.respond(grant, handler, accept=True)


def portal(services: Services, item: DemoPortal, host: str, path: Path) -> dict[str, Any]:
    """A confidential portal; its secret is kept in the portals file, and renewed when the kept
    one no longer works (the file was removed, or the secret rotated)."""
    base = item.base_url(host)
    kept = read_kept_secret(path, item.client_id)
    try:
        client = services.clients.get(item.client_id)
    except ClientNotFound:
        _client, secret = create_client(
            services,
            name=item.name,
            redirect_uris=[f"{base}/callback"],
            post_logout_redirect_uris=[f"{base}/"],
            backchannel_logout_uri=f"{base}/backchannel-logout",
            client_id=item.client_id,
            scopes=list(item.scopes),
            matters=list(item.matters),
        )
    else:
        addresses = {
            "redirect_uris": [f"{base}/callback"],
            "post_logout_redirect_uris": [f"{base}/"],
            "backchannel_logout_uri": f"{base}/backchannel-logout",
        }
        if any(getattr(client, name) != value for name, value in addresses.items()):
            # The portals moved (another --ports or --portal-host): follow them.
            services.clients.update(item.client_id, addresses, actor=REGISTRY_ACTOR)
        if kept and client.check_client_secret(kept):
            secret = kept
        else:
            secret = services.clients.rotate_secret(
                item.client_id, actor=REGISTRY_ACTOR
            ).client_secret
    return {
        "client_id": item.client_id,
        "client_secret": secret,
        "name": item.name,
        "base_url": base,
        "port": item.port,
        "scope": " ".join(("openid", *item.scopes)),
    }


def read_kept_secret(path: Path, client_id: str) -> str | None:
    try:
        kept = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    for entry in kept.get("portals", []) if isinstance(kept, dict) else []:
        if isinstance(entry, dict) and entry.get("client_id") == client_id:
            secret = entry.get("client_secret")
            return secret if isinstance(secret, str) else None
    return None


def write_private(path: Path, text: str) -> None:
    """Only its owner reads the file: it holds client secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def instructions(issuer: str, portals: list[dict[str, Any]]) -> str:
    people, companies = portals
    name = COMPANY["name"]

    def account(who: DemoPerson, level: str) -> str:
        return f"  {who.role:<22}{who.name}  phone {who.phone}  ID {who.id_number}  ({level})"

    return "\n".join(
        [
            "Development demo (IDP_ENV=development):",
            f"  provider              {issuer}  (your account: {issuer}/account)",
            f"  {people['name']}      {people['base_url']}  (scope {people['scope']})",
            f"  {companies['name']}      {companies['base_url']}  (scope {companies['scope']})",
            "",
            f"Accounts (log in with the phone or ID number; password {PEOPLE_PASSWORD}):",
            account(PERSON, "L2"),
            account(LEGAL_REPRESENTATIVE, f"L3, legal representative of {name}"),
            account(HANDLER, f"L2, handles the tax matters (税务) of {name}"),
            f"  {'operator-made account':<22}{DEMO_USERNAME} / {DEMO_PASSWORD}  (L0)",
            "",
            "Try:",
            f"1. Open {people['base_url']}, press 登录 Log in and log in as {PERSON.name}"
            f" ({PERSON.phone}); accept the agreement, then allow access.",
            f"2. Open {companies['base_url']} in a private window, log in as {HANDLER.name}"
            f" ({HANDLER.phone}) and choose to act for {name}.",
            f"3. As {LEGAL_REPRESENTATIVE.name} ({LEGAL_REPRESENTATIVE.phone}), manage the company"
            f" at {issuer}/account/companies (appoint a handler for the sample matters).",
            "4. Or register yourself on the login page as a fictional person of the demo registry"
            " (docs/registry.md), e.g. 李四 31010419900708023X 13800131002.",
            "SMS codes are not sent: read them with `.venv/bin/idp sms outbox`.",
        ]
    )
