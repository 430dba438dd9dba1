"""Every refusal (``idp.errors.IdpError``) that no view answered itself is mapped in one place:
its code and public message, never its internal detail, as a page, as JSON on the back channel,
or as RFC 9457 problem details on the admin API."""

from __future__ import annotations

from typing import Any

import pytest

from idp.errors import IdpError


class Taken(IdpError):
    code = "taken"
    status = 409


def _raise() -> Any:
    raise Taken(field="phone", public_message="This phone number is in use.", detail="row 42")


@pytest.fixture
def refusing(make_app: Any) -> Any:
    application = make_app()
    for path in ("/refusal-page", "/.well-known/refusal", "/admin/api/refusal"):
        application.add_url_rule(path, endpoint=path, view_func=_raise)
    return application.test_client()


def test_a_page_shows_the_public_message_with_the_status(refusing: Any) -> None:
    response = refusing.get("/refusal-page")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "This phone number is in use." in page
    assert "row 42" not in page


def test_the_back_channel_answers_json(refusing: Any) -> None:
    response = refusing.get("/.well-known/refusal")
    assert response.status_code == 409
    assert response.get_json() == {
        "error": "taken",
        "error_description": "This phone number is in use.",
    }


def test_the_admin_api_answers_problem_details(refusing: Any) -> None:
    response = refusing.get("/admin/api/refusal")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert (body["status"], body["title"], body["code"]) == (409, "Conflict", "taken")
    assert body["detail"] == "This phone number is in use."
    assert body["errors"] == [
        {"field": "phone", "code": "taken", "message": body["detail"], "pointer": None}
    ]
    assert "row 42" not in response.get_data(as_text=True)
