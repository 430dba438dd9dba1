"""The phone's side of the scan-to-log-in (docs/scan-login.md): ``/scan/<ticket>``, the address
in the QR code.

``GET`` shows which portal and which device asks (browser and system from its ``User-Agent``,
its address with the last part hidden, the time) and asks to confirm or refuse; without an SSO
session here the person logs in on the phone first and comes back. ``POST`` (``decision`` =
``confirm`` | ``refuse``, with the CSRF token) decides once. The rules are ``idp.oauth.scan``'s.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.store.scan import ScanTicket
from idp.views.account import current_account, shown_time
from idp.views.web import error_page, services

bp = Blueprint("scan", __name__, url_prefix="/scan")

Answer = Response | tuple[str, int]


def _gone() -> tuple[str, int]:
    return error_page(
        410,
        _("This QR code can no longer be used"),
        _(
            "The QR code has expired, was already used, or was refused. "
            "Show a new code on the computer and scan it again."
        ),
    )


def _log_in_first(ticket_id: str) -> Response:
    return redirect(
        url_for("account.login_page", next=url_for("scan.show", ticket_id=ticket_id)), 303
    )


def _confirm_page(ticket: ScanTicket, account_name: str) -> tuple[str, int]:
    device = services().scan_login.device(ticket)
    return render_template(
        "scan_confirm.html",
        client_name=ticket.client_name,
        browser=device.browser,
        system=device.system,
        address=device.address,
        asked_at=shown_time(datetime.fromtimestamp(ticket.created_at, UTC)),
        account_name=account_name,
        action_url=url_for("scan.decide", ticket_id=ticket.id),
    ), 200


@bp.get("/<ticket_id>")
def show(ticket_id: str) -> Answer:
    ticket = services().scan_login.pending(ticket_id)
    if ticket is None:
        return _gone()
    account = current_account()
    if account is None:
        return _log_in_first(ticket_id)
    masked_name = services().people.profile(account).masked["name"]
    return _confirm_page(ticket, masked_name or account.username or "")


@bp.post("/<ticket_id>")
def decide(ticket_id: str) -> Answer:
    decision = request.form.get("decision")
    if decision not in ("confirm", "refuse"):
        return error_page(400, _("Something is wrong with the request"), _("Choose an answer."))
    account = current_account()
    if account is None:
        return _log_in_first(ticket_id)
    confirmed = decision == "confirm"
    if not services().scan_login.decide(ticket_id, account, confirmed, request.remote_addr):
        return _gone()
    return render_template("scan_done.html", confirmed=confirmed), 200
