"""The admin API fuzzed from its own OpenAPI document (issue 7, "Bad input"): schemathesis
generates requests for every operation of /admin/api/openapi.json, valid ones and invalid ones,
sends them to the Flask app in-process (WSGI) with an operator's token, and checks each answer
against the document: no server error, a documented status code, the documented content type,
the documented headers, and a body that matches the response schema.

Examples are bounded (``EXAMPLES`` per operation, half valid and half invalid) and generated
deterministically (``derandomize``). A generated ``jwks_uri`` or ``sector_identifier_uri`` is
pointed at a key set served on a loopback port: the provider fetches those, and a test sends no
traffic off this machine. (schemathesis' own pytest plugin is not used: it does not run under
pytest 9; the cases come from its Hypothesis strategies instead.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from idp.oauth.claims import BUILTIN_SENSITIVE_CLAIMS
from idp.views.admin import openapi
from tests.admin_portals.helpers import AdminApi, JsonServer, admin_api_token, public_key_set

EXAMPLES = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FETCHED = ("jwks_uri", "sector_identifier_uri")
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
DOCUMENT = openapi.document(sorted(BUILTIN_SENSITIVE_CLAIMS))
# (method, path, mode): invalid requests only where there is something to get wrong.
CASES = [
    (method.upper(), path, mode)
    for path, item in DOCUMENT["paths"].items()
    for method, spec in item.items()
    if method != "parameters"
    for mode in (POSITIVE, NEGATIVE)
    if mode is POSITIVE
    or spec.get("parameters")
    or spec.get("requestBody")
    or item.get("parameters")
]
SEEDED = "fuzzed-portal"
PAIRED = "fuzzed-target"


@pytest.fixture
def key_set_server() -> Iterator[JsonServer]:
    server = JsonServer(public_key_set()).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("method", "path", "mode"), CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES]
)
def test_admin_api_conforms_to_its_document(  # type: ignore[no-untyped-def]
    app, cli, key_set_server, method, path, mode
):
    schema = schemathesis.openapi.from_wsgi("/admin/api/openapi.json", app)
    operation = schema[path][method]
    api = AdminApi(app.test_client(), admin_api_token(cli))
    headers = api.headers()
    # Valid requests name an existing portal (re-registered when an example deleted it), so
    # that reading, changing, rotating and deleting are exercised, not only "not found".
    fixed = {"client_id": SEEDED} if "{client_id}" in path and mode is POSITIVE else None
    if fixed and "{target_client_id}" in path:
        # Token exchange pairs (docs/portals.md): between two existing portals.
        fixed["target_client_id"] = PAIRED
    recipient = (
        cli.ok("users", "create", "--username", "fuzzed-recipient", "--password", "x" * 20)
        if path == "/messages"
        else {}
    )
    statuses: set[int] = set()

    @given(case=operation.as_strategy(mode, path_parameters=fixed))
    @settings(
        max_examples=EXAMPLES // 2,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: Any) -> None:
        if fixed and api.get(f"/clients/{SEEDED}").status_code == 404:
            api.create(client_id=SEEDED)
        if fixed and "target_client_id" in fixed:
            if api.get(f"/clients/{PAIRED}").status_code == 404:
                api.create(client_id=PAIRED)
            if method == "DELETE":  # something to unpair
                app.test_client().put(
                    f"/admin/api/clients/{SEEDED}/pairs/{PAIRED}", headers=headers
                )
        if isinstance(case.body, dict) and path == "/messages" and mode is POSITIVE:
            # A message to an existing person (docs/user-space.md), so that sending is exercised.
            case.body["account"] = recipient["id"]
        if isinstance(case.body, dict):
            for name in FETCHED:
                if isinstance(case.body.get(name), str):
                    case.body[name] = key_set_server.url
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses.add(response.status_code)

    conforms()
    if mode is POSITIVE:  # valid requests succeed at least once
        assert any(200 <= status < 300 for status in statuses), statuses
