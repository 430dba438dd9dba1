"""Portal names are unique in the database itself (issue 21, item 8): two registrations racing
with one name cannot both pass the registry's check; exactly one wins and the other gets the
same ``duplicate`` error the check gives (names case-folded, across ``name`` and ``name_en``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.admin_portals.helpers import AdminApi, admin_api_token, field_errors, portal

RACERS = 4


def race(app: Any, token: str, bodies: list[dict[str, Any]]) -> list[Any]:
    """Send the registrations at the same moment, each from its own thread and browser."""
    start = threading.Barrier(len(bodies))
    answers: list[Any] = [None] * len(bodies)

    def register(number: int) -> None:
        api = AdminApi(app.test_client(), token)
        start.wait()
        answers[number] = api.post("/clients", bodies[number])

    threads = [threading.Thread(target=register, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


@pytest.mark.parametrize("field", ["name", "name_en"])
def test_concurrent_registrations_with_one_name_exactly_one_wins(
    app: Any, cli: Any, field: str
) -> None:
    token = admin_api_token(cli)
    # The same name in different cases: one portal name, case-folded.
    spellings = ["Hangzhou Tax Portal", "HANGZHOU TAX PORTAL"]
    bodies = [portal(**{field: spellings[n % 2]}, matters=None) for n in range(RACERS)]

    answers = race(app, token, bodies)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [400] * (RACERS - 1), [a.get_json() for a in answers]
    for answer in answers:
        if answer.status_code == 400:
            assert field_errors(answer) == {field: ["duplicate"]}
    listed = AdminApi(app.test_client(), token).get("/clients").get_json()
    names = [entry.get(field, "").casefold() for entry in listed["clients"]]
    assert names.count("hangzhou tax portal") == 1


def test_a_name_cannot_be_taken_across_languages_by_a_change(app: Any, cli: Any) -> None:
    api = AdminApi(app.test_client(), admin_api_token(cli))
    api.create(name="杭州市政务服务网", name_en="Hangzhou services", matters=None)
    other = api.create(name="宁波市政务服务网", name_en="Ningbo services", matters=None)

    changed = api.patch(f"/clients/{other['client_id']}", {"name_en": "HANGZHOU SERVICES"})

    assert changed.status_code == 400
    assert field_errors(changed) == {"name_en": ["duplicate"]}
    # A portal may rename itself, and take back a name it gave up.
    renamed = api.patch(f"/clients/{other['client_id']}", {"name_en": "Ningbo Services"})
    assert renamed.status_code == 200, renamed.get_json()


def test_the_database_refuses_a_second_holder_of_a_name(provider: Any, app: Any, cli: Any) -> None:
    """What the constraint holds whatever code writes: a name held once."""
    api = AdminApi(app.test_client(), admin_api_token(cli))
    first = api.create(name="Hangzhou Tax Portal", matters=None)
    second = api.create(name="Ningbo Tax Portal", matters=None)
    assert first and second
    with pytest.raises(IntegrityError), provider.db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO client_names (name_key, client_id) VALUES (:k, :c)"),
            {"k": "hangzhou tax portal", "c": second["client_id"]},
        )
