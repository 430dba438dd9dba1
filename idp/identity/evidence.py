"""What the evidence of a cancelled account keeps, and for how long (docs/operations.md,
"Retention").

A cancellation deletes the account and every personal datum (natural-person agreement clause
8); the audit trail and the agreement evidence stay under the pseudonymous account id, because
the authority must be able to show what was accepted and done in the account's name (clause 6:
the registered user answers for what is done with the account). Their network data is reduced
in two steps (PIPL articles 19 and 47: kept no longer than the purpose needs):

- at cancellation, in the cancellation's transaction, every address of the account's audit rows
  and acceptances is cut to its network: ``203.0.113.0/24`` (IPv4), ``2001:db8:1234::/48``
  (IPv6), enough to tell a region or a provider, not a subscriber;
- once ``IDP_EVIDENCE_RETENTION_DAYS`` have passed since the cancellation (three years by
  default: the limitation period of civil claims, Civil Code article 188), the addresses and
  the user agents are deleted (``idp retention apply``, run daily by cron; idempotent).

The acceptance itself (which text, which version, when) and the audit rows (what, when) stay.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Update, or_, select, update
from sqlalchemy.orm import Session

from idp.models import AgreementAcceptance, AuditEvent

CANCELLED = "account_cancelled"
IPV4_PREFIX = 24
IPV6_PREFIX = 48


def truncated(address: str | None) -> str | None:
    """The network of ``address`` in CIDR notation (/24 or /48); an already truncated network
    stays as it is; what is not an address at all is dropped."""
    if not address:
        return None
    try:
        network = ipaddress.ip_network(address, strict=False)
    except ValueError:
        return None
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        network = ipaddress.ip_network(network.network_address.ipv4_mapped)
    prefix = IPV4_PREFIX if network.version == 4 else IPV6_PREFIX
    if network.prefixlen <= prefix:
        return str(network)
    return str(network.supernet(new_prefix=prefix))


def truncate_addresses(session: Session, account_ids: Any) -> int:
    """Cut to their networks the addresses of the audit rows and acceptances of
    ``account_ids`` (a list, or a SELECT of ids) that are not cut yet. Returns the rows
    changed."""
    changed = 0
    for model in (AuditEvent, AgreementAcceptance):
        rows = session.execute(
            select(model.id, model.ip_address).where(
                model.account_id.in_(account_ids),
                model.ip_address.is_not(None),
                ~model.ip_address.contains("/"),
            )
        ).all()
        for row_id, address in rows:
            session.execute(
                update(model).where(model.id == row_id).values(ip_address=truncated(address))
            )
        changed += len(rows)
    return changed


def at_cancellation(session: Session, account_id: str) -> int:
    """In the cancellation's transaction: the account's addresses cut to their networks."""
    return truncate_addresses(session, [account_id])


@dataclass(frozen=True)
class Expired:
    """What ``expire`` changed: rows whose addresses were cut (cancellations that happened
    before this rule, or whose cut failed) and rows whose addresses and user agents went."""

    truncated: int
    cleared_audit_events: int
    cleared_acceptances: int


def expire(session: Session, now: datetime, retention: timedelta) -> Expired:
    """The evidence of accounts cancelled more than ``retention`` ago loses its addresses and
    user agents; that of every other cancelled account keeps only networks. Running it again
    changes nothing."""
    cancelled = select(AuditEvent.account_id).where(
        AuditEvent.action == CANCELLED, AuditEvent.account_id.is_not(None)
    )
    cutoff = now - retention
    expired = cancelled.where(AuditEvent.created_at < cutoff)
    cut = truncate_addresses(session, cancelled.where(AuditEvent.created_at >= cutoff))
    audit_rows = _changed(
        session,
        update(AuditEvent)
        .where(AuditEvent.account_id.in_(expired))
        .where(AuditEvent.ip_address.is_not(None))
        .values(ip_address=None)
        .execution_options(synchronize_session=False),
    )
    acceptances = _changed(
        session,
        update(AgreementAcceptance)
        .where(AgreementAcceptance.account_id.in_(expired))
        .where(
            or_(
                AgreementAcceptance.ip_address.is_not(None),
                AgreementAcceptance.user_agent.is_not(None),
            )
        )
        .values(ip_address=None, user_agent=None)
        .execution_options(synchronize_session=False),
    )
    return Expired(cut, audit_rows, acceptances)


def _changed(session: Session, statement: Update) -> int:
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount)
