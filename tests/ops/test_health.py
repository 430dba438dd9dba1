"""Liveness and readiness probes for the orchestrator."""

from __future__ import annotations


def test_healthz_answers_ok(client):
    """Liveness: the process answers, whatever the stores do."""
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_database_and_redis_ok(client):
    """Readiness: both stores reachable; never cached."""
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    assert "no-store" in response.headers["Cache-Control"]
