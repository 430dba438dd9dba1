"""The HTTP verifier: each check POSTed to an authoritative gateway, with retries and a circuit
breaker per check; anything but a clear answer is ``unavailable``, never ``match``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests

from idp.errors import IdpError
from idp.identity.verifiers.checks import (
    CHECKS,
    DETAIL_KEYS,
    SOURCES,
    Result,
    Verdict,
    now,
    prepare_elements,
)
from idp.observability import logs, metrics

log = logging.getLogger(__name__)

CLOSED, TRIAL = "closed", "trial"


class _Breaker:
    """A circuit breaker for one check (closed -> open -> half-open), safe across threads.

    After ``threshold`` consecutive unavailable answers it opens: calls are refused without
    reaching the source for ``cooldown`` seconds. Then one trial call is let through (half-open);
    its success closes the breaker, its failure opens it for another cooldown.
    """

    def __init__(self, check: str, threshold: int, cooldown: float) -> None:
        self.check = check
        self.threshold = threshold
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    def admit(self) -> str | None:
        """``CLOSED`` or ``TRIAL`` when a call may go to the source, None while open."""
        with self._lock:
            if self._opened_at is None:
                return CLOSED
            if self._trial_running or time.monotonic() - self._opened_at < self.cooldown:
                return None
            self._trial_running = True
            return TRIAL

    def record(self, permit: str, available: bool) -> None:
        with self._lock:
            trial = permit == TRIAL
            if trial:
                self._trial_running = False
            if available:
                if self._opened_at is not None:
                    log.info("identity verifier %s: circuit closed", self.check)
                    metrics.set_circuit(self.check, False)
                self._failures = 0
                self._opened_at = None
                return
            self._failures += 1
            if trial or (self._opened_at is None and self._failures >= self.threshold):
                self._opened_at = time.monotonic()
                metrics.set_circuit(self.check, True)
                log.warning(
                    "identity verifier %s: circuit open for %s s after %d unavailable answer(s)",
                    self.check,
                    self.cooldown,
                    self._failures,
                )


class _Unavailable(IdpError):
    """The gateway gave no usable answer (``reason`` is for the log); ``retry``: worth trying
    again at once."""

    code = "verifier_unavailable"
    status = 503

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(detail=reason)
        self.reason = reason
        self.retry = retry


class HttpVerifier:
    """POSTs ``{"check", "elements"}`` to an authoritative gateway (docs/registry.md).

    ``url`` may contain ``{check}``, replaced by the check name (one endpoint per element set).
    Connection failures and 5xx answers are retried up to ``retries`` times (waits of 0.2 s,
    0.4 s, ...); a read timeout is not retried, because the source may already have answered (and
    billed) the call. Anything but a well-formed ``match`` / ``no_match`` answer is
    ``unavailable``, and feeds the check's circuit breaker.
    """

    BACKOFF_SECONDS = 0.2

    def __init__(
        self,
        url: str,
        *,
        token: str = "",
        timeout: float = 5,
        retries: int = 2,
        breaker_failures: int = 5,
        breaker_cooldown: float = 30,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the verifier gateway URL must be an http(s) URL")
        self.url = url
        self.token = token
        self.timeout = timeout
        self.retries = max(0, retries)
        self._breakers = {
            check: _Breaker(check, max(1, breaker_failures), breaker_cooldown) for check in CHECKS
        }

    def verify(self, check: str, elements: Mapping[str, str]) -> Verdict:
        submitted = prepare_elements(check, elements)
        breaker = self._breakers[check]
        permit = breaker.admit()
        if permit is None:
            return self._verdict(check, Result.UNAVAILABLE, None, {"reason": "circuit_open"})
        try:
            result, reference, detail = self._call(check, submitted)
        except _Unavailable as exc:
            breaker.record(permit, available=False)
            return self._verdict(check, Result.UNAVAILABLE, None, {"reason": exc.reason})
        breaker.record(permit, available=True)
        return self._verdict(check, result, reference, detail)

    def _verdict(
        self, check: str, result: Result, reference: str | None, detail: dict[str, Any]
    ) -> Verdict:
        metrics.count_verifier_call("gateway", check, result.value)
        return Verdict(
            check=check,
            result=result,
            source=SOURCES[check],
            elements=CHECKS[check],
            reference=reference,
            checked_at=now(),
            detail=detail,
        )

    def _call(
        self, check: str, submitted: dict[str, str]
    ) -> tuple[Result, str | None, dict[str, Any]]:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(check, submitted)
            except _Unavailable as exc:
                log.warning(
                    "identity verifier %s: unavailable (%s), attempt %d of %d",
                    check,
                    exc.reason,
                    attempt,
                    attempts,
                )
                if not exc.retry or attempt == attempts:
                    raise
            time.sleep(self.BACKOFF_SECONDS * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self, check: str, submitted: dict[str, str]
    ) -> tuple[Result, str | None, dict[str, Any]]:
        headers = {"Accept": "application/json", **logs.outbound_headers()}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = requests.post(
                self.url.replace("{check}", check),
                json={"check": check, "elements": submitted},
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.ConnectionError as exc:
            # ConnectTimeout is both a ConnectionError and a Timeout: nothing reached the source.
            raise _Unavailable(f"network: {type(exc).__name__}", retry=True) from None
        except requests.Timeout:
            raise _Unavailable("timeout", retry=False) from None
        except requests.RequestException as exc:
            raise _Unavailable(f"request: {type(exc).__name__}", retry=False) from None
        if response.status_code >= 500:
            raise _Unavailable(f"status {response.status_code}", retry=True)
        if not 200 <= response.status_code < 300:
            raise _Unavailable(f"status {response.status_code}", retry=False)
        return _parse_answer(response)


def _parse_answer(response: requests.Response) -> tuple[Result, str | None, dict[str, Any]]:
    """``{"result": "match" | "no_match", "reference": str, "detail": {...}}``, or unavailable."""
    try:
        answer = response.json()
    except ValueError:
        raise _Unavailable("answer is not JSON", retry=False) from None
    if not isinstance(answer, dict):
        raise _Unavailable("answer is not a JSON object", retry=False)
    result = answer.get("result")
    if result not in (Result.MATCH.value, Result.NO_MATCH.value):
        raise _Unavailable("answer has no match / no_match result", retry=False)
    reference = answer.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise _Unavailable("answer has a reference that is not a string", retry=False)
    detail = answer.get("detail", {})
    if detail is None:
        detail = {}
    if not isinstance(detail, dict):
        raise _Unavailable("answer has a detail that is not an object", retry=False)
    kept = {
        key: value for key, value in detail.items() if key in DETAIL_KEYS and isinstance(value, str)
    }
    return Result(result), reference or None, kept
