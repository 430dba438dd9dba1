"""Seed a database with many real-name accounts, stored exactly as registration stores them.

Not a test and not a product command: a bench tool (``.venv/bin/python bench/seed.py --help``).
The provider's services are built through the composition root (``Services(load_config())``), so
the same ``IDP_*`` environment as the provider that will serve the accounts must be set: the
personal-data keys (``IDP_DATA_KEY`` and ``IDP_DATA_INDEX_KEY``, or the key ring under
``IDP_KEYS_DIR``) and the argon2id parameters (``IDP_ARGON2_*``; a hash made with other
parameters would be replaced at each account's first login, an extra write in the login).

The database is first brought to the head revision (``Services.installation.upgrade``, what
``idp db upgrade`` runs, which also publishes the shipped agreements). Each seeded account then
gets what a self-registration with a resident ID whose registry check matched leaves behind
(``People.register`` and ``Registration.register_person``):

- an ``accounts`` row at level L2 with a verified phone: name, ID number and phone sealed with
  ``PersonalData.seal`` (AES-256-GCM, bound to the row by ``Account.context``), the blind
  indexes from ``People.id_number_index`` and ``People.phone_index``;
- the agreement evidence a registration records (``agreements.accept_pending``, asked once for
  a probe account in a transaction that is rolled back), so that a login goes straight to the
  portal instead of stopping at the agreement page;
- the verification evidence (``verifications``: the SMS proof L0 -> L1, the registry match
  L1 -> L2) and the ``account_registered`` audit event.

Every account has the same password, ``PASSWORD``: it is hashed **once** with the configured
argon2id parameters and that one hash string is stored in every row (hashing a million passwords
would take days of CPU; a login still verifies the hash in full). ID numbers are distinct valid
GB 11643 numbers (``documents.generate_resident_id``, check character included) and phone numbers
distinct mainland mobile numbers; both are a fixed function of the account's number (``person``),
so the bench can log in as seeded account *i*.

Rows go in with ``COPY ... FROM STDIN`` on PostgreSQL (psycopg's ``cursor.copy``) and with
``executemany`` (SQLAlchemy Core) on SQLite, one transaction per ``--batch`` accounts. Running
it again **appends**: ``--count`` is the total of seeded accounts wanted; the seeded accounts
already there (found by their phone numbers' blind indexes) are kept and numbering goes on after
them. Accounts the seeder did not make are ignored (a collision with one refuses the batch).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from idp.config import load_config
from idp.identity import agreements, documents
from idp.identity.levels import REGISTRY_CHECK
from idp.identity.verifiers.checks import CHECKS, SOURCES
from idp.models import Account, AgreementAcceptance, AuditEvent, Verification
from idp.models.base import new_id, utcnow
from idp.services import Services

PASSWORD = "bench correct horse battery staple"
USER_TYPE = "natural_person"
SEEDED_ADDRESS = "127.0.0.1"

# -- who seeded account i is ----------------------------------------------------------------------

# Six-digit address codes (GB/T 2260) of a few districts.
REGIONS = ("110101", "310104", "330106", "440305", "510107", "420106", "320102", "610113")
FIRST_BIRTH = date(1950, 1, 1)
BIRTH_DAYS = (date(2005, 12, 31) - FIRST_BIRTH).days + 1
ID_CAPACITY = len(REGIONS) * BIRTH_DAYS * 1000
# Mobile prefixes (national numbering plan: 1[3-9]) and eight more digits.
PHONE_PREFIXES = ("139", "138", "137", "186", "187", "158", "159", "177", "188", "199")
PHONE_CAPACITY = len(PHONE_PREFIXES) * 10**8
# Multipliers coprime with the capacities: i -> (i * m) mod capacity is a bijection, which
# spreads birth dates, regions and prefixes over the whole range instead of counting up.
ID_STRIDE = 2_147_483_647  # a prime larger than ID_CAPACITY
PHONE_STRIDE = 3_141_592_653  # neither even nor a multiple of 5
MAX_COUNT = min(ID_CAPACITY, PHONE_CAPACITY)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文红玉兰梅春晓亮"


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str


def person(i: int) -> Person:
    """Seeded account number ``i`` (0-based): the same person on every run and machine."""
    if not 0 <= i < MAX_COUNT:
        raise ValueError(f"account number must be below {MAX_COUNT}")
    j = i * ID_STRIDE % ID_CAPACITY
    sequence, rest = j % 1000, j // 1000
    born = FIRST_BIRTH + timedelta(days=rest % BIRTH_DAYS)
    id_number = documents.generate_resident_id(REGIONS[rest // BIRTH_DAYS], born, sequence)
    k = i * PHONE_STRIDE % PHONE_CAPACITY
    phone = f"{PHONE_PREFIXES[k // 10**8]}{k % 10**8:08d}"
    given = GIVEN[i // len(SURNAMES) % len(GIVEN)]
    if i % 3:
        given += GIVEN[i // (len(SURNAMES) * len(GIVEN)) % len(GIVEN)]
    return Person(SURNAMES[i % len(SURNAMES)] + given, id_number, phone)


# -- the rows ------------------------------------------------------------------------------------


class _Row:
    """What ``Account.context`` reads (the row id), without building an ORM object per row."""

    __slots__ = ("id",)

    def __init__(self, account_id: str) -> None:
        self.id = account_id


@dataclass
class Batch:
    accounts: list[dict[str, Any]]
    acceptances: list[dict[str, Any]]
    verifications: list[dict[str, Any]]
    audit_events: list[dict[str, Any]]

    def tables(self) -> list[tuple[Table, list[dict[str, Any]]]]:
        return [
            (Account.__table__, self.accounts),  # type: ignore[list-item]
            (AgreementAcceptance.__table__, self.acceptances),  # type: ignore[list-item]
            (Verification.__table__, self.verifications),  # type: ignore[list-item]
            (AuditEvent.__table__, self.audit_events),  # type: ignore[list-item]
        ]


class Seeder:
    """Makes the rows of seeded accounts with the product's own functions."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.people = services.people
        self.seal = services.personal_data.seal
        started = time.perf_counter()
        # One argon2id hash with the configured parameters, shared by every seeded account.
        self.password_hash = services.passwords.hash(PASSWORD)
        self.hash_seconds = time.perf_counter() - started
        self.evidence = self._agreement_evidence()

    def _agreement_evidence(self) -> list[dict[str, Any]]:
        """What registration records for a new natural person (``accept_pending``), asked for a
        probe account in a transaction that is rolled back: kind, version, language, hash and
        action of each row."""
        # A session of its own (not the application's scoped one): nothing here is kept.
        with Session(self.services.db.engine) as session:
            probe = new_id()
            agreements.accept_pending(
                session, probe, USER_TYPE, ip_address=None, user_agent=None, client_id=None
            )
            rows = session.scalars(
                select(AgreementAcceptance).where(AgreementAcceptance.account_id == probe)
            ).all()
            evidence = [
                {
                    "kind": row.kind,
                    "version": row.version,
                    "language": row.language,
                    "text_sha256": row.text_sha256,
                    "action": row.action,
                }
                for row in rows
            ]
            session.rollback()
        if not evidence:
            raise SystemExit("no agreement applies to natural persons: is the database migrated?")
        return evidence

    def seeded(self) -> int:
        """How many seeded accounts exist: the length of the prefix 0, 1, ... whose phone's
        blind index is taken (batches are committed in order)."""
        session = Session(self.services.db.engine)

        def exists(i: int) -> bool:
            index = self.people.phone_index(person(i).phone)
            return (
                session.scalar(select(Account.id).where(Account.phone_index == index)) is not None
            )

        try:
            if not exists(0):
                return 0
            low, high = 0, 1  # exists(low); find a high that does not exist
            while high < MAX_COUNT and exists(high):
                low, high = high, min(high * 2, MAX_COUNT)
            while high - low > 1:
                middle = (low + high) // 2
                if exists(middle):
                    low = middle
                else:
                    high = middle
            return high
        finally:
            session.close()

    def batch(self, numbers: Iterable[int]) -> Batch:
        seal, people, password_hash = self.seal, self.people, self.password_hash
        now = utcnow()
        batch = Batch([], [], [], [])
        sms_elements = ["phone"]
        registry_elements = list(CHECKS[REGISTRY_CHECK])
        registry_source = SOURCES[REGISTRY_CHECK]
        for i in numbers:
            who = person(i)
            account_id = new_id()
            row = _Row(account_id)
            batch.accounts.append(
                {
                    "id": account_id,
                    "subject": new_id(),
                    "username": None,
                    "password_hash": password_hash,
                    "name_sealed": seal(who.name, Account.context(row, "name_sealed")),  # type: ignore[arg-type]
                    "id_type": "resident_id",
                    "id_number_sealed": seal(
                        who.id_number,
                        Account.context(row, "id_number_sealed"),  # type: ignore[arg-type]
                    ),
                    "id_number_index": people.id_number_index("resident_id", who.id_number),
                    "phone_sealed": seal(who.phone, Account.context(row, "phone_sealed")),  # type: ignore[arg-type]
                    "phone_index": people.phone_index(who.phone),
                    "phone_verified": True,
                    "user_type": USER_TYPE,
                    "status": "active",
                    "verification_level": "L2",
                    "verified_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "password_changed_at": now,
                    "security_stamp": 0,
                }
            )
            for evidence in self.evidence:
                batch.acceptances.append(
                    {
                        "id": new_id(),
                        "account_id": account_id,
                        **evidence,
                        "accepted_at": now,
                        "ip_address": SEEDED_ADDRESS,
                        "user_agent": None,
                        "client_id": None,
                    }
                )
            for check, source, elements, result_levels, reference in (
                ("sms", "sms", sms_elements, ("L0", "L1"), None),
                (
                    REGISTRY_CHECK,
                    registry_source,
                    registry_elements,
                    ("L1", "L2"),
                    secrets.token_hex(16),
                ),
            ):
                batch.verifications.append(
                    {
                        "id": new_id(),
                        "account_id": account_id,
                        "check": check,
                        "source": source,
                        "elements": elements,
                        "result": "match",
                        "level_before": result_levels[0],
                        "level_after": result_levels[1],
                        "reference": reference,
                        "detail": {},
                        "actor": account_id,
                        "created_at": now,
                    }
                )
            batch.audit_events.append(
                {
                    "id": new_id(),
                    "created_at": now,
                    "action": "account_registered",
                    "actor": account_id,
                    "account_id": account_id,
                    "client_id": None,
                    "ip_address": SEEDED_ADDRESS,
                    "entity_id": None,
                    "details": {
                        "id_type": "resident_id",
                        "verification_level": "L2",
                        "registry": "match",
                    },
                }
            )
        return batch


# -- writing -------------------------------------------------------------------------------------


def check_columns(batch: Batch) -> None:
    """Every column of each table gets a value, and nothing else: a schema change that adds a
    column stops the seeder instead of seeding rows that the product would not write."""
    for table, rows in batch.tables():
        if rows and list(rows[0]) != [column.name for column in table.columns]:
            expected = [column.name for column in table.columns]
            raise SystemExit(f"{table.name}: the seeder writes {list(rows[0])}, not {expected}")


def write_postgresql(services: Services, batch: Batch) -> None:
    """COPY each table's rows in one transaction (accounts first: the others refer to them)."""
    from psycopg import sql

    raw = services.db.engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        with connection.cursor() as cursor:
            for table, rows in batch.tables():
                columns = [column.name for column in table.columns]
                json_columns = [
                    position
                    for position, column in enumerate(table.columns)
                    if column.type.__class__.__name__ == "JSON"
                ]
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                with cursor.copy(statement) as copy:
                    for row in rows:
                        values = list(row.values())
                        for position in json_columns:
                            values[position] = json.dumps(values[position])
                        copy.write_row(values)
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()


def write_sqlite(services: Services, batch: Batch) -> None:
    """executemany through SQLAlchemy Core (its types store the datetimes and JSON)."""
    with services.db.engine.begin() as connection:
        for table, rows in batch.tables():
            connection.execute(table.insert(), rows)


def analyze(services: Services) -> None:
    """Fresh planner statistics after a bulk load (autovacuum would get there, later)."""
    tables = [table for table, _rows in Batch([], [], [], []).tables()]
    with services.db.engine.begin() as connection:
        for table in tables:
            connection.exec_driver_sql(f"ANALYZE {table.name}")


def seed(
    services: Services, count: int, batch_size: int, *, out: Any = sys.stdout
) -> dict[str, Any]:
    """Bring the seeded accounts up to ``count``; returns what was done."""
    if count > MAX_COUNT:
        raise SystemExit(f"--count must be at most {MAX_COUNT}")
    services.installation.upgrade()
    seeder = Seeder(services)
    existing = seeder.seeded()
    postgresql = services.db.engine.dialect.name == "postgresql"
    write = write_postgresql if postgresql else write_sqlite
    summary: dict[str, Any] = {
        "database": services.db.engine.dialect.name,
        "existing": existing,
        "count": max(count, existing),
        "added": 0,
        "seconds": 0.0,
        "per_second": None,
        "password_hash_seconds": round(seeder.hash_seconds, 3),
    }
    if existing >= count:
        print(
            f"{existing} seeded accounts already there (asked for {count}): nothing to do", file=out
        )
        return summary
    print(
        f"{existing} seeded accounts already there: appending {count - existing} "
        f"({services.db.engine.dialect.name}, batches of {batch_size})",
        file=out,
    )
    started = time.perf_counter()
    bounds = [
        (start, min(start + batch_size, count)) for start in range(existing, count, batch_size)
    ]
    # Double buffering: the next batch is made (sealing, indexes: Python) in a thread while the
    # database takes the current one (the thread runs while psycopg waits on the socket).
    with ThreadPoolExecutor(max_workers=1) as maker:
        upcoming = maker.submit(seeder.batch, range(*bounds[0]))
        for number, (start, end) in enumerate(bounds):
            batch = upcoming.result()
            if number + 1 < len(bounds):
                upcoming = maker.submit(seeder.batch, range(*bounds[number + 1]))
            if number == 0:
                check_columns(batch)
            try:
                write(services, batch)
            except Exception as exc:
                if "unique" in str(exc).lower():
                    raise SystemExit(
                        f"batch {start}..{end - 1} refused: an ID number or phone the seeder "
                        "makes is taken by an account it did not make (seed an empty database)"
                    ) from None
                raise
            elapsed = time.perf_counter() - started
            rate = (end - existing) / elapsed
            print(
                f"  {end:>9} accounts {elapsed:7.1f} s {rate:8.0f} accounts/s", file=out, flush=True
            )
    if postgresql:
        analyze(services)
    seconds = time.perf_counter() - started
    summary.update(
        added=count - existing,
        seconds=round(seconds, 2),
        per_second=round((count - existing) / seconds),
    )
    analyzed = ", ANALYZE included" if postgresql else ""
    print(
        f"seeded {count - existing} accounts in {seconds:.1f} s "
        f"({summary['per_second']} accounts/s{analyzed}); {count} in all",
        file=out,
    )
    return summary


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Seed real-name accounts (sealed personal data, blind indexes, agreement "
        "evidence) in bulk. Uses the IDP_* environment of the provider that will serve them.",
    )
    parser.add_argument(
        "--count", type=int, default=10_000, help="seeded accounts wanted in all (default 10000)"
    )
    parser.add_argument("--database-url", help="default: IDP_DATABASE_URL")
    parser.add_argument(
        "--batch", type=int, default=20_000, help="accounts per transaction (default 20000)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON last")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.count < 0 or args.batch < 1:
        raise SystemExit("--count must not be negative and --batch must be positive")
    overrides = {"DATABASE_URL": args.database_url} if args.database_url else None
    services = Services(load_config(overrides))
    try:
        summary = seed(services, args.count, args.batch)
    finally:
        services.close()
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
