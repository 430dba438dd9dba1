"""Portals in the console (``/admin/portals``): list, register, edit, rotate the secret,
disable/enable, delete, and issue initial access tokens for dynamic registration (RFC 7591).

The rules are ``idp.oauth.clients``, the same as the admin API's, RFC 7591/7592's and
the CLI's; a refused form comes back with an error under each field concerned (400). Auditors
see everything and change nothing (``console_required(write=True)`` answers them 403). Every
change needs a reason and is audited with who, what, when and why.

A new secret or token is shown once: it travels to the next page in the console session's
notice (Redis, the console session's lifetime at most) and is forgotten when that page is shown,
as recovery codes are. Each POST answers 303 (docs/page-contract.md).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from idp.models import Client
from idp.models.base import utcnow
from idp.oauth.claims import SCOPES_SUPPORTED
from idp.oauth.clients import (
    AUTH_METHODS,
    MAX_INITIAL_TOKEN_DAYS,
    MAX_INITIAL_TOKEN_USES,
    MINIMUM_LEVELS,
    SUBJECT_TYPES,
    Actor,
    ClientNotFound,
    FieldError,
    InvalidMetadata,
    NoClientSecret,
    defaults,
    initial_token_problems,
    metadata_of,
)
from idp.oauth.clients.encryption_keys import CONTENT_ENCRYPTIONS, ENCRYPTION_ALGORITHMS
from idp.oauth.fapi import PROFILES
from idp.oauth.keys import SUPPORTED_ALGORITHMS
from idp.oauth.portal_pairs import InvalidPair
from idp.oauth.request_objects import REQUEST_OBJECT_ALGORITHMS
from idp.views.account import shown_time
from idp.views.admin.auth import console_required, notify, read_reason
from idp.views.replica import reads_from_replica
from idp.views.web import services

bp = Blueprint("admin_portals", __name__, url_prefix="/admin/portals")

Answer = Response | tuple[str, int] | str
LINE_FIELDS = ("redirect_uris", "post_logout_redirect_uris", "matters", "contacts")
TEXT_FIELDS = (
    "name",
    "name_en",
    "region",
    "backchannel_logout_uri",
    "jwks_uri",
    "sector_identifier_uri",
)
ENCRYPTION_FIELDS = (
    "id_token_encrypted_response_alg",
    "id_token_encrypted_response_enc",
    "userinfo_signed_response_alg",
    "userinfo_encrypted_response_alg",
    "userinfo_encrypted_response_enc",
)
CHOICE_FIELDS = (
    "token_endpoint_auth_method",
    "id_token_signed_response_alg",
    "subject_type",
    "minimum_verification_level",
    # FAPI 2.0 (docs/portals.md, "FAPI 2.0").
    "request_object_signing_alg",
    "authorization_signed_response_alg",
    "profile",
    # Encrypted ID tokens, signed or encrypted UserInfo (docs/portals.md, "Encrypted responses").
    *ENCRYPTION_FIELDS,
)
# Yes/no fields of FAPI 2.0 (each a checkbox with value "yes").
FAPI_FLAGS = ("require_pushed_authorization_requests", "require_signed_request_object")
CHECKBOX_FIELDS = ("scopes", "allowed_sensitive_claims")
MAX_FIELD_LENGTH = 8192

# Translated messages for the rules' error codes (idp.oauth.clients).
MESSAGES = {
    "required": lazy_gettext("This field is required."),
    "type": lazy_gettext("This value has the wrong form."),
    "too_long": lazy_gettext("This value is too long."),
    "too_many": lazy_gettext("There are too many entries."),
    "invalid": lazy_gettext("This value is not valid here."),
    "invalid_uri": lazy_gettext("This is not a valid URI."),
    "not_absolute": lazy_gettext("Give an absolute URI, with https:// and a host."),
    "fragment": lazy_gettext("A URI here must not contain a fragment (#)."),
    "userinfo": lazy_gettext("A URI here must not contain a user name or password."),
    "wildcard": lazy_gettext("Wildcards (*) are not allowed: register each URI exactly."),
    "https_required": lazy_gettext("Use https (http only for loopback addresses)."),
    "unknown_value": lazy_gettext("Choose one of the values offered."),
    "unknown_scope": lazy_gettext("This scope is not known."),
    "conflict": lazy_gettext("Give a key set or a key set URI, not both."),
    "private_key": lazy_gettext("The key set holds private keys: publish public keys only."),
    "no_key_set": lazy_gettext("This is not a usable key set of public RSA or EC keys."),
    "no_encryption_key": lazy_gettext(
        'Encryption needs a key with "use": "enc" of the right type in the key set.'
    ),
    "unreachable": lazy_gettext("This address could not be fetched (or answered too late)."),
    "not_listed": lazy_gettext("The document does not list every redirect URI."),
    "duplicate": lazy_gettext("Another portal already has this name."),
    "taken": lazy_gettext("Another portal already has this client id."),
    "unknown_field": lazy_gettext("This value has the wrong form."),
    "profile_forbids": lazy_gettext("The fapi2 profile does not allow this value."),
}
FIELD_MESSAGES = {
    ("region", "invalid"): lazy_gettext(
        "Give a 6-digit administrative division code, for example 330100."
    ),
    ("contacts", "invalid"): lazy_gettext("Give e-mail addresses or phone numbers."),
    ("matters", "invalid"): lazy_gettext(
        "Give codes such as tax.declaration: lower-case words joined by dots."
    ),
    ("jwks", "required"): lazy_gettext("private_key_jwt needs a key set or a key set URI."),
    ("sector_identifier_uri", "required"): lazy_gettext(
        "Pairwise identifiers with redirect URIs on several hosts need a sector identifier URI."
    ),
    ("sector_identifier_uri", "invalid"): lazy_gettext(
        "The document must be a JSON array of redirect URIs."
    ),
    ("token_endpoint_auth_method", "profile_forbids"): lazy_gettext(
        "The fapi2 profile allows only private_key_jwt: no client secrets, no public clients."
    ),
    ("id_token_signed_response_alg", "profile_forbids"): lazy_gettext(
        "The fapi2 profile signs with PS256 or ES256 only."
    ),
    ("request_object_signing_alg", "profile_forbids"): lazy_gettext(
        "The fapi2 profile signs with PS256 or ES256 only."
    ),
    ("authorization_signed_response_alg", "profile_forbids"): lazy_gettext(
        "The fapi2 profile signs with PS256 or ES256 only."
    ),
    ("redirect_uris", "profile_forbids"): lazy_gettext(
        "The fapi2 profile requires https redirect URIs."
    ),
    ("require_signed_request_object", "required"): lazy_gettext(
        "Signed request objects need a key set or a key set URI."
    ),
    ("client_id", "invalid"): lazy_gettext(
        "Use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit."
    ),
}


def _message(error: FieldError) -> str:
    text = str(FIELD_MESSAGES.get((error.field, error.code)) or MESSAGES.get(error.code) or "")
    if error.code == "unknown_matter":
        text = _(
            "%(code)s is not a class of the published catalogue of matters.",
            code=error.value or "",
        )
    text = text or _("This value is not valid here.")
    if error.index is not None and error.field in (*LINE_FIELDS, *CHECKBOX_FIELDS):
        return _("Entry %(number)s: %(message)s", number=error.index + 1, message=text)
    return text


def _errors(errors: list[FieldError]) -> dict[str, list[str]]:
    by_field: dict[str, list[str]] = {}
    for error in errors:
        by_field.setdefault(error.field, []).append(_message(error))
    return by_field


def _actor() -> Actor:
    return Actor(g.admin.account_id, "console", request.remote_addr)


def _sensitive_claims() -> list[str]:
    return sorted(services().sensitive_claims)


def _choices() -> dict[str, list[str]]:
    return {
        "token_endpoint_auth_method": list(AUTH_METHODS),
        "id_token_signed_response_alg": list(SUPPORTED_ALGORITHMS),
        "subject_type": list(SUBJECT_TYPES),
        "minimum_verification_level": ["", *MINIMUM_LEVELS],
        "scopes": list(SCOPES_SUPPORTED),
        "allowed_sensitive_claims": _sensitive_claims(),
        "request_object_signing_alg": ["", *REQUEST_OBJECT_ALGORITHMS],
        "authorization_signed_response_alg": ["", *SUPPORTED_ALGORITHMS],
        "profile": ["", *PROFILES],
        **{
            name: ["", *ENCRYPTION_ALGORITHMS]
            for name in ("id_token_encrypted_response_alg", "userinfo_encrypted_response_alg")
        },
        **{
            name: ["", *CONTENT_ENCRYPTIONS]
            for name in ("id_token_encrypted_response_enc", "userinfo_encrypted_response_enc")
        },
        "userinfo_signed_response_alg": ["", *SUPPORTED_ALGORITHMS],
    }


def _show_secret(message: str, **values: str) -> None:
    """A notice for the next page that carries a secret shown once (then forgotten)."""
    session_id, session = g.console_session
    session.notice = {"message": message, "ok": True, **values}
    services().console_sessions.save(session_id, session)


# -- reading the form ----------------------------------------------------------------------------


def _form_values() -> dict[str, Any]:
    """What the form holds, as typed (for showing it again)."""
    values: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, *CHOICE_FIELDS, *LINE_FIELDS, "jwks", "client_id"):
        values[name] = request.form.get(name, "")[:MAX_FIELD_LENGTH]
    for name in CHECKBOX_FIELDS:
        values[name] = request.form.getlist(name)
    values["trusted"] = request.form.get("trusted") == "yes"
    values["require_mfa"] = request.form.get("require_mfa") == "yes"
    values["dpop_bound_access_tokens"] = request.form.get("dpop_bound_access_tokens") == "yes"
    for name in FAPI_FLAGS:
        values[name] = request.form.get(name) == "yes"
    values["reason"] = request.form.get("reason", "")[:500]
    return values


def _metadata(values: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """The form's values as metadata for the rules; errors of form only (jwks not JSON)."""
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name in TEXT_FIELDS:
        data[name] = values[name].strip() or None
    for name in CHOICE_FIELDS:
        data[name] = values[name] or None
    for name in LINE_FIELDS:
        data[name] = [line.strip() for line in values[name].splitlines() if line.strip()]
    for name in CHECKBOX_FIELDS:
        data[name] = list(values[name])
    data["trusted"] = values["trusted"]
    data["require_mfa"] = values["require_mfa"]
    data["dpop_bound_access_tokens"] = values["dpop_bound_access_tokens"]
    for name in FAPI_FLAGS:
        data[name] = values[name]
    data["jwks"] = None
    if values["jwks"].strip():
        try:
            data["jwks"] = json.loads(values["jwks"])
        except ValueError:
            errors.append(FieldError("jwks", "no_key_set", "is not JSON"))
    return data, errors


def _values_of(metadata: dict[str, Any]) -> dict[str, Any]:
    """A portal's metadata as form values."""
    values = {name: metadata.get(name) or "" for name in (*TEXT_FIELDS, *CHOICE_FIELDS)}
    for name in LINE_FIELDS:
        values[name] = "\n".join(metadata.get(name) or [])
    for name in CHECKBOX_FIELDS:
        values[name] = list(metadata.get(name) or [])
    values["trusted"] = bool(metadata.get("trusted"))
    values["require_mfa"] = bool(metadata.get("require_mfa"))
    values["dpop_bound_access_tokens"] = bool(metadata.get("dpop_bound_access_tokens"))
    for name in FAPI_FLAGS:
        values[name] = bool(metadata.get(name))
    values["jwks"] = json.dumps(metadata["jwks"], indent=2) if metadata.get("jwks") else ""
    values["client_id"] = ""
    return values


# -- pages -------------------------------------------------------------------------------------


def _render_list(errors: dict[str, list[str]] | None = None, status: int = 200) -> Answer:
    portals = [
        {
            "client_id": client.client_id,
            "name": client.name,
            "name_en": client.name_en,
            "status": client.status,
            "method": client.token_endpoint_auth_method,
            "region": client.region,
            "trusted": client.trusted,
            "dynamic": client.registration_access_token_hash is not None,
        }
        for client in services().clients.clients()
    ]
    return (
        render_template(
            "admin/portals.html",
            current="portals",
            portals=portals,
            errors=errors or {},
            registration_endpoint=services().metadata["registration_endpoint"],
        ),
        status,
    )


@bp.get("")
@console_required()
@reads_from_replica
def index() -> Answer:
    return _render_list()


def _render_form(
    values: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Answer:
    return (
        render_template(
            "admin/portal_new.html",
            current="portals",
            values=values,
            errors=errors or {},
            choices=_choices(),
        ),
        status,
    )


@bp.get("/new")
@console_required(write=True)
def new() -> Answer:
    defaults = {
        "token_endpoint_auth_method": AUTH_METHODS[0],
        "id_token_signed_response_alg": SUPPORTED_ALGORITHMS[0],
        "subject_type": "public",
        "scopes": ["openid", "profile", "offline_access"],
    }
    return _render_form(_values_of(defaults))


def _refusals(
    form_errors: list[FieldError],
    data: dict[str, Any],
    problem: str | None,
    current: Client | None = None,
) -> list[FieldError] | None:
    """When the form cannot be saved as it is (a form error, or no reason given): every
    problem the rules find in it too, so that all are shown at once. None: go ahead."""
    if not form_errors and not problem:
        return None
    if current is None:
        merged = {**defaults(), **{k: v for k, v in data.items() if v is not None}}
    else:
        merged = {**metadata_of(current), **data}
    try:
        services().clients.validate(merged, current=current)
    except InvalidMetadata as exc:
        return [*form_errors, *exc.errors]
    return form_errors


@bp.post("")
@console_required(write=True)
def create() -> Answer:
    values = _form_values()
    data, form_errors = _metadata(values)
    reason, problem = read_reason()
    client_id = values["client_id"].strip() or None
    try:
        refused = _refusals(form_errors, data, problem)
        if refused is not None:
            raise InvalidMetadata(refused)
        outcome = services().clients.create(
            data, actor=_actor(), client_id=client_id, reason=reason
        )
    except InvalidMetadata as exc:
        found = _errors(exc.errors)
        if problem:
            found["reason"] = [problem]
        return _render_form(values, found, 400)
    if outcome.client_secret:
        _show_secret(
            _("The portal is registered. Copy its client secret now: it is shown only once."),
            client_secret=outcome.client_secret,
        )
    else:
        notify(_("The portal is registered."))
    return redirect(url_for("admin_portals.show", client_id=outcome.client.client_id), 303)


def _render_portal(
    client_id: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Answer:
    try:
        client = services().clients.get(client_id)
    except ClientNotFound:
        return _render_list({"portal": [_("There is no such portal.")]}, 404)
    metadata = metadata_of(client)
    expires = client.previous_secret_expires_at
    return (
        render_template(
            "admin/portal.html",
            current="portals",
            client=client,
            metadata=metadata,
            values=values if values is not None else _values_of(metadata),
            errors=errors or {},
            choices=_choices(),
            created=shown_time(client.created_at),
            updated=shown_time(client.updated_at),
            previous_secret_expires=(
                shown_time(expires) if expires is not None and expires > utcnow() else None
            ),
            dynamic=client.registration_access_token_hash is not None,
            # RFC 8693 token exchange (docs/portals.md, "Token exchange").
            pairs=services().portal_pairs.targets_of(client.client_id),
            pair_choices=[
                other.client_id
                for other in services().clients.clients()
                if other.client_id != client.client_id
            ],
        ),
        status,
    )


@bp.get("/<client_id>")
@console_required()
def show(client_id: str) -> Answer:
    return _render_portal(client_id)


@bp.post("/<client_id>")
@console_required(write=True)
def update(client_id: str) -> Answer:
    values = _form_values()
    data, form_errors = _metadata(values)
    reason, problem = read_reason()
    registry = services().clients
    try:
        current = registry.get(client_id)
        data["status"] = current.status  # changed by the disable and enable actions only
        refused = _refusals(form_errors, data, problem, current=current)
        if refused is not None:
            raise InvalidMetadata(refused)
        outcome = registry.update(client_id, data, actor=_actor(), reason=reason)
    except ClientNotFound:
        return _render_list({"portal": [_("There is no such portal.")]}, 404)
    except InvalidMetadata as exc:
        found = _errors(exc.errors)
        if problem:
            found["edit.reason"] = [problem]
        return _render_portal(client_id, values, found, 400)
    if outcome.client_secret:
        _show_secret(
            _("Saved. The portal now uses a client secret: copy it now, it is shown only once."),
            client_secret=outcome.client_secret,
        )
    else:
        notify(_("The changes are saved."))
    return redirect(url_for("admin_portals.show", client_id=client_id), 303)


def _action_refused(client_id: str, form: str, problem: str, status: int = 400) -> Answer:
    return _render_portal(client_id, None, {f"{form}.reason": [problem]}, status)


@bp.post("/<client_id>/rotate-secret")
@console_required(write=True)
def rotate_secret(client_id: str) -> Answer:
    reason, problem = read_reason()
    if problem:
        return _action_refused(client_id, "rotate", problem)
    try:
        outcome = services().clients.rotate_secret(client_id, actor=_actor(), reason=reason)
    except ClientNotFound:
        return _render_list({"portal": [_("There is no such portal.")]}, 404)
    except NoClientSecret:
        return _action_refused(
            client_id, "rotate", _("This portal authenticates without a client secret."), 409
        )
    _show_secret(
        _(
            "A new client secret is issued: copy it now, it is shown only once. The previous "
            "secret keeps working until the time shown below."
        ),
        client_secret=outcome.client_secret or "",
    )
    return redirect(url_for("admin_portals.show", client_id=client_id), 303)


@bp.post("/<client_id>/pairs")
@console_required(write=True)
def pair(client_id: str) -> Answer:
    """Allow (``action=pair``) or end (``action=unpair``) token exchange from this portal to
    ``target`` (RFC 8693, ``idp.oauth.portal_pairs``)."""
    reason, problem = read_reason()
    if problem:
        return _action_refused(client_id, "pair", problem)
    target = request.form.get("target", "")[:64]
    pairs = services().portal_pairs
    try:
        if request.form.get("action") == "unpair":
            pairs.unpair(client_id, target, actor=_actor(), reason=reason)
            notify(_("Token exchange to %(target)s has ended.", target=target))
        else:
            pairs.pair(client_id, target, actor=_actor(), reason=reason)
            notify(_("This portal may now exchange tokens for %(target)s.", target=target))
    except ClientNotFound as missing:
        if missing.client_id == client_id:
            return _render_list({"portal": [_("There is no such portal.")]}, 404)
        return _action_refused(client_id, "pair", _("There is no such portal."), 404)
    except InvalidPair:
        return _action_refused(
            client_id,
            "pair",
            _("A portal cannot be paired with itself, and a public portal cannot exchange tokens."),
            409,
        )
    return redirect(url_for("admin_portals.show", client_id=client_id), 303)


def _set_status(client_id: str, status: str, form: str, message: str) -> Answer:
    reason, problem = read_reason()
    if problem:
        return _action_refused(client_id, form, problem)
    try:
        services().clients.set_status(client_id, status, actor=_actor(), reason=reason)
    except ClientNotFound:
        return _render_list({"portal": [_("There is no such portal.")]}, 404)
    notify(message)
    return redirect(url_for("admin_portals.show", client_id=client_id), 303)


@bp.post("/<client_id>/disable")
@console_required(write=True)
def disable(client_id: str) -> Answer:
    """No new logins; the portal's tokens stop working (introspection, UserInfo, refresh)."""
    return _set_status(
        client_id,
        "disabled",
        "disable",
        _("The portal is disabled: no new logins, and its tokens no longer work."),
    )


@bp.post("/<client_id>/enable")
@console_required(write=True)
def enable(client_id: str) -> Answer:
    return _set_status(client_id, "active", "enable", _("The portal is active again."))


@bp.post("/<client_id>/delete")
@console_required(write=True)
def delete(client_id: str) -> Answer:
    reason, problem = read_reason()
    if problem:
        return _action_refused(client_id, "delete", problem)
    try:
        services().clients.delete(client_id, actor=_actor(), reason=reason)
    except ClientNotFound:
        return _render_list({"portal": [_("There is no such portal.")]}, 404)
    notify(_("The portal is deleted, with its grants, tokens and consents."))
    return redirect(url_for("admin_portals.index"), 303)


@bp.post("/initial-access-tokens")
@console_required(write=True)
def issue_initial_access_token() -> Answer:
    """RFC 7591 3: a token for ``uses`` registrations within ``days`` days, shown once."""
    reason, problem = read_reason()
    errors: dict[str, list[str]] = {}
    if problem:
        errors["token.reason"] = [problem]
    numbers: dict[str, Any] = {}
    for name in ("uses", "days"):
        text = request.form.get(name, "").strip()[:8]
        numbers[name] = int(text) if text.isascii() and text.isdigit() else text
    maximum = {"uses": MAX_INITIAL_TOKEN_USES, "days": MAX_INITIAL_TOKEN_DAYS}
    for error in initial_token_problems(numbers["uses"], numbers["days"]):
        errors[f"token.{error.field}"] = [
            _("Give a whole number from 1 to %(maximum)s.", maximum=maximum[error.field])
        ]
    if errors:
        return _render_list(errors, 400)
    row, token = services().clients.issue_initial_access_token(
        uses=numbers["uses"], days=numbers["days"], actor=_actor(), reason=reason
    )
    _show_secret(
        _(
            "Initial access token issued: give it to the portal's operator now, it is shown "
            "only once. It allows %(uses)s registrations until %(expires)s.",
            uses=row.uses_allowed,
            expires=shown_time(row.expires_at)["text"],
        ),
        initial_access_token=token,
    )
    return redirect(url_for("admin_portals.index"), 303)
