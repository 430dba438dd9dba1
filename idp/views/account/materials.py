"""Materials (材料) in the user space: upload, list, download, renew and delete the supporting
documents a person keeps here (natural-person agreement clauses 3 and 4(5); issue 12, item 3;
docs/user-space.md "Materials"). The rules are in ``idp.identity.materials``.

Forms are ``multipart/form-data`` without JavaScript. The upload routes alone accept a body
larger than the provider's limit (``larger_body``: the file limit plus room for the form); a
body larger still is answered on this page with the file's message (413), before anything is
read or stored. The file is only ever served to its owner's session, as an attachment with its
sniffed type, ``nosniff`` and ``no-store``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from idp.identity import material_checks as checks
from idp.identity.materials import EXPIRING_DAYS, MAX_MATERIALS_PER_ACCOUNT, MaterialView
from idp.models import Account
from idp.views.account import bp, current_account, shown_time, to_login
from idp.views.boundary import larger_body
from idp.views.labels import MATERIAL_TYPES, material_type_name
from idp.views.web import error_page, services

FIELDS = ("type_code", "title", "expires_on", "file")
RENEW_FIELDS = ("expires_on", "file")
UPLOAD_ENDPOINTS = frozenset({"account.materials_upload", "account.material_renew"})
# Room for the form around the file (boundaries, the other fields, the CSRF token).
FORM_OVERHEAD = 64 * 1024


def upload_body_limit() -> int:
    return int(services().materials.max_bytes) + FORM_OVERHEAD


def _megabytes() -> str:
    return f"{services().materials.max_bytes / (1024 * 1024):g}"


def message(field: str, code: str) -> str:
    """A field's problem in the person's language."""
    texts = {
        ("type_code", checks.MISSING): _("Choose the type of material."),
        ("type_code", checks.UNKNOWN_TYPE): _("Choose a type of material from the list."),
        ("title", checks.MISSING): _("Enter a title for the material."),
        ("title", checks.TOO_LONG): _(
            "The title is too long: at most %(limit)s characters.", limit=checks.MAX_TITLE_LENGTH
        ),
        ("title", checks.INVALID_CHARACTERS): _(
            "The title contains characters that are not allowed."
        ),
        ("expires_on", checks.INVALID_DATE): _(
            "Enter the expiry date as year-month-day, for example 2030-12-31."
        ),
        ("expires_on", checks.DATE_PASSED): _("The expiry date has already passed."),
        ("expires_on", checks.DATE_TOO_FAR): _("The expiry date is too far in the future."),
        ("file", checks.MISSING): _("Choose a file to upload."),
        ("file", checks.EMPTY): _("The file is empty."),
        ("file", checks.TOO_LARGE): _(
            "The file is too large: at most %(size)s MB.", size=_megabytes()
        ),
        ("file", checks.UNSUPPORTED): _(
            "Only PDF, JPEG and PNG files can be uploaded, and this file is none of them "
            "(whatever its name says)."
        ),
        ("file", checks.DAMAGED): _(
            "The file is incomplete or damaged. Save it again and upload it once more."
        ),
        ("file", "limit_reached"): _(
            "You have stored as many materials as allowed (%(limit)s). Delete one first.",
            limit=MAX_MATERIALS_PER_ACCOUNT,
        ),
    }
    return texts.get((field, code), _("Please correct this field."))


def _messages(errors: dict[str, str]) -> dict[str, str]:
    return {field: message(field, code) for field, code in errors.items()}


def _row(material: MaterialView, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": material.id,
        "type_code": material.type_code,
        "type_name": material_type_name(material.type_code),
        "title": material.title,
        "media_type": material.media_type,
        "format": material.extension.upper(),
        "size_text": _size_text(material.size),
        "version": material.version,
        "expires_on": material.expires_on.isoformat() if material.expires_on else None,
        "expired": material.expired,
        "expiring": material.expiring,
        "updated": shown_time(material.updated_at),
        "releases": names,
    }


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def _catalogue() -> list[dict[str, str]]:
    return [{"code": code, "name": material_type_name(code)} for code in MATERIAL_TYPES]


def _release_rows(account: Account) -> dict[str, list[dict[str, Any]]]:
    app_services = services()
    found = app_services.materials.releases(account.id)
    portal_names = app_services.portals.names(
        release.client_id for releases in found.values() for release in releases
    )
    return {
        material_id: [
            {
                "portal": portal_names.get(release.client_id, release.client_id),
                "time": shown_time(release.created_at),
                "fetched": shown_time(release.fetched_at) if release.fetched_at else None,
            }
            for release in releases
        ]
        for material_id, releases in found.items()
    }


def _render_list(
    account: Account,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    materials = services().materials.of_account(account.id)
    releases = _release_rows(account)
    rows = [_row(material, releases.get(material.id, [])) for material in materials]  # type: ignore[arg-type]
    return render_template(
        "account_materials.html",
        current="materials",
        rows=rows,
        expiring=[row for row in rows if row["expiring"] or row["expired"]],
        expiring_days=EXPIRING_DAYS,
        types=_catalogue(),
        values=values or {},
        errors=errors or {},
        notice=notice,
        max_megabytes=_megabytes(),
        action_url=url_for("account.materials_upload"),
    ), status


NOTICES = {
    "added": lambda: _("The material was stored."),
    "renewed": lambda: _("The material was renewed."),
    "deleted": lambda: _("The material was deleted."),
}


@bp.get("/materials")
def materials() -> Response | tuple[str, int]:
    account = current_account()
    if account is None:
        return to_login()
    notice = NOTICES.get(request.args.get("done", ""))
    return _render_list(account, notice=notice() if notice else None)


def _uploaded() -> tuple[bytes | None, bool]:
    """The file's bytes (None when no file was chosen) and whether it is over the limit; never
    more than the limit and a byte is read."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None, False
    limit = services().materials.max_bytes
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        return None, True
    return data, False


@bp.post("/materials")
@larger_body(upload_body_limit)
def materials_upload() -> Response | tuple[str, int]:
    account = current_account()
    if account is None:
        return to_login(url_for("account.materials"))
    values = {
        "type_code": request.form.get("type_code", ""),
        "title": request.form.get("title", ""),
        "expires_on": request.form.get("expires_on", ""),
    }
    data, too_large = _uploaded()
    outcome = services().materials.add(account.id, data=data, too_large=too_large, **values)
    if outcome.errors:
        return _render_list(account, values=values, errors=_messages(outcome.errors), status=400)
    return redirect(url_for("account.materials", done="added"), 303)


def _render_detail(
    account: Account,
    material: MaterialView,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    releases = _release_rows(account).get(material.id, [])
    return render_template(
        "account_material.html",
        current="materials",
        material=_row(material, releases),  # type: ignore[arg-type]
        values=values
        or {"expires_on": material.expires_on.isoformat() if material.expires_on else ""},
        errors=errors or {},
        max_megabytes=_megabytes(),
    ), status


def _not_found() -> tuple[str, int]:
    return error_page(404, _("Page not found"), _("There is no such material in your account."))


@bp.get("/materials/<material_id>")
def material(material_id: str) -> Response | tuple[str, int]:
    account = current_account()
    if account is None:
        return to_login()
    found = services().materials.find(account.id, material_id)
    if found is None:
        return _not_found()
    return _render_detail(account, found)


@bp.post("/materials/<material_id>/renew")
@larger_body(upload_body_limit)
def material_renew(material_id: str) -> Response | tuple[str, int]:
    """Clause 4(5): keep materials current: a new expiry and, if chosen, a new file."""
    account = current_account()
    if account is None:
        return to_login(url_for("account.materials"))
    values = {"expires_on": request.form.get("expires_on", "")}
    data, too_large = _uploaded()
    outcome = services().materials.renew(
        account.id, material_id, expires_on=values["expires_on"], data=data, too_large=too_large
    )
    if outcome is None:
        return _not_found()
    if outcome.errors:
        current = services().materials.find(account.id, material_id)
        if current is None:
            return _not_found()
        return _render_detail(
            account, current, values=values, errors=_messages(outcome.errors), status=400
        )
    return redirect(url_for("account.materials", done="renewed"), 303)


@bp.post("/materials/<material_id>/delete")
def material_delete(material_id: str) -> Response | tuple[str, int]:
    account = current_account()
    if account is None:
        return to_login(url_for("account.materials"))
    if not services().materials.delete(account.id, material_id):
        return _not_found()
    return redirect(url_for("account.materials", done="deleted"), 303)


@bp.get("/materials/<material_id>/file")
def material_file(material_id: str) -> Response | tuple[str, int]:
    """The file, to its owner only: an attachment (never shown inside our pages), of the type
    sniffed at upload, ``nosniff``, never cached."""
    account = current_account()
    if account is None:
        return to_login()
    found = services().materials.file(account.id, material_id)
    if found is None:
        return _not_found()
    view, data = found
    ascii_name = f"material-{view.id[:8]}.{view.extension}"
    title = quote(f"{view.title}.{view.extension}", safe="")
    response = Response(data, mimetype=view.media_type)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{title}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> tuple[str, int]:
    """A body over even the upload limit: the page again with the file's message, nothing read
    or stored (the CSRF token was not read either, and nothing changes)."""
    account = current_account()
    if request.endpoint not in UPLOAD_ENDPOINTS or account is None:
        return error_page(413, _("Error"), _("The request is too large."))
    errors = {"file": message("file", checks.TOO_LARGE)}
    material_id = (request.view_args or {}).get("material_id")
    if request.endpoint == "account.material_renew" and material_id:
        found = services().materials.find(account.id, str(material_id))
        if found is None:
            return _not_found()
        return _render_detail(account, found, errors=errors, status=413)
    return _render_list(account, errors=errors, status=413)
