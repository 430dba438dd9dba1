"""One fact, one transaction (issue 21): an account is never left without the evidence of the
agreement it accepted or the audit row of its registration, and an L4 level never without the
audit row of the counter check. The database is made to refuse the second write of each pair
(a trigger, ``tests.refusals``); nothing of the pair remains."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.realname.helpers import (
    WANG_WU,
    ZHANG_SAN,
    RegistrationForm,
    count,
    form_for,
    outbox_code,
    rows,
)
from tests.refusals import MESSAGE, refusing
from tests.support import CliRunner


def _register(app: Any, provider: Any) -> Any:
    form = RegistrationForm.open(app.test_client())
    fields = form_for(ZHANG_SAN)
    assert form.send_code(fields["phone"]).status_code == 200
    fields["sms_code"] = outbox_code(provider, fields["phone"])
    return form.submit(fields)


@pytest.mark.parametrize("refused", ["agreement_acceptances", "audit_events"])
def test_a_registration_whose_evidence_is_refused_leaves_no_account(
    refused: str, app: Any, provider: Any, seeded: None, cli: CliRunner
) -> None:
    """Registration writes the account, its acceptance of the agreement and its audit row in
    one transaction: when the database refuses the acceptance or the audit row, there is no
    account either, and the same person registers once the database accepts again."""
    with refusing(provider, refused):
        response = _register(app, provider)
        assert response.status_code >= 500  # the database failed: nothing to tell the person
    assert count(provider, "accounts") == 0
    assert count(provider, "verifications") == 0
    assert count(provider, "agreement_acceptances") == 0
    assert not rows(provider, "SELECT id FROM audit_events WHERE action = 'account_registered'")

    provider.redis.flushdb()  # the phone's SMS resend interval, not what is tested here
    assert _register(app, provider).status_code == 303
    [account] = rows(provider, "SELECT id FROM accounts")
    accepted = rows(
        provider,
        "SELECT kind FROM agreement_acceptances WHERE account_id = :id",
        id=account["id"],
    )
    assert accepted and {row["kind"] for row in accepted} >= {"natural_person"}
    assert rows(
        provider,
        "SELECT id FROM audit_events WHERE action = 'account_registered' AND account_id = :id",
        id=account["id"],
    )


def test_an_l4_record_whose_audit_row_is_refused_is_not_kept(
    register_person: Callable[..., Any], cli: CliRunner, provider: Any
) -> None:
    """``idp users verify-in-person`` writes the level, its evidence and the audit row in one
    transaction: with the audit row refused, the account stays at its level without evidence
    of a counter check."""
    register_person(WANG_WU)
    before = cli.ok("users", "show", WANG_WU.phone, "--json")

    with refusing(provider, "audit_events"), pytest.raises(Exception, match=MESSAGE):
        cli.run("users", "verify-in-person", WANG_WU.phone, "--reference", "CTR-2026-000124")

    after = cli.ok("users", "show", WANG_WU.phone, "--json")
    assert after["verification_level"] == before["verification_level"] != "L4"
    assert not [row for row in after["evidence"] if row["check"] == "counter"]

    cli.ok("users", "verify-in-person", WANG_WU.phone, "--reference", "CTR-2026-000124")
    [audited] = rows(
        provider,
        "SELECT details FROM audit_events WHERE action = 'identity_verified_in_person'",
    )
    assert cli.ok("users", "show", WANG_WU.phone, "--json")["verification_level"] == "L4"
