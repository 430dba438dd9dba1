"""My companies: the overview, a handler's answer to a grant, and registering a company.

Legal-person agreement: a person at L3 or above registers a company as its legal
representative (GB 32100 code checked first, then the market regulation registry, with the
agreement accepted on the company's behalf: ``Registration.register_company``); a handler
confirms a pending grant (it becomes usable) or declines it.
"""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_babel import gettext as _

from idp.identity import documents, levels
from idp.identity.entities import MAX_ID_LENGTH, REGISTRATION_LEVEL, EntityError
from idp.models import Account
from idp.views.companies import forms, pages
from idp.views.companies.access import Answer, answer_refusal, refusal_message, signed_in
from idp.views.companies.forms import FORBIDDEN, CompanyState
from idp.views.web import services


@signed_in()
def overview(account: Account) -> Answer:
    return pages.overview(account)


@signed_in("companies.overview")
def respond(account: Account, grant_id: str) -> Answer:
    """The handler confirms (the grant becomes usable) or declines a pending grant."""
    entities = services().entities
    grant = entities.grant(grant_id[:MAX_ID_LENGTH])
    if grant is None or grant.account_id != account.id:
        return pages.not_found()
    decision = request.form.get("decision", "")
    if decision not in {"confirm", "decline"}:
        return pages.overview(account, _("Choose to confirm or to decline."), 400)
    try:
        entities.respond(grant, account, decision == "confirm")
    except EntityError as error:
        return answer_refusal(
            error, lambda refusal: pages.overview(account, refusal_message(refusal), refusal.status)
        )
    done = "confirmed" if decision == "confirm" else "declined"
    return redirect(url_for("companies.overview", done=done), 303)


def _may_register(account: Account) -> bool:
    return levels.at_least(account.verification_level, REGISTRATION_LEVEL)


@signed_in()
def register_page(account: Account) -> Answer:
    if not _may_register(account):
        return pages.below_registration_level()
    return pages.register(CompanyState(values={"entity_type": "limited_company"}))


@signed_in("companies.register_page")
def register(account: Account) -> Answer:
    """Register a company. Nothing is stored unless every check passes."""
    if not _may_register(account):
        return pages.below_registration_level()
    values = forms.registration_values()
    state = CompanyState(values=values)
    uscc = documents.normalize_uscc(values["uscc"])
    if request.form.get("accept_agreement") != "yes":
        # The registry is asked only with the agreement accepted; the code's form is told now.
        state.fail("accept_agreement", "required")
        problem = documents.validate_uscc(uscc)
        if problem:
            state.fail("uscc", problem)
        return pages.register(state)
    outcome = services().registration.register_company(
        account,
        uscc=uscc,
        name=values["name"],
        entity_type=values["entity_type"],
        region=values["region"],
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    if outcome.retry_after:
        state.throttled(outcome.retry_after)
        return pages.register(state)
    if outcome.entity is None:
        if outcome.errors.get("form") in FORBIDDEN:
            return pages.below_registration_level()
        for name, code in outcome.errors.items():
            state.take(EntityError(code, name))
        return pages.register(state)
    done = "moved" if outcome.moved_from is not None else "registered"
    return redirect(url_for("companies.company", entity_id=outcome.entity.id, done=done), 303)
