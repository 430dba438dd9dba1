"""Prometheus metrics under ``idp serve`` with two Granian workers (issue 20, "Done when").

A real server in multiprocess mode: a login, a token refresh and a failed login are driven over
HTTP, then ``/metrics`` is scraped with its bearer token and parsed with prometheus-client's own
parser; the counters must have moved by exactly what was driven, whichever worker answered
each request. Without the token, /metrics is refused.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.server import ProviderServer, free_port
from tests.e2e.test_relying_party_library import PASSWORD, SCOPE, USERNAME, run_code_flow
from tests.support import csrf_token

TOKEN = "metrics-token-for-the-test-0123456789abcdef"
REDIRECT = "https://portal.example.gov.cn/oidc/callback"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def server() -> Iterator[ProviderServer]:
    provider = ProviderServer(
        workers=2, threads=4, IDP_METRICS_TOKEN=TOKEN, IDP_METRICS_PORT=str(free_port())
    )
    # The operator's folder: `idp serve` empties it at start (a previous start's values, or
    # anything else, must not be added to this one's).
    multiproc = provider.tmp / "metrics"
    multiproc.mkdir()
    (multiproc / "counter_1.db").write_bytes(b"left by a previous start")
    provider.settings["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
    try:
        provider.start()
        provider.idp("users", "create", "--username", USERNAME, "--password", PASSWORD)
        yield provider
    finally:
        provider.stop()


def scrape(server: ProviderServer) -> Samples:
    response = requests.get(
        f"{server.issuer}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def worker_pids(server: ProviderServer) -> set[str]:
    """The processes that wrote values (``counter_<pid>.db``, ``histogram_<pid>.db``, ...)."""
    folder = server.tmp / "metrics"
    return {p.stem.rsplit("_", 1)[1] for p in folder.glob("*.db")} - {"1"}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_move_with_logins_refreshes_and_failures(server):
    before = scrape(server)
    portal = server.idp_json(
        "clients", "create", "--name", "Metrics portal", "--redirect-uri", REDIRECT, "--json"
    )
    client_id = portal["client_id"]
    discovery = requests.get(f"{server.issuer}/.well-known/openid-configuration", timeout=10).json()
    with OAuth2Session(
        client_id,
        portal["client_secret"],
        scope=SCOPE,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    ) as rp:
        token, _claims = run_code_flow(rp, discovery, REDIRECT)
        rp.refresh_token(discovery["token_endpoint"], refresh_token=token["refresh_token"])

    # A failed login: the user space's login form with a wrong password.
    with requests.Session() as browser:
        page = browser.get(f"{server.issuer}/account/login", timeout=10)
        refused = browser.post(
            f"{server.issuer}/account/login",
            data={
                "csrf_token": csrf_token(page.text),
                "username": USERNAME,
                "password": "not the password at all",
            },
            allow_redirects=False,
            timeout=10,
        )
        assert refused.status_code in (200, 400, 401), refused.status_code

    # Both workers must have answered something (the kernel spreads new connections between
    # them, but under load one may take them all for a while): a few more requests until both
    # have counted, so that the sum below is a sum over two processes.
    for _ in range(200):
        if len(worker_pids(server)) >= server.workers:
            break
        requests.get(f"{server.issuer}/healthz", timeout=10)
    after = scrape(server)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("idp_logins_total", method="password", outcome="success") == 1
    assert moved("idp_logins_total", method="password", outcome="invalid") == 1
    assert (
        moved("idp_tokens_issued_total", grant_type="authorization_code", client_id=client_id) == 1
    )
    assert moved("idp_tokens_issued_total", grant_type="refresh_token", client_id=client_id) == 1
    assert moved("idp_consents_total", action="given") == 1
    # Requests by endpoint and status, counted in both workers and added up: the token endpoint
    # answered twice (code and refresh), the first scrape once.
    assert (
        moved("idp_http_requests_total", endpoint="token.token", method="POST", status="200") == 2
    )
    assert (
        value(
            after,
            "idp_http_requests_total",
            endpoint="metrics.exposition",
            method="GET",
            status="200",
        )
        >= 1
    )
    assert moved("idp_http_request_duration_seconds_count", endpoint="token.token") == 2
    # Never a raw path as a label: every endpoint label is a Flask endpoint name.
    endpoints = {dict(ls).get("endpoint") for (n, ls) in after if n == "idp_http_requests_total"}
    assert all("/" not in e for e in endpoints if e), endpoints
    # Multiprocess mode: the workers' values are files in the folder, one set per process; the
    # file left by "a previous start" was removed.
    assert "counter_1.db" not in {p.name for p in (server.tmp / "metrics").iterdir()}
    assert len(worker_pids(server)) == server.workers, sorted(worker_pids(server))
    # Scrape-time gauges, read from the stores when scraped.
    assert ("idp_disclosure_chain_queue", ()) in after
    assert value(after, "idp_signing_key_age_seconds", alg="RS256") >= 0
    assert ("idp_backchannel_queue", (("status", "pending"),)) in after


def test_the_metrics_port_of_the_master_adds_up_the_workers(server):
    """IDP_METRICS_PORT: the master's own HTTP server reads the same files, without a token."""
    port = server.settings["IDP_METRICS_PORT"]
    answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert answer.status_code == 200
    names = {f.name for f in text_string_to_metric_families(answer.text)}
    assert {"idp_http_requests", "idp_disclosure_chain_queue"} <= names, names
    on_port = {
        tuple(sorted(s.labels.items())): s.value
        for f in text_string_to_metric_families(answer.text)
        if f.name == "idp_http_requests"
        for s in f.samples
    }
    healthz = (("endpoint", "health.healthz"), ("method", "GET"), ("status", "200"))
    before = on_port.get(healthz, 0.0)
    assert requests.get(f"{server.issuer}/healthz", timeout=10).status_code == 200
    again = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    series = 'idp_http_requests_total{endpoint="health.healthz",method="GET",status="200"}'
    assert f"{series} {before + 1}" in again


def test_metrics_refused_without_the_token(server):
    bare = requests.get(f"{server.issuer}/metrics", timeout=10)
    assert bare.status_code == 401
    assert bare.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = requests.get(
        f"{server.issuer}/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10
    )
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert "idp_" not in bare.text + wrong.text


# -- in one process (tests, `flask run`): the plain registry ------------------------------------
def test_development_without_a_token_serves_metrics(client):
    client.get("/healthz")
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert 'idp_http_requests_total{endpoint="health.healthz",method="GET",status="200"}' in (
        answer.get_data(as_text=True)
    )


def test_a_configured_token_is_required_in_process(make_app):
    app = make_app(METRICS_TOKEN=TOKEN)
    browser = app.test_client()
    assert browser.get("/metrics").status_code == 401
    basic = browser.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    good = browser.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert good.status_code == 200
    assert good.headers["Cache-Control"] == "no-store"


def test_production_without_a_token_has_no_metrics(make_app):
    from idp.config import DEMO_REGISTRY

    app = make_app(
        ENV="production",
        ISSUER="https://login.example.gov.cn",
        AUTHORITY_NAME="杭州市政务服务管理机构",
        REGISTRY_FILE=str(DEMO_REGISTRY),
        SMS_SENDER="outbox",
        BACKCHANNEL_DISPATCHER=False,
    )
    browser = app.test_client()
    browser.environ_base["wsgi.url_scheme"] = "https"
    assert browser.get("/metrics").status_code == 404


def test_a_short_token_is_refused_at_start_up(make_app):
    from idp.config import ConfigError

    with pytest.raises(ConfigError, match="IDP_METRICS_TOKEN"):
        make_app(METRICS_TOKEN="short")
