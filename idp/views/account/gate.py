"""Agreements gate the user space (natural-person agreement clause 10: a material new version is
accepted before the service is used, wherever the person logs in; a supplementary one is told).

Every ``/account`` page (the company pages included) first asks
``Agreements.pending`` for the signed-in person. A pending version sends them to
``/account/agreement`` and back to the page they wanted: the same page and rules as the
portal login's agreement step (``idp.oauth.steps.AgreementStep``). Accepting (or, for a
supplementary version, taking note) records the evidence with ``Agreements.record_pending``;
declining ends the SSO session, as declining at a portal login ends that login.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.models import Account
from idp.views import cookies
from idp.views.account import bp, current_account, safe_next, to_login
from idp.views.labels import agreement_title
from idp.views.web import services

# Ways in and out of the user space stay open: the gate needs a login to know whom it gates.
OPEN_ENDPOINTS = frozenset(
    {
        "account.login_page",
        "account.login",
        "account.logout",
        "account.logged_out",
        "account.register_page",
        "account.register",
        "account.recover_page",
        "account.recover",
        "account.agreement_page",
        "account.agreement",
    }
)


def require_agreements() -> Response | None:
    """``before_request`` of the user-space blueprints: a pending agreement comes first."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    account = current_account()
    if account is None or services().agreements.pending(account.id, account.user_type) is None:
        return None
    query = request.query_string.decode("latin-1")
    target = request.path + (f"?{query}" if query and request.method == "GET" else "")
    return redirect(url_for("account.agreement_page", next=target), 303)


bp.before_request(require_agreements)


def _render(account: Account, error: str | None = None) -> Response | tuple[str, int]:
    requirement = services().agreements.pending(account.id, account.user_type)
    if requirement is None:
        return redirect(safe_next(request.args.get("next")), 303)
    return render_template(
        "agreement.html",
        client_name=None,
        action_url=url_for("account.agreement", next=safe_next(request.args.get("next"))),
        title=agreement_title(requirement.kind, requirement.title),
        version=requirement.version,
        mode=requirement.mode,
        accepted_version=requirement.accepted_version,
        changes=requirement.changes,
        error=error,
    ), 400 if error else 200


@bp.get("/agreement")
def agreement_page() -> Response | tuple[str, int]:
    account = current_account()
    if account is None:
        return to_login()
    return _render(account)


@bp.post("/agreement")
def agreement() -> Response | tuple[str, int]:
    account = current_account()
    if account is None:
        return to_login(url_for("account.agreement_page"))
    app_services = services()
    if request.form.get("decision") == "deny":
        session_id = request.cookies.get(cookies.SESSION)
        app_services.sso.end(
            session_id, reason="agreement_declined", ip_address=request.remote_addr
        )
        response = redirect(url_for("account.logged_out", declined=1), 303)
        cookies.clear_session(response, app_services.config)
        return response
    requirement = app_services.agreements.pending(account.id, account.user_type)
    version_id = request.form.get("version_id", "")
    if requirement is None or requirement.version.id != version_id:
        # Accepted meanwhile, or a newer version appeared: show what must be seen now.
        return redirect(
            url_for("account.agreement_page", next=safe_next(request.args.get("next"))), 303
        )
    if requirement.mode == "accept" and request.form.get("accept_agreement") != "yes":
        return _render(
            account, _("Tick the box to confirm that you have read and accept the agreement.")
        )
    # The evidence and its audit event, in one transaction.
    app_services.agreements.record_pending(
        account.id,
        account.user_type,
        version_id,
        client_id=None,
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    # Another pending kind, if any, is caught by the gate on the next page.
    return redirect(safe_next(request.args.get("next")), 303)
