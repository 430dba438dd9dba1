"""Who may open a company route: the signed-in person, a member of the company, its managers,
its legal representative; and the one answer to a refusal of the rules.

Without the SSO session the person goes to the login first and comes back (``back``: the page
itself, the form's page, or the page a POST-only action belongs to). A company the person
holds neither a role nor a grant in is "no such company" (404, so that company ids cannot be
probed); what their role does not allow is a 403 page. A handler grant is managed only by a
manager whose own scope covers it (legal-person agreement).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, Literal, ParamSpec

from flask import request, url_for
from flask.typing import ResponseReturnValue

from idp.identity.entities import EntityError, Membership, scope_of_grant
from idp.models import Account, HandlerGrant
from idp.views.account import current_account, to_login
from idp.views.companies.forms import FORBIDDEN, message
from idp.views.companies.pages import not_found, refused
from idp.views.web import services

Answer = ResponseReturnValue
P = ParamSpec("P")
Need = Literal["member", "manager", "legal_representative"]

# Where the login sends the person back to.
THIS_PAGE = "page"  # a page: back to it, query string included
THIS_FORM = "form"  # a form's page (GET and POST): back to it
COMPANY_PAGE = "companies.company"  # a POST-only action on the company page
# ... or the endpoint of another page without arguments (``companies.overview``).


def _login_first(back: str) -> Answer:
    args = request.view_args or {}
    if back == THIS_PAGE:
        return to_login()
    if back == THIS_FORM:
        return to_login(url_for(str(request.endpoint), **args))
    if back == COMPANY_PAGE:
        return to_login(url_for(COMPANY_PAGE, entity_id=args["entity_id"]))
    return to_login(url_for(back))


def signed_in(
    back: str = THIS_PAGE,
) -> Callable[[Callable[Concatenate[Account, P], Answer]], Callable[P, Answer]]:
    """A route for the signed-in person, who is passed first."""

    def decorate(view: Callable[Concatenate[Account, P], Answer]) -> Callable[P, Answer]:
        @functools.wraps(view)
        def route(*args: P.args, **kwargs: P.kwargs) -> Answer:
            account = current_account()
            if account is None:
                return _login_first(back)
            return view(account, *args, **kwargs)

        return route

    return decorate


def in_company(
    need: Need, back: str
) -> Callable[
    [Callable[Concatenate[Account, Membership, P], Answer]], Callable[Concatenate[str, P], Answer]
]:
    """A route of one company (``entity_id``) for a member with what ``need`` names; the
    person and their membership are passed first."""

    def decorate(
        view: Callable[Concatenate[Account, Membership, P], Answer],
    ) -> Callable[Concatenate[str, P], Answer]:
        @functools.wraps(view)
        def route(entity_id: str, *args: P.args, **kwargs: P.kwargs) -> Answer:
            account = current_account()
            if account is None:
                return _login_first(back)
            membership = services().entities.membership(entity_id, account.id)
            if membership is None:
                return not_found()
            if need == "legal_representative" and not membership.legal_representative:
                return refused(message("form", "not_legal_representative"))
            if need == "manager" and not membership.manages:
                return refused(message("form", "not_manager"))
            return view(account, membership, *args, **kwargs)

        return route

    return decorate


def on_managed_grant(
    back: str,
) -> Callable[
    [Callable[Concatenate[Account, Membership, HandlerGrant, P], Answer]],
    Callable[Concatenate[str, str, P], Answer],
]:
    """A route of one handler grant (``grant_id``) of the company, for a manager whose own
    scope covers the grant; the person, the membership and the grant are passed first."""

    def decorate(
        view: Callable[Concatenate[Account, Membership, HandlerGrant, P], Answer],
    ) -> Callable[Concatenate[str, str, P], Answer]:
        @in_company("manager", back)
        @functools.wraps(view)
        def route(
            account: Account,
            membership: Membership,
            grant_id: str,
            *args: P.args,
            **kwargs: P.kwargs,
        ) -> Answer:
            grant = services().entities.company_grant(membership.entity.id, grant_id)
            if grant is None:
                return not_found()
            own = membership.own_scope
            if own is None or not own.includes(scope_of_grant(grant)):
                # An administrator manages only the handlers within their own scope.
                return refused(message("form", "beyond_own_scope"))
            return view(account, membership, grant, *args, **kwargs)

        return route

    return decorate


def answer_refusal(error: EntityError, show: Callable[[EntityError], Answer]) -> Answer:
    """The one answer to a change the rules refused: what this person may not do at all is a
    403 page; anything else is shown by ``show`` (on the form, or on the page) with the
    refusal's message and status (``EntityError.status``)."""
    if error.code in FORBIDDEN:
        return refused(message("form", error.code))
    return show(error)


def refusal_message(error: EntityError) -> str:
    return message(error.field, error.code)
