"""The end-session endpoint's rules (OpenID Connect RP-Initiated Logout 1.0).

- The request is validated by ``idp.oauth.logout.validate_end_session``: anything wrong logs
  nobody out and redirects nowhere.
- A valid ``id_token_hint`` for the person **and session** logged in here ends the session at
  once. Otherwise (no hint, another person's, an earlier session's) the person confirms first
  (section 2: the OP MUST ask then): the confirmation is single use
  (``idp:logout-confirmation:<random>``, 10 minutes) and bound to the session's ``sid``, so a
  replayed or foreign confirmation ends nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import redis

from idp.oauth.keys import KeyRing
from idp.oauth.logout import EndSessionRequest, validate_end_session
from idp.oauth.portals import Portals
from idp.oauth.sso import SingleSignOn
from idp.oauth.subjects import Subjects

CONFIRMATION_TTL = 600
MAX_CONFIRMATION_LENGTH = 64


@dataclass
class Decision:
    """What a logout request comes to: ``nothing`` (nobody is logged in here), ``end`` (at
    once), or ``confirm`` (ask, with the single-use ``confirmation``)."""

    action: str
    confirmation: str | None = None


class EndSession:
    def __init__(
        self,
        issuer: str,
        portals: Portals,
        keys: KeyRing,
        sso: SingleSignOn,
        subjects: Subjects,
        redis_client: redis.Redis,
    ) -> None:
        self._issuer = issuer
        self._portals = portals
        self._keys = keys
        self._sso = sso
        self._subjects = subjects
        self._redis = redis_client

    def validate(self, params: dict[str, list[str]]) -> EndSessionRequest:
        """Raises InvalidLogoutRequest."""
        return validate_end_session(
            params,
            issuer=self._issuer,
            find_client=self._portals.find,
            verify_own_jwt=lambda token: self._keys.verify(token)[1],
        )

    def decide(self, end: EndSessionRequest, session_id: str | None) -> Decision:
        session, _account = self._sso.current(session_id)
        if session is None:
            return Decision("nothing")
        seen_as = self._subjects.for_client(end.client, session.subject)
        if end.trusted and end.hint_subject == seen_as and end.hint_sid == session.sid:
            return Decision("end")
        confirmation = secrets.token_urlsafe(24)
        self._redis.set(_key(confirmation), session.sid, ex=CONFIRMATION_TTL)
        return Decision("confirm", confirmation)

    def confirmed(self, confirmation: str, session_id: str | None) -> bool:
        """Take the confirmation (single use): True when it was shown for this session."""
        if not confirmation or len(confirmation) > MAX_CONFIRMATION_LENGTH:
            return False
        expected = self._redis.getdel(_key(confirmation))
        session, _account = self._sso.current(session_id)
        return (
            session is not None
            and isinstance(expected, bytes)
            and secrets.compare_digest(expected.decode(), session.sid)
        )

    def end(self, session_id: str | None, ip_address: str | None) -> None:
        self._sso.end(session_id, ip_address=ip_address)


def _key(confirmation: str) -> str:
    """The confirmation's key; its value is the ``sid`` of the session it was shown for."""
    return f"idp:logout-confirmation:{confirmation}"
