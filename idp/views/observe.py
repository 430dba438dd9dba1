"""The request id, the access log and the Flask spans (docs/operations.md, "Logs", "Traces").

:class:`RequestLog` is the outermost WSGI layer: every answer passes it, the pages and the
JSON, the errors and 503s, and the discovery and JWKS documents served in front of Flask
(``idp.views.discovery.PublishedDocuments``). It binds the request's context
(:mod:`idp.observability.logs`) for the time of the call, returns ``X-Request-ID`` and writes
one access log line (logger ``idp.access``): method, route, status, duration, portal. The
route is Flask's URL rule (``/interaction/<interaction_id>/login``), never the path with its
ids, and nothing of the query string or the body is logged. ``idp serve`` turns Granian's own
access log off, so this line is the one.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g, request

from idp.observability import logs

log = logging.getLogger("idp.access")

# A client_id as the access log repeats it: what portals are given (idp.oauth.clients), never
# arbitrary text from a query.
CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
PUBLISHED = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")


class RequestLog:
    """WSGI middleware: the request id in and out, the access log line."""

    def __init__(self, app: Callable[..., Any], access_log: bool = True) -> None:
        self._app = app
        self._access_log = access_log

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        context, token = logs.bind(
            environ.get("HTTP_X_REQUEST_ID"), environ.get("REQUEST_METHOD", "")
        )
        environ["idp.request_id"] = context.request_id
        status = [0]

        def start(status_line: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            status[0] = int(status_line.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append((logs.HEADER, context.request_id))
            return start_response(status_line, headers, *exc_info)

        try:
            body: Iterable[bytes] = self._app(environ, start)
        except BaseException:
            status[0] = status[0] or 500
            raise
        finally:
            if context.route is None:
                path = environ.get("PATH_INFO", "")
                if path in PUBLISHED or path == "/jwks.json":  # the fast path: fixed paths
                    context.route = path
            if self._access_log:
                log.info(
                    "request",
                    extra={
                        "status": status[0],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            logs.reset(token)
        return body


def _client_id() -> str | None:
    """The portal named by the request: ``g.client_id`` (a view that knows it), the query's
    ``client_id`` (``/authorize``), HTTP Basic (``client_secret_basic``) or a form already read
    (``client_secret_post``, public clients). Never parses anything the view did not."""
    found = g.get("client_id") or request.args.get("client_id")
    if not found and "HTTP_AUTHORIZATION" in request.environ:
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            found = auth.username
    if not found and "form" in request.__dict__:
        found = request.form.get("client_id")
    return found if found and CLIENT_ID.fullmatch(found) else None


def init_app(app: Flask, tracer_provider: Any = None, access_log: bool = True) -> None:
    """The hooks that fill in the request's context, Flask's spans when traces are on
    (``idp.observability.traces``), and :class:`RequestLog` around everything (call last)."""

    @app.before_request
    def _route() -> None:
        context = logs.current()
        if context is not None and request.url_rule is not None:
            context.route = request.url_rule.rule

    @app.after_request
    def _portal(response: Any) -> Any:
        context = logs.current()
        if context is not None:
            if context.route is None and request.url_rule is not None:
                context.route = request.url_rule.rule
            if context.client_id is None:
                context.client_id = _client_id()
        return response

    if tracer_provider is not None:
        _instrument(app, tracer_provider)
    app.wsgi_app = RequestLog(app.wsgi_app, access_log)  # type: ignore[method-assign]


# Span attributes the WSGI semantic conventions fill with the query string: kept to the path.
_WITH_QUERY = ("http.target", "http.url", "url.full")


def _instrument(app: Flask, provider: Any) -> None:
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    def request_hook(span: Any, environ: dict[str, Any]) -> None:
        rid = environ.get("idp.request_id") or logs.request_id()
        if rid and span.is_recording():
            span.set_attribute("idp.request_id", rid)

    def response_hook(span: Any, _status: str, _headers: Any) -> None:
        """The instrumentation sets the attributes again after ``request_hook``: scrub the
        query string here, before the span ends (a query may carry a login hint, a state)."""
        if not span.is_recording():
            return
        attributes = span.attributes or {}
        for key in _WITH_QUERY:
            if key in attributes:
                span.set_attribute(key, request.path)
        if "url.query" in attributes:
            span.set_attribute("url.query", "")

    FlaskInstrumentor.instrument_app(
        app,
        request_hook=request_hook,
        response_hook=response_hook,
        tracer_provider=provider,
        enable_commenter=False,
    )
