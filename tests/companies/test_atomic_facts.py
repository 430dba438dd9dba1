"""One fact, one transaction (issue 21): a company is never registered without the evidence of
the legal-person agreement accepted on its behalf (``tests.refusals`` makes the database refuse
that write)."""

from __future__ import annotations

from typing import Any

from tests.companies.helpers import (
    CHEN_XIAOMING,
    entity_path,
    raise_to_l3,
    register_company,
    registered,
)
from tests.realname.helpers import count, rows
from tests.refusals import refusing


def test_a_company_whose_agreement_evidence_is_refused_is_not_registered(
    app: Any, provider: Any, seeded: None
) -> None:
    chen = registered(app, provider, CHEN_XIAOMING)
    raise_to_l3(chen, CHEN_XIAOMING)

    with refusing(provider, "agreement_acceptances"):
        assert register_company(chen).status_code >= 500
    assert count(provider, "legal_entities") == 0
    assert count(provider, "entity_roles") == 0
    assert not rows(provider, "SELECT id FROM audit_events WHERE entity_id IS NOT NULL")

    entity_id = entity_path(register_company(chen)).rsplit("/", 1)[1]
    assert rows(
        provider,
        "SELECT kind FROM agreement_acceptances WHERE account_id = :id AND kind = 'legal_person'",
        id=entity_id,
    )
    assert {
        row["action"]
        for row in rows(
            provider, "SELECT action FROM audit_events WHERE entity_id = :id", id=entity_id
        )
    } >= {"entity_registered", "entity_agreement_accepted"}
