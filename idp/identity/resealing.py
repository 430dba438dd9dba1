"""Re-encrypting every sealed value under the current personal-data key (``idp keys rotate-data``).

PIPL article 51 (encryption of personal information): after a new data key is added (to the
key ring file, or first in ``IDP_DATA_KEY``), the values sealed under an older key are sealed
again under the new one, so the old key can be retired. The sealed columns of accounts
(``idp.models.account.SEALED_COLUMNS``), the console's and people's TOTP secrets, the delivery
addresses, the titles of materials and, after that transaction, the materials' sealed files
(``Materials.reseal_files``: each written beside the old one and renamed over it) are covered;
a value already under the current key is left as it is (``PersonalData.reseal`` returns None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from idp.identity.personal_data import PersonalData
from idp.models import (
    Account,
    Administrator,
    DeliveryAddress,
    Material,
    Matter,
    MatterStep,
    Message,
    SecondFactor,
)
from idp.models.account import SEALED_COLUMNS
from idp.models.base import Database


class Resealing:
    def __init__(
        self,
        db: Database,
        personal_data: PersonalData,
        reseal_files: Callable[[], int] | None = None,
    ) -> None:
        self._db = db
        self._personal_data = personal_data
        self._reseal_files = reseal_files

    @property
    def current_key(self) -> str:
        """The id of the key values are sealed under now."""
        return self._personal_data.current

    def reseal_everything(self) -> int:
        """Seal every value under the current key, in one transaction; returns how many changed."""
        resealed = 0
        with self._db.transaction() as session:
            for account in session.scalars(select(Account)):
                for column in SEALED_COLUMNS:
                    sealed = getattr(account, column)
                    if sealed is None:
                        continue
                    fresh = self._personal_data.reseal(sealed, account.context(column))
                    if fresh is not None:
                        setattr(account, column, fresh)
                        resealed += 1
            for admin in session.scalars(select(Administrator)):
                if admin.totp_secret_sealed is None:
                    continue
                fresh = self._personal_data.reseal(admin.totp_secret_sealed, admin.totp_context)
                if fresh is not None:
                    admin.totp_secret_sealed = fresh
                    resealed += 1
            # People's TOTP secrets (idp.identity.factors).
            for factor in session.scalars(
                select(SecondFactor).where(SecondFactor.totp_secret_sealed.is_not(None))
            ):
                assert factor.totp_secret_sealed is not None
                fresh = self._personal_data.reseal(factor.totp_secret_sealed, factor.totp_context())
                if fresh is not None:
                    factor.totp_secret_sealed = fresh
                    resealed += 1
            for address in session.scalars(select(DeliveryAddress)):
                fresh = self._personal_data.reseal(address.details_sealed, address.context)
                if fresh is not None:
                    address.details_sealed = fresh
                    resealed += 1
            for material in session.scalars(select(Material)):
                fresh = self._personal_data.reseal(material.title_sealed, material.title_context())
                if fresh is not None:
                    material.title_sealed = fresh
                    resealed += 1
            # Matters and messages (issue 12): titles, notes, bodies, notice parameters.
            user_space: tuple[tuple[Any, tuple[str, ...]], ...] = (
                (Matter, ("title_sealed",)),
                (MatterStep, ("note_sealed",)),
                (Message, ("title_sealed", "body_sealed", "params_sealed")),
            )
            for model, columns in user_space:
                for row in session.scalars(select(model)):
                    for column in columns:
                        sealed = getattr(row, column)
                        fresh = sealed and self._personal_data.reseal(sealed, row.context(column))
                        if fresh:
                            setattr(row, column, fresh)
                            resealed += 1
        if self._reseal_files is not None:
            resealed += self._reseal_files()
        return resealed
