"""Delivery addresses: what a person gives for the third-party services they choose
(natural-person agreement clause 4(6): "provide real names, contact addresses and contact
details when choosing express delivery, online payment and other third-party services").

- An address is a recipient's name, a phone number (a mainland mobile, or a fixed line with
  its area code), a region (a GB/T 2260 six-digit administrative division code), the street
  address and an optional postal code (six digits). Every part is personal data: the whole is
  sealed at rest as one JSON value bound to its row (PIPL article 51;
  ``idp.identity.personal_data``), and never logged.
- An account keeps at most ``MAX_ADDRESSES``; exactly one of them is the *default* while any
  exists (the first one added; when the default is deleted, the most recently changed of the
  others). A partial unique index holds "at most one" in the database too.
- The default address is what a portal receives as the standard ``address`` claim (OpenID
  Connect Core 1.0 section 5.1.1), and only when the person consented to the ``address`` scope
  or claim (``idp.oauth.claims``): ``formatted``, ``street_address``, ``region`` (the
  province-level division, from the shipped list ``PROVINCES``), ``locality`` (for the four
  municipalities only: without a full GB/T 2260 list the city is not known), ``postal_code``
  and ``country`` ``CN``. The recipient and the phone number stay here: they are not members of
  the standard claim.
- Every change is one transaction; a refused form changes nothing. The addresses go with the
  account at cancellation (``ON DELETE CASCADE``) and are part of the person's export (PIPL
  article 45, :meth:`Addresses.export`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from idp.identity.documents import normalize_phone
from idp.identity.personal_data import PersonalData
from idp.models import Account, DeliveryAddress
from idp.models.base import Database, new_id, utcnow

MAX_ADDRESSES = 20
MAX_RECIPIENT_LENGTH = 64
MAX_STREET_LENGTH = 200
COUNTRY = "CN"

# GB/T 2260 province-level divisions: the first two digits of a division code.
PROVINCES: dict[str, str] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})

_REGION_CODE = re.compile(r"[1-9][0-9]{5}")
_POSTAL_CODE = re.compile(r"[0-9]{6}")
# A fixed line: area code (0 and two or three digits), a number of seven or eight digits, and
# an optional extension.
_FIXED_LINE = re.compile(r"0[1-9][0-9]{1,2}-?[2-9][0-9]{6,7}(?:-[0-9]{1,6})?")
_SPACES = re.compile(r"\s+")

FIELDS = ("recipient", "phone", "region_code", "street", "postal_code")


def region_name(region_code: str) -> str | None:
    """The province-level division of a GB/T 2260 code, or None when it names none."""
    return PROVINCES.get(region_code[:2])


def _text(raw: str | None, limit: int) -> str:
    """NFC, runs of white space made one space, trimmed; cut a little above ``limit`` so that
    an overlong value is reported as such."""
    value = unicodedata.normalize("NFC", (raw or "")[: limit * 4])
    return _SPACES.sub(" ", value).strip()[: limit + 1]


def _printable(value: str) -> bool:
    return all(unicodedata.category(c)[0] != "C" for c in value)


@dataclass(frozen=True)
class AddressDetails:
    """What the person typed, normalised."""

    recipient: str
    phone: str
    region_code: str
    street: str
    postal_code: str = ""

    @property
    def region(self) -> str:
        return region_name(self.region_code) or ""

    def claim(self) -> dict[str, str]:
        """The ``address`` claim (OpenID Connect Core 1.0 section 5.1.1)."""
        region = self.region
        street = self.street
        formatted = street if street.startswith(region) else f"{region}{street}"
        claim = {"formatted": formatted, "street_address": street, "region": region}
        if self.region_code[:2] in MUNICIPALITIES:
            claim["locality"] = region
        if self.postal_code:
            claim["postal_code"] = self.postal_code
        claim["country"] = COUNTRY
        return claim


def parse_address(form: Mapping[str, str]) -> tuple[AddressDetails | None, dict[str, str]]:
    """The address of a form, or the problems of its fields (field -> code: ``required``,
    ``format``, ``too_long``), every field checked at once."""
    errors: dict[str, str] = {}
    recipient = _text(form.get("recipient"), MAX_RECIPIENT_LENGTH)
    if not recipient:
        errors["recipient"] = "required"
    elif len(recipient) > MAX_RECIPIENT_LENGTH:
        errors["recipient"] = "too_long"
    elif not _printable(recipient):
        errors["recipient"] = "format"
    raw_phone = (form.get("phone") or "")[:40]
    phone = normalize_phone(raw_phone)
    if phone is None:
        compact = unicodedata.normalize("NFKC", raw_phone).replace(" ", "")
        phone = compact if _FIXED_LINE.fullmatch(compact) else None
    if not raw_phone.strip():
        errors["phone"] = "required"
    elif phone is None:
        errors["phone"] = "format"
    region_code = unicodedata.normalize("NFKC", (form.get("region_code") or "")[:12]).strip()
    if not region_code:
        errors["region_code"] = "required"
    elif (
        not _REGION_CODE.fullmatch(region_code)
        or region_name(region_code) is None
        or (region_code[2:4] == "00" and region_code[4:] != "00")
    ):
        errors["region_code"] = "format"
    street = _text(form.get("street"), MAX_STREET_LENGTH)
    if not street:
        errors["street"] = "required"
    elif len(street) > MAX_STREET_LENGTH:
        errors["street"] = "too_long"
    elif not _printable(street):
        errors["street"] = "format"
    postal_code = unicodedata.normalize("NFKC", (form.get("postal_code") or "")[:12]).strip()
    if postal_code and not _POSTAL_CODE.fullmatch(postal_code):
        errors["postal_code"] = "format"
    if errors:
        return None, errors
    assert phone is not None
    return AddressDetails(recipient, phone, region_code, street, postal_code), {}


@dataclass(frozen=True)
class Address:
    """A stored address, opened."""

    id: str
    details: AddressDetails
    is_default: bool
    created_at: datetime
    updated_at: datetime


class Addresses:
    """The person's delivery addresses, sealed at rest."""

    def __init__(self, db: Database, personal_data: PersonalData) -> None:
        self._db = db
        self._personal_data = personal_data

    # -- reading ---------------------------------------------------------------------------
    def _open(self, row: DeliveryAddress) -> Address:
        values = json.loads(self._personal_data.open(row.details_sealed, row.context))
        return Address(
            id=row.id,
            details=AddressDetails(**{name: values.get(name, "") for name in FIELDS}),
            is_default=row.is_default,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def of_account(self, account_id: str) -> list[Address]:
        """The default first, then the most recently changed."""
        rows = self._db.session.scalars(
            select(DeliveryAddress)
            .where(DeliveryAddress.account_id == account_id)
            .order_by(
                DeliveryAddress.is_default.desc(),
                DeliveryAddress.updated_at.desc(),
                DeliveryAddress.id,
            )
        )
        return [self._open(row) for row in rows]

    def get(self, account_id: str, address_id: str) -> Address | None:
        row = self._row(account_id, address_id)
        return self._open(row) if row is not None else None

    def _row(self, account_id: str, address_id: str) -> DeliveryAddress | None:
        if not address_id or len(address_id) > 36:
            return None
        return self._db.session.scalar(
            select(DeliveryAddress).where(
                DeliveryAddress.id == address_id, DeliveryAddress.account_id == account_id
            )
        )

    def address_claim(self, account: Account) -> dict[str, str] | None:
        """The default address as the ``address`` claim, or None when there is none (one
        indexed SELECT, made only when the claim is released)."""
        row = self._db.session.scalar(
            select(DeliveryAddress).where(
                DeliveryAddress.account_id == account.id, DeliveryAddress.is_default.is_(True)
            )
        )
        return self._open(row).details.claim() if row is not None else None

    def export(self, account_id: str) -> dict[str, Any]:
        """PIPL article 45: every address, opened, JSON-ready."""
        return {
            "addresses": [
                {
                    **asdict(address.details),
                    "region": address.details.region,
                    "default": address.is_default,
                    "created_at": address.created_at.isoformat(timespec="seconds"),
                    "updated_at": address.updated_at.isoformat(timespec="seconds"),
                }
                for address in self.of_account(account_id)
            ]
        }

    # -- changing --------------------------------------------------------------------------
    def _seal(self, row: DeliveryAddress, details: AddressDetails) -> None:
        plain = json.dumps(asdict(details), ensure_ascii=False, separators=(",", ":"))
        row.details_sealed = self._personal_data.seal(plain, row.context)

    def add(self, account_id: str, details: AddressDetails, *, make_default: bool) -> str | None:
        """A new address (the default when asked, or when it is the first); its id, or None
        when the account already has ``MAX_ADDRESSES``."""
        with self._db.transaction() as session:
            count = session.scalar(
                select(func.count())
                .select_from(DeliveryAddress)
                .where(DeliveryAddress.account_id == account_id)
            )
            if (count or 0) >= MAX_ADDRESSES:
                return None
            make_default = make_default or not count
            if make_default:
                self._clear_default(session, account_id)
            row = DeliveryAddress(id=new_id(), account_id=account_id, is_default=make_default)
            self._seal(row, details)
            session.add(row)
            return row.id

    def change(
        self, account_id: str, address_id: str, details: AddressDetails, *, make_default: bool
    ) -> bool:
        """The address typed again (and made the default when asked); False when the account
        has no such address."""
        with self._db.transaction() as session:
            row = self._row(account_id, address_id)
            if row is None:
                return False
            self._seal(row, details)
            row.updated_at = utcnow()
            if make_default and not row.is_default:
                self._clear_default(session, account_id)
                session.flush()
                row.is_default = True
            return True

    def make_default(self, account_id: str, address_id: str) -> bool:
        with self._db.transaction() as session:
            row = self._row(account_id, address_id)
            if row is None:
                return False
            if not row.is_default:
                self._clear_default(session, account_id)
                session.flush()
                row.is_default = True
            return True

    def delete(self, account_id: str, address_id: str) -> bool:
        """Delete one address; when it was the default, the most recently changed of the
        others becomes the default."""
        with self._db.transaction() as session:
            row = self._row(account_id, address_id)
            if row is None:
                return False
            was_default = row.is_default
            session.delete(row)
            session.flush()
            if was_default:
                successor = session.scalar(
                    select(DeliveryAddress)
                    .where(DeliveryAddress.account_id == account_id)
                    .order_by(DeliveryAddress.updated_at.desc(), DeliveryAddress.id)
                    .limit(1)
                )
                if successor is not None:
                    successor.is_default = True
            return True

    @staticmethod
    def _clear_default(session: Session, account_id: str) -> None:
        session.execute(
            update(DeliveryAddress)
            .where(DeliveryAddress.account_id == account_id, DeliveryAddress.is_default.is_(True))
            .values(is_default=False)
            .execution_options(synchronize_session="fetch")
        )
