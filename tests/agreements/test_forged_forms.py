"""Forged and replayed agreement forms are refused and record nothing (issue #3, "Bad input").

The agreement form only counts when it belongs to this browser's interaction (wrong interaction
id or another browser: refused), carries the CSRF token (OWASP CSRF Prevention Cheat Sheet),
names the version that must be accepted now (a stale version id: refused), and is submitted once
(a replay after the interaction moved on: refused).
"""

from __future__ import annotations

import secrets

from tests.agreements.helpers import (
    acceptances,
    current_text,
    hidden_value,
    page_kind,
    post_agreement,
    publish,
    rows,
    shown_agreement_text,
    submit_concurrently,
)
from tests.support import RelyingParty, csrf_token, form_action


def _agreement_page(rp, user):  # type: ignore[no-untyped-def]
    attempt = rp.authorize(ui_locales="en")
    rp.follow(attempt)
    rp.submit_login(attempt, user["username"], user["password"])
    page = rp.follow(attempt)
    assert page_kind(page) == "agreement"
    return attempt, page


def _finish(rp, attempt, page):  # type: ignore[no-untyped-def]
    """The genuine form still goes through afterwards: the refusals changed nothing."""
    attempt.response = post_agreement(rp, page)
    assert attempt.response.status_code == 303
    assert page_kind(rp.follow(attempt)) == "consent"


def test_wrong_interaction_id_is_refused(public_rp, user, provider, seeded):
    """A form posted to an interaction that does not exist shows an error page."""
    attempt, page = _agreement_page(public_rp, user)
    forged = form_action(page, "/agreement").replace(
        attempt.response.request.path.rsplit("/", 1)[-1], secrets.token_urlsafe(24)
    )
    assert forged != form_action(page, "/agreement")

    response = public_rp.browser.post(
        forged,
        data={
            "csrf_token": csrf_token(page),
            "version_id": hidden_value(page, "version_id"),
            "accept_agreement": "yes",
            "decision": "approve",
        },
    )

    assert response.status_code == 400
    assert 'name="version_id"' not in response.get_data(as_text=True)
    assert acceptances(provider) == []
    _finish(public_rp, attempt, page)


def test_another_browser_cannot_submit_the_agreement(public_rp, user, provider, app, seeded):
    """The interaction is bound to the browser that started it: another browser, even one
    logged in to the same account with a valid CSRF token of its own, cannot submit it."""
    attempt, page = _agreement_page(public_rp, user)
    other = RelyingParty(app.test_client(), public_rp.client_id, None, public_rp.redirect_uri)
    _other_attempt, other_page = _agreement_page(other, user)

    response = other.browser.post(
        form_action(page, "/agreement"),
        data={
            "csrf_token": csrf_token(other_page),
            "version_id": hidden_value(page, "version_id"),
            "accept_agreement": "yes",
            "decision": "approve",
        },
    )

    assert response.status_code == 400
    assert acceptances(provider) == []
    _finish(public_rp, attempt, page)


def test_missing_or_wrong_csrf_token_is_refused(public_rp, user, provider, seeded):
    """No CSRF token, or someone else's, is a 400 and records nothing."""
    attempt, page = _agreement_page(public_rp, user)

    missing = post_agreement(public_rp, page, csrf_token=None)
    wrong = post_agreement(public_rp, page, csrf_token="IjAwMDAi.forged.token")

    assert missing.status_code == 400
    assert wrong.status_code == 400
    assert acceptances(provider) == []
    _finish(public_rp, attempt, page)


def test_stale_version_id_is_refused(public_rp, user, provider, cli, tmp_path, seeded):
    """A newer material version published between showing and submitting the page: the
    accepted text would not be the one in force, so nothing is recorded; the new page shows
    the new text, and only that acceptance is stored."""
    attempt, page = _agreement_page(public_rp, user)
    new_text = current_text(provider, "natural_person") + "12.【新条款】一条新的约定。\n"
    publish(cli, tmp_path, "natural_person", new_text, "--material")

    stale = post_agreement(public_rp, page)

    assert stale.status_code == 400
    assert acceptances(provider) == []
    fresh = public_rp.browser.get(attempt.response.request.path)
    fresh_page = fresh.get_data(as_text=True)
    assert hidden_value(fresh_page, "version_id") != hidden_value(page, "version_id")
    assert shown_agreement_text(fresh_page) == new_text
    _finish(public_rp, attempt, fresh_page)
    (row,) = acceptances(provider)
    assert row["version"] == 2


def test_version_id_of_another_agreement_is_refused(public_rp, user, provider, seeded):
    """A forged version id (the legal-person agreement, or made up) records nothing."""
    attempt, page = _agreement_page(public_rp, user)
    (legal,) = rows(
        provider,
        "SELECT id FROM agreement_versions WHERE kind = 'legal_person' AND language = 'zh-CN'",
    )

    for forged in (legal["id"], "00000000-0000-0000-0000-000000000000", ""):
        response = post_agreement(public_rp, page, version_id=forged)
        assert response.status_code == 400

    response = post_agreement(public_rp, page, decision="maybe")
    assert response.status_code == 400
    assert acceptances(provider) == []
    _finish(public_rp, attempt, page)


def test_replayed_agreement_form_is_refused(public_rp, user, provider, seeded):
    """Submitting the same accepted form again shows an error page; one evidence row only."""
    attempt, page = _agreement_page(public_rp, user)
    first = post_agreement(public_rp, page)
    assert first.status_code == 303

    replay = post_agreement(public_rp, page)

    assert replay.status_code == 400
    assert 'name="version_id"' not in replay.get_data(as_text=True)
    assert len(acceptances(provider)) == 1


def test_agreement_form_submitted_several_times_at_once_records_one_acceptance(
    public_rp, user, provider, app, seeded
):
    """The same form sent concurrently (a double click, a replay racing the original): the
    step is claimed atomically before the evidence is stored, so one submission continues the
    login and the others are refused; one evidence row only."""
    _attempt, page = _agreement_page(public_rp, user)

    statuses = submit_concurrently(app, public_rp, lambda clone: post_agreement(clone, page))

    assert statuses == [303, 400, 400, 400]
    assert len(acceptances(provider)) == 1
