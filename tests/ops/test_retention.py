"""``idp retention apply`` and the evidence of a cancelled account (issue 21,
docs/operations.md "Retention"): at cancellation the addresses of its audit rows and agreement
acceptances are cut to /24 (IPv4) or /48 (IPv6); after ``IDP_EVIDENCE_RETENTION_DAYS`` the
command deletes them and the user agents; running it again changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from tests.realname.helpers import LI_SI, PASSWORD, ZHANG_SAN, Person, page, register, rows
from tests.support import CliRunner, csrf_token

NOTHING_TO_CLEAR = {
    "truncated_addresses": 0,
    "cleared_audit_events": 0,
    "cleared_agreement_acceptances": 0,
}


def _registered(app: Any, provider: Any, person: Person, address: str) -> Any:
    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR=address, HTTP_USER_AGENT="Mozilla/5.0 (test)")
    assert register(browser, person, provider=provider).status_code == 303
    return browser


def _cancel(browser: Any) -> None:
    form = page(browser.get("/account/cancel?lang=en"))
    response = browser.post(
        "/account/cancel?lang=en",
        data={"csrf_token": csrf_token(form), "password": PASSWORD, "confirm_cancel": "yes"},
    )
    assert response.status_code == 303, response.status_code


def _evidence(provider: Any, account_id: str) -> dict[str, Any]:
    return {
        "audit": {
            row["ip_address"]
            for row in rows(
                provider, "SELECT ip_address FROM audit_events WHERE account_id = :a", a=account_id
            )
        },
        "acceptances": {
            (row["ip_address"], row["user_agent"])
            for row in rows(
                provider,
                "SELECT ip_address, user_agent FROM agreement_acceptances WHERE account_id = :a",
                a=account_id,
            )
        },
    }


def _account_id(cli: CliRunner, phone: str) -> str:
    return str(cli.ok("users", "show", phone, "--json")["id"])


def test_cancellation_truncates_addresses_and_retention_deletes_them_after_the_period(
    app: Any, provider: Any, cli: CliRunner
) -> None:
    cli.ok("db", "upgrade")
    _registered(app, provider, ZHANG_SAN, "203.0.113.77")
    li = _registered(app, provider, LI_SI, "2001:db8:1234:5678::9")
    zhang_id, li_id = _account_id(cli, ZHANG_SAN.phone), _account_id(cli, LI_SI.phone)
    assert _evidence(provider, zhang_id)["acceptances"] == {("203.0.113.77", "Mozilla/5.0 (test)")}

    _cancel(li)

    # Cut at once, in the cancellation; the acceptance itself and the user agent stay.
    cancelled = _evidence(provider, li_id)
    assert cancelled["acceptances"] == {("2001:db8:1234::/48", "Mozilla/5.0 (test)")}
    assert cancelled["audit"] <= {"2001:db8:1234::/48", None}
    assert "2001:db8:1234::/48" in cancelled["audit"]
    # A living account's evidence is untouched.
    assert _evidence(provider, zhang_id)["acceptances"] == {("203.0.113.77", "Mozilla/5.0 (test)")}

    within_the_period = cli.ok("retention", "apply")
    assert {k: within_the_period[k] for k in NOTHING_TO_CLEAR} == NOTHING_TO_CLEAR
    assert within_the_period["evidence_retention_days"] == 1095
    assert _evidence(provider, li_id) == cancelled

    # Three years and a day later (the cancellation moved back in time, as cron would find it).
    with provider.db.engine.begin() as connection:
        [moment] = connection.execute(
            text("SELECT created_at FROM audit_events WHERE action = 'account_cancelled'")
        ).scalars()
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        connection.execute(
            text("UPDATE audit_events SET created_at = :t WHERE action = 'account_cancelled'"),
            {"t": moment - timedelta(days=1096)},
        )

    expired = cli.ok("retention", "apply")
    assert expired["truncated_addresses"] == 0
    assert expired["cleared_audit_events"] >= 1
    assert expired["cleared_agreement_acceptances"] == len(cancelled["acceptances"])
    assert _evidence(provider, li_id) == {"audit": {None}, "acceptances": {(None, None)}}
    assert _evidence(provider, zhang_id)["acceptances"] == {("203.0.113.77", "Mozilla/5.0 (test)")}

    again = cli.ok("retention", "apply")
    assert {k: again[k] for k in NOTHING_TO_CLEAR} == NOTHING_TO_CLEAR


def test_a_cancellation_from_before_the_rule_is_truncated_by_the_next_run(
    app: Any, provider: Any, cli: CliRunner
) -> None:
    """Evidence of an account cancelled while addresses were still kept whole (written back
    here by SQL) is cut by the next run, once."""
    cli.ok("db", "upgrade")
    li = _registered(app, provider, LI_SI, "198.51.100.23")
    li_id = _account_id(cli, LI_SI.phone)
    _cancel(li)
    with provider.db.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE agreement_acceptances SET ip_address = '198.51.100.23' "
                "WHERE account_id = :a"
            ),
            {"a": li_id},
        )

    first = cli.ok("retention", "apply")
    assert first["truncated_addresses"] >= 1
    assert {ip for ip, _agent in _evidence(provider, li_id)["acceptances"]} == {"198.51.100.0/24"}
    assert cli.ok("retention", "apply")["truncated_addresses"] == 0
