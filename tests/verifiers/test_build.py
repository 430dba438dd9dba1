"""``build_verifier``: the backend that the settings name (docs/configuration.md, "Real-name
verification")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idp.config import DEMO_REGISTRY, load_config
from idp.identity.verifiers import HttpVerifier, RegistryFileVerifier, Result, build_verifier
from tests.verifiers.helpers import Gateway, answer

ZHANG_SAN = {"name": "张三", "id_number": "110105198503120178"}


def test_development_answers_from_the_demo_registry() -> None:
    config = load_config({"ENV": "development"})
    assert config.REGISTRY_FILE == str(DEMO_REGISTRY)
    verifier = build_verifier(config)
    assert isinstance(verifier, RegistryFileVerifier)
    assert verifier.verify("two_elements", ZHANG_SAN).result is Result.MATCH


def test_a_registry_file_setting_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    person = {"name": "韩梅梅", "id_number": "110105199001010037", "status": "normal"}
    path.write_text(json.dumps({"persons": [person], "entities": []}), encoding="utf-8")
    verifier = build_verifier(load_config({"VERIFIER": "registry_file", "REGISTRY_FILE": path}))
    assert verifier.verify("two_elements", person).result is Result.MATCH
    assert verifier.verify("two_elements", ZHANG_SAN).result is Result.NO_MATCH


def test_an_invalid_registry_file_stops_the_build(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_text('{"persons": []}', encoding="utf-8")
    with pytest.raises(ValueError, match=f'registry file {path}: "entities" must be a list'):
        build_verifier(load_config({"REGISTRY_FILE": str(path)}))


def test_the_http_setting_builds_a_gateway_client(gateway: Gateway) -> None:
    gateway.answers(answer("match", reference="GW-1"))
    config = load_config(
        {
            "VERIFIER": "http",
            "VERIFIER_HTTP_URL": gateway.url,
            "VERIFIER_HTTP_TOKEN": "secret-token",
            "VERIFIER_TIMEOUT": "1",
        }
    )
    verifier = build_verifier(config)
    assert isinstance(verifier, HttpVerifier)
    verdict = verifier.verify("two_elements", ZHANG_SAN)
    assert verdict.result is Result.MATCH and verdict.reference == "GW-1"
    (call,) = gateway.calls
    assert call.path == "/verify/two_elements"
    assert call.headers["Authorization"] == "Bearer secret-token"
