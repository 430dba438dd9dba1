"""Logs: one event per line, as JSON (``IDP_LOG_FORMAT=json``) or as text (the development
default), every record of a request carrying that request's id, route and portal.

The request's facts live in a :class:`RequestContext` bound in a :mod:`contextvars` variable by
the web layer's middleware (``idp.views.observe``) for the time of one request, so any module
logs them without knowing the web framework: ``logging.getLogger(__name__).info(...)`` is all.
The JSON formatter writes only what it is given: the message, the request's context, the
``extra`` fields of the call and, for an error, the exception's type and the frames of its
traceback, never the exception's text (which may quote a statement's parameters or a value
that was typed) nor anything of the request but its method and route.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import sys
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "FORMATS",
    "JsonFormatter",
    "RequestContext",
    "TextFormatter",
    "bind",
    "configure",
    "configured",
    "current",
    "granian_dictconfig",
    "new_request_id",
    "outbound_headers",
    "request_id",
    "reset",
    "valid_request_id",
]

FORMATS = ("text", "json")
# X-Request-ID as accepted from a caller (a proxy, a portal): 1 to 128 of these characters,
# so a header can never smuggle a line break, a quote or personal data of any length.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
HEADER = "X-Request-ID"


@dataclass
class RequestContext:
    """The facts of the request being served, filled in as they become known (the route once
    Flask matched it, the portal once the request named it, the status at the end)."""

    request_id: str
    method: str
    route: str | None = None
    client_id: str | None = None


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "idp_request", default=None
)


def valid_request_id(value: str | None) -> bool:
    return bool(value) and REQUEST_ID.fullmatch(value or "") is not None


def new_request_id() -> str:
    return secrets.token_hex(16)


def bind(incoming: str | None, method: str) -> tuple[RequestContext, contextvars.Token[Any]]:
    """Start a request's context: the caller's ``X-Request-ID`` when it is valid, else a new
    one. Returns the context and the token to :func:`reset` it with."""
    rid = incoming if incoming and valid_request_id(incoming) else new_request_id()
    context = RequestContext(request_id=rid, method=method)
    return context, _current.set(context)


def reset(token: contextvars.Token[Any]) -> None:
    _current.reset(token)


def current() -> RequestContext | None:
    return _current.get()


def request_id() -> str | None:
    context = _current.get()
    return context.request_id if context else None


def outbound_headers() -> dict[str, str]:
    """``{"X-Request-ID": ...}`` inside a request (for a call the request makes to another
    service: a verifier gateway, a portal's logout endpoint), else nothing."""
    rid = request_id()
    return {HEADER: rid} if rid else {}


# The attributes every LogRecord has; anything else on a record came in through ``extra``.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _rfc3339(created: float) -> str:
    return (
        datetime.fromtimestamp(created, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _frames(exc_info: Any) -> list[str]:
    """The traceback as ``file:line in function`` (no source lines, no message)."""
    tb = exc_info[2] if exc_info and exc_info is not True else None
    return [
        f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in traceback.extract_tb(tb)
    ]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (RFC 3339, UTC), ``level``, ``logger``, ``message``,
    the request's ``request_id``, ``method``, ``route``, ``client_id`` when inside one, then the
    record's own fields (``extra=``), then ``exc_type`` and ``exc_frames`` for an error."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": _rfc3339(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _current.get()
        if context is not None:
            event["request_id"] = context.request_id
            event["method"] = context.method
            if context.route:
                event["route"] = context.route
            if context.client_id:
                event["client_id"] = context.client_id
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            error = record.exc_info[1]
            if error is not None:
                event["exc_type"] = f"{type(error).__module__}.{type(error).__qualname__}"
                event["exc_frames"] = _frames(record.exc_info)
        return orjson.dumps(event, default=str).decode()


class TextFormatter(logging.Formatter):
    """The development format: ``time level logger [request id] message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        line = super().formatMessage(record)
        context = _current.get()
        fields = [
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _RECORD_FIELDS and not key.startswith("_")
        ]
        if context is not None:
            known: list[tuple[str, str | None]] = [
                ("request_id", context.request_id),
                ("method", context.method),
                ("route", context.route),
                ("client_id", context.client_id),
            ]
            fields[:0] = [f"{key}={value}" for key, value in known if value]
        return " ".join([line, *fields])


def _formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configured() -> bool:
    """Whether :func:`configure` already ran in this process."""
    return any(getattr(handler, "_idp", False) for handler in logging.getLogger().handlers)


def configure(log_format: str = "text", level: str = "INFO") -> None:
    """Send every log record (the root logger's) to stderr in ``log_format``, once per process:
    a second call replaces the handler instead of adding one."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_idp", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._idp = True  # type: ignore[attr-defined]
    handler.setFormatter(_formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level.upper())


def granian_dictconfig(log_format: str) -> dict[str, Any]:
    """Granian's own loggers (``_granian``: start, workers, signals) in the same format, for
    ``idp serve``; its access log stays off, ours is written by ``idp.views.observe``."""
    formatter = {"()": f"{__name__}.{_formatter(log_format).__class__.__name__}"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"generic": formatter, "access": formatter},
        "handlers": {
            "console": {
                "formatter": "generic",
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "formatter": "access",
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }
