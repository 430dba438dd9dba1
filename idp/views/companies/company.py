"""A company's page and the actions on it: the legal representative's acceptance of a new
agreement version, removing an administrator, cancelling the company, a handler grant's status
(suspend, resume, revoke) and its renewal.

Legal-person agreement: until a material agreement version is accepted on the company's behalf
nobody can act for the company; cancelling needs the password re-entered and an explicit
confirmation; suspending and revoking a grant, and removing an administrator, end their company
logins at once; a renewal widens the grant in time, so it needs the renewing person's SMS code
(legal-person issue, item 3).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import redirect, request, url_for
from flask_babel import gettext as _

from idp.identity.entities import MAX_ID_LENGTH, EntityError, Membership
from idp.models import Account, HandlerGrant
from idp.views.companies import forms, pages
from idp.views.companies.access import (
    COMPANY_PAGE,
    THIS_FORM,
    THIS_PAGE,
    Answer,
    answer_refusal,
    in_company,
    on_managed_grant,
    refusal_message,
)
from idp.views.password_login import confirm_own_password
from idp.views.realname import FormState
from idp.views.web import services

# ``action`` -> (the grant's new status, the notice shown after). Resuming and renewing give the
# handler back what they lost: each has its own page with the acting person's SMS code, as
# appointing and widening have.
STATUS_ACTIONS = {
    "suspend": ("suspended", "suspended"),
    "revoke": ("revoked", "revoked"),
}
CONFIRMED_ACTIONS = {"renew": "companies.renew", "resume": "companies.resume"}


def _on_page(account: Account, membership: Membership) -> Callable[[EntityError], Answer]:
    """A refusal shown on the company page."""

    def show(error: EntityError) -> Answer:
        return pages.company(account, membership, refusal_message(error), error.status)

    return show


def _done(membership: Membership, notice: str | None = None) -> Answer:
    entity_id = membership.entity.id
    return redirect(url_for("companies.company", entity_id=entity_id, done=notice), 303)


@in_company("member", THIS_PAGE)
def company(account: Account, membership: Membership) -> Answer:
    return pages.company(account, membership)


@in_company("legal_representative", COMPANY_PAGE)
def accept_agreement(account: Account, membership: Membership) -> Answer:
    """The legal representative accepts (or takes note of) a new legal-person agreement version
    on the company's behalf (the evidence's ``account_id`` is the company's id)."""
    app_services = services()
    entity = membership.entity
    requirement = app_services.agreements.pending(entity.id, "legal_person")
    if requirement is None or requirement.version.id != request.form.get("version_id"):
        # Accepted meanwhile, or a newer version appeared: show the page as it is now.
        return _done(membership)
    if requirement.mode == "accept" and request.form.get("accept_agreement") != "yes":
        return pages.company(
            account,
            membership,
            status=400,
            agreement_error=forms.message("accept_agreement", "required"),
        )
    recorded = app_services.agreements.record_pending(
        entity.id,
        "legal_person",
        requirement.version.id,
        client_id=None,
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
        actor=account.id,
    )
    if recorded is None:
        return _done(membership)
    return _done(membership, "agreement")


@in_company("legal_representative", COMPANY_PAGE)
def remove_administrator(account: Account, membership: Membership, role_id: str) -> Answer:
    """The legal representative removes an administrator; their company logins end."""
    try:
        services().entities.remove_role(membership.entity, account, role_id[:MAX_ID_LENGTH])
    except EntityError as error:
        return answer_refusal(error, _on_page(account, membership))
    return _done(membership, "removed")


@in_company("legal_representative", COMPANY_PAGE)
def cancel(account: Account, membership: Membership) -> Answer:
    """The legal representative cancels the company's account, with the password re-entered
    and an explicit confirmation. Every company login ends."""
    if request.form.get("confirm_cancel") != "yes":
        return pages.company(
            account, membership, _("Tick the box to confirm that you want to cancel."), 400
        )
    if confirm_own_password(account).account is None:
        return pages.company(
            account, membership, _("The password is not correct. Nothing was changed."), 401
        )
    try:
        services().entities.cancel(membership.entity, account)
    except EntityError as error:
        return answer_refusal(error, _on_page(account, membership))
    return redirect(url_for("companies.overview"), 303)


@on_managed_grant(COMPANY_PAGE)
def grant_status(account: Account, membership: Membership, grant: HandlerGrant) -> Answer:
    """Suspend, resume, renew or revoke a grant (``action``). Suspending and revoking end the
    handler's company logins at once."""
    action = request.form.get("action", "")
    if action in CONFIRMED_ACTIONS:
        # Another period of validity, or a suspended grant usable again, widens what the
        # handler may do: its own page, with the SMS code.
        entity_id = membership.entity.id
        return redirect(
            url_for(CONFIRMED_ACTIONS[action], entity_id=entity_id, grant_id=grant.id), 303
        )
    if action not in STATUS_ACTIONS:
        return pages.company(account, membership, _("Choose an action."), 400)
    status, done = STATUS_ACTIONS[action]
    try:
        services().entities.set_status(grant, account, status)
    except EntityError as error:
        return answer_refusal(error, _on_page(account, membership))
    return _done(membership, done)


def _confirmed_change(
    account: Account,
    membership: Membership,
    grant: HandlerGrant,
    change: str,
    apply: Callable[[], object],
    done: str,
) -> Answer:
    """A change that gives a handler more (renew, resume), confirmed by the changing person's
    SMS code like appointing and widening: the form sends the code, or checks it and applies."""
    state = FormState()
    if request.method == "POST":
        if request.form.get("action") == "send_code":
            forms.send_own_code(account, state)
        elif forms.check_own_code(account, state):
            try:
                apply()
            except EntityError as error:
                return answer_refusal(error, _on_page(account, membership))
            return _done(membership, done)
    return pages.confirm_grant_change(account, membership, grant, change, state)


@on_managed_grant(THIS_FORM)
def renew(account: Account, membership: Membership, grant: HandlerGrant) -> Answer:
    """Another period of validity (``IDP_HANDLER_GRANT_DAYS`` from now)."""
    entities = services().entities
    return _confirmed_change(
        account, membership, grant, "renew", lambda: entities.renew(grant, account), "renewed"
    )


@on_managed_grant(THIS_FORM)
def resume(account: Account, membership: Membership, grant: HandlerGrant) -> Answer:
    """A suspended grant usable again."""
    entities = services().entities
    return _confirmed_change(
        account,
        membership,
        grant,
        "resume",
        lambda: entities.set_status(grant, account, "active"),
        "resumed",
    )
