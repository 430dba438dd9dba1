"""The one boundary every text that comes in passes before a view runs (issue 17).

A ``before_request`` hook, the first of the application, checks the path, the query string,
the form or JSON body and the ``Authorization`` header with the rules of ``idp.views.limits``
(control characters, text that is not UTF-8, lone surrogates, over-long values) and refuses a
request that breaks one with the error of the endpoint it was sent to, before any lookup, so
that nothing is read from or written to a store:

- protocol (``/token``, ``/par``, ``/revoke``, ``/introspect``): RFC 6749 5.2 JSON,
  ``invalid_client`` for the client's credentials (401 with ``WWW-Authenticate: Basic`` for
  HTTP Basic), else ``invalid_request``;
- UserInfo (``/userinfo``): RFC 6750 3.1, ``invalid_token`` (401) for the token, else
  ``invalid_request`` (400), with ``WWW-Authenticate: Bearer``;
- dynamic registration (``/register-client``): RFC 7591 3.2.2 ``invalid_client_metadata`` for
  the body; a client id that cannot exist is an unknown client (RFC 7592 3: 401
  ``invalid_token``);
- the admin API (``/admin/api/``): RFC 9457 problem details with ``errors`` (field, code,
  message, JSON Pointer); 404 for a path;
- the rest of the back channel (``/.well-known/``, ``/jwks.json``, ``/healthz``, ``/readyz``):
  JSON ``invalid_request``;
- pages (everything else, ``/authorize`` and ``/logout`` included): the error page, status 400,
  naming the field and what is wrong in the person's language; never a redirect.

A path that cannot name anything (a segment with a control character, say) answers as an
unknown one would: 404 (401 ``invalid_token`` at RFC 7592's endpoint). A body over the size
limit is left to the view and to Flask's 413.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from idp.oauth.errors import InvalidClientError, InvalidRequestError, OAuth2Error
from idp.views import limits
from idp.views.limits import Refusal
from idp.views.web import LANGUAGE_LABELS, LOCALES, problem

# /par (RFC 9126 2.3) authenticates and answers as the token endpoint does.
PROTOCOL = ("/token", "/par", "/revoke", "/introspect")
USERINFO = "/userinfo"
# Bearer-token APIs answered like UserInfo (RFC 6750 3.1): the portals' materials API.
BEARER_APIS = ("/api/materials",)
# The portal API (matters and messages): RFC 9457 problem details, as the admin API's.
PORTAL_API = ("/api/matters", "/api/messages")
REGISTRATION = "/register-client"
ADMIN_API = "/admin/api"
BACK_CHANNEL = ("/.well-known/", "/jwks.json", "/healthz", "/readyz")
# The protocol endpoints' client credentials (RFC 6749 2.3.1, RFC 7523 2.2).
CLIENT_CREDENTIALS = frozenset(
    {"client_id", "client_secret", "client_assertion", "client_assertion_type"}
)
TOKEN_FIELDS = frozenset({"access_token", "Authorization"})
FORM = "application/x-www-form-urlencoded"
View = TypeVar("View", bound=Callable[..., Any])

# Labels of the fields a person fills in, for the page's message; any other field is named as
# it is sent.
FIELD_LABELS = {
    "username": lazy_gettext("Phone number, ID number or username"),
    "password": lazy_gettext("Password"),
    "password_confirm": lazy_gettext("Repeat the password"),
    "name": lazy_gettext("Name"),
    "id_number": lazy_gettext("Document number"),
    "phone": lazy_gettext("Mobile phone number"),
    "sms_code": lazy_gettext("SMS code"),
    "identifier": lazy_gettext("Phone number or ID number"),
}


def init_app(app: Flask) -> None:
    """Register the boundary as the first ``before_request`` hook (before CSRF, before the
    language is chosen from the query), and the connection's end after a body too large."""
    app.before_request_funcs.setdefault(None, []).insert(0, guard)
    app.after_request(close_after_unread_body)


def close_after_unread_body(response: Response) -> Response:
    """A body over the limit is answered without being read (413, or the view's refusal):
    ``Connection: close`` ends the connection cleanly after the answer. Left open, the server
    would find the unread bytes where the next request should start and drop the connection
    under the client's next request ("remote end closed connection")."""
    limit = request.max_content_length
    declared = request.content_length or 0
    if response.status_code == 413 or (limit is not None and declared > limit):
        response.headers["Connection"] = "close"
    return response


def checks_its_own_form(view: View) -> View:
    """Mark a page whose form checks every field itself and answers each on the field (the
    console's agreement text, say): the boundary leaves its form body to it, and still checks
    the path, the query and the headers."""
    view.checks_its_own_form = True  # type: ignore[attr-defined]
    return view


def _form_checked_by_view() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "checks_its_own_form", False))


def larger_body(limit: Callable[[], int]) -> Callable[[View], View]:
    """Mark a view that takes uploads (the materials pages): its request body may be up to
    ``limit()`` bytes instead of ``MAX_CONTENT_LENGTH``, set before anything reads the body.
    Every other view keeps the small limit."""

    def mark(view: View) -> View:
        view.body_limit = limit  # type: ignore[attr-defined]
        return view

    return mark


def _apply_body_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "body_limit", None)
    if limit is not None:
        request.max_content_length = limit()


def guard() -> Response | tuple[str, int] | None:
    _apply_body_limit()
    refused = first_refusal()
    if refused is None:
        return None
    g.input_refusal = refused
    return answer(refused)


# -- what is checked ----------------------------------------------------------------------------


def first_refusal() -> Refusal | None:
    environ = request.environ
    # WSGI (PEP 3333) hands the path and the query over as ISO 8859-1 text of the raw bytes.
    refused = limits.check_path(environ.get("PATH_INFO", "").encode("latin-1", "replace"))
    if refused:
        return refused
    raw_query = environ.get("QUERY_STRING", "").encode("latin-1", "replace")
    refused = limits.check_encoded("query", raw_query)
    if refused:
        return refused
    return _header_refusal() or _body_refusal()


def _header_refusal() -> Refusal | None:
    authorization = request.headers.get("Authorization")
    if authorization is None:
        return None
    refused = limits.check_header("Authorization", authorization)
    if refused or not request.path.startswith(PROTOCOL):
        return refused
    scheme, _sep, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    outcome = limits.basic_credentials(credentials)
    return outcome if isinstance(outcome, Refusal) else None


def _body_refusal() -> Refusal | None:
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or _form_checked_by_view():
        return None
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        return None  # Flask's 413, or the view's answer to it
    try:
        if request.mimetype == FORM:
            return limits.check_encoded("form", request.get_data(cache=True))
        if request.mimetype == "multipart/form-data":
            # werkzeug has decoded the parts already, a byte that is not UTF-8 as U+FFFD.
            pairs = list(request.form.items(multi=True))
            for _name, value in pairs:
                if "\ufffd" in value:
                    return Refusal("form", _name, limits.ENCODING)
            return limits.check_pairs("form", pairs, limits.QUERY_DEFAULT)
        if request.is_json:
            value, refused = limits.parse_json(request.get_data(cache=True))
            if refused or value is ...:
                return refused
            return limits.check_json(value)
    except RequestEntityTooLarge:
        return None
    return None


# -- how it is answered ---------------------------------------------------------------------------


def answer(refused: Refusal) -> Response | tuple[str, int]:
    path = request.path
    if path.startswith(PROTOCOL):
        return _protocol(refused)
    if path == USERINFO or path.startswith(BEARER_APIS):
        return _userinfo(refused)
    if path == REGISTRATION or path.startswith(REGISTRATION + "/"):
        return _registration(refused)
    if path == ADMIN_API or path.startswith(ADMIN_API + "/"):
        return _admin_api(refused)
    if path.startswith(PORTAL_API):
        return _portal_api(refused)
    if path.startswith(BACK_CHANNEL):
        return _back_channel(refused)
    return _page(refused)


def description(refused: Refusal) -> str:
    """A public description in English, in the characters RFC 6749 allows in
    ``error_description`` (the field's name only when it is safe to repeat)."""
    where = {
        "path": "The path",
        "query": "A query parameter",
        "form": "A form parameter",
        "json": "A value in the request body",
        "header": "The Authorization header",
    }[refused.source]
    if refused.field:
        where = f"'{refused.label}'"
    if refused.problem == limits.TOO_LONG:
        return f"{where} is too long (at most {refused.limit} characters)."
    if refused.problem == limits.TOO_MANY:
        return f"The request has too many fields (at most {refused.limit})."
    if refused.problem == limits.NESTING:
        return f"The request body is nested too deeply (at most {refused.limit} levels)."
    if refused.problem == limits.SYNTAX:
        return f"{where} does not follow its syntax."
    if refused.problem == limits.ENCODING:
        return f"{where} is not valid UTF-8 text."
    return f"{where} contains control characters."


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _oauth(error: OAuth2Error) -> Response:
    status, body, headers = error()
    response = jsonify(body)
    response.status_code = status
    for name, value in headers:
        if name.lower() != "content-type":
            response.headers[name] = value
    return _no_store(response)


def _protocol(refused: Refusal) -> Response:
    """RFC 6749 5.2 (and RFC 7009 2.2.1, RFC 7662 2.3, which refer to it)."""
    text = description(refused)
    if refused.source == "header":
        return _oauth(InvalidClientError(description=text, status_code=401))
    if refused.field in CLIENT_CREDENTIALS:
        return _oauth(InvalidClientError(description=text))
    return _oauth(InvalidRequestError(description=text))


def _userinfo(refused: Refusal) -> Response:
    """RFC 6750 3.1: a malformed token is ``invalid_token``; anything else ``invalid_request``."""
    text = description(refused)
    error, status = "invalid_request", 400
    if refused.field in TOKEN_FIELDS:
        error, status = "invalid_token", 401
    response = jsonify(error=error, error_description=text)
    response.status_code = status
    response.headers["WWW-Authenticate"] = (
        f'Bearer error="{error}", error_description="{text.replace(chr(34), chr(39))}"'
    )
    return _no_store(response)


def _registration(refused: Refusal) -> Response:
    """RFC 7591 3.2.2 for the metadata; RFC 7592 3 for a client that cannot exist."""
    text = description(refused)
    if refused.source in ("path", "header"):
        # No client has such an id, and no token looks like that: unknown (RFC 6750 3.1).
        response = jsonify(error="invalid_token", error_description=text)
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return _no_store(response)
    error = "invalid_client_metadata" if refused.source == "json" else "invalid_request"
    response = jsonify(error=error, error_description=text)
    response.status_code = 400
    return _no_store(response)


def _admin_api(refused: Refusal) -> Response:
    """RFC 9457 problem details, with the API's field errors."""
    text = description(refused)
    if refused.source == "path":
        return _no_store(problem(404, "Not Found", "No such resource in the admin API."))
    if refused.source == "header":
        response = problem(401, "Unauthorized", text)
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    field = refused.label if refused.field else ""
    error = {
        "field": field,
        "code": refused.problem,
        "message": text,
        # RFC 6901 into the body; for a parameter, as the API's other field errors name one.
        "pointer": refused.pointer if refused.pointer is not None else f"/{field}" * bool(field),
    }
    return problem(400, "Bad Request", text, code=refused.problem, errors=[error])


def _portal_api(refused: Refusal) -> Response:
    """The portal API (``idp.views.portal_api``): problem details, field errors, and for a
    malformed token RFC 6750 3.1 ``invalid_token``."""
    if refused.source == "path":
        return _no_store(problem(404, "Not Found", "No such resource.", code="not_found"))
    answer = _admin_api(refused)
    if refused.source == "header":
        answer.headers["WWW-Authenticate"] = 'Bearer realm="portal-api", error="invalid_token"'
    return answer


def _back_channel(refused: Refusal) -> Response:
    if refused.source == "path":
        response = jsonify(error="not_found", error_description="Not found.")
        response.status_code = 404
        return _no_store(response)
    response = jsonify(error="invalid_request", error_description=description(refused))
    response.status_code = 400
    return _no_store(response)


def _page(refused: Refusal) -> tuple[str, int]:
    """The error page, in the person's language; its language links repeat no query (they
    would repeat what was refused, or a token)."""
    # The boundary runs before the hook that gives every page its style nonce.
    g.setdefault("csp_nonce", secrets.token_urlsafe(16))
    g.setdefault("form_action", [])
    current = str(get_locale() or "")
    g.language_links = [
        {
            "href": f"{request.path}?lang={name}",
            "label": label,
            "current": name == current,
            "lang": LOCALES[name],
        }
        for name, label in LANGUAGE_LABELS.items()
    ]
    if refused.source == "path":
        return render_template("error.html", title=_("Page not found"), message=None), 404
    code = "invalid_request" if request.path in ("/authorize", "/logout") else None
    return render_template(
        "error.html",
        title=_("Something is wrong with the request"),
        message=page_message(refused),
        error_code=code,
        field=refused.label if refused.field else None,
    ), 400


def page_message(refused: Refusal) -> str:
    """What is wrong, in the person's language, naming the field."""
    if refused.problem == limits.TOO_MANY:
        return _("The form has too many fields.")
    if not refused.field:
        if refused.problem == limits.TOO_LONG:
            return _("The address is too long.")
        return _(
            "The request contains characters that are not allowed (control characters, or "
            "text that is not valid UTF-8)."
        )
    label = FIELD_LABELS.get(refused.field)
    name = str(label) if label is not None else refused.label
    if refused.problem == limits.TOO_LONG:
        return _(
            "“%(field)s” is too long: at most %(limit)s characters.",
            field=name,
            limit=refused.limit,
        )
    if refused.problem == limits.SYNTAX:
        return _("“%(field)s” is not in the expected format.", field=name)
    return _(
        "“%(field)s” contains characters that are not allowed (control characters, or text "
        "that is not valid UTF-8).",
        field=name,
    )
