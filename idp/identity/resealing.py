"""Re-encrypting every sealed value under the current personal-data key (``idp keys rotate-data``).

PIPL article 51 (encryption of personal information): after a new data key is added (to the
key ring file, or first in ``IDP_DATA_KEY``), the values sealed under an older key are sealed
again under the new one, so the old key can be retired. The sealed columns of accounts
(``idp.models.account.SEALED_COLUMNS``) and the console's TOTP secrets are covered; a value
already under the current key is left as it is (``PersonalData.reseal`` returns None).
"""

from __future__ import annotations

from sqlalchemy import select

from idp.identity.personal_data import PersonalData
from idp.models import Account, Administrator
from idp.models.account import SEALED_COLUMNS
from idp.models.base import Database


class Resealing:
    def __init__(self, db: Database, personal_data: PersonalData) -> None:
        self._db = db
        self._personal_data = personal_data

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
        return resealed
