"""The ``idp clients`` commands on the shared rules (idp.oauth.clients): the same field
errors as the console and the API, warnings where an operator may knowingly go ahead, and
``idp clients initial-access-token`` for dynamic registration."""

from __future__ import annotations

from tests.admin_portals.helpers import REDIRECT_URI


def test_initial_access_token_is_printed_once_and_registers_a_portal(cli, client):
    code, out, _err = cli.run("clients", "initial-access-token", "--uses", "3", "--days", "2")

    assert code == 0
    token = out.split("initial access token:", 1)[1].split()[0]
    assert "uses:                 3" in out
    assert "http://localhost/register-client" in out
    response = client.post(
        "/register-client",
        json={"client_name": "From the CLI", "redirect_uris": [REDIRECT_URI]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201


def test_initial_access_token_limits(cli):
    for args in (["--uses", "0"], ["--days", "0"], ["--days", "366"], ["--uses", "1001"]):
        code, out, err = cli.run("clients", "initial-access-token", *args)
        assert code == 2 and out == ""
        assert args[0] in err


def test_cli_reports_every_field_error_of_the_shared_rules(cli):
    code, out, err = cli.run(
        "clients",
        "create",
        "--name",
        "Portal",
        "--redirect-uri",
        "https://portal.example.gov.cn/cb#x",
        "--scope",
        "everything",
        "--json",
    )

    assert code == 2 and out == ""
    assert "redirect_uris[0]: must not contain a fragment" in err
    assert "scopes[0]: unknown scope 'everything'" in err
    assert cli.ok("clients", "list", "--json") == []


def test_cli_refuses_a_reused_name_and_warns_about_an_unreachable_key_set(cli):
    """Portal names are unique in the database (issue 21), so the operator's tool refuses a
    reused one like the API does; an unreachable key set is only a warning there."""
    cli.ok("clients", "create", "--name", "Same", "--redirect-uri", REDIRECT_URI, "--json")
    code, _out, err = cli.run(
        "clients", "create", "--name", "same", "--redirect-uri", REDIRECT_URI, "--json"
    )
    assert code == 2 and "name: another portal is already named" in err

    code, out, err = cli.run(
        "clients",
        "create",
        "--name",
        "Other",
        "--redirect-uri",
        REDIRECT_URI,
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-uri",
        "http://127.0.0.1:9/jwks.json",
        "--json",
    )

    assert code == 0 and out
    assert "warning: jwks_uri: could not be reached" in err
    assert len(cli.ok("clients", "list", "--json")) == 2


def test_set_trusted_and_delete_go_through_the_registry_and_are_audited(cli, provider):
    from sqlalchemy import text

    data = cli.ok("clients", "create", "--name", "P", "--redirect-uri", REDIRECT_URI, "--json")

    cli.ok("clients", "set-trusted", data["client_id"], "yes")
    cli.ok("clients", "delete", data["client_id"])

    with provider.db.engine.connect() as connection:
        actions = connection.execute(
            text(
                "SELECT action, actor FROM audit_events WHERE client_id = :id ORDER BY created_at"
            ),
            {"id": data["client_id"]},
        ).all()
    assert [tuple(row) for row in actions] == [
        ("client_created", "cli"),
        ("client_trust_changed", "cli"),
        ("client_deleted", "cli"),
    ]
