"""The user space (``/account``): what a logged-in person sees and manages about their account.

- Their own agreement acceptances (issue #3, item 3: "the user sees their own acceptance
  history").
- The portals they consented to, with a withdrawal per portal (PIPL article 15: consent can be
  withdrawn, as easily as it was given); withdrawing revokes the portal's tokens at once.
- What each portal received and when (PIPL article 44, the right to know; natural-person
  agreement clause 5): claim names from the disclosure log, never their values.
- Cancellation of the account (natural-person agreement clause 8; PIPL article 47).
- Real-name data (clause 4(3): keep it current): the masked profile and the verification evidence,
  a new phone number (SMS code to it, password re-entered), further verification (to L3), a
  corrected name or ID number (the level drops until the registry confirms it again).
- Matters (办件) portals reported and the inbox of messages (clauses 3 and 4(4); ``inbox``), with
  the unread count in every page's navigation.
- Registration outside a portal login (``/account/register``) and password recovery by SMS code
  to the account's phone (``/account/recover``).

Every page needs the SSO session; without it the person is sent to ``/account/login`` and back
to a local ``/account`` path only (no open redirect, RFC 9700 section 4.11). Names are masked
on screen. Every POST carries the CSRF token and answers with a 303.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, request, url_for
from werkzeug.wrappers import Response

from idp.models import Account
from idp.views import cookies
from idp.views.web import services

bp = Blueprint("account", __name__, url_prefix="/account")

MAX_NEXT_LENGTH = 512
MAX_CLIENT_ID_LENGTH = 64


def display_timezone() -> tzinfo:
    """The zone times are shown and typed in: the authority's local time (``IDP_TIMEZONE``,
    from the zone database; Asia/Shanghai by default)."""
    return services().config.local_zone


def shown_time(value: datetime) -> dict[str, str]:
    local = value.astimezone(display_timezone())
    return {"iso": value.isoformat(timespec="seconds"), "text": local.strftime("%Y-%m-%d %H:%M")}


def shown_last_day(end: datetime) -> dict[str, str]:
    """An end of validity (a grant's) as the person set it: the last day on which it holds, in
    the display zone (validity runs to the end of that day), not the instant it ends."""
    last_day = (end.astimezone(display_timezone()) - timedelta(microseconds=1)).date()
    return {"iso": end.isoformat(timespec="seconds"), "text": last_day.isoformat()}


def safe_next(value: str | None) -> str:
    """A local path inside the user space (or a scan-to-log-in's ``/scan/<ticket>``), or the
    overview: never another site."""
    default = url_for("account.overview")
    if not value or len(value) > MAX_NEXT_LENGTH or not value.isprintable() or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or ".." in parts.path:
        return default
    # The user space, or the phone's page of a scan-to-log-in (a login on the phone first).
    if parts.path != "/account" and not parts.path.startswith(("/account/", "/scan/")):
        return default
    return value


def current_account() -> Account | None:
    app_services = services()
    # Who is logged in, and whether the account may act, is a decision: never a replica's.
    with app_services.db.on_primary():
        session, account = app_services.sso.current(request.cookies.get(cookies.SESSION))
    # Kept for the rest of the request: the page's frame (the password reminder) and the
    # sessions page (which session is this browser's) read them without asking Redis again.
    g.account, g.login_session = account, session
    return account


def to_login(target: str | None = None) -> Response:
    if target is None:
        query = request.query_string.decode("latin-1")
        target = request.path + (f"?{query}" if query else "")
    return redirect(url_for("account.login", next=target), 303)


def signed_in(view: Callable[[Account], Any]) -> Callable[[], Any]:
    """A user-space page for the logged-in person; anyone else goes to the login first and
    comes back to the same page."""

    @functools.wraps(view)
    def wrapper() -> Any:
        account = current_account()
        if account is None:
            return to_login(None if request.method == "GET" else request.path)
        return view(account)

    return wrapper


@bp.after_request
def no_store(response: Response) -> Response:
    # Personal data: never kept in shared or browser caches.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


# The pages, by what they are for (each module adds its routes to ``bp``).
from idp.views.account import (  # noqa: E402, F401
    access,
    addresses,
    data,
    export,
    factors,
    gate,
    inbox,
    materials,
    records,
    security,
)
