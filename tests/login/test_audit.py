"""Audit trail of logins: who, when, from where; never the password or personal data.

The audit_events table is read directly: the requirement is about what is stored.
"""

from __future__ import annotations

import json

from tests.login.helpers import rows


def _events(provider, action):  # type: ignore[no-untyped-def]
    return rows(provider, "SELECT * FROM audit_events WHERE action = :action", action=action)


def _details(event) -> dict:  # type: ignore[no-untyped-def]
    details = event["details"]
    return json.loads(details) if isinstance(details, str) else dict(details or {})


def test_login_writes_an_audit_event_without_personal_data(provider, public_rp, user):
    """A successful login is recorded as `login` with the account, portal and address only."""
    public_rp.login(user["username"], user["password"])

    (event,) = _events(provider, "login")
    assert event["account_id"] == user["id"]
    assert event["client_id"] == public_rp.client_id
    assert event["ip_address"] == "127.0.0.1"
    assert event["created_at"] is not None
    stored = json.dumps(_details(event), ensure_ascii=False)
    for secret_or_personal in (user["password"], user["username"], user["name"]):
        assert secret_or_personal not in stored
    row_text = json.dumps({k: str(v) for k, v in event.items()}, ensure_ascii=False)
    assert user["password"] not in row_text


def test_failed_login_is_audited_without_the_submitted_secrets(provider, public_rp, user):
    """A failure is recorded with its reason; neither the typed password nor username is kept."""
    public_rp.login(user["username"], "typed-wrong-secret")

    (event,) = _events(provider, "login_failed")
    assert _details(event) == {"reason": "invalid"}
    row_text = json.dumps({k: str(v) for k, v in event.items()}, ensure_ascii=False)
    assert "typed-wrong-secret" not in row_text
    assert user["username"] not in row_text
    assert _events(provider, "login") == []
