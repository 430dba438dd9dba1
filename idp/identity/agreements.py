"""Agreement rules: deciding what an account must accept at login, and recording it.

Shipping and publishing versions is ``idp.identity.agreement_publishing`` (its names are
importable from here too); :class:`Agreements` offers both over the database.

- Registration is valid only on acceptance of the current agreement of the account's kind.
- A *material* version must be accepted again at the next login, with any portal.
- A *supplementary* version binds without re-signing (clause 10 of both agreements); the person
  is told about it once, at the next login.
- Evidence of every acceptance (or notification) is kept: the SHA-256 of the exact text shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

# Publishing lives in idp.identity.agreement_publishing; its names stay importable from here.
from idp.identity.agreement_publishing import (
    APPLIES_TO,
    DEFAULT_LANGUAGE,
    KIND_PATTERN,
    MAX_TEXT_LENGTH,
    PLACEHOLDER_AUTHORITY,
    PLACEHOLDER_PORTAL,
    REFERENCE_LANGUAGE,
    SEED_FILES,
    SEED_TITLES,
    AgreementError,
    Preview,
    StalePreview,
    acceptance_counts,
    add_kind,
    authoritative_versions,
    catalogue,
    changed_lines,
    ensure_seeded,
    latest_version_number,
    portal_name,
    preview,
    publish,
    seed_texts,
    text_hash,
)
from idp.identity.audit import event as audit_event
from idp.models.agreement import AgreementAcceptance, AgreementKind, AgreementVersion
from idp.models.base import Database, utcnow
from idp.store.versions import SharedVersions, VersionedCache

# The shared cache version of agreement kinds and versions (idp.store.versions).
CACHE_AREA = "agreements"

__all__ = [
    "APPLIES_TO",
    "DEFAULT_LANGUAGE",
    "KIND_PATTERN",
    "MAX_TEXT_LENGTH",
    "PLACEHOLDER_AUTHORITY",
    "PLACEHOLDER_PORTAL",
    "REFERENCE_LANGUAGE",
    "SEED_FILES",
    "SEED_TITLES",
    "AgreementError",
    "Agreements",
    "Preview",
    "PublishedVersion",
    "Requirement",
    "StalePreview",
    "accept_pending",
    "acceptance_counts",
    "add_kind",
    "authoritative_versions",
    "catalogue",
    "changed_lines",
    "current_texts",
    "ensure_seeded",
    "history",
    "kinds_for",
    "latest_version_number",
    "pending",
    "portal_name",
    "preview",
    "publish",
    "record",
    "seed_texts",
    "text_hash",
]


@dataclass
class Requirement:
    """What the person must see before returning to the portal."""

    kind: str
    title: str
    version: AgreementVersion  # the authoritative text to accept (or be notified of)
    mode: str  # "accept" or "notify"
    accepted_version: int | None  # what they accepted before, if anything
    changes: list[tuple[str, str]]  # (marker, line): "+" added, "-" removed, since accepted


@dataclass(frozen=True)
class Catalogue:
    """Every agreement kind (oldest first) with its authoritative versions in order, future ones
    included (each request keeps those already in effect). Loaded in two queries and cached in
    every process until an agreement is added or published (``Agreements``)."""

    kinds: tuple[tuple[AgreementKind, tuple[AgreementVersion, ...]], ...]

    def effective(self, user_type: str) -> list[tuple[AgreementKind, list[AgreementVersion]]]:
        now = utcnow()
        found = []
        for kind, versions in self.kinds:
            if kind.applies_to not in (user_type, "all"):
                continue
            current = [v for v in versions if v.effective_at <= now]
            if current:
                found.append((kind, current))
        return found


def load_catalogue(session: Session) -> Catalogue:
    versions: dict[str, list[AgreementVersion]] = {}
    for version in session.scalars(
        select(AgreementVersion)
        .where(AgreementVersion.reference_translation.is_(False))
        .order_by(AgreementVersion.kind, AgreementVersion.version)
    ):
        versions.setdefault(version.kind, []).append(version)
    kinds = session.scalars(
        select(AgreementKind).order_by(AgreementKind.created_at, AgreementKind.kind)
    ).all()
    return Catalogue(tuple((kind, tuple(versions.get(kind.kind, ()))) for kind in kinds))


def kinds_for(session: Session, user_type: str) -> list[AgreementKind]:
    return list(
        session.scalars(
            select(AgreementKind)
            .where(AgreementKind.applies_to.in_([user_type, "all"]))
            .order_by(AgreementKind.created_at, AgreementKind.kind)
        )
    )


def pending(
    session: Session, account_id: str, user_type: str, catalogue: Catalogue | None = None
) -> Requirement | None:
    """The first agreement the account must accept, or be told about, before going on: one
    query of the account's evidence, over the catalogue (loaded here unless given)."""
    effective = (catalogue or load_catalogue(session)).effective(user_type)
    if not effective:
        return None
    seen_by_kind: dict[str, list[tuple[int, str]]] = {}
    for kind_name, number, action in session.execute(
        select(
            AgreementAcceptance.kind, AgreementAcceptance.version, AgreementAcceptance.action
        ).where(
            AgreementAcceptance.account_id == account_id,
            AgreementAcceptance.kind.in_([kind.kind for kind, _versions in effective]),
        )
    ):
        seen_by_kind.setdefault(kind_name, []).append((number, action))
    for kind, versions in effective:
        seen = seen_by_kind.get(kind.kind, [])
        accepted = max((v for v, action in seen if action == "accepted"), default=None)
        acknowledged = max((v for v, _action in seen), default=None)
        latest_material = max((v.version for v in versions if v.material), default=None)
        latest = versions[-1]
        if latest_material is not None and (accepted is None or accepted < latest_material):
            return Requirement(
                kind=kind.kind,
                title=kind.title,
                version=latest,
                mode="accept",
                accepted_version=accepted,
                changes=changed_lines(versions, accepted, latest),
            )
        if acknowledged is None or acknowledged < latest.version:
            return Requirement(
                kind=kind.kind,
                title=kind.title,
                version=latest,
                mode="notify",
                accepted_version=accepted,
                changes=changed_lines(versions, acknowledged, latest),
            )
    return None


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
    now = utcnow()
    for kind, authoritative in load_catalogue(session).kinds:
        versions = [v for v in authoritative if v.effective_at <= now]
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


@dataclass(frozen=True)
class PublishedVersion:
    """A published version and how many accounts accepted it or were told about it."""

    kind: AgreementKind
    version: AgreementVersion
    accounts: int


class Agreements:
    """The agreement rules over the database, as the login, the user space and the public
    agreement pages use them, and as the ``idp agreements`` command lists, adds and publishes
    (and the console previews and publishes: :meth:`preview`, :meth:`publish_previewed`)."""

    def __init__(self, db: Database, versions: SharedVersions) -> None:
        self._db = db
        # Asked at every login and authorization: cached until a kind or version is committed
        # (``CACHE_AREA``; the composition root bumps it, idp.store.versions).
        self._catalogue: VersionedCache[None, Catalogue] = VersionedCache(
            versions, CACHE_AREA, self._load_catalogue
        )

    def _load_catalogue(self, _key: None) -> Catalogue:
        with self._db.session_factory() as session:
            catalogue = load_catalogue(session)
            session.expunge_all()  # read-only rows shared by the process's threads
            return catalogue

    def pending(self, subject_id: str, user_type: str) -> Requirement | None:
        """What an account (or a company, by its id) must accept or be told about now."""
        return pending(self._db.session(), subject_id, user_type, self._catalogue.get(None))

    def record_pending(
        self,
        subject_id: str,
        user_type: str,
        version_id: str,
        *,
        client_id: str | None,
        ip_address: str | None,
        user_agent: str | None,
        actor: str | None = None,
    ) -> Requirement | None:
        """Store the evidence and its audit event in one transaction, if ``version_id`` is still
        what must be seen now; returns the requirement met, or None (a stale form: nothing is
        recorded). A person's: ``agreement_accepted`` or ``agreement_notified``; a company's
        (``user_type="legal_person"``, ``subject_id`` its id): ``entity_agreement_accepted`` by
        ``actor``, the legal representative."""
        requirement = self.pending(subject_id, user_type)
        if requirement is None or requirement.version.id != version_id:
            return None
        accepted = requirement.mode == "accept"
        with self._db.transaction() as session:
            record(
                session,
                account_id=subject_id,
                version=requirement.version,
                action="accepted" if accepted else "notified",
                ip_address=ip_address,
                user_agent=user_agent,
                client_id=client_id,
            )
            if user_type == "legal_person":
                row = audit_event(
                    "entity_agreement_accepted",
                    actor=actor,
                    account_id=actor,
                    entity_id=subject_id,
                    ip_address=ip_address,
                    details={"agreements": [requirement.kind]},
                )
            else:
                row = audit_event(
                    "agreement_accepted" if accepted else "agreement_notified",
                    actor=actor or subject_id,
                    account_id=subject_id,
                    client_id=client_id,
                    ip_address=ip_address,
                    details={"kind": requirement.kind, "version": requirement.version.version},
                )
            session.add(row)
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

    # -- publishing in the console (docs/agreements.md) ---------------------------------------
    def catalogue(self) -> list[tuple[AgreementKind, list[AgreementVersion]]]:
        """Every kind (oldest first) with its versions (newest first, then by language)."""
        return catalogue(self._db.session())

    def acceptance_counts(self) -> dict[tuple[str, int, str], int]:
        """Distinct accounts per ``(kind, version, action)``: accepted, or told about it."""
        return acceptance_counts(self._db.session())

    def find_kind(self, kind: str) -> AgreementKind | None:
        """The kind named ``kind``; None for a name no kind can have (``KIND_PATTERN``)."""
        if not KIND_PATTERN.match(kind or ""):
            return None
        return self._db.session.get(AgreementKind, kind)

    def authoritative(self, kind: str) -> list[AgreementVersion]:
        """The versions of ``kind`` in the authoritative language, oldest first."""
        return authoritative_versions(self._db.session(), kind)

    def preview(
        self,
        *,
        kind: str,
        text: str,
        material: bool,
        published_by: str,
        effective_at: datetime | None = None,
    ) -> Preview:
        """The version as publishing would store it, nothing kept; raises AgreementError."""
        return preview(
            self._db.session(),
            kind=kind,
            text=text,
            material=material,
            published_by=published_by,
            effective_at=effective_at,
        )

    def publish_previewed(
        self,
        *,
        kind: str,
        text: str,
        material: bool,
        published_by: str,
        effective_at: datetime | None,
        version: str,
        sha256: str,
    ) -> AgreementVersion:
        """Publish exactly what was previewed: the same number (``version``, as the form sent
        it) and text (``sha256``), else nothing and :class:`StalePreview` (another version was
        published meanwhile: the confirmation fails rather than overwrite)."""
        with self._db.transaction() as session:
            published = publish(
                session,
                kind=kind,
                text=text,
                material=material,
                published_by=published_by,
                effective_at=effective_at,
            )
            if str(published.version) != version or published.text_sha256 != sha256:
                raise StalePreview(detail=f"previewed {version}, now {published.version}")
        return published

    # -- publishing (``idp agreements``) ----------------------------------------------------
    def published(self) -> list[PublishedVersion]:
        """Every version of every kind (kinds oldest first; versions by number, then language),
        each with the number of distinct accounts that accepted it or were told about it."""
        session = self._db.session()
        rows = []
        for kind in session.scalars(select(AgreementKind).order_by(AgreementKind.created_at)):
            versions = session.scalars(
                select(AgreementVersion)
                .where(AgreementVersion.kind == kind.kind)
                .order_by(AgreementVersion.version, AgreementVersion.language)
            )
            for version in versions:
                accounts = session.scalar(
                    select(func.count(func.distinct(AgreementAcceptance.account_id))).where(
                        AgreementAcceptance.kind == kind.kind,
                        AgreementAcceptance.version == version.version,
                    )
                )
                rows.append(PublishedVersion(kind, version, accounts or 0))
        return rows

    def add_kind(self, kind: str, title: str, applies_to: str) -> AgreementKind:
        """A new kind of agreement (``add_kind``: its rules); refused with AgreementError."""
        with self._db.transaction() as session:
            return add_kind(session, kind, title, applies_to)

    def publish(
        self,
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
        """Publish a version in its own transaction (``publish``: its rules)."""
        with self._db.transaction() as session:
            return publish(
                session,
                kind=kind,
                text=text,
                language=language,
                material=material,
                published_by=published_by,
                version=version,
                effective_at=effective_at,
                reference_translation=reference_translation,
            )
