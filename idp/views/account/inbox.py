"""Matters and messages in the user space (issue 12, items 1 and 2; docs/user-space.md).

- ``/account/matters``: every matter portals reported for the person, across portals, newest
  first, each with its timeline and a link to continue on the portal; filtered by portal and
  status with a GET form (no script).
- ``/account/messages``: the inbox (unread first marked, newest first), one message per page
  (opening it marks it read), read/unread and delete (POST, CSRF), and the clause 4(4) choice
  per sender: turn a portal's (or the authority's) non-essential messages off or on again.
- ``unread_messages``: the unread count in the navigation of every account page, one indexed
  COUNT, and only when the page's frame asks for it (``account_base.html``).
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.identity.messages import InboxItem
from idp.models import Account
from idp.models.matter import MATTER_STATUSES
from idp.models.message import AUTHORITY
from idp.views.account import MAX_CLIENT_ID_LENGTH, bp, current_account, shown_time, to_login
from idp.views.replica import reads_from_replica
from idp.views.web import services

STATUS_LABELS = {
    "received": lazy_gettext("Received"),
    "accepted": lazy_gettext("Accepted for processing"),
    "supplement_requested": lazy_gettext("Supplement requested"),
    "decided": lazy_gettext("Decided"),
    "closed": lazy_gettext("Closed"),
}
MAX_PAGE = 200
NOTICES = {
    "read": lazy_gettext("The message was marked as read."),
    "unread": lazy_gettext("The message was marked as unread."),
    "deleted": lazy_gettext("The message was deleted."),
    "all_read": lazy_gettext("All messages were marked as read."),
    "off": lazy_gettext(
        "You will no longer receive non-essential messages from this sender. Essential notices "
        "(agreement changes, suspension, security) still arrive."
    ),
    "on": lazy_gettext("You will receive this sender's messages again."),
    "none": lazy_gettext("Nothing was changed."),
}


@bp.app_context_processor
def unread_messages_context() -> dict[str, Any]:
    """``unread_messages()``: the signed-in person's unread count, computed once and only when
    the account frame calls it (one indexed COUNT), from the account the page already loaded."""

    def unread_messages() -> int:
        account = g.get("account")
        if not isinstance(account, Account):
            return 0
        if "unread_messages" not in g:
            g.unread_messages = services().messages.unread_count(account.id)
        return int(g.unread_messages)

    return {"unread_messages": unread_messages}


def _page() -> int:
    raw = request.args.get("page", "1")
    return min(int(raw), MAX_PAGE) if raw.isdigit() and 0 < len(raw) < 4 and int(raw) > 0 else 1


def _english() -> bool:
    return str(get_locale() or "") == "en"


def _class_names() -> dict[str, str]:
    english = _english()
    return {
        entry.code: (entry.name_en or entry.name) if english else entry.name
        for entry in services().entities.matters(include_inactive=True)
    }


# -- matters ---------------------------------------------------------------------------------


@bp.get("/matters")
@reads_from_replica
def matters() -> Response | str:
    account = current_account()
    if account is None:
        return to_login()
    app_services = services()
    portal = request.args.get("portal", "")
    status = request.args.get("status", "")
    portal_ids = app_services.matters.portals_of(account.id)
    names = app_services.portals.names(portal_ids)
    if portal not in portal_ids:
        portal = ""
    if status not in MATTER_STATUSES:
        status = ""
    page = _page()
    size = 20
    found = app_services.matters.of_account(
        account.id,
        client_id=portal or None,
        status=status or None,
        offset=(page - 1) * size,
        limit=size + 1,
    )
    classes = _class_names()
    rows = [
        {
            "id": matter.id,
            "reference": matter.portal_reference,
            "portal": names.get(matter.client_id, matter.client_id),
            "client_id": matter.client_id,
            "title": matter.title,
            "matter_class": classes.get(matter.matter_class, matter.matter_class),
            "status": matter.status,
            "status_label": str(STATUS_LABELS.get(matter.status, matter.status)),
            "submitted": shown_time(matter.submitted_at),
            "link": matter.link,
            "steps": [
                {
                    "status": step.status,
                    "label": str(STATUS_LABELS.get(step.status, step.status)),
                    "time": shown_time(step.occurred_at),
                    "note": step.note,
                    "link": step.link,
                }
                for step in reversed(matter.steps)
            ],
        }
        for matter in found[:size]
    ]
    return render_template(
        "account_matters.html",
        current="matters",
        rows=rows,
        portals=sorted(
            ({"client_id": c, "name": names.get(c, c)} for c in portal_ids),
            key=lambda row: row["name"],
        ),
        statuses=[{"value": s, "label": str(STATUS_LABELS[s])} for s in MATTER_STATUSES],
        portal=portal,
        status=status,
        page=page,
        next_page=page + 1 if len(found) > size else None,
    )


# -- messages --------------------------------------------------------------------------------


def _sender_name(item: InboxItem, names: dict[str, str]) -> str:
    if item.sender == "provider":
        return _("Unified identity authentication")
    if item.sender == "authority":
        return services().config.AUTHORITY_NAME or _("The authority")
    return names.get(item.client_id or "", item.client_id or "")


SECOND_FACTOR_NOTICES = {
    "second_factor_enrolled": (
        lazy_gettext("Two-step verification was turned on"),
        lazy_gettext("A second factor was added to your account."),
    ),
    "second_factor_removed": (
        lazy_gettext("A second factor was removed"),
        lazy_gettext("A second factor was removed from your account."),
    ),
    "recovery_codes_regenerated": (
        lazy_gettext("New recovery codes"),
        lazy_gettext("New recovery codes were made for your account; the old ones no longer work."),
    ),
    "second_factors_reset": (
        lazy_gettext("Two-step verification was reset"),
        lazy_gettext("The service desk removed every second factor of your account."),
    ),
}


def _notice_text(item: InboxItem, names: dict[str, str]) -> tuple[str, str]:
    """A provider notice worded in the reader's language: (title, body)."""
    params = item.params
    when = params.get("time", "")
    if item.kind == "new_login":
        portal = names.get(params.get("portal") or "", "")
        where = params.get("network") or _("an unknown network")
        body = _(
            "Your account was logged in to at %(time)s from %(network)s.",
            time=when.replace("T", " ")[:16],
            network=where,
        )
        if portal:
            body += " " + _("The login was for %(portal)s.", portal=portal)
        if params.get("device"):
            body += " " + _("Device: %(device)s.", device=params["device"])
        body += " " + _(
            "If this was not you, change your password at once and end your other sessions."
        )
        return _("New login to your account"), body
    if item.kind == "password_changed":
        return _("Your password was changed"), _(
            "The password of your account was changed at %(time)s. If this was not you, "
            "recover your account by SMS code at once and contact the service desk.",
            time=when.replace("T", " ")[:16],
        )
    if item.kind == "agreement_changed":
        return _("An agreement changed"), _(
            "An agreement you accepted has a new version. You will see it at your next login."
        )
    if item.kind in SECOND_FACTOR_NOTICES:
        title, text = SECOND_FACTOR_NOTICES[item.kind]
        return str(title), str(text) + " " + _(
            "If this was not you, change your password at once and contact the service desk."
        )
    if item.kind == "account_suspended":
        return _("Your account was suspended"), _(
            "Your account was suspended. Contact the service desk to learn why."
        )
    return item.kind, ""


def _message_row(item: InboxItem, names: dict[str, str]) -> dict[str, Any]:
    if item.sender == "provider":
        title, body = _notice_text(item, names)
    else:
        title, body = item.title or "", item.body or ""
    return {
        "id": item.id,
        "sender": item.sender,
        "sender_name": _sender_name(item, names),
        "essential": item.essential,
        "title": title,
        "body": body,
        "link": item.link,
        "matter_id": item.matter_id,
        "time": shown_time(item.created_at),
        "unread": item.unread,
    }


@bp.get("/messages")
@reads_from_replica
def messages() -> Response | str:
    account = current_account()
    if account is None:
        return to_login()
    app_services = services()
    unread_only = request.args.get("show") == "unread"
    page = _page()
    size = 20
    items = app_services.messages.inbox(
        account.id, unread_only=unread_only, offset=(page - 1) * size, limit=size + 1
    )
    preferences = app_services.messages.preferences(account.id)
    # The senders one may choose about: the portals logged in to (consents), those that sent
    # something, and the authority.
    senders = {c.client_id for c in app_services.consents.of_account(account.id)}
    senders |= {item.client_id for item in items if item.client_id}
    senders |= {client_id for client_id in preferences if client_id}
    names = app_services.portals.names(senders)
    rows = [_message_row(item, names) for item in items[:size]]
    choices = [
        {
            "client_id": client_id,
            "name": names[client_id],
            "allowed": preferences.get(client_id, True),
        }
        for client_id in sorted(senders, key=lambda c: names.get(c, c))
        if client_id in names
    ]
    choices.insert(
        0,
        {
            "client_id": AUTHORITY,
            "name": app_services.config.AUTHORITY_NAME or _("The authority"),
            "allowed": preferences.get(AUTHORITY, True),
        },
    )
    notice_key = request.args.get("done", "")
    return render_template(
        "account_messages.html",
        current="messages",
        rows=rows,
        choices=choices,
        unread_only=unread_only,
        page=page,
        next_page=page + 1 if len(items) > size else None,
        notice=str(NOTICES[notice_key]) if notice_key in NOTICES else None,
    )


@bp.get("/messages/<message_id>")
def message(message_id: str) -> Response | str:
    """One message; opening it marks it read (as a mail reader does)."""
    account = current_account()
    if account is None:
        return to_login()
    app_services = services()
    item = app_services.messages.find(account.id, message_id)
    if item is None:
        abort(404)
    if item.unread:
        app_services.messages.mark(account.id, item.id, read=True)
        g.pop("unread_messages", None)
    names = app_services.portals.names([item.client_id])
    row = _message_row(item, names)
    matter = None
    if item.matter_id:
        found = app_services.matters.find_of_account(account.id, item.matter_id)
        if found is not None:
            matter = {
                "title": found.title,
                "status_label": str(STATUS_LABELS.get(found.status, found.status)),
                "url": url_for("account.matters", portal=found.client_id),
            }
    return render_template("account_message.html", current="messages", row=row, matter=matter)


def _back(done: str) -> Response:
    return redirect(url_for("account.messages", done=done), 303)


@bp.post("/messages/<message_id>/read")
def mark_message(message_id: str) -> Response:
    account = current_account()
    if account is None:
        return to_login(url_for("account.messages"))
    read = request.form.get("decision") != "unread"
    changed = services().messages.mark(account.id, message_id, read=read)
    return _back(("read" if read else "unread") if changed else "none")


@bp.post("/messages/<message_id>/delete")
def delete_message(message_id: str) -> Response:
    account = current_account()
    if account is None:
        return to_login(url_for("account.messages"))
    deleted = services().messages.delete(account.id, message_id)
    return _back("deleted" if deleted else "none")


@bp.post("/messages/read-all")
def read_all_messages() -> Response:
    account = current_account()
    if account is None:
        return to_login(url_for("account.messages"))
    return _back("all_read" if services().messages.mark_all_read(account.id) else "none")


@bp.post("/messages/senders")
def choose_sender() -> Response:
    """Clause 4(4): non-essential messages of one sender off (the consent withdrawn) or on."""
    account = current_account()
    if account is None:
        return to_login(url_for("account.messages"))
    client_id = request.form.get("client_id", "")
    decision = request.form.get("decision", "")
    if len(client_id) > MAX_CLIENT_ID_LENGTH or decision not in ("on", "off"):
        return _back("none")
    if client_id and not services().portals.names([client_id]):
        return _back("none")
    changed = services().messages.choose(
        account.id, client_id, allowed=decision == "on", ip_address=request.remote_addr
    )
    return _back(decision if changed else "none")
