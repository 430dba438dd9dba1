"""Delivery addresses (``/account/addresses``; natural-person agreement clause 4(6)): the list
with the default first, a form to add or change one (every field's problem reported at once),
delete, and "make default". The default address is what a portal receives as the ``address``
claim, only with the person's consent (``idp.identity.addresses``). Every POST carries the CSRF
token and answers with a 303, or the form again with its messages (status 400)."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from idp.identity.addresses import MAX_ADDRESSES, PROVINCES, Address, parse_address
from idp.models import Account
from idp.views.account import bp, shown_time, signed_in
from idp.views.web import services

MAX_ID_LENGTH = 36
MESSAGES: dict[tuple[str, str], Any] = {
    ("recipient", "required"): lazy_gettext("Enter the name of the recipient."),
    ("recipient", "too_long"): lazy_gettext("The name is too long: at most 64 characters."),
    ("recipient", "format"): lazy_gettext("The name contains characters that are not allowed."),
    ("phone", "required"): lazy_gettext("Enter the recipient's phone number."),
    ("phone", "format"): lazy_gettext(
        "Enter a mainland mobile number of 11 digits, or a fixed line with its area code."
    ),
    ("region_code", "required"): lazy_gettext("Enter the six-digit code of the region."),
    ("region_code", "format"): lazy_gettext(
        "Enter a six-digit administrative division code (GB/T 2260), such as 330106."
    ),
    ("street", "required"): lazy_gettext("Enter the street address."),
    ("street", "too_long"): lazy_gettext("The street address is too long: at most 200 characters."),
    ("street", "format"): lazy_gettext(
        "The street address contains characters that are not allowed."
    ),
    ("postal_code", "format"): lazy_gettext("A postal code has six digits."),
}
ORDER = ("recipient", "phone", "region_code", "street", "postal_code")
NOTICES = {
    "added": lazy_gettext("The address was added."),
    "changed": lazy_gettext("The address was changed."),
    "deleted": lazy_gettext("The address was deleted."),
    "default": lazy_gettext("The default address was changed."),
    "missing": lazy_gettext("There is no such address. Nothing was changed."),
}


def _shown(address: Address) -> dict[str, Any]:
    details = address.details
    return {
        "id": address.id,
        "recipient": details.recipient,
        "phone": details.phone,
        "region_code": details.region_code,
        "region": details.region,
        "street": details.street,
        "postal_code": details.postal_code,
        "default": address.is_default,
        "updated": shown_time(address.updated_at),
    }


@bp.get("/addresses")
@signed_in
def addresses(account: Account) -> Any:
    rows = [_shown(a) for a in services().addresses.of_account(account.id)]
    notice_code = request.args.get("done", "")
    notice = NOTICES.get(notice_code)
    return render_template(
        "account_addresses.html",
        current="addresses",
        rows=rows,
        notice=str(notice) if notice else None,
        notice_ok=notice_code != "missing",
        can_add=len(rows) < MAX_ADDRESSES,
        max_addresses=MAX_ADDRESSES,
    )


def _render_form(
    address_id: str | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "account_address_form.html",
        current="addresses",
        address_id=address_id,
        action_url=url_for("account.address_edit" if address_id else "account.address_new"),
        values=values,
        errors=errors or {},
        problem=problem,
        provinces=sorted(PROVINCES.items()),
    ), status


def _form_values() -> dict[str, Any]:
    values: dict[str, Any] = {name: request.form.get(name, "")[:256] for name in ORDER}
    values["make_default"] = request.form.get("make_default") == "yes"
    return values


def _field_errors(codes: dict[str, str]) -> dict[str, str]:
    return {
        name: str(MESSAGES.get((name, code), _("Check this field.")))
        for name, code in codes.items()
    }


@bp.get("/addresses/new")
@signed_in
def address_new_page(account: Account) -> Any:
    return _render_form(None, {"make_default": False})


@bp.post("/addresses/new")
@signed_in
def address_new(account: Account) -> Any:
    values = _form_values()
    details, codes = parse_address(request.form)
    if details is None:
        return _render_form(None, values, _field_errors(codes), status=400)
    added = services().addresses.add(account.id, details, make_default=values["make_default"])
    if added is None:
        problem = _(
            "You can keep at most %(count)s addresses. Delete one first.", count=MAX_ADDRESSES
        )
        return _render_form(None, values, problem=problem, status=409)
    return redirect(url_for("account.addresses", done="added"), 303)


def _address_id() -> str:
    return (request.values.get("id") or "")[:MAX_ID_LENGTH]


@bp.get("/addresses/edit")
@signed_in
def address_edit_page(account: Account) -> Any:
    address = services().addresses.get(account.id, _address_id())
    if address is None:
        return redirect(url_for("account.addresses", done="missing"), 303)
    shown = _shown(address)
    shown["make_default"] = address.is_default
    return _render_form(address.id, shown)


@bp.post("/addresses/edit")
@signed_in
def address_edit(account: Account) -> Any:
    address_id = _address_id()
    values = _form_values()
    details, codes = parse_address(request.form)
    if details is None:
        return _render_form(address_id, values, _field_errors(codes), status=400)
    changed = services().addresses.change(
        account.id, address_id, details, make_default=values["make_default"]
    )
    return redirect(url_for("account.addresses", done="changed" if changed else "missing"), 303)


@bp.post("/addresses/delete")
@signed_in
def address_delete(account: Account) -> Any:
    deleted = services().addresses.delete(account.id, _address_id())
    return redirect(url_for("account.addresses", done="deleted" if deleted else "missing"), 303)


@bp.post("/addresses/default")
@signed_in
def address_default(account: Account) -> Any:
    made = services().addresses.make_default(account.id, _address_id())
    return redirect(url_for("account.addresses", done="default" if made else "missing"), 303)
