"""A disclosure chainer in a process of its own, for ``test_disclosure_chainer.py``. It builds the
services from the ``IDP_*`` environment (the suite's settings) and runs the provider's own
chainer code, unchanged.

``python -m tests.agreements.chainer_process race BATCH`` prints ``ready``, waits for a line on
stdin, then links everything queued as ``idp audit chain --batch BATCH`` does
(``DisclosureLog.chain_all``) and prints how many records it linked: several of them started
together race for the chain head.

``python -m tests.agreements.chainer_process POINT`` links one batch as the servers do
(``DisclosureLog.chain``), and just before the statement POINT names prints ``paused`` and
sleeps until it is killed:

- ``after-the-lock``: the head is locked (SQLite: the write lock is held), nothing read yet;
- ``after-the-inserts``: the batch is in ``disclosures``, still in the queue, head not moved;
- ``before-the-commit``: every statement of the batch has run; only the commit is missing.

The pause watches the SQL the chainer sends (a SQLAlchemy event).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from sqlalchemy import event

from idp.config import load_config
from idp.services import Services

PAUSE_SECONDS = 120
STATEMENTS = {
    "after-the-lock": "SELECT disclosure_queue.id, disclosure_queue.created_at",
    "after-the-inserts": "DELETE FROM disclosure_queue",
}


def pause() -> None:
    print("paused", flush=True)
    time.sleep(PAUSE_SECONDS)
    sys.exit("not killed")


def race(services: Services, batch: int) -> None:
    services.disclosures.queued()  # connected before the start
    print("ready", flush=True)
    sys.stdin.readline()
    print(services.disclosures.chain_all(limit=batch), flush=True)


def main(point: str, *args: str) -> None:
    services = Services(load_config())
    if point == "race":
        race(services, int(args[0]))
        return
    engine = services.db.engine
    if point == "before-the-commit":
        event.listen(engine, "commit", lambda _connection: pause())
    else:
        prefix = STATEMENTS[point]

        def before(*args: Any) -> None:
            statement = args[2]
            if statement.startswith(prefix):
                pause()

        event.listen(engine, "before_cursor_execute", before)
    chained = services.disclosures.chain()
    sys.exit(f"the batch ended without pausing ({chained} chained)")


if __name__ == "__main__":
    main(*sys.argv[1:])
