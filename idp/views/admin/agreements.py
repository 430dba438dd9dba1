"""Agreements in the console (``/admin/agreements``): versions, acceptances, publishing.

Publishing follows docs/agreements.md and ``idp.identity.agreement_publishing``: a *material*
version must be accepted again at the next login; a *supplementary* one binds without
re-signing and is shown once (clause 10 of both registration agreements). The console publishes
the authoritative (Chinese) text only, in two steps: a **preview** shows the exact text as it
will be stored, its SHA-256 and the lines changed since the current version; **confirm**
publishes that text, and only if it is still the next version (another operator publishing
meanwhile makes the confirmation fail, not overwrite). Operators only; audited with the reason.
The queries and the publishing are ``services().agreements``; this module reads the form and
renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.identity import agreements as rules
from idp.models import AgreementKind
from idp.views.account import display_timezone, shown_time
from idp.views.admin.auth import audit, console_required, notify, read_reason
from idp.views.boundary import checks_its_own_form
from idp.views.web import services

bp = Blueprint("admin_agreements", __name__, url_prefix="/admin/agreements")

NATURES = ("material", "supplementary")
Answer = Response | tuple[str, int] | str


# -- listing -----------------------------------------------------------------------------------


@bp.get("")
@console_required()
def index() -> Answer:
    agreements = services().agreements
    counts = agreements.acceptance_counts()
    kinds = []
    for kind, versions in agreements.catalogue():
        kinds.append(
            {
                "kind": kind.kind,
                "title": kind.title,
                "applies_to": kind.applies_to,
                "versions": [
                    {
                        "version": v.version,
                        "language": v.language,
                        "material": v.material,
                        "reference_translation": v.reference_translation,
                        "effective": shown_time(v.effective_at),
                        "published": shown_time(v.published_at),
                        "published_by": v.published_by,
                        "sha256": v.text_sha256,
                        "accepted": 0
                        if v.reference_translation
                        else counts.get((kind.kind, v.version, "accepted"), 0),
                        "notified": 0
                        if v.reference_translation
                        else counts.get((kind.kind, v.version, "notified"), 0),
                    }
                    for v in versions
                ],
            }
        )
    return render_template("admin/agreements.html", current="agreements", kinds=kinds)


# -- publishing --------------------------------------------------------------------------------


@dataclass
class Draft:
    """The publishing form, read and checked."""

    text: str = ""
    nature: str = ""
    effective_at_text: str = ""
    reason: str = ""
    effective_at: datetime | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def material(self) -> bool:
        return self.nature == "material"


def _read_draft() -> Draft:
    draft = Draft(
        text=request.form.get("text", "")[: rules.MAX_TEXT_LENGTH + 1],
        nature=request.form.get("nature", ""),
        effective_at_text=request.form.get("effective_at", "").strip()[:32],
    )
    if not draft.text.strip():
        draft.errors["text"] = _("Enter the text of the agreement.")
    elif len(draft.text) > rules.MAX_TEXT_LENGTH:
        draft.errors["text"] = _("The text is too long.")
    if draft.nature not in NATURES:
        draft.errors["nature"] = _("Choose whether the change is material or supplementary.")
    if draft.effective_at_text:
        try:
            moment = datetime.fromisoformat(draft.effective_at_text)
            if not 2000 <= moment.year <= 2100:
                raise ValueError("out of range")
        except ValueError:
            draft.errors["effective_at"] = _("Enter a date and time such as 2027-01-01T00:00.")
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=display_timezone())
            draft.effective_at = moment
    draft.reason, problem = read_reason()
    if problem:
        draft.errors["reason"] = problem
    return draft


def _preview(kind: AgreementKind, draft: Draft) -> dict[str, Any] | None:
    """The version as it would be stored: its number, text and hash, and the lines changed
    since the current version; None (with ``draft.errors``) when it is refused."""
    try:
        shown = services().agreements.preview(
            kind=kind.kind,
            text=draft.text,
            material=draft.material,
            published_by=g.admin.account_id,
            effective_at=draft.effective_at,
        )
    except rules.AgreementError as exc:
        draft.errors["text"] = str(exc)
        return None
    return {
        "version": shown.version,
        "text": shown.text,
        "sha256": shown.sha256,
        "material": shown.material,
        "effective": shown_time(shown.effective_at),
        "current": shown.current,
        "changes": shown.changes,
    }


def _render_publish(
    kind: AgreementKind, draft: Draft, preview: dict[str, Any] | None = None, status: int = 200
) -> Answer:
    return (
        render_template(
            "admin/agreement_publish.html",
            current="agreements",
            kind=kind,
            draft=draft,
            preview=preview,
        ),
        status,
    )


def _no_kind() -> Answer:
    notify(_("There is no such agreement."), ok=False)
    return redirect(url_for("admin_agreements.index"), 303)


@bp.get("/<kind>/publish")
@console_required(write=True)
def publish_page(kind: str) -> Answer:
    """The form, filled with the current text to edit."""
    found = services().agreements.find_kind(kind)
    if found is None:
        return _no_kind()
    current = services().agreements.authoritative(found.kind)
    return _render_publish(found, Draft(text=current[-1].text if current else ""))


@dataclass
class Submitted:
    kind: AgreementKind
    draft: Draft


def _submitted(kind: str) -> Submitted | Answer:
    """The kind and the submitted draft, or the answer when either is not usable."""
    found = services().agreements.find_kind(kind)
    if found is None:
        return _no_kind()
    draft = _read_draft()
    if draft.errors:
        return _render_publish(found, draft, status=400)
    return Submitted(found, draft)


@bp.post("/<kind>/preview")
@console_required(write=True)
@checks_its_own_form  # the text, the reason and the time, each answered on its field
def preview(kind: str) -> Answer:
    submitted = _submitted(kind)
    if not isinstance(submitted, Submitted):
        return submitted
    found, draft = submitted.kind, submitted.draft
    shown = _preview(found, draft)
    if shown is None:
        return _render_publish(found, draft, status=400)
    return _render_publish(found, draft, shown)


@bp.post("/<kind>/publish")
@console_required(write=True)
@checks_its_own_form  # the text, the reason and the time, each answered on its field
def publish(kind: str) -> Answer:
    """Publish exactly the previewed text, as the previewed version number."""
    submitted = _submitted(kind)
    if not isinstance(submitted, Submitted):
        return submitted
    found, draft = submitted.kind, submitted.draft
    try:
        version = services().agreements.publish_previewed(
            kind=found.kind,
            text=draft.text,
            material=draft.material,
            published_by=g.admin.account_id,
            effective_at=draft.effective_at,
            version=request.form.get("version", ""),
            sha256=request.form.get("sha256", ""),
        )
    except rules.AgreementError as exc:
        draft.errors["text"] = str(exc)
        return _render_publish(found, draft, status=400)
    except rules.StalePreview:
        draft.errors["text"] = _(
            "The agreement changed since the preview (another version was published, or the "
            "text differs). Check the new preview before publishing."
        )
        return _render_publish(found, draft, _preview(found, draft), status=409)
    audit(
        "agreement_published",
        reason=draft.reason,
        details={
            "kind": version.kind,
            "version": version.version,
            "language": version.language,
            "material": version.material,
            "sha256": version.text_sha256,
            "effective_at": version.effective_at.isoformat(),
        },
    )
    notify(
        _(
            "Version %(version)s of %(title)s is published.",
            version=version.version,
            title=found.title,
        )
    )
    return redirect(url_for("admin_agreements.index"), 303)
