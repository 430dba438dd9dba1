"""Parked authorization requests: the *interaction* a person walks between the portal's
request and the code (node-oidc-provider's model; docs/architecture.md).

An authorization request that needs the person (login, agreement, verification, company choice,
consent) is stored in Redis under a random 192-bit id (``idp:interaction:{<id>}``) for
``IDP_INTERACTION_TTL`` seconds, bound to the browser that started it. Each step *claims* the
interaction once (an atomic take): a form replayed, or submitted twice at once, is refused
instead of recorded twice. Continuing parks a new interaction under a new id.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from idp.oauth.authorize import AuthorizationRequest, Progress
from idp.store import ShortLivedStore

MAX_ID_LENGTH = 64
# How long a page may hold an interaction for work it records before the step decides (a
# step-up check with the authority's timeout and retries); released at once when done.
HOLD_SECONDS = 60


@dataclass
class Interaction:
    """A parked authorization request and where the person is in it."""

    id: str
    request: AuthorizationRequest
    step: str
    progress: Progress
    client_name: str
    # The browser that started it; other browsers cannot continue it.
    binding: str


class InteractionStore:
    """``park`` / ``load`` / ``claim`` for parked authorization requests."""

    def __init__(self, redis_client: redis.Redis, ttl: int) -> None:
        self._redis = redis_client
        self._store = ShortLivedStore(redis_client, "interaction")
        self._ttl = ttl

    def park(
        self,
        request: AuthorizationRequest,
        step: str,
        progress: Progress,
        client_name: str,
        binding: str,
    ) -> Interaction:
        interaction = Interaction(
            id=secrets.token_urlsafe(24),
            request=request,
            step=step,
            progress=progress,
            client_name=client_name,
            binding=binding,
        )
        self._store.put(
            interaction.id,
            {
                "request": request.to_dict(),
                "step": step,
                "progress": progress.__dict__,
                "client_name": client_name,
                "binding": binding,
            },
            ttl=self._ttl,
        )
        return interaction

    def load(self, interaction_id: str, binding: str | None) -> Interaction | None:
        """The interaction, if it lives and ``binding`` is the browser that started it."""
        if not interaction_id or len(interaction_id) > MAX_ID_LENGTH:
            return None
        data = self._store.get(interaction_id)
        if data is None or not binding or not secrets.compare_digest(data["binding"], binding):
            return None
        return Interaction(
            id=interaction_id,
            request=AuthorizationRequest.from_dict(data["request"]),
            step=data["step"],
            progress=Progress(**data["progress"]),
            client_name=data["client_name"],
            binding=data["binding"],
        )

    def claim(self, interaction: Interaction) -> bool:
        """Take the interaction's current step for this request alone (atomic, single use)."""
        return self._store.consume(interaction.id)[0] is not None

    @contextmanager
    def held(self, interaction: Interaction) -> Iterator[bool]:
        """Hold the interaction for this request alone, without taking it (``SET NX``): True
        when held, False when another request holds it."""
        key = self._store.key(interaction.id) + ":held"
        holding = bool(self._redis.set(key, "1", nx=True, ex=HOLD_SECONDS))
        try:
            yield holding
        finally:
            if holding:
                self._redis.delete(key)
