"""Provider (SSO) sessions, kept server-side in Redis.

The browser holds only a random session id in the SSO cookie; Redis holds the login: account,
``auth_time``, ``amr``, ``acr``, the public ``sid`` released in ID tokens, and the portals the
session has logged in to. Idle and absolute lifetimes are enforced on every read.

Keys: ``idp:session:<sha256(id)>`` and the account's index ``idp:account-sessions:<account>``.
A session is found by its id alone (the cookie), so its key cannot carry the account as a hash
tag; an account's sessions are read together through ``read_many`` (one ``MGET`` on one server,
one per slot in a Redis Cluster). Every other command touches one key.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field

import redis

from idp.store.connection import read_many
from idp.store.kv import digest


@dataclass
class LoginSession:
    account_id: str
    subject: str
    sid: str
    auth_time: int
    amr: list[str]
    acr: str
    security_stamp: int
    created_at: int
    clients: list[str] = field(default_factory=list)
    # The login's row in the login history (idp.identity.security), shown on the sessions page.
    login_id: str | None = None


class SessionStore:
    def __init__(self, client: redis.Redis, idle_ttl: int, absolute_ttl: int) -> None:
        self.client = client
        self.idle_ttl = idle_ttl
        self.absolute_ttl = absolute_ttl

    @staticmethod
    def _key(session_id: str) -> str:
        return SessionStore._key_for_digest(digest(session_id))

    @staticmethod
    def _key_for_digest(session_digest: str) -> str:
        return f"idp:session:{session_digest}"

    @staticmethod
    def _account_key(account_id: str) -> str:
        return f"idp:account-sessions:{account_id}"

    def create(
        self,
        *,
        account_id: str,
        subject: str,
        amr: list[str],
        acr: str,
        security_stamp: int,
        login_id: str | None = None,
    ) -> tuple[str, LoginSession]:
        """Start a new session under a fresh id (never reuse the id a browser brought)."""
        now = int(time.time())
        session_id = secrets.token_urlsafe(32)
        session = LoginSession(
            account_id=account_id,
            subject=subject,
            sid=secrets.token_urlsafe(16),
            auth_time=now,
            amr=amr,
            acr=acr,
            security_stamp=security_stamp,
            created_at=now,
            login_id=login_id,
        )
        self._save(session_id, session)
        # Index by account, so suspension and cancellation can end every session of it.
        pipe = self.client.pipeline(transaction=False)
        pipe.sadd(self._account_key(account_id), digest(session_id))
        pipe.expire(self._account_key(account_id), self.absolute_ttl)
        pipe.execute()
        return session_id, session

    def get(self, session_id: str | None) -> LoginSession | None:
        if not session_id:
            return None
        # Read and slide the idle expiry in one round trip (GETEX, Redis 6.2).
        raw = self.client.getex(self._key(session_id), ex=self.idle_ttl)
        if not raw:
            return None
        session = LoginSession(**json.loads(raw))
        now = int(time.time())
        if now - session.created_at >= self.absolute_ttl:
            self.destroy(session_id)
            return None
        # Never past the absolute limit: near its end the key expires with it.
        remaining = self.absolute_ttl - (now - session.created_at)
        if remaining < self.idle_ttl:
            self.client.expire(self._key(session_id), remaining)
        return session

    def add_client(self, session_id: str, session: LoginSession, client_id: str) -> None:
        """Remember a portal of the session (for back-channel logout). Atomic (WATCH/MULTI):
        portals logging in at the same moment are all kept, and a session ended meanwhile is
        not brought back."""
        if client_id in session.clients:
            return
        key = self._key(session_id)
        with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if not raw:
                        return
                    current = LoginSession(**json.loads(raw))
                    if client_id not in current.clients:
                        current.clients.append(client_id)
                    remaining = self.absolute_ttl - (int(time.time()) - current.created_at)
                    pipe.multi()
                    pipe.set(
                        key,
                        json.dumps(asdict(current), separators=(",", ":")),
                        ex=max(1, min(self.idle_ttl, remaining)),
                    )
                    pipe.execute()
                    session.clients = current.clients
                    return
                except redis.WatchError:
                    continue

    def add_methods(self, session_id: str, methods: list[str]) -> LoginSession | None:
        """Add authentication methods (``amr`` values) proved later in the session (a second
        factor, idp.identity.factors); atomic as ``add_client``. None when the session ended."""
        key = self._key(session_id)
        with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if not raw:
                        return None
                    current = LoginSession(**json.loads(raw))
                    current.amr = [*current.amr, *(m for m in methods if m not in current.amr)]
                    remaining = self.absolute_ttl - (int(time.time()) - current.created_at)
                    pipe.multi()
                    pipe.set(
                        key,
                        json.dumps(asdict(current), separators=(",", ":")),
                        ex=max(1, min(self.idle_ttl, remaining)),
                    )
                    pipe.execute()
                    return current
                except redis.WatchError:
                    continue

    def destroy(self, session_id: str) -> LoginSession | None:
        """End one session; returns what it was (for back-channel logout), if it still lived."""
        return self._destroy_digest(digest(session_id))

    def _destroy_digest(self, session_digest: str) -> LoginSession | None:
        key = self._key_for_digest(session_digest)
        pipe = self.client.pipeline(transaction=True)
        pipe.get(key)
        pipe.delete(key)
        raw, _deleted = pipe.execute()
        if not raw:
            return None
        session = LoginSession(**json.loads(raw))
        self.client.srem(self._account_key(session.account_id), session_digest)
        return session

    def list_for(self, account_id: str) -> list[LoginSession]:
        """The live sessions of an account (for administrators), oldest first; reading them
        neither extends nor ends them."""
        members = sorted(
            m.decode() if isinstance(m, bytes) else str(m)
            for m in self.client.smembers(self._account_key(account_id))
        )
        if not members:
            return []
        now = int(time.time())
        found = []
        for raw in read_many(self.client, [self._key_for_digest(m) for m in members]):
            if raw:
                session = LoginSession(**json.loads(raw))
                if now - session.created_at < self.absolute_ttl:
                    found.append(session)
        return sorted(found, key=lambda s: s.created_at)

    def destroy_all(self, account_id: str) -> list[LoginSession]:
        """End every session of an account (suspension, cancellation); returns those that lived."""
        ended = []
        for member in self.client.smembers(self._account_key(account_id)):
            session = self._destroy_digest(
                member.decode() if isinstance(member, bytes) else str(member)
            )
            if session is not None:
                ended.append(session)
        self.client.delete(self._account_key(account_id))
        return ended

    def _live(self, account_id: str) -> list[tuple[str, LoginSession]]:
        """(digest, session) of every live session of an account (two round trips)."""
        members = [
            m.decode() if isinstance(m, bytes) else str(m)
            for m in self.client.smembers(self._account_key(account_id))
        ]
        if not members:
            return []
        now = int(time.time())
        found = []
        for member, raw in zip(
            members, read_many(self.client, [self._key_for_digest(m) for m in members]), strict=True
        ):
            if raw:
                session = LoginSession(**json.loads(raw))
                if now - session.created_at < self.absolute_ttl:
                    found.append((member, session))
        return found

    def destroy_sid(self, account_id: str, sid: str) -> LoginSession | None:
        """End the session of ``account_id`` whose public ``sid`` this is (the person's "end
        this session"); None when the account has no such live session."""
        for member, session in self._live(account_id):
            if secrets.compare_digest(session.sid, sid):
                return self._destroy_digest(member)
        return None

    def destroy_others(self, account_id: str, keep_session_id: str | None) -> list[LoginSession]:
        """End every session of the account but ``keep_session_id`` (the person's "end all
        other sessions"); returns those that lived."""
        keep = digest(keep_session_id) if keep_session_id else None
        ended = []
        for member, _session in self._live(account_id):
            if member != keep:
                session = self._destroy_digest(member)
                if session is not None:
                    ended.append(session)
        return ended

    def _save(self, session_id: str, session: LoginSession) -> None:
        remaining = self.absolute_ttl - (int(time.time()) - session.created_at)
        self.client.set(
            self._key(session_id),
            json.dumps(asdict(session), separators=(",", ":")),
            ex=max(1, min(self.idle_ttl, remaining)),
        )
