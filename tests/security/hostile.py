"""What the hostile-input tests and the fuzz suite share: how many rows every table holds, and
the error shape each kind of endpoint must answer with (docs/configuration.md, "Input limits")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select


def table_counts(provider: Any) -> dict[str, int]:
    """Rows per table (one query): equal before and after a refused request, since nothing
    is written."""
    from idp.models import Base

    tables = Base.metadata.sorted_tables
    query = select(*(select(func.count()).select_from(table).scalar_subquery() for table in tables))
    with provider.db.engine.connect() as connection:
        row = connection.execute(query).one()
    return {table.name: int(value) for table, value in zip(tables, row, strict=True)}


def assert_protocol_error(response: Any, status: int, error: str) -> dict[str, Any]:
    """RFC 6749 5.2: JSON ``error`` (and a description), never cached."""
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == error, body
    assert response.headers.get("Cache-Control") == "no-store"
    return dict(body)


def assert_page_refusal(response: Any, status: int, field: str | None = None) -> str:
    """An HTML error page with the status, no redirect; ``field`` named in the message."""
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers
    page = response.get_data(as_text=True)
    if field is not None:
        assert f'data-field="{field}"' in page, page[-2000:]
    return page


def assert_admin_problem(response: Any, status: int) -> dict[str, Any]:
    """RFC 9457 problem details."""
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return dict(body)
