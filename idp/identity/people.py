"""Natural persons: real-name registration, lookups through blind indexes, and verification.

Natural-person agreement clause 4(2): registration is real-name, proved with the person's own
phone number, ID number, bank card, social security or housing fund account; clause 4(3): the
person keeps the data current. One account per person: the ID number is unique through its blind
index. Every check against an authoritative source is kept as evidence (``Verification``), and
the account's level (``idp.identity.levels``) only rises through a matching check.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.identity import audit, documents, levels
from idp.identity.password_policy import check_password
from idp.identity.passwords import Passwords
from idp.identity.personal_data import PersonalData
from idp.identity.verifiers import Result, Verdict, Verifier
from idp.models import Account, Grant, Verification
from idp.models.base import Database, new_id, utcnow

# What a registration writes in the account's own transaction (``People.register``), given the
# new account and the population registry's verdict (None: not asked).
AlongWith = Callable[[Session, Account, "Verdict | None"], None]

MAX_NAME_LENGTH = 64
# Elements whose value is kept as evidence only as last four digits and a keyed hash.
ACCOUNT_NUMBER_ELEMENTS = ("bank_card", "social_security", "housing_fund", "driving_licence")
# What a person may offer to reach L3, in the order the page offers them.
SECOND_AUTHORITY_ELEMENTS = {
    "bank_card_four_elements": "bank_card",
    "social_security": "social_security",
    "housing_fund": "housing_fund",
}


@dataclass(frozen=True)
class Profile:
    """An account's personal data, opened. Never logged; masked on every page."""

    name: str | None
    id_type: str | None
    id_number: str | None
    phone: str | None

    @property
    def masked(self) -> dict[str, str | None]:
        return {
            "name": documents.mask_name(self.name) if self.name else None,
            "id_number": documents.mask_id_number(self.id_number) if self.id_number else None,
            "phone": documents.mask_phone(self.phone) if self.phone else None,
        }


@dataclass
class Application:
    """A registration form, normalised. ``errors`` maps a field to an error code."""

    name: str = ""
    id_type: str = "resident_id"
    id_number: str = ""
    phone: str = ""
    password: str = ""
    password_confirm: str = ""
    accepted_agreement: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> Application:
        id_type = (form.get("id_type") or "resident_id").strip()
        return cls(
            name=normalize_name(form.get("name", "")),
            id_type=id_type,
            id_number=documents.normalize_id_number(id_type, form.get("id_number", "")[:64]),
            phone=(form.get("phone", "") or "").strip()[:32],
            password=form.get("password", "")[:1024],
            password_confirm=form.get("password_confirm", "")[:1024],
            accepted_agreement=form.get("accept_agreement") in {"yes", "on", "1", "true"},
        )

    def validate(self, today: date | None = None) -> dict[str, str]:
        """Field checks that need no store: formats, check digits, the password policy. A birth
        date after ``today`` (the authority's local date) is refused."""
        errors = self.validate_identity(today)
        problem = check_password(
            self.password,
            phone=self.phone if "phone" not in errors else None,
            id_number=self.id_number or None,
        )
        if problem:
            errors["password"] = problem
        elif self.password != self.password_confirm:
            errors["password_confirm"] = "mismatch"
        if not self.accepted_agreement:
            errors["accept_agreement"] = "required"
        self.errors = errors
        return errors

    def validate_identity(self, today: date | None = None) -> dict[str, str]:
        """The name, the document and the phone: the cheap checks (lengths, formats, the check
        digit) run before anything costs, an SMS code sent first of all (issue 17)."""
        errors: dict[str, str] = {}
        if not self.name:
            errors["name"] = "required"
        elif len(self.name) > MAX_NAME_LENGTH:
            errors["name"] = "too_long"
        elif any(unicodedata.category(ch).startswith(("C", "N", "S")) for ch in self.name):
            errors["name"] = "format"
        if self.id_type not in documents.ID_TYPES:
            errors["id_type"] = "id_type"
        elif not self.id_number:
            errors["id_number"] = "required"
        else:
            problem = documents.validate_id_number(self.id_type, self.id_number, today=today)
            if problem:
                errors["id_number"] = problem
        phone = documents.normalize_phone(self.phone) if self.phone else None
        if not self.phone:
            errors["phone"] = "required"
        elif phone is None:
            errors["phone"] = "format"
        else:
            self.phone = phone
        return errors


def normalize_name(raw: str) -> str:
    """NFC, surrounding spaces removed, inner runs of spaces collapsed (names of minorities and
    foreigners keep their middle dots and single spaces)."""
    return " ".join(unicodedata.normalize("NFC", (raw or "")[: MAX_NAME_LENGTH * 4]).split())[
        : MAX_NAME_LENGTH + 1
    ]


@dataclass
class Registered:
    account: Account | None = None
    errors: dict[str, str] = field(default_factory=dict)
    # For a duplicate ID number: the existing account's phone, masked (account recovery hint).
    existing_phone_masked: str | None = None
    verdict: Verdict | None = None


@dataclass
class Checked:
    """The outcome of one verification of an account's elements."""

    result: Result
    level_before: str
    level_after: str
    verdict: Verdict | None = None


class People:
    def __init__(
        self,
        db: Database,
        personal_data: PersonalData,
        passwords: Passwords,
        verifier: Verifier,
    ) -> None:
        self.db = db
        self.personal_data = personal_data
        self.passwords = passwords
        self.verifier = verifier

    # -- reading -----------------------------------------------------------------------------
    @staticmethod
    def reachable(account: Account) -> str:
        """The highest level the account can reach without a service counter: what its
        identity document allows online (a passport cannot be checked against the registry)."""
        id_type = documents.ID_TYPES.get(account.id_type or "")
        if id_type is None:
            return account.verification_level
        return levels.highest([account.verification_level, id_type.online_level]) or "L0"

    def profile(self, account: Account) -> Profile:
        pd = self.personal_data
        return Profile(
            name=pd.open_optional(account.name_sealed, account.context("name_sealed")),
            id_type=account.id_type,
            id_number=pd.open_optional(
                account.id_number_sealed, account.context("id_number_sealed")
            ),
            phone=pd.open_optional(account.phone_sealed, account.context("phone_sealed")),
        )

    def id_number_index(self, id_type: str, id_number: str) -> str:
        return self.personal_data.index(f"id_number:{id_type}", id_number)

    def phone_index(self, phone: str) -> str:
        return self.personal_data.index("phone", phone)

    def find_by_identifier(self, identifier: str) -> Account | None:
        """An account by what a person types as ``username``: a mainland mobile number, an
        identity document number (any type) or an operator-chosen username. Exact matches only."""
        identifier = identifier.strip()
        if not identifier or len(identifier) > 128:
            return None
        conditions = [Account.username == identifier]
        phone = documents.normalize_phone(identifier)
        if phone is not None:
            conditions.append(Account.phone_index == self.phone_index(phone))
        for id_type in documents.ID_TYPES:
            number = documents.normalize_id_number(id_type, identifier)
            if documents.validate_id_number(id_type, number) is None:
                conditions.append(Account.id_number_index == self.id_number_index(id_type, number))
        return self.db.session.scalar(select(Account).where(or_(*conditions)).limit(1))

    def evidence(self, account_id: str) -> list[Verification]:
        return list(
            self.db.session.scalars(
                select(Verification)
                .where(Verification.account_id == account_id)
                .order_by(Verification.created_at.desc())
            )
        )

    def registry_evidence(self, account: Account) -> Verification | None:
        """The latest matching population-registry check (OIDC4IDA ``electronic_record``)."""
        return self.db.session.scalar(
            select(Verification)
            .where(
                Verification.account_id == account.id,
                Verification.check == levels.REGISTRY_CHECK,
                Verification.result == Result.MATCH.value,
            )
            .order_by(Verification.created_at.desc())
            .limit(1)
        )

    def by_id(self, account_id: str) -> Account | None:
        return self.db.session.get(Account, account_id)

    def id_of_subject(self, subject: str) -> str | None:
        """The id of the account whose ``sub`` is ``subject``, when ``subject`` is not itself
        an account id; None otherwise (an id, or a ``sub`` nobody has)."""
        account = self.db.session.scalar(
            select(Account).where(Account.subject == subject, Account.id != subject)
        )
        return account.id if account is not None else None

    def find(self, reference: str) -> Account | None:
        """The account ``reference`` names exactly, as an operator names one: its id, its
        subject identifier, or what a person types as username (``find_by_identifier``: a
        username, a phone number or an identity document number, through the blind indexes)."""
        account = self.db.session.scalar(
            select(Account).where(or_(Account.id == reference, Account.subject == reference))
        )
        return account if account is not None else self.find_by_identifier(reference)

    # -- accounts an operator creates (``idp users create``) ---------------------------------
    def create_account(
        self, username: str, password: str, name: str | None = None
    ) -> Account | None:
        """An account with an operator-chosen username and password, at level L0 (no identity
        checked), its name sealed when given; None when the username is taken."""
        account = Account(
            id=new_id(), username=username, password_hash=self.passwords.hash(password)
        )
        if name:
            account.name_sealed = self.personal_data.seal(
                name.strip(), account.context("name_sealed")
            )
        try:
            with self.db.transaction() as session:
                session.add(account)
        except IntegrityError:
            return None
        return account

    # -- registration ------------------------------------------------------------------------
    def taken(self, application: Application) -> Registered | None:
        """A refusal when the ID number or the phone already has an account, else None."""
        session = self.db.session
        existing = session.scalar(
            select(Account).where(
                Account.id_number_index
                == self.id_number_index(application.id_type, application.id_number)
            )
        )
        if existing is not None:
            phone = self.profile(existing).phone
            return Registered(
                errors={"id_number": "taken"},
                existing_phone_masked=documents.mask_phone(phone) if phone else None,
            )
        if session.scalar(
            select(Account.id).where(Account.phone_index == self.phone_index(application.phone))
        ):
            return Registered(errors={"phone": "taken"})
        return None

    def register(self, application: Application, along: AlongWith | None = None) -> Registered:
        """Create the account of a validated application whose phone was proven by SMS.

        A resident ID is checked against the population registry first: a mismatch refuses the
        registration (nothing stored, nothing of the registry revealed); an unavailable registry
        leaves the account at L1 for the person to verify later. Nothing half-written: the
        account, its evidence and what ``along`` writes (the agreement acceptance and the audit
        row of the registration) are stored in one transaction; when any of it fails, nothing
        of it is.
        """
        refusal = self.taken(application)
        if refusal is not None:
            return refusal
        verdict = self._registry_check(application)
        if verdict is not None and verdict.result == Result.NO_MATCH:
            return Registered(errors={"name": "registry_mismatch"}, verdict=verdict)
        account_id = new_id()
        account = Account(
            id=account_id,
            password_hash=self.passwords.hash(application.password),
            id_type=application.id_type,
            id_number_index=self.id_number_index(application.id_type, application.id_number),
            phone_index=self.phone_index(application.phone),
            phone_verified=True,
            verification_level="L1",
            verified_at=utcnow(),
        )
        self._seal(account, application.name, application.id_number, application.phone)
        stored = False
        try:
            with self.db.transaction() as session:
                session.add(account)
                session.flush()
                stored = True
                self._record(
                    session,
                    account,
                    check="sms",
                    source="sms",
                    elements=["phone"],
                    result=Result.MATCH.value,
                    level_after="L1",
                    level_before="L0",
                )
                if verdict is not None:
                    self._apply(session, account, verdict, {})
                if along is not None:
                    along(session, account, verdict)
        except IntegrityError:
            if stored:
                raise  # not a duplicate: what came along was refused, and nothing is stored
            # Registered concurrently with the same ID number or phone.
            refusal = self.taken(application)
            return refusal or Registered(errors={"id_number": "taken"})
        return Registered(account=account, verdict=verdict)

    def _registry_check(self, application: Application) -> Verdict | None:
        """Name and ID number against the population registry, for documents it knows (a
        passport is not in it: None)."""
        if documents.ID_TYPES[application.id_type].online_level == "L1":
            return None
        return self.verifier.verify(
            levels.REGISTRY_CHECK,
            {"name": application.name, "id_number": application.id_number},
        )

    def _seal(self, account: Account, name: str, id_number: str, phone: str) -> None:
        pd = self.personal_data
        account.name_sealed = pd.seal(name, account.context("name_sealed"))
        account.id_number_sealed = pd.seal(id_number, account.context("id_number_sealed"))
        account.phone_sealed = pd.seal(phone, account.context("phone_sealed"))

    # -- verification ------------------------------------------------------------------------
    def verify(self, account: Account, check: str, extra: Mapping[str, str]) -> Checked:
        """Check the account's name and ID number (and ``extra`` elements: phone comes from the
        account) with the authority for ``check``; record the evidence; raise the level on a
        match. ``extra`` values must already be normalised."""
        profile = self.profile(account)
        before = account.verification_level
        if profile.name is None or profile.id_number is None:
            return Checked(Result.NO_MATCH, before, before)
        elements = {"name": profile.name, "id_number": profile.id_number, **extra}
        if check == "phone_three_elements":
            elements["phone"] = profile.phone or ""
        if check == "bank_card_four_elements":
            elements["phone"] = profile.phone or ""
        verdict = self.verifier.verify(check, elements)
        with self.db.transaction() as session:
            row = session.get(Account, account.id)
            assert row is not None
            evidence = self._apply(session, row, verdict, extra)
            after = row.verification_level
        account.verification_level, account.verified_at = after, row.verified_at
        return Checked(verdict.result, before, evidence.level_after, verdict)

    def _apply(
        self, session: Session, account: Account, verdict: Verdict, extra: Mapping[str, str]
    ) -> Verification:
        before = account.verification_level
        after = before
        if verdict.result == Result.MATCH:
            after = levels.reached(before, verdict.check)
            if after != before:
                account.verification_level = after
                account.verified_at = verdict.checked_at
        detail: dict[str, Any] = {}
        for element in ACCOUNT_NUMBER_ELEMENTS:
            value = extra.get(element)
            if value:
                detail[f"{element}_last4"] = value[-4:]
                detail[f"{element}_hash"] = self.personal_data.keyed_hash(element, value)
        return self._record(
            session,
            account,
            check=verdict.check,
            source=verdict.source,
            elements=list(verdict.elements),
            result=verdict.result.value,
            level_before=before,
            level_after=after,
            reference=verdict.reference,
            detail=detail,
        )

    def _record(
        self,
        session: Session,
        account: Account,
        *,
        check: str,
        source: str,
        elements: list[str],
        result: str,
        level_before: str,
        level_after: str,
        reference: str | None = None,
        detail: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> Verification:
        evidence = Verification(
            account_id=account.id,
            check=check,
            source=source,
            elements=elements,
            result=result,
            level_before=level_before,
            level_after=level_after,
            reference=reference,
            detail=detail or {},
            actor=actor or account.id,
        )
        session.add(evidence)
        return evidence

    def record_counter_verification(
        self,
        account: Account,
        reference: str,
        actor: str,
        *,
        action: str,
        ip_address: str | None = None,
        reason: str | None = None,
    ) -> str:
        """Level L4: the person was verified in person at a service counter; an administrator
        records it with the counter's reference. The level, its evidence and the audit row
        (``action``, by ``actor``) are one fact, written in one transaction. Returns the level
        before."""
        with self.db.transaction() as session:
            row = session.get(Account, account.id)
            assert row is not None
            before = row.verification_level
            row.verification_level = "L4"
            row.verified_at = utcnow()
            self._record(
                session,
                row,
                check=levels.COUNTER,
                source="service_counter",
                elements=["name", "id_number", "in_person"],
                result=Result.MATCH.value,
                level_before=before,
                level_after="L4",
                reference=reference,
                actor=actor,
            )
            details = {"reference": reference, "level_before": before, "level_after": "L4"}
            if reason is not None:
                details["reason"] = reason
            session.add(
                audit.event(
                    action,
                    actor=actor,
                    account_id=account.id,
                    ip_address=ip_address,
                    details=details,
                )
            )
        return before

    # -- keeping data current (clause 4(3)) --------------------------------------------------
    def change_phone(self, account: Account, phone: str) -> str | None:
        """Replace the phone number (proven by an SMS code to the new number). A level reached
        through the old phone (three elements) is not lowered: the identity itself is unchanged.
        Returns an error code or None."""
        index = self.phone_index(phone)
        with self.db.transaction() as session:
            if session.scalar(
                select(Account.id).where(Account.phone_index == index, Account.id != account.id)
            ):
                return "taken"
            row = session.get(Account, account.id)
            assert row is not None
            row.phone_index = index
            row.phone_sealed = self.personal_data.seal(phone, row.context("phone_sealed"))
            row.phone_verified = True
            self._record(
                session,
                row,
                check="sms",
                source="sms",
                elements=["phone"],
                result=Result.MATCH.value,
                level_before=row.verification_level,
                level_after=row.verification_level,
            )
        return None

    def correct_identity(self, account: Account, application: Application) -> Registered:
        """A corrected name or ID number: the level drops to L1 and the registry check runs again
        (clause 4(3)); a match brings the account back to L2. Uses ``application.name``,
        ``id_type`` and ``id_number`` only."""
        index = self.id_number_index(application.id_type, application.id_number)
        if self.db.session.scalar(
            select(Account.id).where(Account.id_number_index == index, Account.id != account.id)
        ):
            return Registered(errors={"id_number": "taken"})
        verdict = self._registry_check(application)
        if verdict is not None and verdict.result == Result.NO_MATCH:
            return Registered(errors={"name": "registry_mismatch"}, verdict=verdict)
        try:
            with self.db.transaction() as session:
                row = session.get(Account, account.id)
                assert row is not None
                before = row.verification_level
                row.id_type = application.id_type
                row.id_number_index = index
                pd = self.personal_data
                row.name_sealed = pd.seal(application.name, row.context("name_sealed"))
                row.id_number_sealed = pd.seal(
                    application.id_number, row.context("id_number_sealed")
                )
                row.verification_level = "L1"
                # Acting for companies needs the verified identity: those logins end now.
                session.execute(
                    update(Grant)
                    .where(
                        Grant.account_id == row.id,
                        Grant.entity_id.is_not(None),
                        Grant.revoked_at.is_(None),
                    )
                    .values(revoked_at=utcnow(), revoked_reason="identity_corrected")
                )
                self._record(
                    session,
                    row,
                    check="identity_corrected",
                    source="self",
                    elements=["name", "id_number"],
                    result="declared",
                    level_before=before,
                    level_after="L1",
                )
                if verdict is not None:
                    self._apply(session, row, verdict, {})
        except IntegrityError:
            return Registered(errors={"id_number": "taken"})
        return Registered(account=row, verdict=verdict)
