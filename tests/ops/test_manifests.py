"""The Kubernetes manifests in deploy/kubernetes/ (docs/operations.md, "Kubernetes").

Every resource is validated against the Kubernetes OpenAPI JSON schemas bundled with
``kubernetes-validate`` (strict: an unknown or misspelt field fails), for the oldest and the
newest Kubernetes versions we support; then the promises of the deployment are checked one by
one: three replicas, probes on /readyz and /healthz, a PodDisruptionBudget of 2, no root, a
read-only root filesystem, secrets only by reference, keys from a mounted Secret, the migration
Job. ``kubernetes-validate`` is in the test extras, so CI always has it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from idp.config import Config

kubernetes_validate = pytest.importorskip("kubernetes_validate")

ROOT = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
VERSIONS = ("1.29.0", "1.33.0")
SECRET_SETTINGS = {
    "IDP_SECRET_KEY",
    "IDP_DATABASE_URL",
    "IDP_DATABASE_REPLICA_URL",
    "IDP_REDIS_URL",
}


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization() -> dict[str, Any]:
    return documents(ROOT / "kustomization.yaml")[0]


def resources() -> dict[str, dict[str, Any]]:
    """Every resource kustomization.yaml lists, by kind."""
    found: dict[str, dict[str, Any]] = {}
    for name in kustomization()["resources"]:
        for doc in documents(ROOT / name):
            assert doc["kind"] not in found, f"two {doc['kind']}s"
            found[doc["kind"]] = doc
    return found


def every_file() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, doc)
        for path in sorted(ROOT.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in documents(path)
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_passes_the_kubernetes_schemas(version):
    checked = 0
    for name, doc in every_file():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name} ({doc['kind']}) against Kubernetes {version}: {error.message}")
        checked += 1
    assert checked >= 8


def test_kustomization_lists_every_manifest_but_the_secret_example():
    listed = set(kustomization()["resources"])
    present = {p.name for p in ROOT.glob("*.yaml")} - {"kustomization.yaml"}
    assert present - listed == {"secret.example.yaml"}
    assert listed <= present


def pod_specs() -> list[dict[str, Any]]:
    found = resources()
    return [
        found["Deployment"]["spec"]["template"]["spec"],
        found["Job"]["spec"]["template"]["spec"],
    ]


def test_three_replicas_with_probes_and_a_disruption_budget():
    found = resources()
    deployment = found["Deployment"]
    assert deployment["spec"]["replicas"] == 3
    (server,) = deployment["spec"]["template"]["spec"]["containers"]
    assert server["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert server["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert server["command"][:2] == ["idp", "serve"]
    assert server["resources"]["requests"] and server["resources"]["limits"]
    budget = found["PodDisruptionBudget"]
    assert budget["spec"]["minAvailable"] == 2
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    assert found["Service"]["spec"]["selector"].items() <= labels.items()
    assert found["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 3


def test_no_root_and_a_read_only_root_filesystem():
    for spec in pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        assert spec["automountServiceAccountToken"] is False
        for container in spec["initContainers"] + spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, container["name"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["limits"], container["name"]


def test_secrets_by_reference_and_keys_from_a_mounted_secret():
    found = resources()
    settings = found["ConfigMap"]["data"]
    assert not SECRET_SETTINGS & set(settings), "secrets do not belong in the ConfigMap"
    known = {f"IDP_{f.name}" for f in dataclasses.fields(Config)}
    unknown = {k for k in settings if k.startswith("IDP_")} - known
    assert not unknown, f"settings idp does not know: {unknown}"
    assert "Secret" not in found, "a Secret with values must not be applied from the repository"
    for spec in pod_specs():
        (container,) = spec["containers"]
        sources = container["envFrom"]
        assert {"secretRef": {"name": "idp-secrets"}} in sources
        assert {"configMapRef": {"name": "idp-settings"}} in sources
        assert "env" not in container, "no literal value beside the references"
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["keys-secret"]["secret"]["secretName"] == "idp-keys"
        keys_dir = settings["IDP_KEYS_DIR"]
        (copier,) = spec["initContainers"]
        assert keys_dir in copier["command"][-1]
        mounts = {m["name"]: m for m in copier["volumeMounts"]}
        assert mounts["keys-secret"]["readOnly"] is True
        assert keys_dir.startswith(mounts["state"]["mountPath"])
    example = {doc["metadata"]["name"]: doc for doc in documents(ROOT / "secret.example.yaml")}
    assert set(example["idp-secrets"]["stringData"]) == SECRET_SETTINGS


def test_the_migration_job_runs_db_upgrade():
    job = resources()["Job"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["idp", "db", "upgrade"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
