"""Prometheus metrics: in-process counters, served at ``/metrics`` (docs/operations.md#metrics).

Every count is a write to process memory (single process) or to a memory-mapped file
(multiprocess): never a database or Redis round trip, so a request costs what it cost before
(tests/ops/test_request_costs.py). Queue depths and the signing key's age are read when scraped,
by :class:`ScrapeTimeCollector`, not on requests.

Multiprocess mode: ``idp serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` to a fresh folder before
Granian starts its workers; each worker writes its values there and ``/metrics`` (any worker)
adds them up with prometheus-client's ``MultiProcessCollector``. Granian forks its workers from a
master that has already imported this module, so the metric objects are built lazily, once per
process (:func:`_metrics` checks the pid), with the value class chosen then from the environment.

Labels are bounded and never personal: an endpoint is a Flask endpoint name (never a raw path),
a portal is its ``client_id`` (registered portals only), a check is a name from the verifiers'
table, an outcome a fixed word.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds; the provider's own pages and token calls answer in milliseconds, argon2 in ~50 ms.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Metrics:
    """The metric objects of one process, registered in a registry of their own (the single
    process exposition; in multiprocess mode the files are read instead)."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        # Chosen now, in this process, not when prometheus_client was first imported (the master).
        values.ValueClass = values.get_value_class()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "idp_http_requests",
            "HTTP requests answered, by Flask endpoint, method and status",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "idp_http_request_duration_seconds",
            "Time to answer a request, by Flask endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.logins = Counter(
            "idp_logins",
            "Login attempts, by method (password, sms, scan) and outcome (success or the reason)",
            ["method", "outcome"],
            registry=r,
        )
        self.registrations = Counter(
            "idp_registrations",
            "Registrations, by kind (person, company) and result",
            ["kind", "result"],
            registry=r,
        )
        self.verifications = Counter(
            "idp_verifications",
            "Identity verifications, by check and result (match, mismatch, unavailable, ...)",
            ["check", "result"],
            registry=r,
        )
        self.tokens = Counter(
            "idp_tokens_issued",
            "Tokens issued by the token endpoint, by grant type and portal; "
            'refreshes are grant_type="refresh_token"',
            ["grant_type", "client_id"],
            registry=r,
        )
        self.consents = Counter(
            "idp_consents", "Consents given and withdrawn", ["action"], registry=r
        )
        self.disclosures = Counter(
            "idp_disclosures",
            "Personal data disclosures recorded in the disclosure log, by channel",
            ["channel"],
            registry=r,
        )
        self.sms = Counter(
            "idp_sms",
            "SMS handed to the gateway by the outbox sender, by result",
            ["result"],
            registry=r,
        )
        self.verifier_calls = Counter(
            "idp_verifier_calls",
            "Calls to the identity registry or verification gateway, by verifier, check, result",
            ["verifier", "check", "result"],
            registry=r,
        )
        self.circuit_open = Gauge(
            "idp_verifier_circuit_open",
            "1 while a check's circuit breaker is open in some worker",
            ["check"],
            multiprocess_mode="max",
            registry=r,
        )
        self.backchannel = Counter(
            "idp_backchannel_deliveries",
            "Back-channel logout delivery attempts, by result (delivered, failed, abandoned)",
            ["result"],
            registry=r,
        )
        self.store_errors = Counter(
            "idp_store_errors",
            "Requests answered 503 because a store failed, by store (database, redis)",
            ["store"],
            registry=r,
        )

    def exposition(self, extra: Iterable[Collector] = ()) -> bytes:
        """The text format of every worker's values (multiprocess) or of this process's."""
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = CollectorRegistry()
            registry.register(_Delegate(self.registry))
        for collector in extra:
            registry.register(collector)
        return generate_latest(registry)


class _Delegate(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Any]:
        return self._registry.collect()


_lock = threading.Lock()
_current: tuple[int, _Metrics] | None = None


def _metrics() -> _Metrics:
    global _current
    current = _current
    pid = os.getpid()
    if current is not None and current[0] == pid:
        return current[1]
    with _lock:
        if _current is None or _current[0] != pid:
            _current = (pid, _Metrics())
        return _current[1]


# -- counting (called where the events happen) ---------------------------------------------------
def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    m = _metrics()
    m.requests.labels(endpoint, method, str(status)).inc()
    m.latency.labels(endpoint).observe(seconds)


def count_login(method: str, outcome: str) -> None:
    _metrics().logins.labels(method, outcome).inc()


def count_registration(kind: str, result: str) -> None:
    _metrics().registrations.labels(kind, result).inc()


def count_verification(check: str, result: str) -> None:
    _metrics().verifications.labels(check, result).inc()


def count_token(grant_type: str, client_id: str) -> None:
    _metrics().tokens.labels(grant_type, client_id).inc()


def count_consent(action: str) -> None:
    _metrics().consents.labels(action).inc()


def count_disclosure(channel: str) -> None:
    _metrics().disclosures.labels(channel).inc()


def count_sms(result: str) -> None:
    _metrics().sms.labels(result).inc()


def count_verifier_call(verifier: str, check: str, result: str) -> None:
    _metrics().verifier_calls.labels(verifier, check, result).inc()


def set_circuit(check: str, is_open: bool) -> None:
    _metrics().circuit_open.labels(check).set(1 if is_open else 0)


def count_backchannel(result: str) -> None:
    _metrics().backchannel.labels(result).inc()


def count_store_error(store: str) -> None:
    _metrics().store_errors.labels(store).inc()


# -- scraping -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScrapeGauge:
    """A gauge read when Prometheus scrapes: ``read`` returns a number, or ``{label value:
    number}`` when ``label`` is set, or ``None`` to leave the gauge out of this scrape."""

    name: str
    documentation: str
    read: Callable[[], float | dict[str, float] | None]
    label: str | None = None


class ScrapeTimeCollector(Collector):
    """Gauges read at scrape time from callables the composition root hands in (one cheap
    ``COUNT`` each, off the request path). A gauge that cannot be read (a store down) is left
    out: the scrape still answers, and ``idp_store_errors`` and ``/readyz`` tell the outage."""

    def __init__(self, gauges: Iterable[ScrapeGauge], after: Callable[[], None] = lambda: None):
        self._gauges = list(gauges)
        self._after = after  # releases what the reads opened (the thread's database session)

    def collect(self) -> Iterable[Any]:
        try:
            for gauge in self._gauges:
                try:
                    found = gauge.read()
                except Exception:  # noqa: BLE001 - left out of this scrape, not a failed scrape
                    found = None
                if found is None:
                    continue
                if gauge.label is None:
                    assert not isinstance(found, dict)
                    yield GaugeMetricFamily(gauge.name, gauge.documentation, value=found)
                    continue
                assert isinstance(found, dict)
                family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=[gauge.label])
                for label, value in sorted(found.items()):
                    family.add_metric([label], value)
                yield family
        finally:
            self._after()


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """The ``/metrics`` body: every counter (of every worker) and the scrape-time gauges."""
    return _metrics().exposition(extra)


def prepare_multiprocess_dir(path: str) -> None:
    """``idp serve``: a fresh folder for this server's workers (emptied: counters of a previous
    start must not be added to this one's), named in the environment the workers inherit."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.environ[MULTIPROC_ENV] = path


def serve_on_port(port: int, address: str, extra: Iterable[Collector] = ()) -> None:
    """``IDP_METRICS_PORT``: the same exposition on a port of its own, from a thread of the
    serving master (prometheus-client's own HTTP server), reading the workers' files; no token
    there: the port is for the operators' network only (docs/operations.md#metrics)."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Delegate(_metrics().registry))
    for collector in extra:
        registry.register(collector)
    start_http_server(port, addr=address, registry=registry)
