"""The authorization endpoint (RFC 6749 4.1.1, OIDC Core 3.1.2): GET and POST."""

from __future__ import annotations

import secrets

from flask import Blueprint, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.oauth.authorize import RedirectableError
from idp.oauth.errors import UntrustedRedirectError
from idp.oauth.interaction import Interaction
from idp.views import cookies
from idp.views.web import authorization_response, error_page, services

bp = Blueprint("authorize", __name__)


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Response | tuple[str, int]:
    source = request.form if request.method == "POST" else request.args
    params = {name: source.getlist(name) for name in source}
    flow = services().flow
    try:
        auth_request = flow.validate(params)
    except UntrustedRedirectError as error:
        message = {
            "client": _("Unknown portal."),
            "redirect_uri": _("The return address is not registered for this portal."),
            "request_uri": _("This login request has expired or was already used."),
            "request_object": _("The portal's signed login request is not valid."),
        }[error.message_key]
        return error_page(400, _("Something is wrong with the request"), message, error.error)
    except RedirectableError as error:
        return authorization_response(flow.error_response(error.partial, error.error))

    binding = request.cookies.get(cookies.BROWSER) or secrets.token_urlsafe(24)
    outcome = flow.authorize(auth_request, request.cookies.get(cookies.SESSION), binding)
    if isinstance(outcome, Interaction):
        response = redirect(url_for("interaction.show", interaction_id=outcome.id), 303)
    else:
        response = authorization_response(outcome)
    cookies.set_browser(response, binding, services().config)
    return response
