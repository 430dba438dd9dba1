"""Single sign-on sessions and their end (OpenID Connect Session Management practice,
RP-Initiated Logout 1.0 and Back-Channel Logout 1.0).

- A login starts a new session under a fresh id (no session fixation); a session the browser
  already had ends first, like a logout, so a new login always gets a new ``sid``.
- A session is *current* only while it lives in Redis, its account is active and the account's
  ``security_stamp`` is unchanged (a password reset or a suspension bumps it, and so ends
  every session at once).
- Ending a session revokes the grants issued in it and writes one back-channel delivery per
  portal of the session, under the ``sub`` that portal knows (pairwise or public), in one
  transaction; the dispatcher (``idp.oauth.backchannel``) delivers them.
- Ending *everything* of an account (suspension, cancellation, password reset; natural-person
  agreement clauses 7 and 8) also tells portals that hold tokens outside any live session.
- Ending *company logins* (the company suspended or cancelled, a handler grant suspended or
  revoked, an administrator removed) tells each portal that its session for the company ended:
  ``sub`` is the company's subject as that portal sees it, ``sid`` the login's session. The
  person's own session, and their own sessions at portals, go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import event
from sqlalchemy.orm import Session

from idp.identity.audit import Audit
from idp.identity.evidence import truncated
from idp.identity.security import LoginHistory, login_method
from idp.models import Account, Client, Grant
from idp.models.base import Database, utcnow
from idp.oauth.backchannel import BackchannelDispatcher
from idp.oauth.subjects import Subjects
from idp.oauth.tokens import TokenService
from idp.store.sessions import LoginSession, SessionStore


class SingleSignOn:
    def __init__(
        self,
        db: Database,
        sessions: SessionStore,
        tokens: TokenService,
        backchannel: BackchannelDispatcher,
        subjects: Subjects,
        audit: Audit,
        history: LoginHistory | None = None,
        login_notice: Callable[..., object] | None = None,
    ) -> None:
        # The provider's new-login message to the person (``Messages.notify``, issue 12).
        self._login_notice = login_notice
        self._history = history
        self._db = db
        self._sessions = sessions
        self._tokens = tokens
        self._backchannel = backchannel
        self._subjects = subjects
        self._audit = audit

    # -- the current session -----------------------------------------------------------------
    def current(self, session_id: str | None) -> tuple[LoginSession | None, Account | None]:
        """The live SSO session and its account, or (None, None) if either no longer holds."""
        session = self._sessions.get(session_id)
        if session is None:
            return None, None
        account = self._db.session.get(Account, session.account_id)
        if (
            account is None
            or not account.active
            or account.security_stamp != session.security_stamp
        ):
            assert session_id is not None
            self._sessions.destroy(session_id)
            return None, None
        return session, account

    def sessions_of(self, account_id: str) -> list[LoginSession]:
        return self._sessions.list_for(account_id)

    def add_client(self, session_id: str, session: LoginSession, client_id: str) -> None:
        """Remember that the session logged in to ``client_id`` (for single logout)."""
        self._sessions.add_client(session_id, session, client_id)

    def add_methods(self, session_id: str | None, methods: list[str]) -> bool:
        """A second factor proved in the session raises its ``amr`` (RFC 8176); False when the
        session ended meanwhile."""
        if not session_id:
            return False
        return self._sessions.add_methods(session_id, methods) is not None

    # -- starting ----------------------------------------------------------------------------
    def start(
        self,
        account: Account,
        amr: list[str],
        *,
        replacing: str | None,
        client_id: str | None,
        via: str | None,
        ip_address: str | None,
        user_agent: str | None = None,
    ) -> str:
        """A new session for ``account`` (after a password, an SMS code or a registration);
        the browser's previous session (``replacing``) ends like any logout. The login goes
        into the person's login history (one row). Returns the new session id, for the SSO
        cookie."""
        if replacing:
            self.end(replacing, reason="new_login", ip_address=ip_address)
        login_id = self._history.new_id() if self._history is not None else None
        session_id, _session = self._sessions.create(
            account_id=account.id,
            subject=account.subject,
            amr=amr,
            acr=account.acr,
            security_stamp=account.security_stamp,
            login_id=login_id,
        )
        if self._history is not None and login_id is not None:
            self._history.record(
                login_id,
                account_id=account.id,
                client_id=client_id,
                method=login_method(amr, via),
                ip_address=ip_address,
                user_agent=user_agent,
            )
        self._audit(
            "login",
            actor=account.id,
            account_id=account.id,
            client_id=client_id,
            ip_address=ip_address,
            details={"via": via} if via else {},
        )
        if self._login_notice is not None:
            # One INSERT: the person learns of every new login (security event, essential).
            self._login_notice(
                account.id,
                time=utcnow().isoformat(timespec="seconds"),
                portal=client_id,
                via=via,
                network=truncated(ip_address),
                device=(user_agent or "")[:200] or None,
            )
        return session_id

    # -- ending ------------------------------------------------------------------------------
    def end(
        self, session_id: str | None, reason: str = "logout", ip_address: str | None = None
    ) -> LoginSession | None:
        """End the provider session and, through the back channel, every portal session in it;
        the refresh tokens issued in the session stop working."""
        session = self._sessions.destroy(session_id) if session_id else None
        if session is None:
            return None
        self._ended([session], reason)
        self._audit(
            "logout",
            actor=session.account_id,
            account_id=session.account_id,
            ip_address=ip_address,
            details={"reason": reason, "portals": len(session.clients)},
        )
        return session

    def end_one_of(
        self, account_id: str, sid: str, reason: str, ip_address: str | None = None
    ) -> bool:
        """The person ends one of their sessions (by its public ``sid``) as a logout does:
        its grants stop and its portals hear through the back channel. False when the account
        has no such live session."""
        session = self._sessions.destroy_sid(account_id, sid)
        if session is None:
            return False
        self._ended([session], reason)
        self._audit(
            "logout",
            actor=account_id,
            account_id=account_id,
            ip_address=ip_address,
            details={"reason": reason, "portals": len(session.clients)},
        )
        return True

    def end_others(
        self,
        account_id: str,
        keep_session_id: str | None,
        reason: str,
        ip_address: str | None = None,
    ) -> int:
        """End every session of the account but the browser's own (``keep_session_id``), as
        logouts do; returns how many ended."""
        ended = self._sessions.destroy_others(account_id, keep_session_id)
        if ended:
            self._ended(ended, reason)
            self._audit(
                "sessions_ended",
                actor=account_id,
                account_id=account_id,
                ip_address=ip_address,
                details={"reason": reason, "sessions": len(ended)},
            )
        return len(ended)

    def end_all_of(self, account_id: str, reason: str) -> int:
        """End every SSO session of an account as a logout does (an administrator's action);
        returns how many ended."""
        ended = self._sessions.destroy_all(account_id)
        self._ended(ended, reason)
        return len(ended)

    def _ended(self, ended: list[LoginSession], reason: str) -> None:
        """The refresh tokens issued in the sessions stop, and every portal of each session
        hears through the back channel, under the ``sub`` it knows."""
        for session in ended:
            self._tokens.revoke_grants_of_session(session.sid, reason)
        with self._db.transaction() as db_session:
            for session in ended:
                for client_id in session.clients:
                    client = db_session.get(Client, client_id)
                    if client is not None:
                        self._backchannel.enqueue(
                            db_session,
                            client,
                            subject=self._subjects.for_client(client, session.subject),
                            sid=session.sid,
                            reason=reason,
                        )
        self._backchannel.wake()

    def end_everything(self, account: Account, reason: str) -> None:
        """End every session and grant of an account and tell every portal (clauses 7, 8)."""
        ended = self._sessions.destroy_all(account.id)
        notified: set[str] = set()
        with self._db.transaction() as db_session:
            for session in ended:
                for client_id in session.clients:
                    client = db_session.get(Client, client_id)
                    if client is not None:
                        notified.add(client_id)
                        self._backchannel.enqueue(
                            db_session,
                            client,
                            subject=self._subjects.for_client(client, account.subject),
                            sid=session.sid,
                            reason=reason,
                        )
            # Portals holding tokens outside any live session (refresh tokens) hear by `sub`.
            for client_id in self._tokens.clients_holding_grants(db_session, account.id):
                client = db_session.get(Client, client_id)
                if client is not None and client_id not in notified:
                    self._backchannel.enqueue(
                        db_session,
                        client,
                        subject=self._subjects.for_client(client, account.subject),
                        sid=None,
                        reason=reason,
                    )
            self._tokens.revoke_grants_of_account(db_session, account.id, reason)
        self._backchannel.wake()

    def company_logins_ended(
        self, db_session: Session, grants: Sequence[Grant], reason: str
    ) -> None:
        """Inside the transaction that revokes company ``grants``: one back-channel delivery
        per portal session acting for the company (Back-Channel Logout 1.0 section 2.4:
        ``sub`` the company's subject for that portal, pairwise when so registered, and
        ``sid``). A grant outside any session is told by ``sub`` alone only when the whole
        company ends, since that ``sub`` names every session acting for it."""
        whole_company = reason.startswith("entity_")
        told: set[tuple[str, str, str | None]] = set()
        for grant in grants:
            if grant.entity is None or (grant.sid is None and not whole_company):
                continue
            subject = self._subjects.for_client(grant.client, grant.entity.subject)
            key = (grant.client_id, subject, grant.sid)
            if key in told:
                continue
            told.add(key)
            self._backchannel.enqueue(
                db_session, grant.client, subject=subject, sid=grant.sid, reason=reason
            )
        if told:
            # Wake the dispatcher once the deliveries are committed (a rollback sends none).
            event.listen(db_session, "after_commit", self._wake_after_commit, once=True)

    def _wake_after_commit(self, _session: Session) -> None:
        self._backchannel.wake()
