"""Roles, ``idp admins`` and admin API tokens.

Issue 7, item 1: an auditor can read everything and change nothing (every write answers 403);
roles are granted with ``idp admins grant``; API tokens are shown once and stored as SHA-256.
RFC 6750 section 3.1 (``WWW-Authenticate``) and RFC 9457 (problem details) for the admin API.
"""

from __future__ import annotations

import hashlib

import pytest
from flask import Blueprint, g, jsonify

from idp.identity.admins import authenticate_api_token
from idp.views.admin.auth import api_required
from idp.views.web import csrf
from tests.admin_console.helpers import console_admin, create_admin, page
from tests.logout.helpers import audit_events, log_in, logged_in, rows
from tests.support import csrf_token

REASON = "testing the auditor role"


def test_an_auditor_reads_everything_and_changes_nothing(
    client, cli, app, provider, confidential_rp, user, tmp_path
):
    log_in(confidential_rp, user["username"], user["password"])
    cli.ok(
        "agreements", "add-kind", "--kind", "privacy", "--title", "Privacy", "--applies-to", "all"
    )
    (tmp_path / "v1.txt").write_text("第一条 旧的文字。\n", encoding="utf-8")
    cli.ok("agreements", "publish", "--kind", "privacy", "--file", str(tmp_path / "v1.txt"))
    auditor = console_admin(app.test_client(), cli, "auditor").client

    for path in (
        "/admin",
        "/admin/accounts",
        f"/admin/accounts/{user['id']}",
        "/admin/agreements",
        "/admin/audit",
        f"/admin/audit?account={user['id']}",
        "/admin/audit?log=disclosures",
    ):
        html = page(auditor, path)
        assert 'data-role="auditor"' in html, path
    account_page = page(auditor, f"/admin/accounts/{user['id']}?lang=en")
    token = csrf_token(account_page)
    assert "suspend-form" not in account_page  # no action forms shown
    found = auditor.post("/admin/accounts/search", data={"csrf_token": token, "query": user["id"]})
    assert found.status_code == 303  # searching is reading
    writes = {
        f"/admin/accounts/{user['id']}/suspend": {"reason": REASON},
        f"/admin/accounts/{user['id']}/reinstate": {"reason": REASON},
        f"/admin/accounts/{user['id']}/end-sessions": {"reason": REASON},
        f"/admin/accounts/{user['id']}/counter-verification": {
            "reason": REASON,
            "reference": "CTR-1",
        },
        "/admin/agreements/privacy/preview": {
            "text": "新",
            "nature": "material",
            "reason": REASON,
        },
        "/admin/agreements/privacy/publish": {
            "text": "新",
            "nature": "material",
            "reason": REASON,
            "version": "2",
            "sha256": "0" * 64,
        },
    }

    answers = {
        path: auditor.post(path + "?lang=en", data={"csrf_token": token, **fields})
        for path, fields in writes.items()
    }
    publish_form = auditor.get("/admin/agreements/privacy/publish")

    assert {path: r.status_code for path, r in answers.items()} == dict.fromkeys(writes, 403)
    assert all("can read but not change" in r.get_data(as_text=True) for r in answers.values())
    assert publish_form.status_code == 403
    # Nothing changed: the account is active, its session and tokens live, one version only.
    assert rows(
        provider, "SELECT status, verification_level FROM accounts WHERE id = :a", a=user["id"]
    ) == [{"status": "active", "verification_level": "L0"}]
    assert logged_in(confidential_rp)
    assert len(rows(provider, "SELECT id FROM agreement_versions WHERE kind = 'privacy'")) == 1
    assert len(audit_events(provider, "admin_write_refused")) == len(writes) + 1
    assert audit_events(provider, "account_suspended") == []


def test_grant_list_and_revoke(cli, user):
    granted = cli.ok("admins", "grant", user["username"], "--role", "auditor")
    listed = cli.ok("admins", "list", "--json")
    revoked = cli.ok("admins", "revoke", user["id"], "--reason", "moved on")
    after = cli.ok("admins", "list", "--json")

    assert granted == {
        "account_id": user["id"],
        "role": "auditor",
        "previous_role": None,
        "enrolled": False,
    }
    assert [(r["account_id"], r["role"], r["enrolled"], r["api_tokens"]) for r in listed] == [
        (user["id"], "auditor", False, 0)
    ]
    assert revoked == {"account_id": user["id"], "revoked": True}
    assert after == []


def test_admins_command_refuses_bad_input(cli, user):
    with pytest.raises(SystemExit) as refused:  # argparse: not one of the roles
        cli.run("admins", "grant", user["id"], "--role", "root")
    assert refused.value.code == 2
    code, _out, err = cli.run("admins", "grant", "nobody-at-all", "--role", "operator")
    assert code == 2 and "no such account" in err
    code, _out, err = cli.run("admins", "revoke", user["id"])
    assert code == 2 and "not an administrator" in err
    code, _out, err = cli.run("admins", "api-token", user["id"])
    assert code == 2 and "not an administrator" in err
    cli.ok("admins", "grant", user["id"], "--role", "operator")
    code, _out, err = cli.run("admins", "api-token", user["id"], "--days", "0")
    assert code == 2 and "1 to 365 days" in err
    code, _out, err = cli.run("admins", "api-token", user["id"], "--name", " ")
    assert code == 2 and "name" in err
    cli.ok("users", "suspend", user["id"], "--reason", "testing")
    code, _out, err = cli.run("admins", "grant", user["id"], "--role", "auditor")
    assert code == 2 and "suspended" in err


def test_an_api_token_is_shown_once_and_stored_as_sha256(cli, provider, user):
    cli.ok("admins", "grant", user["id"], "--role", "operator")

    issued = cli.ok("admins", "api-token", user["id"], "--name", "ops robot", "--days", "30")

    token = issued["token"]
    assert token.startswith("idpadm_") and len(token) > 40
    (row,) = rows(provider, "SELECT * FROM admin_api_tokens")
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row)
    assert row["name"] == "ops robot" and row["id"] == issued["id"]
    (event,) = audit_events(provider, "admin_api_token_issued")
    assert token not in str(event)
    assert cli.ok("admins", "list", "--json")[0]["api_tokens"] == 1


def test_authenticate_api_token(cli, provider, user):
    """The module interface the admin API uses: a token stops working when it is revoked,
    when the role is revoked, and when the account is suspended."""

    def check(token: str):  # type: ignore[no-untyped-def]
        provider.db.remove()  # each request has its own database session
        return authenticate_api_token(provider.db, token)

    cli.ok("admins", "grant", user["id"], "--role", "operator")
    first = cli.ok("admins", "api-token", user["id"])
    second = cli.ok("admins", "api-token", user["id"])
    third = cli.ok("admins", "api-token", user["id"])

    admin = check(first["token"])
    assert admin is not None and admin.account_id == user["id"] and admin.role == "operator"
    assert check(first["token"] + "x") is None
    assert check("") is None
    assert check("idpadm_" + "a" * 500) is None
    (used,) = rows(
        provider, "SELECT last_used_at FROM admin_api_tokens WHERE id = :i", i=first["id"]
    )
    assert used["last_used_at"] is not None

    cli.ok("admins", "revoke-api-token", first["id"])
    assert check(first["token"]) is None
    assert check(second["token"]) is not None

    cli.ok("users", "suspend", user["id"], "--reason", "testing")
    assert check(second["token"]) is None
    cli.ok("users", "reinstate", user["id"], "--reason", "testing")
    assert check(second["token"]) is not None

    cli.ok("admins", "revoke", user["id"])
    assert check(third["token"]) is None
    assert check(second["token"]) is None
    provider.db.remove()


def _api_app(make_app):  # type: ignore[no-untyped-def]
    """An application with two admin API views, read and write, behind ``api_required``."""
    application = make_app()
    bp = Blueprint("api_probe", __name__, url_prefix="/admin/api/probe")

    @bp.get("")
    @api_required()
    def read():  # type: ignore[no-untyped-def]
        return jsonify(account=g.admin_account.id, role=g.admin.role)

    @bp.post("")
    @api_required(write=True)
    def write():  # type: ignore[no-untyped-def]
        return jsonify(changed=True)

    csrf.exempt(bp)
    application.register_blueprint(bp)
    return application.test_client()


def test_api_required_answers_problem_details(make_app, cli):
    api = _api_app(make_app)
    operator = create_admin(cli, "operator")
    auditor = create_admin(cli, "auditor")
    operator_token = cli.ok("admins", "api-token", operator["id"])["token"]
    auditor_token = cli.ok("admins", "api-token", auditor["id"])["token"]

    missing = api.get("/admin/api/probe")
    wrong = api.get("/admin/api/probe", headers={"Authorization": "Bearer idpadm_wrong"})
    read = api.get("/admin/api/probe", headers={"Authorization": f"Bearer {auditor_token}"})
    refused = api.post("/admin/api/probe", headers={"Authorization": f"Bearer {auditor_token}"})
    written = api.post("/admin/api/probe", headers={"Authorization": f"Bearer {operator_token}"})

    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="idp-admin"'
    assert missing.mimetype == "application/problem+json"
    assert missing.get_json()["status"] == 401 and missing.get_json()["title"] == "Unauthorized"
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert read.status_code == 200
    assert read.get_json() == {"account": auditor["id"], "role": "auditor"}
    assert read.headers["Cache-Control"] == "no-store"
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert written.status_code == 200 and written.get_json() == {"changed": True}
