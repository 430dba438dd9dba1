"""Public agreement pages advertised in discovery (OpenID Connect Discovery 1.0 section 3).

- ``/terms`` (``op_tos_uri``): the current version of every agreement kind (the natural-person
  and legal-person registration agreements and any kind the operator added).
- ``/policy`` (``op_policy_uri``): the current ``privacy_notice`` when the operator published one;
  otherwise the registration agreements themselves, since clause 5 of both governs how users'
  information is protected, with that clause quoted first.

The Chinese text is authoritative. When the page language is English and an English reference
translation of the current version exists, it is shown instead, labelled as such; otherwise the
Chinese text is shown with a note. Pages are public and cacheable for five minutes.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from idp.identity.agreements import DEFAULT_LANGUAGE
from idp.models.agreement import LEGAL_PERSON, NATURAL_PERSON, AgreementKind, AgreementVersion
from idp.views.labels import agreement_title
from idp.views.web import LOCALES, services

bp = Blueprint("agreements", __name__)

PRIVACY_NOTICE = "privacy_notice"
CACHE_SECONDS = 300
# Clause 5 (user information protection) of the shipped agreements: "5.【…】" or "5. […]".
CLAUSE_5 = re.compile(r"^5\.\s*\S.*$", re.MULTILINE)


def _language() -> str:
    return LOCALES.get(str(get_locale()), DEFAULT_LANGUAGE)


def _entries(
    texts: list[tuple[AgreementKind, AgreementVersion]], language: str, quote_clause_5: bool
) -> list[dict[str, Any]]:
    entries = []
    for kind, version in texts:
        registration = kind.kind in (NATURAL_PERSON, LEGAL_PERSON)
        clause = CLAUSE_5.search(version.text) if quote_clause_5 and registration else None
        entries.append(
            {
                "kind": kind.kind,
                "title": agreement_title(kind.kind, kind.title),
                "version": version,
                "reference_translation": version.reference_translation,
                "untranslated": language != DEFAULT_LANGUAGE and version.language != language,
                "clause": clause.group(0) if clause else None,
            }
        )
    return entries


def _render(title: str, lead: str | None, entries: list[dict[str, Any]]) -> Response:
    body = render_template(
        "terms.html",
        page_title=title,
        lead=lead,
        entries=entries,
        authority_name=services().config.AUTHORITY_NAME or None,
    )
    response = Response(body, 200, mimetype="text/html")
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    # The language follows ?lang, the language cookie and Accept-Language.
    response.vary.update(("Accept-Language", "Cookie"))
    return response


@bp.get("/terms")
def terms() -> Response:
    """The agreements in force (op_tos_uri)."""
    language = _language()
    texts = services().agreements.current_texts(language)
    return _render(
        _("Registration agreements"),
        _("The agreements in force between users and the government service authority."),
        _entries(texts, language, quote_clause_5=False),
    )


@bp.get("/policy")
def policy() -> Response:
    """Personal information protection (op_policy_uri): the privacy notice, or clause 5."""
    language = _language()
    texts = services().agreements.current_texts(language)
    notice = [(kind, version) for kind, version in texts if kind.kind == PRIVACY_NOTICE]
    if notice:
        return _render(
            _("Personal information protection"),
            None,
            _entries(notice, language, quote_clause_5=False),
        )
    return _render(
        _("Personal information protection"),
        _(
            "How your personal information is protected is governed by clause 5 (protection "
            "of user information) of the registration agreements below."
        ),
        _entries(texts, language, quote_clause_5=True),
    )
