"""OpenTelemetry traces: off unless the standard ``OTEL_*`` variables ask for them.

Following the SDK's environment specification, tracing is on when ``OTEL_TRACES_EXPORTER``
names an exporter other than ``none`` or an OTLP endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT``
or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), and ``OTEL_SDK_DISABLED`` is not ``true``. The
exporters are ``otlp`` (HTTP/protobuf, the default; endpoint, headers and timeout from the
``OTEL_EXPORTER_OTLP_*`` variables) and ``console``; the sampler comes from
``OTEL_TRACES_SAMPLER``, the resource from ``OTEL_SERVICE_NAME`` (default ``idp``) and
``OTEL_RESOURCE_ATTRIBUTES``.

The packages are the optional ``otel`` extra (``pip install 'idp[otel]'``); nothing here
imports them unless tracing is on. The application factory builds one provider per worker
process, and instruments the stores it is handed (:func:`instrument_stores`) and, in the web
layer, Flask (``idp.views.observe``). What a span may carry: SQL statements with their
placeholders (never the parameters: the SQLAlchemy instrumentation records none, and its
SQL commenter stays off), Redis commands with every argument replaced by ``?``, the route and
the request id; never a query string's values (see ``idp.views.observe``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["enabled", "instrument_stores", "tracer_provider"]

SERVICE_NAME = "idp"


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _exporter_names(environ: Mapping[str, str]) -> list[str]:
    names = [n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "").split(",")]
    return [n for n in names if n]


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether the environment asks for traces (see the module's docstring)."""
    if _true(environ.get("OTEL_SDK_DISABLED")):
        return False
    names = _exporter_names(environ)
    if names:
        return names != ["none"]
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def tracer_provider(environ: Mapping[str, str], exporter: Any = None) -> Any:
    """A ``TracerProvider`` when traces are on, else None. ``exporter`` (a span exporter given
    by a test through ``Config.extra["span_exporter"]``) turns traces on with only that
    exporter, on a provider of its own; otherwise the provider is also installed as the
    process's global one (the first time)."""
    if exporter is None and not enabled(environ):
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:  # pragma: no cover - the extra is installed by the test extras
        raise RuntimeError(
            "OpenTelemetry is configured (OTEL_*) but its packages are missing: "
            "pip install 'idp[otel]'"
        ) from exc
    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(attributes))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return provider
    for name in _exporter_names(environ) or ["otlp"]:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        elif name != "none":
            raise RuntimeError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (otlp, console)")
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    return provider


def instrument_stores(provider: Any, engines: list[Any], redis_client: Any) -> None:
    """Child spans for every SQL statement of ``engines`` and every Redis command of
    ``redis_client``, on ``provider`` (these objects only: nothing process-wide is patched)."""
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import __version__
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter
    from opentelemetry.trace import get_tracer

    name = "opentelemetry.instrumentation.sqlalchemy"
    tracer = get_tracer(name, __version__, provider)
    usage = get_meter(name, __version__).create_up_down_counter(
        name="db.client.connections.usage", unit="connections"
    )
    for engine in engines:
        # enable_commenter=False: no SQL comments, no statement text beyond the placeholders.
        EngineTracer(tracer, engine, usage, enable_commenter=False)
    RedisInstrumentor.instrument_client(redis_client, tracer_provider=provider)
