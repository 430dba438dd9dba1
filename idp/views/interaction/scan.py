"""The login step's scan-to-log-in page on the computer (docs/scan-login.md).

``GET /interaction/<id>/scan`` asks for a ticket and answers with a 303 to
``/interaction/<id>/scan/wait?ticket=<ticket>``: the QR code (server-rendered SVG, ``segno``)
and a ``<meta http-equiv="refresh">`` while the ticket waits, so the page looks again without
JavaScript. Once the phone confirmed, the next refresh hands the ticket to the login step, which
takes it once and logs this browser in; the interaction goes on as after a password. The rules
are ``idp.oauth.scan``'s.

The login page itself shows the code too, in a small frame (``GET /interaction/<id>/scan/frame``)
that refreshes itself the same way while the password form around it stays as typed. A frame
cannot move the page around it without JavaScript, so once the phone confirmed, the frame shows
one button that opens the waiting page in the whole window (``target="_top"``), which logs in.
"""

from __future__ import annotations

import segno
from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from idp.oauth.scan import GONE, READY, WAITING
from idp.oauth.steps import Retry, StepContext
from idp.views import cookies
from idp.views.interaction.common import Answer, advance, opened
from idp.views.web import error_page, services

# Seconds between two looks of the waiting page.
REFRESH_SECONDS = 3


def qr_svg(url: str) -> Markup:
    """The QR code of ``url`` as inline SVG (error correction M: a screen photographed at an
    angle still reads)."""
    code = segno.make(url, error="m")
    return Markup(code.svg_inline(scale=5, svgclass="qr-code", title=_("QR code for logging in")))


def _page(ctx: StepContext, state: str, ticket_id: str = "", status: int = 200) -> Answer:
    interaction = ctx.interaction
    scan = services().scan_login
    context: dict[str, object] = {}
    if state == WAITING:
        ticket = scan.status(ticket_id, interaction)[1]
        assert ticket is not None
        context = {
            "qr_code": qr_svg(scan.url(ticket)),
            "refresh_url": url_for(
                "interaction.scan_wait", interaction_id=interaction.id, ticket=ticket_id
            ),
            "refresh_seconds": REFRESH_SECONDS,
            "valid_minutes": max(1, scan.ttl // 60),
        }
    return render_template(
        "scan_login.html",
        client_name=interaction.client_name,
        state=state,
        new_code_url=url_for("interaction.scan_login", interaction_id=interaction.id),
        password_url=url_for("interaction.show", interaction_id=interaction.id),
        **context,
    ), status


def start(ctx: StepContext) -> Answer:
    """A new ticket for this browser, shown on the waiting page."""
    ticket = services().scan_login.issue(
        ctx.interaction, request.remote_addr, request.user_agent.string
    )
    if ticket is None:
        return _page(ctx, "limited", status=429)
    return redirect(
        url_for("interaction.scan_wait", interaction_id=ctx.interaction.id, ticket=ticket.id), 303
    )


def wait(interaction_id: str) -> Answer:
    """The waiting page; once the phone confirmed, the login."""
    ctx = opened(interaction_id)
    if ctx is None or ctx.interaction.step != "login":
        return error_page(
            400,
            _("This QR code login cannot be completed here"),
            _(
                "A login by QR code can only be completed in the browser that showed the code, "
                "while the login request is valid. Return to the portal and start again."
            ),
        )
    ticket_id = request.args.get("ticket", "")
    state, _ticket = services().scan_login.status(ticket_id, ctx.interaction)
    if state != READY:
        return _page(ctx, state, ticket_id)

    def again(retry: Retry) -> Answer:
        return _page(ctx, GONE)

    return advance(ctx, "login", {"method": "scan", "ticket": ticket_id}, again)


# -- the frame on the login page ------------------------------------------------------------


def _frame(ctx: StepContext | None, state: str, ticket_id: str = "", status: int = 200) -> Answer:
    # Only our own pages may frame it (the login page); every other page keeps
    # frame-ancestors 'none' (idp.views.web).
    g.frame_ancestors_self = True
    context: dict[str, object] = {}
    if ctx is not None:
        scan = services().scan_login
        context["new_code_url"] = url_for(
            "interaction.scan_frame", interaction_id=ctx.interaction.id
        )
        if state == WAITING:
            ticket = scan.status(ticket_id, ctx.interaction)[1]
            assert ticket is not None
            context |= {
                "qr_code": qr_svg(scan.url(ticket)),
                "refresh_url": url_for(
                    "interaction.scan_frame", interaction_id=ctx.interaction.id, ticket=ticket_id
                ),
                "refresh_seconds": REFRESH_SECONDS,
                "valid_minutes": max(1, scan.ttl // 60),
            }
        elif state == READY:
            context["continue_url"] = url_for(
                "interaction.scan_wait", interaction_id=ctx.interaction.id, ticket=ticket_id
            )
    return render_template("scan_frame.html", state=state, **context), status


def frame(interaction_id: str) -> Answer:
    """The QR code inside the login page: on the first look this browser's waiting code (or a
    new ticket), then the ticket's state on every refresh. Once confirmed, a button completes the
    login in the whole window."""
    ctx = opened(interaction_id)
    if ctx is None or ctx.interaction.step != "login":
        return _frame(None, GONE, status=400)
    scan = services().scan_login
    ticket_id = request.args.get("ticket", "")
    if not ticket_id:
        shown = request.cookies.get(cookies.SCAN_TICKET, "")
        if shown and scan.status(shown, ctx.interaction)[0] == WAITING:
            ticket_id = shown
        else:
            ticket = scan.issue(ctx.interaction, request.remote_addr, request.user_agent.string)
            if ticket is None:
                return _frame(ctx, "limited", status=429)
            ticket_id = ticket.id
        g.frame_ancestors_self = True
        response = redirect(
            url_for("interaction.scan_frame", interaction_id=interaction_id, ticket=ticket_id), 303
        )
        path = url_for("interaction.scan_frame", interaction_id=interaction_id)
        cookies.set_scan_ticket(response, ticket_id, path, services().config)
        return response
    return _frame(ctx, scan.status(ticket_id, ctx.interaction)[0], ticket_id)
