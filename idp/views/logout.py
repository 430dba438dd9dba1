"""The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0), GET and POST.

With a valid ``id_token_hint`` for the person logged in here, the provider session ends at once
and the person returns to the portal's registered ``post_logout_redirect_uri`` with ``state``.
Otherwise the person confirms first; the confirmation is single use and bound to the session it
was shown for, so a replayed or forged one logs nobody out.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Blueprint, g, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.oauth.logout import EndSessionRequest, InvalidLogoutRequest
from idp.views import cookies
from idp.views.web import allow_form_redirect_to, csrf, error_page, services

bp = Blueprint("logout", __name__)


def _back_to_portal(end: EndSessionRequest) -> Response:
    if end.post_logout_redirect_uri is None:
        body = render_template("logged_out.html", message=_("You have been logged out."))
        return Response(body, 200)
    parts = urlsplit(end.post_logout_redirect_uri)
    if end.state is not None:
        extra = urlencode({"state": end.state})
        parts = parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra)
    return redirect(urlunsplit(parts), 303)


def _invalid() -> tuple[str, int]:
    """Nobody is logged out and nothing is redirected (RP-Initiated Logout 1.0 section 3)."""
    return error_page(
        400,
        _("Something is wrong with the request"),
        _("The logout request is not valid. You are still logged in."),
        "invalid_request",
    )


def _finish(end: EndSessionRequest, session_id: str | None) -> Response:
    services().end_session.end(session_id, request.remote_addr)
    response = _back_to_portal(end)
    cookies.clear_session(response, services().config)
    return response


@bp.route("/logout", methods=["GET", "POST"])
def end_session() -> Response | tuple[str, int]:
    source = request.form if request.method == "POST" else request.args
    params = {name: source.getlist(name) for name in source}
    endpoint = services().end_session
    try:
        end = endpoint.validate(params)
    except InvalidLogoutRequest:
        return _invalid()
    g.ui_locales = end.ui_locales
    session_id = request.cookies.get(cookies.SESSION)
    decision = endpoint.decide(end, session_id)
    if decision.action == "nothing":
        return _back_to_portal(end)  # nobody is logged in here: nothing to end
    if decision.action == "end":
        return _finish(end, session_id)
    # No hint, or a hint for someone else or for another (earlier) session: the person
    # decides (section 2: the OP MUST ask then; no forced logout).
    if end.post_logout_redirect_uri:
        allow_form_redirect_to(end.post_logout_redirect_uri)  # both buttons may 303 there
    return render_template(
        "logout_confirm.html",
        client_name=end.client.name if end.client else None,
        confirmation=decision.confirmation,
        client_id=end.client.client_id if end.client else "",
        post_logout_redirect_uri=end.post_logout_redirect_uri or "",
        state=end.state or "",
    ), 200


csrf.exempt(end_session)  # portals may POST here (RP-Initiated Logout 1.0 section 2)


@bp.post("/logout/confirm")
def confirm() -> Response | tuple[str, int]:
    endpoint = services().end_session
    params = {
        name: [request.form[name]]
        for name in ("client_id", "post_logout_redirect_uri", "state")
        if request.form.get(name)
    }
    try:
        end = endpoint.validate(params)
    except InvalidLogoutRequest:
        return _invalid()
    session_id = request.cookies.get(cookies.SESSION)
    # Taken whatever the decision: a confirmation is good for one answer.
    confirmed = endpoint.confirmed(request.form.get("confirmation", ""), session_id)
    if request.form.get("decision") != "logout":
        return (
            _back_to_portal(end)
            if end.post_logout_redirect_uri
            else error_page(200, _("Still logged in"), _("You are still logged in."), None)
        )
    if not confirmed:
        # Replayed, expired, or shown for another session: log nobody out.
        return error_page(
            400,
            _("Something is wrong with the request"),
            _("This logout confirmation has expired or was already used."),
            "invalid_request",
        )
    return _finish(end, session_id)
