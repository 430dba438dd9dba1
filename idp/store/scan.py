"""Scan tickets of the scan-to-log-in (docs/scan-login.md), kept in Redis.

A ticket is created for one interaction and the browser that shows it (the interaction's
``idp_browser`` binding), under a random 192-bit id that Redis knows only as its SHA-256
(``idp:scan:<digest>``), for a short time. It moves once from ``pending`` to ``confirmed`` or
``refused`` (:meth:`ScanTickets.decide`, one Lua script: two phones deciding at once cannot both
win) and a confirmed ticket is *taken* once by its own browser (:meth:`ScanTickets.take`, atomic:
two refreshes at once cannot both log in).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, fields
from typing import Any

import redis

from idp.store.kv import ShortLivedStore

MAX_ID_LENGTH = 64

PENDING = "pending"
CONFIRMED = "confirmed"
REFUSED = "refused"

# Pending -> confirmed | refused, once; the ticket keeps its time to live.
_DECIDE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ticket = cjson.decode(raw)
if ticket['status'] ~= 'pending' then return -1 end
ticket['status'] = ARGV[1]
ticket['account_id'] = ARGV[2]
ticket['decided_at'] = tonumber(ARGV[3])
redis.call('SET', KEYS[1], cjson.encode(ticket), 'KEEPTTL')
return 1
"""

# Take a confirmed ticket of this browser and interaction: once.
_TAKE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local ticket = cjson.decode(raw)
if ticket['status'] ~= 'confirmed' or ticket['binding'] ~= ARGV[1]
   or ticket['interaction_id'] ~= ARGV[2] then
  return false
end
redis.call('DEL', KEYS[1])
return raw
"""


@dataclass(frozen=True)
class ScanTicket:
    id: str
    interaction_id: str
    binding: str
    client_id: str
    client_name: str
    ip_address: str
    user_agent: str
    created_at: int
    status: str = PENDING
    account_id: str = ""

    @classmethod
    def from_payload(cls, id_: str, data: dict[str, Any]) -> ScanTicket:
        values = {name: data[name] for name in PAYLOAD_FIELDS if name in data}
        return cls(id=id_, **{**values, "created_at": int(data["created_at"])})

    def payload(self) -> dict[str, Any]:
        """What Redis keeps (the id is the key's digest, not a field)."""
        return {name: getattr(self, name) for name in PAYLOAD_FIELDS}


PAYLOAD_FIELDS = tuple(field.name for field in fields(ScanTicket) if field.name != "id")


class ScanTickets:
    """``create`` / ``get`` / ``decide`` / ``take`` for scan tickets."""

    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self._store = ShortLivedStore(client, "scan", hash_ids=True)
        self._decide = client.register_script(_DECIDE)
        self._take = client.register_script(_TAKE)
        self.ttl = ttl

    def create(
        self,
        *,
        interaction_id: str,
        binding: str,
        client_id: str,
        client_name: str,
        ip_address: str,
        user_agent: str,
    ) -> ScanTicket:
        ticket = ScanTicket(
            id=secrets.token_urlsafe(24),
            interaction_id=interaction_id,
            binding=binding,
            client_id=client_id,
            client_name=client_name,
            ip_address=ip_address,
            user_agent=user_agent,
            created_at=int(time.time()),
        )
        self._store.put(ticket.id, ticket.payload(), ttl=self.ttl)
        return ticket

    def get(self, ticket_id: str) -> ScanTicket | None:
        if not ticket_id or len(ticket_id) > MAX_ID_LENGTH:
            return None
        data = self._store.get(ticket_id)
        return ScanTicket.from_payload(ticket_id, data) if data else None

    def decide(self, ticket_id: str, status: str, account_id: str) -> bool:
        """Mark a pending ticket ``confirmed`` or ``refused`` by ``account_id``; False when it is
        gone or already decided."""
        assert status in (CONFIRMED, REFUSED)
        if not ticket_id or len(ticket_id) > MAX_ID_LENGTH:
            return False
        result = self._decide(
            keys=[self._store.key(ticket_id)], args=[status, account_id, int(time.time())]
        )
        return int(result) == 1

    def take(self, ticket_id: str, binding: str, interaction_id: str) -> ScanTicket | None:
        """The confirmed ticket, removed, when it belongs to this browser and interaction."""
        if not ticket_id or len(ticket_id) > MAX_ID_LENGTH or not binding:
            return None
        raw = self._take(keys=[self._store.key(ticket_id)], args=[binding, interaction_id])
        return ScanTicket.from_payload(ticket_id, json.loads(raw)) if raw else None
