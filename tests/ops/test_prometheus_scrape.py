"""The shipped Prometheus and Grafana files (deploy/), checked by the tools that read them.

- ``promtool check config`` and ``promtool check rules`` on the shipped scrape configuration and
  alert rules, and every metric they name is one the provider exports; ``promtool test rules``
  with the cases in ``prometheus_alerts_test.yml``;
- a real Prometheus started with the shipped scrape configuration, changed only in the target's
  address, the token file and the intervals (1 s, to stay fast), scrapes a running ``idp serve``:
  the target is up and a request counter is there (its HTTP API, /api/v1/targets and
  /api/v1/query);
- the Grafana dashboard is valid JSON whose panels query metrics the provider exports.

Without the ``prometheus`` and ``promtool`` binaries (Debian's package ``prometheus``) those
tests are skipped locally and fail under CI, which installs them (.ci/run).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.server import ProviderServer, free_port

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "idp.json"
GRAFANA_PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
TOKEN = "scrape-test-metrics-token-0123456789abcdef"
# In the shipped file: what a test (or an operator elsewhere than the compose stack) changes.
SHIPPED_TARGET = '"idp:8000"'
SHIPPED_TOKEN_FILE = "credentials_file: /run/secrets/idp-metrics-token"
SHIPPED_INTERVALS = ("scrape_interval: 15s", "evaluation_interval: 15s")


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        reason = f"needs {name} (Debian package prometheus)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must install it: {reason}")
        pytest.skip(reason)
    return found


def render_config(folder: Path, target: str, token: str) -> Path:
    """The shipped prometheus.yml with only the target, the token file and the intervals
    changed, beside a copy of the shipped alerts.yml (the config names it relatively)."""
    text = (PROMETHEUS_DIR / "prometheus.yml").read_text()
    token_file = folder / "metrics-token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    changes = [
        (SHIPPED_TARGET, f'"{target}"'),
        (SHIPPED_TOKEN_FILE, f"credentials_file: {token_file}"),
    ]
    changes += [(line, line.replace("15s", "1s")) for line in SHIPPED_INTERVALS]
    for old, new in changes:
        assert text.count(old) == 1, f"the shipped prometheus.yml no longer has {old} once"
        text = text.replace(old, new)
    shutil.copyfile(PROMETHEUS_DIR / "alerts.yml", folder / "alerts.yml")
    rendered = folder / "prometheus.yml"
    rendered.write_text(text)
    return rendered


def exported_metric_names(app) -> set[str]:  # type: ignore[no-untyped-def]
    """Every metric family the provider can export, from a single-process app's /metrics after
    one count of each kind, plus the suffixes Prometheus derives (_total, _bucket, ...)."""
    from prometheus_client.parser import text_string_to_metric_families

    from idp.observability import metrics

    # One series of each counter, so that each family shows up in the exposition.
    metrics.observe_request("health.healthz", "GET", 200, 0.001)
    metrics.count_login("password", "success")
    metrics.count_registration("person", "registered")
    metrics.count_verification("registry", "match")
    metrics.count_token("authorization_code", "portal")
    metrics.count_consent("given")
    metrics.count_disclosure("id_token")
    metrics.count_sms("sent")
    metrics.count_verifier_call("gateway", "registry", "match")
    metrics.set_circuit("registry", False)
    metrics.count_backchannel("delivered")
    metrics.count_store_error("redis")
    text = app.test_client().get("/metrics").get_data(as_text=True)
    names = set()
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
        names.add(family.name)
    return names


def queried_metrics(expression: str) -> set[str]:
    return set(re.findall(r"\b(idp_[a-z_]+|up)\b", expression))


@pytest.fixture
def token_folder(tmp_path: Path) -> Path:
    return tmp_path


def test_shipped_config_and_rules_pass_promtool(token_folder, app):
    promtool = binary("promtool")
    rendered = render_config(token_folder, "127.0.0.1:8000", TOKEN)
    checked = subprocess.run(
        [promtool, "check", "config", str(rendered)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = subprocess.run(
        [promtool, "check", "rules", str(PROMETHEUS_DIR / "alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr
    exported = exported_metric_names(app) | {"up"}
    alerts = (PROMETHEUS_DIR / "alerts.yml").read_text()
    expressions = re.findall(r"expr: \|?\n?((?:.|\n)*?)\n        (?:for|labels):", alerts)
    assert len(expressions) == alerts.count("- alert:")
    for expression in expressions:
        unknown = queried_metrics(expression) - exported
        assert not unknown, f"alert rule queries metrics the provider does not export: {unknown}"


def test_alert_rules_fire_as_documented(tmp_path):
    """``promtool test rules``: store down, target down, a login failure spike (and none for
    many successful logins), a 5xx ratio, on synthetic series."""
    promtool = binary("promtool")
    shutil.copyfile(PROMETHEUS_DIR / "alerts.yml", tmp_path / "alerts.yml")
    cases = tmp_path / "alerts_test.yml"
    shutil.copyfile(Path(__file__).with_name("prometheus_alerts_test.yml"), cases)
    tested = subprocess.run(
        [promtool, "test", "rules", str(cases)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_dashboard_is_valid_and_queries_exported_metrics(app):
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    titles = " ".join(p["title"] for p in panels).lower()
    for wanted in ("requests", "latency", "logins", "error", "queues"):
        assert wanted in titles, wanted
    exported = exported_metric_names(app)
    for panel in panels:
        assert panel["datasource"]["uid"] == "prometheus"
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            unknown = queried_metrics(target["expr"]) - exported
            assert not unknown, f"{panel['title']}: not exported: {unknown}"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    # The provisioned data source is the uid the panels name.
    datasource = (GRAFANA_PROVISIONING / "datasources" / "prometheus.yml").read_text()
    assert "uid: prometheus" in datasource and "url: http://prometheus:9090" in datasource


# -- a real Prometheus against a running idp ------------------------------------------------------
@pytest.fixture(scope="module")
def provider_server() -> Iterator[ProviderServer]:
    server = ProviderServer(workers=1, threads=2, IDP_METRICS_TOKEN=TOKEN)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def prometheus(tmp_path: Path, provider_server: ProviderServer) -> Iterator[str]:
    executable = binary("prometheus")
    rendered = render_config(tmp_path, f"127.0.0.1:{provider_server.port}", TOKEN)
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            executable,
            f"--config.file={rendered}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def wait_for(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last:
                return last
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.25)
    raise AssertionError(f"{what} not seen within {timeout} s (last: {last})")


def test_real_prometheus_scrapes_the_provider(provider_server, prometheus):
    # Some traffic first, so the request counter has a series.
    assert requests.get(f"{provider_server.issuer}/healthz", timeout=10).status_code == 200

    def target_up():  # type: ignore[no-untyped-def]
        answer = requests.get(f"{prometheus}/api/v1/targets", timeout=5).json()
        active = answer["data"]["activeTargets"]
        return [t for t in active if t["labels"]["job"] == "idp" and t["health"] == "up"]

    up = wait_for(target_up, 30, "the idp target up")
    assert up[0]["scrapeUrl"] == f"{provider_server.issuer}/metrics"

    def scraped():  # type: ignore[no-untyped-def]
        answer = requests.get(
            f"{prometheus}/api/v1/query",
            params={"query": 'idp_http_requests_total{endpoint="health.healthz"}'},
            timeout=5,
        ).json()
        return answer["data"]["result"]

    result = wait_for(scraped, 30, "idp_http_requests_total in Prometheus")
    assert float(result[0]["value"][1]) >= 1
    # The shipped alert rules were loaded with the configuration.
    rules = requests.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert {rule["name"] for group in rules for rule in group["rules"]} >= {
        "IdpDown",
        "IdpHigh5xxRate",
        "IdpStoreDown",
    }
