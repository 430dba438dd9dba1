"""Structured logs and the request id (issue 20, item 2; docs/operations.md, "Logs").

Every answer carries ``X-Request-ID`` (the caller's when it is valid, else a new one), the
discovery and JWKS documents served in front of Flask included; every request writes one
access line (logger ``idp.access``) with its route (the URL rule, never the path with its ids),
method, status, duration and portal; every record written during a request carries its id.
The lines are read as the operator's log shipper reads them: through the JSON formatter.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from idp.config import DEMO_REGISTRY, ConfigError, load_config
from idp.observability import logs

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
GENERATED = re.compile(r"[0-9a-f]{32}")


class Lines:
    """What a JSON handler on the root logger wrote, one event per line."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def access(self) -> list[dict[str, Any]]:
        return [event for event in self.events() if event["logger"] == "idp.access"]

    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def lines(app: Any) -> Iterator[Lines]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield Lines(stream)
    finally:
        root.removeHandler(handler)


def test_every_answer_carries_a_request_id(client: Any, make_app: Any) -> None:
    answers = {
        "page": client.get("/account/login"),
        "json error": client.post("/token", data={"grant_type": "password"}),
        "not found": client.get("/no/such/page"),
        "jwks fast path": client.get("/jwks.json"),
        "discovery fast path": client.get("/.well-known/openid-configuration"),
        "discovery through Flask": client.get("/.well-known/openid-configuration?x=1"),
    }
    # A store down: 503, still with its id.
    unreachable = make_app(REDIS_URL="redis://127.0.0.1:1/0").test_client()
    answers["503"] = unreachable.get("/readyz")
    assert answers["503"].status_code == 503
    ids = set()
    for name, response in answers.items():
        rid = response.headers.get("X-Request-ID")
        assert rid and GENERATED.fullmatch(rid), (name, rid)
        assert len(response.headers.getlist("X-Request-ID")) == 1, name
        ids.add(rid)
    assert len(ids) == len(answers)  # one per request


@pytest.mark.parametrize(
    "incoming, kept",
    [
        ("abc.DEF-123_x", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("has space", False),
        ('quote"d', False),
        ("名字", False),
    ],
)
def test_incoming_request_id_is_kept_only_when_valid(
    client: Any, incoming: str, kept: bool
) -> None:
    for path in ("/account/login", "/jwks.json"):
        answer = client.get(path, headers={"X-Request-ID": incoming})
        rid = answer.headers["X-Request-ID"]
        assert (rid == incoming) is kept, (path, rid)
        if not kept:
            assert GENERATED.fullmatch(rid)


def test_access_line_has_route_status_duration_and_portal(client: Any, lines: Lines) -> None:
    answer = client.get(
        "/authorize?client_id=portal-1&response_type=code&login_hint=13800131001&state=s3cr3t",
        headers={"X-Request-ID": "trace-1"},
    )
    client.get("/interaction/an-interaction-id")
    client.get("/jwks.json")
    access = lines.access()
    assert len(access) == 3
    first, interaction, jwks = access
    assert first["request_id"] == "trace-1" == answer.headers["X-Request-ID"]
    assert first["route"] == "/authorize"
    assert first["method"] == "GET"
    assert first["status"] == answer.status_code
    assert isinstance(first["duration_ms"], int | float) and first["duration_ms"] >= 0
    assert first["client_id"] == "portal-1"
    assert first["level"] == "info" and first["message"] == "request"
    assert RFC3339_UTC.fullmatch(first["time"])
    # The URL rule, not the path with its ids; the fast path's fixed path.
    assert interaction["route"] == "/interaction/<interaction_id>"
    assert jwks["route"] == "/jwks.json" and jwks["status"] == 200
    # Nothing of the query string.
    for value in ("13800131001", "s3cr3t", "an-interaction-id", "login_hint"):
        assert value not in lines.text()


def test_portal_from_http_basic_on_the_token_endpoint(client: Any, lines: Lines) -> None:
    client.post(
        "/token",
        data={"grant_type": "authorization_code", "code": "nope"},
        headers={"Authorization": "Basic cG9ydGFsLTI6c2VjcmV0LXZhbHVl"},  # portal-2:secret-value
    )
    (line,) = lines.access()
    assert line["route"] == "/token" and line["client_id"] == "portal-2"
    assert "secret-value" not in lines.text()


def test_records_written_during_a_request_carry_its_id(
    client: Any, user: dict[str, str], lines: Lines
) -> None:
    page = client.get("/account/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert token
    answer = client.post(
        "/account/login",
        data={"csrf_token": token.group(1), "username": user["username"], "password": "wrong!"},
        headers={"X-Request-ID": "failed-login-1"},
    )
    events = [e for e in lines.events() if e.get("request_id") == "failed-login-1"]
    assert answer.headers["X-Request-ID"] == "failed-login-1"
    assert any(e["logger"] != "idp.access" for e in events), events  # the audit line
    assert all(e["route"] == "/account/login" for e in events)
    assert "wrong!" not in lines.text()


def test_an_error_names_its_exception_type_but_not_its_text() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("tests.ops.errors")
    logger.addHandler(handler)
    context, token = logs.bind("req-9", "POST")
    context.route = "/token"
    try:
        try:
            raise ValueError("parameters: ('13800131001', '张三')")
        except ValueError:
            logger.exception("store error", extra={"store": "sql"})
    finally:
        logs.reset(token)
        logger.removeHandler(handler)
    event = json.loads(stream.getvalue())
    assert event["exc_type"] == "builtins.ValueError"
    assert event["exc_frames"] and all(" in " in frame for frame in event["exc_frames"])
    assert event["store"] == "sql" and event["request_id"] == "req-9"
    assert event["route"] == "/token" and event["level"] == "error"
    assert "13800131001" not in stream.getvalue() and "张三" not in stream.getvalue()
    assert logs.request_id() is None  # unbound again


def test_text_format_is_the_development_default_and_json_the_production_one() -> None:
    assert load_config().LOG_FORMAT == "text"  # the suite runs IDP_ENV=development
    production = load_config(
        {
            "ENV": "production",
            "ISSUER": "https://login.example.gov.cn",
            "SECRET_KEY": "x" * 48,
            "AUTHORITY_NAME": "示例市政务服务管理机构",
            "REGISTRY_FILE": str(DEMO_REGISTRY),
            "SMS_SENDER": "outbox",
        }
    )
    assert production.LOG_FORMAT == "json"
    assert load_config({"LOG_FORMAT": "json"}).LOG_FORMAT == "json"
    with pytest.raises(ConfigError, match="IDP_LOG_FORMAT"):
        load_config({"LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="IDP_LOG_LEVEL"):
        load_config({"LOG_LEVEL": "LOUD"})


def test_text_lines_carry_the_request_id() -> None:
    record = logging.makeLogRecord({"name": "idp.x", "levelname": "INFO", "msg": "hello"})
    context, token = logs.bind("text-1", "GET")
    try:
        line = logs.TextFormatter().format(record)
    finally:
        logs.reset(token)
    assert "hello" in line and "request_id=text-1" in line and "method=GET" in line
    assert sys.stderr  # the handler of configure() writes there


def test_the_request_id_goes_on_to_the_verifier_gateway() -> None:
    from tests.verifiers.helpers import Gateway, http_verifier

    gateway = Gateway()
    try:
        verifier = http_verifier(gateway)
        elements = {"name": "张三", "id_number": "110105198503120178"}
        _context, token = logs.bind("outbound-7", "POST")
        try:
            verifier.verify("two_elements", elements)
        finally:
            logs.reset(token)
        verifier.verify("two_elements", elements)  # outside a request: no id to pass on
    finally:
        gateway.stop()
    inside, outside = gateway.calls
    assert inside.headers.get("X-Request-ID") == "outbound-7"
    assert "X-Request-ID" not in outside.headers
