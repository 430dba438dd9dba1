"""Every change that gives a handler more is confirmed alike (issue #21 item 5; legal-person
agreement: graded and classified authorisation): resuming a suspended handler grant needs the
resuming person's SMS code, as appointing, widening and renewing do."""

from __future__ import annotations

from typing import Any

from idp.views import cookies
from tests.companies.helpers import (
    ZHANG_SAN,
    errors_of,
    get,
    grant_rows,
    location,
    page,
    post,
    send_grant_code,
)


def same_person_elsewhere(make_app: Any, browser: Any) -> Any:
    """The person's SSO session in an instance with its own secret key, so its SMS codes are
    keyed apart from the codes sent moments ago (the resend wait is per phone and purpose)."""
    other = make_app(SECRET_KEY="another-secret-key-that-is-long-enough-56789").test_client()
    session = browser.get_cookie(cookies.SESSION)
    assert session is not None
    other.set_cookie(cookies.SESSION, session.value)
    return other


def test_resuming_a_suspended_grant_needs_the_sms_code(
    world: Any, provider: Any, make_app: Any
) -> None:
    status = f"{world.company}/grants/{world.grant_id}/status"
    assert location(post(world.administrator, status, {"action": "suspend"})).endswith(
        "?done=suspended"
    )

    resume_page = location(post(world.administrator, status, {"action": "resume"}))

    assert resume_page.endswith(f"/grants/{world.grant_id}/resume")
    assert grant_rows(page(get(world.handler, "/account/companies"))) == {
        world.grant_id: "suspended"
    }
    shown = page(get(world.administrator, resume_page + "?lang=en"))
    assert "Resume an authorisation" in shown and 'name="sms_code"' in shown
    assert "恢复授权" in page(get(world.administrator, resume_page + "?lang=zh-CN"))
    refused = post(world.administrator, resume_page, {"action": "resume", "sms_code": "000000"})
    assert refused.status_code == 400
    assert "sms_code" in errors_of(refused)
    without = post(world.administrator, resume_page, {"action": "resume"})
    assert without.status_code == 400
    assert grant_rows(page(get(world.handler, "/account/companies"))) == {
        world.grant_id: "suspended"
    }

    zhang = same_person_elsewhere(make_app, world.administrator)
    code = send_grant_code(zhang, resume_page, provider, ZHANG_SAN.phone)
    resumed = post(zhang, resume_page, {"action": "resume", "sms_code": code})

    assert location(resumed).endswith("?done=resumed")
    assert grant_rows(page(get(world.handler, "/account/companies"))) == {world.grant_id: "active"}
    assert 'data-action="handler_grant_active"' in page(get(world.administrator, world.company))


def test_the_handler_cannot_open_the_resume_page(world: Any) -> None:
    status = f"{world.company}/grants/{world.grant_id}/status"
    location(post(world.administrator, status, {"action": "suspend"}))

    assert get(world.handler, f"{world.company}/grants/{world.grant_id}/resume").status_code == 403
    assert post(world.handler, status, {"action": "resume"}).status_code == 403
