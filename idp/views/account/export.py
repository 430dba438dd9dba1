"""The person's copy of their data (PIPL art. 45; docs/user-space.md "Export"): ``GET
/account/export`` says what the archive holds; ``POST`` with the password re-entered (counted in
the login throttle, as before cancellation: a stolen session must not carry everything away)
answers the ZIP archive as a download. Nothing of it is cached or logged."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from idp.views.account import bp, current_account, to_login
from idp.views.password_login import confirm_own_password, failure_message
from idp.views.web import services

# What each section of export.json holds, in the order of the archive.
SECTIONS = {
    "account": lazy_gettext("Your account and real-name details"),
    "identity_evidence": lazy_gettext("How your identity was verified"),
    "agreements": lazy_gettext("The agreements you accepted"),
    "consents": lazy_gettext("Your permissions to portals"),
    "disclosures": lazy_gettext("What each portal received, and when"),
    "companies": lazy_gettext("Your roles in companies and the authorisations given to you"),
    "matters": lazy_gettext("Your matters and their progress"),
    "messages": lazy_gettext("Your messages"),
    "materials": lazy_gettext("Your materials (the files are in the archive)"),
    "addresses": lazy_gettext("Your delivery addresses"),
    "security": lazy_gettext("Your login history and password age"),
    "second_factors": lazy_gettext("Your second factors (names and dates, never a secret)"),
    "token_exchange": lazy_gettext(
        "Tokens portals exchanged for you, and the matters you authorised them to handle"
    ),
}


def _render(error: str | None = None, status: int = 200) -> tuple[str, int]:
    names = services().export.section_names
    return render_template(
        "account_export.html",
        current="export",
        sections=[str(SECTIONS.get(name, name)) for name in names],
        action_url=url_for("account.export"),
        error=error,
    ), status


@bp.get("/export")
def export_page() -> Response | tuple[str, int]:
    if current_account() is None:
        return to_login()
    return _render()


@bp.post("/export")
def export() -> Response | tuple[str, int]:
    account = current_account()
    if account is None:
        return to_login(url_for("account.export_page"))
    checked = confirm_own_password(account)
    if checked.failure is not None:
        message, status = failure_message(checked)
        if checked.failure not in ("throttled", "locked"):
            message = _("The password is not correct. Nothing was exported.")
        return _render(message, status)
    archive = services().export.archive(account.id, request.remote_addr)
    day = datetime.now(UTC).astimezone(services().config.local_zone).strftime("%Y%m%d")
    response = Response(archive, status=200, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="my-data-{day}.zip"'
    return response
