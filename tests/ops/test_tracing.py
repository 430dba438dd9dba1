"""OpenTelemetry traces (issue 20, item 3; docs/operations.md, "Traces").

Off unless the standard variables ask for them; when on, a request is a Flask server span
with a child span per SQL statement and per Redis command, carrying the request id and no
query-string value. The test's exporter is the in-memory one of the SDK, handed to the
application through ``Config.extra["span_exporter"]`` (the settings' hook for tests).
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from idp.observability import traces


@pytest.mark.parametrize(
    "environ, on",
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "idp"}, False),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "TRUE"}, False),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "false"}, True),
    ],
)
def test_enabled_by_the_standard_variables(environ: dict[str, str], on: bool) -> None:
    assert traces.enabled(environ) is on
    if not on:
        assert traces.tracer_provider(environ) is None


def test_off_by_default(app: Any) -> None:
    """The suite's application was built without OTEL_* settings: no provider, no Flask
    instrumentation, no global provider."""
    assert app.extensions["idp.tracer_provider"] is None
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def test_a_request_is_a_server_span_with_sql_and_redis_children(make_app: Any) -> None:
    exporter = InMemorySpanExporter()
    application = make_app(extra={"span_exporter": exporter})
    client = application.test_client()
    answer = client.get("/readyz?login_hint=13800131001", headers={"X-Request-ID": "trace-me"})
    assert answer.status_code == 200
    spans = exporter.get_finished_spans()
    (server,) = [span for span in spans if span.kind == SpanKind.SERVER]
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/readyz"
    assert server.attributes["idp.request_id"] == "trace-me" == answer.headers["X-Request-ID"]
    children = [
        span
        for span in spans
        if span.parent is not None and span.parent.span_id == server.context.span_id
    ]
    systems = {str((span.attributes or {}).get("db.system")) for span in children}
    assert "redis" in systems, systems
    assert systems - {"redis"}, systems  # the SQL engine's (sqlite or postgresql)
    # No query-string value, no statement parameter, in any span.
    for span in spans:
        for value in (span.attributes or {}).values():
            assert "13800131001" not in str(value), (span.name, value)
    # Nothing process-wide: the global provider stays the API's proxy.
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
