"""A portal's matter classes are checked against the published catalogue (issue #21 item 6;
legal-person agreement: graded and classified authorisation is given per class of the
catalogue, ``idp matters``), the same way it is registered or edited: the console, the admin API
(RFC 9457 problem naming the field), ``idp clients create``, and dynamic registration (RFC 7591
3.2.2 / RFC 7592 2.2: ``invalid_client_metadata``). The conftest publishes the sample catalogue.
"""

from __future__ import annotations

import json

from tests.admin_console.helpers import console_admin, page
from tests.admin_portals.helpers import REDIRECT_URI, AdminApi, admin_api_token, portal
from tests.admin_portals.test_console import errors_on, metadata_form, submit
from tests.admin_portals.test_registration import bearer, initial_token, metadata, register

UNKNOWN = "tax.fortune_telling"


def test_admin_api_refuses_an_unknown_class_naming_it(client, cli):
    api = AdminApi(client, admin_api_token(cli))

    response = api.post("/clients", portal(matters=["tax.declaration", UNKNOWN]))

    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    (error,) = problem["errors"]
    assert error["field"] == "matters" and error["code"] == "unknown_matter"
    assert error["pointer"] == "/matters/1"
    assert UNKNOWN in error["message"] and UNKNOWN in problem["detail"]
    assert UNKNOWN not in api.get("/clients").get_data(as_text=True)


def test_admin_api_edit_adds_only_published_classes(client, cli):
    api = AdminApi(client, admin_api_token(cli))
    created = api.create(matters=["tax.declaration"])

    refused = api.patch(f"/clients/{created['client_id']}", {"matters": ["tax", UNKNOWN]})
    accepted = api.patch(f"/clients/{created['client_id']}", {"matters": ["tax", "customs"]})

    assert refused.status_code in (400, 422)
    assert [e["code"] for e in refused.get_json()["errors"]] == ["unknown_matter"]
    assert accepted.status_code == 200 and accepted.get_json()["matters"] == ["tax", "customs"]


def test_a_class_retired_from_the_catalogue_stays_on_a_portal_but_cannot_be_added(
    client, cli, tmp_path
):
    api = AdminApi(client, admin_api_token(cli))
    created = api.create(matters=["permits.food"])
    retired = tmp_path / "retired.json"
    retired.write_text(
        json.dumps([{"code": "permits.food", "name": "食品经营许可", "active": False}]),
        encoding="utf-8",
    )
    cli.ok("matters", "import", str(retired))

    renamed = api.patch(f"/clients/{created['client_id']}", {"name": "另一个政务服务网"})
    again = api.post("/clients", portal(matters=["permits.food"]))

    assert renamed.status_code == 200, renamed.get_json()
    assert renamed.get_json()["matters"] == ["permits.food"]
    assert again.status_code in (400, 422)
    assert again.get_json()["errors"][0]["code"] == "unknown_matter"


def test_console_shows_the_unknown_class_under_the_field(client, cli):
    operator = console_admin(client, cli, "operator").client

    response = submit(
        operator,
        "/admin/portals/new?lang=en",
        "/admin/portals",
        metadata_form(matters=f"tax.declaration\n{UNKNOWN}"),
    )

    assert response.status_code == 400
    assert errors_on(response) == {"matters"}
    html = response.get_data(as_text=True)
    assert f"{UNKNOWN} is not a class of the published catalogue of matters" in html
    assert 'id="no-portals"' in page(operator, "/admin/portals")
    zh = submit(
        operator,
        "/admin/portals/new?lang=zh-CN",
        "/admin/portals",
        metadata_form(matters=UNKNOWN),
    )
    assert f"{UNKNOWN} 不是已发布事项目录中的事项类别" in zh.get_data(as_text=True)


def test_cli_refuses_an_unknown_class(client, cli):
    code, _out, err = cli.run(
        "clients", "create", "--name", "Portal", "--redirect-uri", REDIRECT_URI,
        "--matter", "tax.declaration", "--matter", UNKNOWN,
    )  # fmt: skip

    assert code != 0
    assert UNKNOWN in err and "matters" in err
    created = cli.ok(
        "clients", "create", "--name", "Portal", "--redirect-uri", REDIRECT_URI,
        "--matter", "tax.declaration", "--json",
    )  # fmt: skip
    api = AdminApi(client, admin_api_token(cli))
    assert api.get(f"/clients/{created['client_id']}").get_json()["matters"] == ["tax.declaration"]


def test_dynamic_registration_refuses_an_unknown_class(client, cli):
    response = register(client, initial_token(cli), metadata(matters=[UNKNOWN]))

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_client_metadata"
    assert body["error_description"].startswith("matters[0]:")
    assert UNKNOWN in body["error_description"]


def test_dynamic_registration_update_refuses_an_unknown_class(client, cli):
    info = register(client, initial_token(cli), metadata(matters=["tax"])).get_json()
    configuration = info["registration_client_uri"].removeprefix("http://localhost")

    replaced = client.put(
        configuration,
        headers=bearer(info["registration_access_token"]),
        json=metadata(
            client_id=info["client_id"],
            client_secret=info["client_secret"],
            matters=["tax", UNKNOWN],
        ),
    )

    assert replaced.status_code == 400
    body = replaced.get_json()
    assert body["error"] == "invalid_client_metadata"
    assert UNKNOWN in body["error_description"]
