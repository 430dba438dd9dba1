"""Agreement rules: shipping, publishing, and deciding what an account must accept at login.

- Registration is valid only on acceptance of the current agreement of the account's kind.
- A *material* version must be accepted again at the next login, with any portal.
- A *supplementary* version binds without re-signing (clause 10 of both agreements); the person
  is told about it once, at the next login.
- Evidence of every acceptance (or notification) is kept: the SHA-256 of the exact text shown.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.models.agreement import (
    LEGAL_PERSON,
    NATURAL_PERSON,
    AgreementAcceptance,
    AgreementKind,
    AgreementVersion,
)
from idp.models.base import Database, utcnow

PLACEHOLDER_AUTHORITY = "**政务服务管理机构"
PLACEHOLDER_PORTAL = "**政务服务门户"
DEFAULT_LANGUAGE = "zh-CN"
SEED_TITLES = {NATURAL_PERSON: "自然人实名注册协议", LEGAL_PERSON: "法人实名注册协议"}
APPLIES_TO = ("natural_person", "legal_person", "all")
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
MAX_TEXT_LENGTH = 200_000
REFERENCE_LANGUAGE = "en"
# Shipped texts per language: the file and the pattern that starts each of the two agreements.
SEED_FILES = {
    DEFAULT_LANGUAGE: ("data/registration-agreements.zh.txt", r"^\s*[一二]、"),
    REFERENCE_LANGUAGE: ("data/registration-agreements.en.txt", r"^\s*(?:I|II)\.\s+"),
}


class AgreementError(ValueError):
    """A publishing request that must be refused; the message says why."""


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def portal_name(authority_name: str) -> str:
    region = authority_name.removesuffix("政务服务管理机构")
    return f"{region}政务服务门户"


def seed_texts(authority_name: str, language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """The shipped agreements (``idp/data/registration-agreements.zh.txt``), placeholders filled;
    with ``language="en"`` the English reference translation (``registration-agreements.en.txt``,
    sections headed "I." and "II.", same placeholders)."""
    filename, heading = SEED_FILES[language]
    raw = resources.files("idp").joinpath(filename).read_text("utf-8")
    raw = raw.replace(PLACEHOLDER_AUTHORITY, authority_name)
    raw = raw.replace(PLACEHOLDER_PORTAL, portal_name(authority_name))
    parts = re.split(heading, raw, flags=re.MULTILINE)
    if len(parts) != 3:
        raise RuntimeError("the shipped agreements file does not hold the two agreements")
    texts = {}
    for kind, part in zip((NATURAL_PERSON, LEGAL_PERSON), parts[1:], strict=True):
        title, _, body = part.partition("\n")
        texts[kind] = f"{title.strip()}\n{body.strip()}\n"
    return texts


def ensure_seeded(session: Session, authority_name: str) -> list[str]:
    """Publish version 1 of the two shipped agreements where no version exists yet, with the
    English reference translation of each (never accepted: the Chinese text is authoritative)."""
    created = []
    shipped = seed_texts(authority_name)
    for kind, text in shipped.items():
        if session.get(AgreementKind, kind) is None:
            session.add(AgreementKind(kind=kind, title=SEED_TITLES[kind], applies_to=kind))
            session.flush()
        exists = session.scalar(select(AgreementVersion.id).where(AgreementVersion.kind == kind))
        if exists is None:
            session.add(
                AgreementVersion(
                    kind=kind,
                    version=1,
                    language=DEFAULT_LANGUAGE,
                    text=text,
                    text_sha256=text_hash(text),
                    material=True,
                    effective_at=utcnow(),
                    published_by="seed",
                )
            )
            created.append(kind)
    session.flush()
    for kind, translation in seed_texts(authority_name, REFERENCE_LANGUAGE).items():
        _seed_reference_translation(session, kind, shipped[kind], translation)
    return created


def _seed_reference_translation(session: Session, kind: str, original: str, text: str) -> None:
    """Add the English reference translation to version 1, when version 1 is the shipped text."""
    base = session.scalar(
        select(AgreementVersion).where(
            AgreementVersion.kind == kind,
            AgreementVersion.version == 1,
            AgreementVersion.language == DEFAULT_LANGUAGE,
            AgreementVersion.reference_translation.is_(False),
        )
    )
    if base is None or base.text_sha256 != text_hash(original):
        return
    translated = session.scalar(
        select(AgreementVersion.id).where(
            AgreementVersion.kind == kind,
            AgreementVersion.version == 1,
            AgreementVersion.language == REFERENCE_LANGUAGE,
        )
    )
    if translated is None:
        session.add(
            AgreementVersion(
                kind=kind,
                version=1,
                language=REFERENCE_LANGUAGE,
                text=text,
                text_sha256=text_hash(text),
                material=base.material,
                reference_translation=True,
                effective_at=base.effective_at,
                published_by="seed",
            )
        )


def add_kind(session: Session, kind: str, title: str, applies_to: str) -> AgreementKind:
    if not KIND_PATTERN.match(kind):
        raise AgreementError("the kind must be lower-case letters, digits and underscores")
    if applies_to not in APPLIES_TO:
        raise AgreementError(f"applies-to must be one of {', '.join(APPLIES_TO)}")
    if not title.strip():
        raise AgreementError("the title must not be empty")
    if session.get(AgreementKind, kind) is not None:
        raise AgreementError(f"the kind {kind} exists already")
    record = AgreementKind(kind=kind, title=title.strip(), applies_to=applies_to)
    session.add(record)
    return record


def latest_version_number(session: Session, kind: str) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(AgreementVersion.version), 0)).where(
                AgreementVersion.kind == kind
            )
        )
        or 0
    )


def publish(
    session: Session,
    *,
    kind: str,
    text: str,
    language: str = DEFAULT_LANGUAGE,
    material: bool,
    published_by: str,
    version: int | None = None,
    effective_at: datetime | None = None,
    reference_translation: bool = False,
) -> AgreementVersion:
    """Publish a version; refuse an unknown kind, an empty text or a version not newer than
    the current one. A translation joins an existing version number in another language."""
    if session.get(AgreementKind, kind) is None:
        raise AgreementError(f"unknown agreement kind: {kind}")
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise AgreementError("the agreement text is empty")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise AgreementError("the agreement text contains control characters: is it a text file?")
    if len(text) > MAX_TEXT_LENGTH:
        raise AgreementError("the agreement text is too long")
    text += "\n"
    current = latest_version_number(session, kind)
    if reference_translation:
        number = version or current
        base = session.scalar(
            select(AgreementVersion).where(
                AgreementVersion.kind == kind,
                AgreementVersion.version == number,
                AgreementVersion.reference_translation.is_(False),
            )
        )
        if base is None:
            raise AgreementError(f"no version {number} of {kind} to translate")
        material = base.material
        effective_at = base.effective_at
    else:
        number = version if version is not None else current + 1
        if number <= current:
            raise AgreementError(
                f"version {number} is not newer than the current version {current} of {kind}"
            )
    duplicate = session.scalar(
        select(AgreementVersion.id).where(
            AgreementVersion.kind == kind,
            AgreementVersion.version == number,
            AgreementVersion.language == language,
        )
    )
    if duplicate is not None:
        raise AgreementError(f"version {number} of {kind} in {language} exists already")
    record = AgreementVersion(
        kind=kind,
        version=number,
        language=language,
        text=text,
        text_sha256=text_hash(text),
        material=material,
        reference_translation=reference_translation,
        effective_at=effective_at or utcnow(),
        published_by=published_by,
    )
    session.add(record)
    return record


@dataclass
class Requirement:
    """What the person must see before returning to the portal."""

    kind: str
    title: str
    version: AgreementVersion  # the authoritative text to accept (or be notified of)
    mode: str  # "accept" or "notify"
    accepted_version: int | None  # what they accepted before, if anything
    changes: list[tuple[str, str]]  # (marker, line): "+" added, "-" removed, since accepted


def _effective(session: Session, kind: str) -> list[AgreementVersion]:
    return list(
        session.scalars(
            select(AgreementVersion)
            .where(
                AgreementVersion.kind == kind,
                AgreementVersion.reference_translation.is_(False),
                AgreementVersion.effective_at <= utcnow(),
            )
            .order_by(AgreementVersion.version)
        )
    )


def kinds_for(session: Session, user_type: str) -> list[AgreementKind]:
    return list(
        session.scalars(
            select(AgreementKind)
            .where(AgreementKind.applies_to.in_([user_type, "all"]))
            .order_by(AgreementKind.created_at, AgreementKind.kind)
        )
    )


def pending(session: Session, account_id: str, user_type: str) -> Requirement | None:
    """The first agreement the account must accept, or be told about, before going on."""
    for kind in kinds_for(session, user_type):
        versions = _effective(session, kind.kind)
        if not versions:
            continue
        seen = session.execute(
            select(AgreementAcceptance.version, AgreementAcceptance.action).where(
                AgreementAcceptance.account_id == account_id,
                AgreementAcceptance.kind == kind.kind,
            )
        ).all()
        accepted = max((v for v, action in seen if action == "accepted"), default=None)
        acknowledged = max((v for v, _action in seen), default=None)
        latest_material = max((v.version for v in versions if v.material), default=None)
        latest = versions[-1]
        if latest_material is not None and (accepted is None or accepted < latest_material):
            target = next(v for v in versions if v.version == latest.version)
            return Requirement(
                kind=kind.kind,
                title=kind.title,
                version=target,
                mode="accept",
                accepted_version=accepted,
                changes=_changes(versions, accepted, target),
            )
        if acknowledged is None or acknowledged < latest.version:
            return Requirement(
                kind=kind.kind,
                title=kind.title,
                version=latest,
                mode="notify",
                accepted_version=accepted,
                changes=_changes(versions, acknowledged, latest),
            )
    return None


def _changes(
    versions: list[AgreementVersion], since: int | None, target: AgreementVersion
) -> list[tuple[str, str]]:
    if since is None:
        return []
    before = next((v for v in versions if v.version == since), None)
    if before is None:
        return []
    diff = difflib.ndiff(before.text.splitlines(), target.text.splitlines())
    return [(line[0], line[2:]) for line in diff if line[:1] in {"+", "-"}]


def record(
    session: Session,
    *,
    account_id: str,
    version: AgreementVersion,
    action: str,
    ip_address: str | None,
    user_agent: str | None,
    client_id: str | None,
) -> AgreementAcceptance:
    evidence = AgreementAcceptance(
        account_id=account_id,
        kind=version.kind,
        version=version.version,
        language=version.language,
        text_sha256=version.text_sha256,
        action=action,
        ip_address=ip_address,
        user_agent=(user_agent or "")[:512] or None,
        client_id=client_id,
    )
    session.add(evidence)
    return evidence


def accept_pending(
    session: Session,
    account_id: str,
    user_type: str,
    *,
    ip_address: str | None,
    user_agent: str | None,
    client_id: str | None,
) -> list[str]:
    """Record every agreement the account (or company: ``account_id`` is then its id, with
    ``user_type="legal_person"``) must accept or be told about, in one transaction: at
    registration, where the form's tick covers the texts it showed. Returns the kinds."""
    recorded: list[str] = []
    while (requirement := pending(session, account_id, user_type)) is not None:
        if requirement.kind in recorded:
            break
        record(
            session,
            account_id=account_id,
            version=requirement.version,
            action="accepted" if requirement.mode == "accept" else "notified",
            ip_address=ip_address,
            user_agent=user_agent,
            client_id=client_id,
        )
        session.flush()
        recorded.append(requirement.kind)
    return recorded


def history(session: Session, account_id: str) -> list[AgreementAcceptance]:
    return list(
        session.scalars(
            select(AgreementAcceptance)
            .where(AgreementAcceptance.account_id == account_id)
            .order_by(AgreementAcceptance.accepted_at.desc())
        )
    )


def current_texts(session: Session, language: str) -> list[tuple[AgreementKind, AgreementVersion]]:
    """The current version of every kind, in ``language`` when a translation exists."""
    result = []
    for kind in session.scalars(select(AgreementKind).order_by(AgreementKind.created_at)):
        versions = _effective(session, kind.kind)
        if not versions:
            continue
        latest = versions[-1]
        shown = latest
        if language != latest.language:
            translation = session.scalar(
                select(AgreementVersion).where(
                    AgreementVersion.kind == kind.kind,
                    AgreementVersion.version == latest.version,
                    AgreementVersion.language == language,
                )
            )
            shown = translation or latest
        result.append((kind, shown))
    return result


class Agreements:
    """The agreement rules over the database, as the login, the user space and the public
    agreement pages use them (publishing stays with the functions above: the console and the
    ``idp agreements`` command)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def pending(self, subject_id: str, user_type: str) -> Requirement | None:
        """What an account (or a company, by its id) must accept or be told about now."""
        return pending(self._db.session(), subject_id, user_type)

    def record_pending(
        self,
        subject_id: str,
        user_type: str,
        version_id: str,
        *,
        client_id: str | None,
        ip_address: str | None,
        user_agent: str | None,
    ) -> Requirement | None:
        """Store the evidence, if ``version_id`` is still what must be seen now; returns the
        requirement met, or None (a stale form: nothing is recorded)."""
        requirement = self.pending(subject_id, user_type)
        if requirement is None or requirement.version.id != version_id:
            return None
        with self._db.transaction() as session:
            record(
                session,
                account_id=subject_id,
                version=requirement.version,
                action="accepted" if requirement.mode == "accept" else "notified",
                ip_address=ip_address,
                user_agent=user_agent,
                client_id=client_id,
            )
        return requirement

    def accept_all(
        self,
        subject_id: str,
        user_type: str,
        *,
        client_id: str | None,
        ip_address: str | None,
        user_agent: str | None,
    ) -> list[str]:
        """Record every agreement that must be accepted or told about now (at registration,
        where the form's tick covers the texts it showed). Returns the kinds recorded."""
        with self._db.transaction() as session:
            return accept_pending(
                session,
                subject_id,
                user_type,
                ip_address=ip_address,
                user_agent=user_agent,
                client_id=client_id,
            )

    def links(self, user_type: str) -> list[tuple[str, str]]:
        """Titles of the agreements that apply to ``user_type``, with where to read them."""
        return [
            (kind.title, f"/terms#{kind.kind}") for kind in kinds_for(self._db.session(), user_type)
        ]

    def history(self, account_id: str) -> list[tuple[AgreementAcceptance, str]]:
        """The account's acceptances (newest first), each with its agreement's title."""
        session = self._db.session()
        titles = {
            kind: title
            for kind, title in session.execute(select(AgreementKind.kind, AgreementKind.title))
        }
        return [(row, titles.get(row.kind, row.kind)) for row in history(session, account_id)]

    def current_texts(self, language: str) -> list[tuple[AgreementKind, AgreementVersion]]:
        return current_texts(self._db.session(), language)
