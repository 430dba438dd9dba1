"""The forms that give a scope: appoint an administrator, authorise a handler, change a grant.

Legal-person agreement: only the legal representative appoints administrators; the legal
representative and the administrators authorise handlers within their own scope, and change
only the grants their scope covers. Appointing, authorising and an edit that widens a grant
need the acting person's SMS code (``send_code`` button); what the rules would refuse anyway
is told before the code is spent, and the rules check everything again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import redirect, request, url_for

from idp.identity.delegation import Scope
from idp.identity.entities import EntityError, Membership
from idp.models import Account, HandlerGrant
from idp.views.companies import forms, pages
from idp.views.companies.access import (
    THIS_FORM,
    Answer,
    answer_refusal,
    in_company,
    on_managed_grant,
)
from idp.views.companies.forms import ScopeState
from idp.views.web import services


@dataclass
class ScopeForm:
    """One scope form being answered: who acts, in which company, what was typed."""

    account: Account
    membership: Membership
    mode: str  # "administrator", "grant" or "edit"
    state: ScopeState
    grant: HandlerGrant | None = None  # the grant being changed
    shown_until: str | None = None  # the end of validity the form showed

    def answer(self, submit: Callable[[ScopeForm], Answer], *, member: bool, until: bool) -> Answer:
        """The page (GET), the ``send_code`` button (what was typed is kept: ``member``, the
        person field, and ``until``, the end of validity, are on the form), or ``submit``."""
        if request.method == "GET":
            return self.show()
        if request.form.get("action") == "send_code":
            forms.keep_typed(self.state, member=member, until=until)
            forms.send_own_code(self.account, self.state)
            return self.show()
        return submit(self)

    def show(self) -> Answer:
        return pages.scope_form(self.account, self.membership, self.mode, self.state, self.grant)

    def check_within_own(self, scope: Scope) -> None:
        """A scope wider than the acting person's own, told before the SMS code is spent."""
        own = self.membership.own_scope
        if not self.state.errors and own is not None and not own.includes(scope):
            self.state.take(EntityError("beyond_own_scope"))

    def confirmed(self) -> bool:
        """Nothing to correct, and the acting person's SMS code is right."""
        if self.state.errors or self.state.problem:
            return False
        return forms.check_own_code(self.account, self.state)

    def refused(self, error: EntityError) -> Answer:
        return answer_refusal(error, self._on_form)

    def _on_form(self, error: EntityError) -> Answer:
        self.state.take(error)
        return self.show()

    def done(self, notice: str) -> Answer:
        entity_id = self.membership.entity.id
        return redirect(url_for("companies.company", entity_id=entity_id, done=notice), 303)


@in_company("legal_representative", THIS_FORM)
def appoint(account: Account, membership: Membership) -> Answer:
    """The legal representative appoints an administrator, with the scope within which they
    manage handlers; the legal representative's SMS code confirms it."""
    form = ScopeForm(account, membership, "administrator", ScopeState(values={"grade": "view"}))
    return form.answer(_appoint, member=True, until=False)


def _appoint(form: ScopeForm) -> Answer:
    state, entity = form.state, form.membership.entity
    scope = forms.scope_from_form(state)
    member = forms.member_from_form(state, form.account)
    entities = services().entities
    if member is not None and entities.role(entity.id, member.id) is not None:
        state.take(EntityError("already_member", "member"))
    if entities.administrator_count(entity.id) >= entities.max_administrators:
        state.take(EntityError("too_many_administrators"))
    if member is None or not form.confirmed():
        return form.show()
    try:
        entities.appoint_administrator(entity, form.account, member.id, scope)
    except EntityError as error:
        return form.refused(error)
    return form.done("appointed")


@in_company("manager", THIS_FORM)
def new_grant(account: Account, membership: Membership) -> Answer:
    """The legal representative or an administrator authorises a handler, within their own
    scope; their SMS code confirms it. The grant waits for the handler's confirmation."""
    default_until = forms.date_shown(services().entities.default_until())
    state = ScopeState(values={"grade": "view", "valid_until": default_until})
    form = ScopeForm(account, membership, "grant", state, shown_until=default_until)
    return form.answer(_new_grant, member=True, until=True)


def _new_grant(form: ScopeForm) -> Answer:
    state, entity = form.state, form.membership.entity
    scope = forms.scope_from_form(state)
    until = forms.until_from_form(state, unchanged=form.shown_until)
    member = forms.member_from_form(state, form.account)
    form.check_within_own(scope)
    entities = services().entities
    role = entities.role(entity.id, member.id) if member else None
    if role is not None and role.role == "legal_representative":
        state.take(EntityError("already_member", "member"))
    if member is None or not form.confirmed():
        return form.show()
    try:
        entities.create_grant(entity, form.account, member.id, scope, until)
    except EntityError as error:
        return form.refused(error)
    return form.done("granted")


@on_managed_grant(THIS_FORM)
def edit_grant(account: Account, membership: Membership, grant: HandlerGrant) -> Answer:
    """Change a grant's scope or end of validity, within the editor's own scope. Narrowing
    takes effect at the handler's next refresh; widening needs the editor's SMS code."""
    shown_until = forms.date_shown(grant.valid_until)
    state = ScopeState(
        values={
            "grade": grant.grade,
            "regions": ", ".join(grant.regions),
            "valid_until": shown_until,
        },
        matters=list(grant.matters),
    )
    form = ScopeForm(account, membership, "edit", state, grant, shown_until)
    return form.answer(lambda answered: _edit_grant(answered, grant), member=False, until=True)


def _edit_grant(form: ScopeForm, grant: HandlerGrant) -> Answer:
    state = form.state
    scope = forms.scope_from_form(state)
    until = forms.until_from_form(state, unchanged=form.shown_until)
    form.check_within_own(scope)
    if state.errors or state.problem:
        return form.show()
    entities = services().entities
    if entities.widens(grant, scope, until) and not form.confirmed():
        return form.show()
    try:
        entities.edit_grant(grant, form.account, scope, until)
    except EntityError as error:
        return form.refused(error)
    return form.done("edited")
