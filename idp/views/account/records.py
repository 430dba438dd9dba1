"""What the person can read about their account: the overview (masked real-name data), their
agreement acceptances, the portals they consented to (with withdrawal: PIPL article 15), and what
each portal received and when (PIPL article 44; the disclosure log, claim names only, shown at
once: a record not yet linked into the hash chain is listed, marked, with the chained ones)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from idp.views.account import MAX_CLIENT_ID_LENGTH, bp, current_account, shown_time, to_login
from idp.views.labels import (
    ID_TYPE_LABELS,
    SCOPE_DESCRIPTIONS,
    USER_TYPE_LABELS,
    agreement_title,
    describe_claim,
    level_label,
)
from idp.views.replica import reads_from_replica
from idp.views.web import services

CHANNELS = {
    "id_token": lazy_gettext("ID token (at login)"),
    "userinfo": lazy_gettext("User information request"),
    "introspection": lazy_gettext("Token check by the portal"),
    "materials": lazy_gettext("Material fetched by the portal"),
}
ACTIONS = {
    "accepted": lazy_gettext("Accepted"),
    "notified": lazy_gettext("Notified"),
}
describe = describe_claim


@bp.get("")
def overview() -> Response | str:
    account = current_account()
    if account is None:
        return to_login()
    masked = services().people.profile(account).masked
    return render_template(
        "account_overview.html",
        current="overview",
        masked_name=masked["name"] or "",
        masked_id_number=masked["id_number"] or "",
        masked_phone=masked["phone"] or "",
        id_type=str(ID_TYPE_LABELS.get(account.id_type or "", "")),
        username=account.username,
        user_type=str(USER_TYPE_LABELS.get(account.user_type, account.user_type)),
        verification_level=level_label(account.verification_level),
        verified_at=shown_time(account.verified_at) if account.verified_at else None,
    )


@bp.get("/agreements")
@reads_from_replica
def agreements() -> Response | str:
    account = current_account()
    if account is None:
        return to_login()
    app_services = services()
    history = app_services.agreements.history(account.id)
    names = app_services.portals.names(row.client_id for row, _title in history)
    rows = [
        {
            "kind": row.kind,
            "title": agreement_title(row.kind, title),
            "version": row.version,
            "action": str(ACTIONS.get(row.action, row.action)),
            "time": shown_time(row.accepted_at),
            "portal": names.get(row.client_id, row.client_id) if row.client_id else "",
            "sha256_prefix": row.text_sha256[:16],
            "sha256": row.text_sha256,
        }
        for row, title in history
    ]
    return render_template(
        "account_agreements.html", current="agreements", rows=rows, terms_url="/terms"
    )


@bp.get("/consents")
@reads_from_replica
def consents() -> Response | str:
    account = current_account()
    if account is None:
        return to_login()
    app_services = services()
    found = app_services.consents.of_account(account.id)
    names = app_services.portals.names(consent.client_id for consent in found)
    rows = []
    for consent in found:
        granted = [c for c in consent.sensitive_claims if c in consent.claims_asked]
        sensitive_asked = [
            c for c in consent.claims_asked if c in app_services.sensitive_claims or c in granted
        ]
        rows.append(
            {
                "client_id": consent.client_id,
                "portal": names.get(consent.client_id, consent.client_id),
                "scope_names": consent.scopes,
                "scopes": [
                    str(SCOPE_DESCRIPTIONS[s]) for s in consent.scopes if s in SCOPE_DESCRIPTIONS
                ],
                "claims": [
                    {"name": c, "description": describe(c)}
                    for c in consent.claims_asked
                    if c not in sensitive_asked
                ],
                "sensitive_granted": [{"name": c, "description": describe(c)} for c in granted],
                "sensitive_refused": [
                    {"name": c, "description": describe(c)}
                    for c in sensitive_asked
                    if c not in granted
                ],
                "time": shown_time(consent.updated_at),
                "implied": consent.implied,
            }
        )
    notice = None
    if request.args.get("withdrawn") == "1":
        notice = _(
            "Your consent was withdrawn. The portal's existing tokens no longer work, and it "
            "will ask for your consent again at your next login."
        )
    elif request.args.get("withdrawn") == "0":
        notice = _("There is no consent for that portal to withdraw. Nothing was changed.")
    return render_template(
        "account_consents.html",
        current="consents",
        rows=rows,
        notice=notice,
        notice_ok=request.args.get("withdrawn") == "1",
    )


@bp.post("/consents/withdraw")
def withdraw() -> Response:
    """PIPL article 15: withdraw a consent; the portal's refresh and access tokens stop at once."""
    account = current_account()
    if account is None:
        return to_login(url_for("account.consents"))
    client_id = request.form.get("client_id", "")
    withdrawn = 0 < len(client_id) <= MAX_CLIENT_ID_LENGTH and services().consents.withdraw(
        account.id, client_id
    )
    return redirect(url_for("account.consents", withdrawn="1" if withdrawn else "0"), 303)


@bp.get("/disclosures")
@reads_from_replica
def disclosures() -> Response | str:
    account = current_account()
    if account is None:
        return to_login()
    app_services = services()
    records = app_services.disclosures.for_account(account.id)
    names = app_services.portals.names(record.client_id for record in records)
    rows = [
        {
            "time": shown_time(record.created_at),
            "client_id": record.client_id,
            "portal": names.get(record.client_id, record.client_id),
            "channel": record.channel,
            "channel_label": str(CHANNELS.get(record.channel, record.channel)),
            "claims": [{"name": c, "description": describe(c)} for c in record.claims],
            "chained": record.chained,
        }
        for record in records
    ]
    return render_template("account_disclosures.html", current="disclosures", rows=rows)
