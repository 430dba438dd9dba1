"""Becoming known: a person's real-name registration, raising their verification level, and a
company's registration by its legal representative.

Each is behind the hourly limit of failed identity verifications (``verification_failures``):
a registry is no oracle for which name goes with which ID number, nor for who represents which
company. Per address for registration (nobody is signed in yet), per account for the others.

- Natural-person agreement clause 4(2): the phone is proven by SMS code before anything about
  existing accounts is told (whether an ID number is registered is not for anyone who merely
  knows it); registration accepts the current agreements (``accept_pending``) and is audited
  (``account_registered``) in the account's own transaction (one fact: all or nothing); refusals
  are audited (``registration_refused``).
- Identity checks (``IdentityChecks.verify``): a check the authority does not confirm counts
  against the account's hourly attempts.
- Legal-person agreement: the company's agreements are accepted on its behalf (the evidence's
  ``account_id`` is the company's id, ``user_type`` ``legal_person``) once the registry
  confirmed the company, in the registration's transaction (``entity_agreement_accepted``;
  refusals: ``entity_registration_refused``).

The outcomes are values (field -> error code, seconds to wait): the views turn them into
messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from sqlalchemy.orm import Session

from idp.identity import audit, documents
from idp.identity.agreements import Agreements, accept_pending
from idp.identity.audit import Audit
from idp.identity.entities import Entities
from idp.identity.people import Application, Checked, People
from idp.identity.sms import SmsCodes
from idp.identity.verification import IdentityChecks
from idp.identity.verifiers import Result, Verdict
from idp.models import Account, LegalEntity
from idp.observability import metrics
from idp.store.ratelimit import HourlyLimit

REGISTRATION_SMS_PURPOSE = "register"
# Refusals of the registry that count as a failed verification (who represents which company).
REGISTRY_REFUSALS = frozenset({"registry_mismatch", "inactive"})
# A company registration refused for the person's level is told as such, neither counted nor
# audited (the pages offer registration only from L3).
LEVEL_REFUSAL = "level"


@dataclass
class PersonRegistration:
    """A person's registration: the account, or why not (field -> code, or seconds to wait)."""

    account: Account | None = None
    errors: dict[str, str] = field(default_factory=dict)
    retry_after: int = 0  # seconds, when too many verifications failed from this address
    existing_phone_masked: str | None = None  # the ID number's account, for a recovery hint
    registry_unavailable: bool = False  # registered at L1: the registry could not be asked
    code_used: bool = False  # the SMS code proved the phone and is used up (even if refused)

    @property
    def id_number_taken(self) -> bool:
        return self.errors.get("id_number") == "taken"


@dataclass
class IdentityVerification:
    """A check of the person's identity elements, or the seconds to wait before another."""

    checked: Checked | None = None
    retry_after: int = 0


@dataclass
class CompanyRegistration:
    """A company's registration: the company, or why not (field -> code, seconds to wait)."""

    entity: LegalEntity | None = None
    errors: dict[str, str] = field(default_factory=dict)
    retry_after: int = 0
    moved_from: str | None = None  # the previous legal representative, when the role moved


class Registration:
    def __init__(
        self,
        people: People,
        entities: Entities,
        agreements: Agreements,
        identity_checks: IdentityChecks,
        sms: SmsCodes,
        audit: Audit,
        verification_failures: HourlyLimit,
        *,
        local_zone: tzinfo = documents.DEFAULT_ZONE,
    ) -> None:
        self._people = people
        self._entities = entities
        self._agreements = agreements
        self._identity_checks = identity_checks
        self._sms = sms
        self._audit = audit
        self._failures = verification_failures
        self._local_zone = local_zone

    # -- natural persons ---------------------------------------------------------------------
    def register_person(
        self,
        application: Application,
        sms_code: str,
        *,
        ip_address: str | None,
        user_agent: str | None,
        client_id: str | None = None,
    ) -> PersonRegistration:
        """Validate, throttle per address, prove the phone, then register (clause 4(2)).
        ``client_id`` is the portal whose login the person registered in: the acceptance
        evidence names it."""
        errors = application.validate(today=documents.local_today(self._local_zone))
        if errors:
            # Every field's problem at once (issue 19): the SMS code is checked too, without
            # using it up, so a wrong code is reported beside the other fields and a right one
            # still works at the next submit.
            if "phone" not in errors:
                proof = self._phone_proof(application.phone, sms_code, consume=False)
                if proof is not None:
                    errors = {**errors, "sms_code": proof}
            return PersonRegistration(errors=errors)
        address = ip_address or ""
        wait = self._failures.exceeded(f"address:{address}")
        if wait:
            return PersonRegistration(retry_after=wait)
        proof = self._phone_proof(application.phone, sms_code)
        if proof is not None:
            return PersonRegistration(errors={"sms_code": proof})

        def along(session: Session, account: Account, verdict: Verdict | None) -> None:
            """The acceptance of the agreements the form showed and the registration's audit
            row: one fact with the account, written in its transaction."""
            accept_pending(
                session,
                account.id,
                account.user_type,
                ip_address=address,
                user_agent=user_agent,
                client_id=client_id,
            )
            session.add(
                audit.event(
                    "account_registered",
                    actor=account.id,
                    account_id=account.id,
                    ip_address=address,
                    details={
                        "id_type": account.id_type,
                        "verification_level": account.verification_level,
                        "registry": verdict.result.value if verdict else None,
                    },
                )
            )

        registered = self._people.register(application, along)
        account = registered.account
        if account is None:
            if "registry_mismatch" in registered.errors.values():
                self._failures.count(f"address:{address}")
            self._audit(
                "registration_refused",
                ip_address=address,
                details={"reasons": sorted(set(registered.errors.values()))},
            )
            metrics.count_registration("person", "refused")
            return PersonRegistration(
                errors=registered.errors,
                existing_phone_masked=registered.existing_phone_masked,
                code_used=True,
            )
        metrics.count_registration("person", "registered")
        verdict = registered.verdict
        return PersonRegistration(
            account=account,
            registry_unavailable=verdict is not None and verdict.result == Result.UNAVAILABLE,
        )

    def _phone_proof(self, phone: str, sms_code: str, *, consume: bool = True) -> str | None:
        """None when ``sms_code`` is the code sent to ``phone`` for registration, else why not
        (``required``, ``wrong``, ``expired``, ``too_many``)."""
        if not sms_code:
            return "required"
        outcome = self._sms.check(phone, REGISTRATION_SMS_PURPOSE, sms_code, consume=consume)
        return None if outcome == "ok" else outcome

    def verify_identity(
        self, account: Account, method: str, extra: dict[str, str], *, ip_address: str | None
    ) -> IdentityVerification:
        """Check the account's elements with ``method``'s authority, within the account's
        hourly attempts; a check the authority does not confirm is counted."""
        key = f"account:{account.id}"
        wait = self._failures.exceeded(key)
        if wait:
            return IdentityVerification(retry_after=wait)
        checked = self._identity_checks.verify(account, method, extra, ip_address=ip_address)
        if checked.result == Result.NO_MATCH:
            self._failures.count(key)
        return IdentityVerification(checked=checked)

    # -- companies ---------------------------------------------------------------------------
    def register_company(
        self,
        account: Account,
        *,
        uscc: str,
        name: str,
        entity_type: str,
        region: str,
        ip_address: str | None,
        user_agent: str | None,
    ) -> CompanyRegistration:
        """Register the company with ``account`` as its legal representative (the person has
        ticked the legal-person agreement), within the account's hourly attempts."""
        key = f"account:{account.id}"
        wait = self._failures.exceeded(key)
        if wait:
            return CompanyRegistration(retry_after=wait)

        def along(session: Session, entity: LegalEntity) -> None:
            """The company's acceptance of its agreement and its audit row: one fact with the
            registration, written in its transaction."""
            recorded = accept_pending(
                session,
                entity.id,
                "legal_person",
                ip_address=ip_address,
                user_agent=user_agent,
                client_id=None,
            )
            session.add(
                audit.event(
                    "entity_agreement_accepted",
                    actor=account.id,
                    account_id=account.id,
                    entity_id=entity.id,
                    ip_address=ip_address,
                    details={"agreements": recorded},
                )
            )

        registered = self._entities.register(
            account, uscc=uscc, name=name, entity_type=entity_type, region=region, along=along
        )
        entity = registered.entity
        if entity is None:
            if registered.errors.get("form") == LEVEL_REFUSAL:
                return CompanyRegistration(errors=registered.errors)
            reasons = sorted(set(registered.errors.values()))
            if REGISTRY_REFUSALS & set(reasons):
                self._failures.count(key)
            self._audit(
                "entity_registration_refused",
                actor=account.id,
                account_id=account.id,
                ip_address=ip_address,
                details={"reasons": reasons},
            )
            metrics.count_registration("company", "refused")
            return CompanyRegistration(errors=registered.errors)
        metrics.count_registration("company", "registered")
        return CompanyRegistration(entity=entity, moved_from=registered.moved_from)
