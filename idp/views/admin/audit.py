"""The audit and disclosure logs in the console (``/admin/audit``), and the chain check.

- **Search** ``AuditEvent`` (who did what, when, why) or the disclosure log (which claim names
  went to which portal, PIPL articles 23 and 29; chained records and those recorded but not yet
  chained, ``idp.identity.disclosures.Disclosure``) by account, portal, action and time, newest
  first, ``PAGE_SIZE`` rows a page. The search form is a POST: an account given by phone number
  or ID number is resolved here (``People.find_by_identifier``) and the results page is addressed
  by the account id only, so the identifier never appears in a URL.
- **Verify the chain** (``idp.identity.disclosures.verify``, as ``idp audit verify``): every
  chained entry's hash and link recomputed, the records not yet chained counted; the outcome is
  shown and audited. Auditors may run it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from idp.identity.disclosures import Disclosure
from idp.models import AuditEvent
from idp.views.account import display_timezone, shown_time
from idp.views.admin.accounts import find_account
from idp.views.admin.auth import audit, console_required, notify
from idp.views.web import services

bp = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")

PAGE_SIZE = 50
MAX_PAGE = 10_000
LOGS = ("audit", "disclosures")
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
ACTION = re.compile(r"^[a-z0-9_]{1,64}$")
CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CHAIN_PROBLEMS = {
    "an entry is missing": lazy_gettext("an entry is missing"),
    "the link to the previous entry": lazy_gettext("the link to the previous entry is wrong"),
    "the entry was changed": lazy_gettext("the entry was changed"),
    "the chain head was removed": lazy_gettext("the chain head was removed"),
    "entries were removed from the end": lazy_gettext("entries were removed from the end"),
    "an entry follows the chain head": lazy_gettext("an entry follows the chain head"),
}
Answer = Response | tuple[str, int] | str


@dataclass
class Filters:
    log: str = "audit"
    account: str = ""  # an account id (or sub) in the URL
    portal: str = ""
    action: str = ""
    start_text: str = ""
    end_text: str = ""
    page: int = 1
    start: datetime | None = None
    end: datetime | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def query(self, **changes: Any) -> str:
        values = {
            "log": "" if self.log == "audit" else self.log,
            "account": self.account,
            "portal": self.portal,
            "action": self.action if self.log == "audit" else "",
            "from": self.start_text,
            "to": self.end_text,
            "page": self.page,
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})


def _moment(text: str, end: bool) -> datetime | None:
    """``YYYY-MM-DD`` (the whole day) or ``YYYY-MM-DDTHH:MM``, in the display zone
    (``IDP_TIMEZONE``) unless a zone is given. Raises ValueError."""
    value = datetime.fromisoformat(text)
    if not 2000 <= value.year <= 2100:
        raise ValueError("out of range")  # and no overflow in the arithmetic below
    if value.tzinfo is None:
        value = value.replace(tzinfo=display_timezone())
    if end and len(text) == 10:
        value += timedelta(days=1)  # the end date is included
    return value


def _read_filters(source: Any) -> Filters:
    """The filters from the query (GET) or the form (POST); bad values become field errors."""
    f = Filters(
        log=source.get("log", "audit"),
        account=source.get("account", "").strip()[:129],
        portal=source.get("portal", "").strip()[:65],
        action=source.get("action", "").strip()[:65],
        start_text=source.get("from", "").strip()[:32],
        end_text=source.get("to", "").strip()[:32],
    )
    if f.log not in LOGS:
        f.errors["log"] = _("Choose the audit log or the disclosure log.")
        f.log = "audit"
    if f.portal and not CLIENT_ID.match(f.portal):
        f.errors["portal"] = _("A client id is letters, digits, '.', '_' and '-'.")
    if f.action and not ACTION.match(f.action):
        f.errors["action"] = _("An action is lower-case letters, digits and '_'.")
    for name, text, end in (("from", f.start_text, False), ("to", f.end_text, True)):
        if not text:
            continue
        try:
            moment = _moment(text, end)
        except ValueError:
            f.errors[name] = _("Enter a date such as 2027-01-31, or a date and time.")
            continue
        if end:
            f.end = moment
        else:
            f.start = moment
    if f.start and f.end and f.start >= f.end:
        f.errors["to"] = _("The end must be after the start.")
    try:
        f.page = min(max(int(source.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        f.page = 1
    return f


def _found(f: Filters) -> list[AuditEvent] | list[Disclosure]:
    """The page asked for, and one more row (to know whether a next page exists)."""
    offset, limit = (f.page - 1) * PAGE_SIZE, PAGE_SIZE + 1
    if f.log == "disclosures":
        return services().disclosures.search(
            account_id=f.account or None,
            client_id=f.portal or None,
            start=f.start,
            end=f.end,
            offset=offset,
            limit=limit,
        )
    return services().audit.search(
        action=f.action or None,
        account_id=f.account or None,
        client_id=f.portal or None,
        start=f.start,
        end=f.end,
        offset=offset,
        limit=limit,
    )


def _rows(f: Filters) -> tuple[list[dict[str, Any]], bool]:
    found = _found(f)
    more = len(found) > PAGE_SIZE
    rows = []
    for row in found[:PAGE_SIZE]:
        if isinstance(row, Disclosure):
            rows.append(
                {
                    "seq": row.seq,  # None: recorded, not yet chained
                    "chained": row.chained,
                    "time": shown_time(row.created_at),
                    "account_id": row.account_id,
                    "client_id": row.client_id,
                    "channel": row.channel,
                    "claims": row.claims,
                    "entry_hash": row.entry_hash,
                }
            )
        else:
            rows.append(
                {
                    "id": row.id,
                    "time": shown_time(row.created_at),
                    "action": row.action,
                    "actor": row.actor,
                    "account_id": row.account_id,
                    "client_id": row.client_id,
                    "ip_address": row.ip_address,
                    "reason": (row.details or {}).get("reason"),
                    "details": json.dumps(row.details or {}, ensure_ascii=False, sort_keys=True),
                }
            )
    return rows, more


def _resolve_account(f: Filters) -> None:
    """In the URL the account is an id or a ``sub``: turn a ``sub`` into the id. An id that
    matches no account is kept (the records of a cancelled account keep its id)."""
    if not f.account:
        return
    if not ACCOUNT_ID.match(f.account):
        f.errors["account"] = _("Search by phone number or ID number with the form below.")
        return
    account_id = services().people.id_of_subject(f.account)
    if account_id is not None:
        f.account = account_id


def _render(f: Filters, status: int = 200) -> Answer:
    rows, more = ([], False) if f.errors else _rows(f)
    pages = {
        "previous": url_for("admin_audit.search") + "?" + f.query(page=f.page - 1)
        if f.page > 1
        else None,
        "next": url_for("admin_audit.search") + "?" + f.query(page=f.page + 1) if more else None,
    }
    return (
        render_template("admin/audit.html", current="audit", filters=f, rows=rows, pages=pages),
        status,
    )


@bp.get("")
@console_required()
def search() -> Answer:
    f = _read_filters(request.args)
    _resolve_account(f)
    return _render(f, 400 if f.errors else 200)


@bp.post("")
@console_required()
def search_form() -> Answer:
    """The search form: resolve an account typed as phone, ID number, username, id or ``sub``,
    then show the results under a URL that names the account id only."""
    f = _read_filters(request.form)
    f.page = 1
    if f.account:
        account, kind = find_account(f.account)
        audit(
            "admin_account_search",
            account_id=account.id if account else None,
            details={"by": kind, "found": account is not None, "for": "audit"},
        )
        if account is not None:
            f.account = account.id
        elif kind in ("account_id", "username") and ACCOUNT_ID.match(f.account):
            pass  # the id of a cancelled account: its records remain
        else:
            f.account = ""
            f.errors["account"] = _("No account matches exactly.")
    if f.errors:
        return _render(f, 400)
    return redirect(url_for("admin_audit.search") + "?" + f.query(), 303)


@bp.post("/verify-chain")
@console_required()
def verify_chain() -> Response:
    """Recompute the disclosure hash chain (a check that changes nothing: auditors may run it).
    Records not yet chained are counted, not verified."""
    result = services().disclosures.verify()
    audit(
        "disclosure_chain_verified",
        details={
            "ok": result.ok,
            "entries": result.entries,
            "queued": result.queued,
            "first_broken": result.first_broken,
            "problem": result.reason,
        },
    )
    if result.ok and result.queued:
        notify(
            _(
                "The disclosure chain is intact: %(count)s entries. %(queued)s more are recorded "
                "and not yet chained.",
                count=result.entries,
                queued=result.queued,
            )
        )
    elif result.ok:
        notify(_("The disclosure chain is intact: %(count)s entries.", count=result.entries))
    else:
        problem = CHAIN_PROBLEMS.get(result.reason or "", result.reason or "")
        notify(
            _(
                "The disclosure chain is broken at entry %(seq)s: %(problem)s.",
                seq=result.first_broken,
                problem=str(problem),
            ),
            ok=False,
        )
    return redirect(url_for("admin_audit.search", log="disclosures"), 303)
