"""My companies (``/account/companies``): legal persons in the user space (legal-person issue).

Legal-person agreement: the legal representative (法定代表人) registers the company and holds every
right; the administrators (授权人) they appoint manage handlers (经办人) within their own scope; a
handler's grant is graded and classified (分级分类授权管理) and usable only once the handler
confirmed it. The rules are in ``idp.identity.entities``, ``idp.identity.delegation`` and
``idp.identity.registration``; this package reads forms (``forms``), checks who may open a route
(``access``), checks the acting person's SMS code where the rules ask for one, and renders
(``pages``, with the rows of ``presenters``).

Every POST carries the CSRF token; success answers 303, a refused form is shown again with a
message per field and nothing stored. The routes, in one table (:data:`ROUTES`):
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint
from flask.typing import ResponseReturnValue

from idp.views.account import no_store
from idp.views.account.factors import require_second_factor
from idp.views.account.gate import require_agreements
from idp.views.companies import company, overview, scope_forms

bp = Blueprint("companies", __name__, url_prefix="/account/companies")
# Members' masked data and the company's trail: never kept in shared or browser caches.
bp.after_request(no_store)
# A pending agreement of the person comes before any company page (agreement clause 10), and
# so does their second factor when the session has not seen it (idp.views.account.factors).
bp.before_request(require_agreements)
bp.before_request(require_second_factor)

GET, POST, FORM = ("GET",), ("POST",), ("GET", "POST")

# (rule, endpoint, methods, view); templates and tests use the endpoints' names.
ROUTES: list[tuple[str, str, tuple[str, ...], Callable[..., ResponseReturnValue]]] = [
    # The companies the person belongs to, their handler grants; the handler's answer.
    ("", "overview", GET, overview.overview),
    ("/grants/<grant_id>/respond", "respond", POST, overview.respond),
    # A person at L3 or above registers a company as its legal representative.
    ("/register", "register_page", GET, overview.register_page),
    ("/register", "register", POST, overview.register),
    # The company page (members, grants, catalogue, trail; a handler's own grant only).
    ("/<entity_id>", "company", GET, company.company),
    ("/<entity_id>/agreement", "accept_agreement", POST, company.accept_agreement),
    ("/<entity_id>/cancel", "cancel", POST, company.cancel),
    # Administrators: appointed and removed by the legal representative.
    ("/<entity_id>/administrators/new", "appoint", FORM, scope_forms.appoint),
    (
        "/<entity_id>/administrators/<role_id>/remove",
        "remove_administrator",
        POST,
        company.remove_administrator,
    ),
    # Handler grants: given, changed, renewed, suspended, resumed, revoked by a manager.
    ("/<entity_id>/grants/new", "new_grant", FORM, scope_forms.new_grant),
    ("/<entity_id>/grants/<grant_id>/edit", "edit_grant", FORM, scope_forms.edit_grant),
    ("/<entity_id>/grants/<grant_id>/renew", "renew", FORM, company.renew),
    ("/<entity_id>/grants/<grant_id>/resume", "resume", FORM, company.resume),
    ("/<entity_id>/grants/<grant_id>/status", "grant_status", POST, company.grant_status),
]

for rule, endpoint, methods, view in ROUTES:
    bp.add_url_rule(rule, endpoint, view, methods=list(methods))
