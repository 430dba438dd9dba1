"""The person's own copy of what we hold about them (PIPL art. 45; docs/user-space.md, "Export").

One ZIP archive: ``export.json`` (UTF-8, one object, a section per area of the user space and of
the account, every value opened, times in ISO 8601 UTC) and the stored materials under
``materials/`` as the person uploaded them. Each area contributes its section through a callable
``section(account_id) -> JSON value`` handed in by the composition root, so this module needs
none of the areas above it (the consents are the protocol layer's); the core sections (account,
identity evidence, agreements, disclosures) are built here from the rows.

The archive is made in memory: what one person stores is bounded (materials are capped per
account and in size, see ``IDP_MATERIAL_MAX_BYTES``), and an export is asked for rarely. Every
export is audited (``data_exported``, with the sections, never a value).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import orjson

from idp.identity.audit import Audit
from idp.identity.disclosures import Disclosure
from idp.identity.people import Profile
from idp.models import Account, AgreementAcceptance, Consent, EntityRole, HandlerGrant, Verification
from idp.models.base import utcnow

FORMAT = "idp-personal-data-export/1"
Section = Callable[[str], Any]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def account_section(account: Account, profile: Profile) -> dict[str, Any]:
    return {
        "id": account.id,
        "username": account.username,
        "user_type": account.user_type,
        "name": profile.name,
        "id_type": profile.id_type,
        "id_number": profile.id_number,
        "phone": profile.phone,
        "verification_level": account.verification_level,
        "verified_at": _time(account.verified_at),
        "created_at": _time(account.created_at),
    }


def evidence_section(rows: Iterable[Verification]) -> list[dict[str, Any]]:
    return [
        {
            "time": _time(row.created_at),
            "check": row.check,
            "source": row.source,
            "elements": list(row.elements or []),
            "result": row.result,
            "level_before": row.level_before,
            "level_after": row.level_after,
        }
        for row in rows
    ]


def agreements_section(rows: Iterable[tuple[AgreementAcceptance, str]]) -> list[dict[str, Any]]:
    return [
        {
            "time": _time(row.accepted_at),
            "agreement": title,
            "kind": row.kind,
            "version": row.version,
            "language": row.language,
            "text_sha256": row.text_sha256,
            "action": row.action,
            "portal": row.client_id,
            "ip_address": row.ip_address,
            "user_agent": row.user_agent,
        }
        for row, title in rows
    ]


def disclosures_section(rows: Iterable[Disclosure]) -> list[dict[str, Any]]:
    return [
        {
            "time": _time(row.created_at),
            "portal": row.client_id,
            "channel": row.channel,
            "claims": list(row.claims),
            "chained": row.chained,
        }
        for row in rows
    ]


def consents_section(rows: Iterable[Consent]) -> list[dict[str, Any]]:
    return [
        {
            "portal": row.client_id,
            "scopes": list(row.scopes or []),
            "claims": list(row.claims_asked or []),
            "sensitive_claims": list(row.sensitive_claims or []),
            "basis": row.basis,
            "given_at": _time(row.created_at),
            "updated_at": _time(row.updated_at),
        }
        for row in rows
    ]


def companies_section(
    roles: Iterable[EntityRole], grants: Iterable[HandlerGrant]
) -> dict[str, Any]:
    """The person's place in companies: their roles, and the handler grants given to them (the
    company's own records are the company's, exported by its legal representative's pages)."""
    return {
        "roles": [
            {
                "company": role.entity.name,
                "uscc": role.entity.uscc,
                "role": role.role,
                "grade": role.grade,
                "matters": list(role.matters or []),
                "regions": list(role.regions or []),
                "since": _time(role.created_at),
            }
            for role in roles
        ],
        "handler_grants": [
            {
                "company": grant.entity.name,
                "uscc": grant.entity.uscc,
                "grade": grant.grade,
                "matters": list(grant.matters or []),
                "regions": list(grant.regions or []),
                "valid_from": _time(grant.valid_from),
                "valid_until": _time(grant.valid_until),
                "status": grant.status,
            }
            for grant in grants
        ],
    }


class PersonalDataExport:
    def __init__(
        self,
        sections: Mapping[str, Section],
        files: Callable[[str], Iterator[tuple[str, bytes]]],
        audit: Audit,
        issuer: str,
    ) -> None:
        self._sections = dict(sections)
        self._files = files
        self._audit = audit
        self._issuer = issuer

    @property
    def section_names(self) -> list[str]:
        return list(self._sections)

    def document(self, account_id: str) -> dict[str, Any]:
        """``export.json``: every section of the account, opened."""
        return {
            "format": FORMAT,
            "issuer": self._issuer,
            "created_at": _time(utcnow()),
            **{name: section(account_id) for name, section in self._sections.items()},
        }

    def archive(self, account_id: str, ip_address: str | None) -> bytes:
        """The ZIP archive of the account's data; audited."""
        document = self.document(account_id)
        buffer = io.BytesIO()
        names: list[str] = []
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, content in self._files(account_id):
                archive.writestr(name, content)
                names.append(name)
            document["files"] = names
            archive.writestr(
                "export.json", orjson.dumps(document, option=orjson.OPT_INDENT_2, default=str)
            )
        self._audit(
            "data_exported",
            actor=account_id,
            account_id=account_id,
            ip_address=ip_address,
            details={"sections": self.section_names, "files": len(names)},
        )
        return buffer.getvalue()
