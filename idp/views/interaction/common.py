"""What every step page shares: opening the interaction, the expired page, and turning the
engine's continuation into a response (a 303 to the next step or to the portal, the SSO cookie
of a session the step started)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from flask import g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.oauth.interaction import Interaction
from idp.oauth.steps import Continuation, Retry, StepContext
from idp.views import cookies
from idp.views.web import allow_form_redirect_to, authorization_response, error_page, services

Answer = Response | tuple[str, int]


class StepPage(Protocol):
    def render(self, ctx: StepContext) -> Answer: ...

    def submit(self, ctx: StepContext) -> Answer: ...


def opened(interaction_id: str) -> StepContext | None:
    """The interaction this browser may continue, with its session and account."""
    ctx = services().steps.open(
        interaction_id,
        request.cookies.get(cookies.BROWSER),
        request.cookies.get(cookies.SESSION),
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    if ctx is not None:
        g.ui_locales = ctx.request.ui_locales
        g.client_id = ctx.request.client_id  # the portal of the access log line (observe.py)
        # Every step's form may end in the 303 back to the portal.
        allow_form_redirect_to(ctx.request.redirect_uri)
    return ctx


def expired() -> tuple[str, int]:
    return error_page(
        400,
        _("Something is wrong with the request"),
        _("The login request has expired. Return to the portal and start again."),
    )


def continue_to(continuation: Continuation) -> Answer:
    """The next step, the portal, or the expired page; with the SSO cookie of a new session."""
    target = continuation.next
    answer: Answer
    if target is None:
        answer = expired()
    elif isinstance(target, Interaction):
        answer = redirect(url_for("interaction.show", interaction_id=target.id), 303)
    else:
        answer = authorization_response(target)
    if continuation.session_id is None:
        return answer
    response = answer if isinstance(answer, Response) else Response(answer[0], answer[1])
    cookies.set_session(response, continuation.session_id, services().config)
    return response


def advance(
    ctx: StepContext,
    step: str,
    values: Mapping[str, Any],
    again: Callable[[Retry], Answer],
) -> Answer:
    """Hand the form's values to the step engine; show the page again (``again``) when the
    step asks for a correction, else go where the engine says."""
    continuation = services().steps.submit(ctx, step, values)
    if continuation.retry is not None:
        return again(continuation.retry)
    return continue_to(continuation)
