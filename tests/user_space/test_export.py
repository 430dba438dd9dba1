"""The person's copy of their data (issue 12 item 6, PIPL art. 45): ``/account/export`` with
the password re-entered answers one ZIP archive (``export.json`` with every area, opened, and
the stored materials as uploaded); a wrong password exports nothing; every export is audited
without a value. Cancellation erases everything the person stored in the user space."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from sqlalchemy import text

from tests.account.helpers import signed_in_page
from tests.support import csrf_token
from tests.user_space.materials_support import pdf, upload
from tests.user_space.test_addresses import HOME, add, logged_in, rows

SECTIONS = {
    "account",
    "identity_evidence",
    "agreements",
    "consents",
    "disclosures",
    "companies",
    "matters",
    "messages",
    "materials",
    "addresses",
    "security",
    "second_factors",
    "token_exchange",
}


def export(client: Any, password: str) -> Any:
    html = signed_in_page(client, "/account/export?lang=en")
    return client.post(
        "/account/export", data={"csrf_token": csrf_token(html), "password": password}
    )


def test_the_export_is_one_archive_of_every_area(client, provider, user) -> None:
    logged_in(client, user)
    assert add(client, HOME).status_code == 303
    assert upload(client, pdf("my scan")).status_code == 303
    page = signed_in_page(client, "/account/export?lang=en")
    assert 'id="export-sections"' in page and "Your delivery addresses" in page

    answer = export(client, user["password"])
    assert answer.status_code == 200
    assert answer.mimetype == "application/zip"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert answer.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    document = json.loads(archive.read("export.json"))
    assert document["format"] == "idp-personal-data-export/1"
    assert SECTIONS <= set(document)
    assert document["account"]["name"] == "王小明"  # opened, not masked
    assert document["account"]["username"] == "alice"
    [address] = document["addresses"]["addresses"]
    assert address["street"] == HOME["street"]
    [material_file] = document["files"]
    assert material_file.startswith("materials/") and material_file.endswith(".pdf")
    assert archive.read(material_file) == pdf("my scan")
    assert document["security"]  # the login that opened this session is in the history

    [event] = rows(provider, "SELECT details FROM audit_events WHERE action = 'data_exported'")
    details = (
        event["details"] if isinstance(event["details"], dict) else json.loads(event["details"])
    )
    assert set(details["sections"]) == SECTIONS and details["files"] == 1
    assert "王小明" not in json.dumps(details, ensure_ascii=False)


def test_a_wrong_password_exports_nothing(client, provider, user) -> None:
    logged_in(client, user)
    refused = export(client, "not my password")
    assert refused.status_code == 401
    assert refused.mimetype == "text/html"
    html = refused.get_data(as_text=True)
    assert "The password is not correct. Nothing was exported." in html
    assert 'href="#password"' in html  # the error summary links to the field
    assert rows(provider, "SELECT id FROM audit_events WHERE action = 'data_exported'") == []


def test_the_export_needs_a_session(client) -> None:
    assert client.get("/account/export").status_code == 303
    # No session, no CSRF token: never an archive.
    assert client.post("/account/export", data={"password": "x"}).mimetype != "application/zip"


def test_cancellation_erases_what_the_person_stored(client, provider, user) -> None:
    logged_in(client, user)
    assert add(client, HOME).status_code == 303
    assert upload(client, pdf()).status_code == 303
    account_id = user["id"]
    provider.messages.notify(account_id, "password_changed")
    html = signed_in_page(client, "/account/cancel?lang=en")
    cancelled = client.post(
        "/account/cancel",
        data={
            "csrf_token": csrf_token(html),
            "password": user["password"],
            "confirm_cancel": "yes",
        },
    )
    assert cancelled.status_code == 303
    with provider.db.engine.connect() as connection:
        for table in (
            "delivery_addresses",
            "login_history",
            "materials",
            "messages",
            "message_preferences",
            "second_factors",
            "recovery_codes",
        ):
            left = connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE account_id = :id"), {"id": account_id}
            ).scalar_one()
            assert left == 0, table
    assert list(provider.materials.export_files(account_id)) == []
