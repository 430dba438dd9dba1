"""New agreement versions: material ones need fresh acceptance, supplementary ones do not.

Issue #3 item 2 and the agreements' clause 10: supplementary rules published later are part of
the agreement without signing again (the person is told once, at the next login); a *material*
version must be accepted again at the next login with any portal, showing what changed since
the accepted version. A version applies from its effective time. With ``prompt=none`` a pending
acceptance cannot be asked for: ``interaction_required`` (OpenID Connect Core 1.0 3.1.2.6).
"""

from __future__ import annotations

from tests.agreements.helpers import (
    acceptances,
    current_text,
    hidden_value,
    page_kind,
    post_agreement,
    publish,
    sha256,
    shown_agreement_text,
    shown_changes,
    walk,
)
from tests.support import ISSUER

ADDED_LINE = "11.【补充条款】注册用户可在用户空间查看向各门户提供个人信息的记录。"


def _accept_version_1(rp, user):  # type: ignore[no-untyped-def]
    result = walk(rp, user["username"], user["password"])
    assert result.kinds == ["login", "agreement", "consent"]
    assert "code" in result.attempt.result


def test_material_version_must_be_accepted_again_with_any_portal(
    public_rp, second_rp, user, provider, cli, tmp_path, seeded
):
    """A material version asks for acceptance at the next login, also at another portal, and
    shows the lines added since the accepted version."""
    _accept_version_1(public_rp, user)
    new_text = current_text(provider, "natural_person") + ADDED_LINE + "\n"
    published = publish(cli, tmp_path, "natural_person", new_text, "--material")
    assert (published["version"], published["nature"]) == (2, "material")

    result = walk(second_rp, user["username"], user["password"], ui_locales="en")

    assert result.kinds == ["agreement", "consent"]
    page = result.page("agreement")
    assert 'name="accept_agreement"' in page
    assert shown_changes(page) == [("added", ADDED_LINE)]
    assert "since you accepted version 1." in page
    assert shown_agreement_text(page) == new_text
    rows = acceptances(provider)
    assert [(r["version"], r["action"], r["client_id"]) for r in rows] == [
        (1, "accepted", public_rp.client_id),
        (2, "accepted", second_rp.client_id),
    ]
    assert rows[1]["text_sha256"] == sha256(shown_agreement_text(page))

    # Accepted once, not asked again at the first portal either.
    back = walk(public_rp, user["username"], user["password"])
    assert back.kinds == []
    assert "code" in back.attempt.result


def test_supplementary_version_is_shown_once_without_a_new_acceptance(
    public_rp, second_rp, user, provider, cli, tmp_path, seeded
):
    """Clause 10: a supplementary version binds without re-signing; the person is told once
    (Continue, no checkbox), recorded as ``notified``, and never asked again."""
    _accept_version_1(public_rp, user)
    new_text = current_text(provider, "natural_person") + ADDED_LINE + "\n"
    published = publish(cli, tmp_path, "natural_person", new_text)
    assert (published["version"], published["nature"]) == (2, "supplementary")

    attempt = second_rp.authorize()
    page = second_rp.follow(attempt)
    assert 'name="version_id"' in page
    assert 'name="accept_agreement"' not in page
    assert shown_changes(page) == [("added", ADDED_LINE)]
    attempt.response = post_agreement(second_rp, page, accept=False)
    assert attempt.response.status_code == 303
    assert page_kind(second_rp.follow(attempt)) == "consent"

    rows = acceptances(provider)
    assert [(r["version"], r["action"]) for r in rows] == [(1, "accepted"), (2, "notified")]
    assert rows[1]["text_sha256"] == sha256(shown_agreement_text(page))
    assert rows[1]["client_id"] == second_rp.client_id

    for rp in (public_rp, second_rp):
        again = walk(rp, user["username"], user["password"], prompt="login")
        assert "agreement" not in again.kinds
        assert "code" in again.attempt.result
    assert len(acceptances(provider)) == 2


def test_supplementary_version_after_an_unaccepted_material_one_still_needs_acceptance(
    public_rp, user, provider, cli, tmp_path, seeded
):
    """A supplementary version does not lift the duty to accept the material one before it:
    the person who never accepted is asked to accept (checkbox) the current text."""
    publish(cli, tmp_path, "natural_person", current_text(provider, "natural_person") + "补充\n")

    result = walk(public_rp, user["username"], user["password"])

    page = result.page("agreement")
    assert 'name="accept_agreement"' in page
    (row,) = acceptances(provider)
    assert (row["version"], row["action"]) == (2, "accepted")


def test_prompt_none_with_a_pending_material_version_is_interaction_required(
    public_rp, user, provider, cli, tmp_path, seeded
):
    """OpenID Connect Core 3.1.2.6: prompt=none cannot show the agreement page."""
    _accept_version_1(public_rp, user)
    publish(
        cli,
        tmp_path,
        "natural_person",
        current_text(provider, "natural_person") + "新\n",
        "--material",
    )

    attempt = public_rp.authorize(prompt="none")

    assert attempt.response.status_code == 303
    assert attempt.response.headers["Location"].startswith(public_rp.redirect_uri)
    assert attempt.result["error"] == "interaction_required"
    assert attempt.result["state"] == attempt.params["state"]
    assert attempt.result["iss"] == ISSUER
    assert "code" not in attempt.result
    assert len(acceptances(provider)) == 1


def test_prompt_none_with_a_pending_supplementary_version_goes_on_silently(
    public_rp, user, provider, cli, tmp_path, seeded
):
    """Clause 10: supplementary rules bind without re-signing, so a silent login is not stopped;
    the person is told at the next interactive login."""
    _accept_version_1(public_rp, user)
    publish(cli, tmp_path, "natural_person", current_text(provider, "natural_person") + "补充\n")

    silent = public_rp.authorize(prompt="none")

    assert "code" in silent.result, silent.result
    assert len(acceptances(provider)) == 1  # nothing recorded: the person saw nothing
    interactive = public_rp.authorize(prompt="login")
    public_rp.follow(interactive)
    public_rp.submit_login(interactive, user["username"], user["password"])
    page = public_rp.follow(interactive)
    assert 'name="version_id"' in page and 'name="accept_agreement"' not in page


def test_version_effective_in_the_future_is_not_required_yet(
    public_rp, second_rp, user, provider, cli, tmp_path, seeded
):
    """A version applies from its effective time: before it, logins go on with the accepted
    version, and a new account is shown the version in force now."""
    _accept_version_1(public_rp, user)
    version_1 = current_text(provider, "natural_person")
    publish(
        cli,
        tmp_path,
        "natural_person",
        version_1 + ADDED_LINE + "\n",
        "--material",
        "--effective-at",
        "2999-01-01T00:00:00+08:00",
    )
    listed = cli.ok("agreements", "list", "--json")
    future = [r for r in listed if r["kind"] == "natural_person" and r["version"] == 2]
    assert future[0]["effective_at"].startswith("2998-12-31T16:00:00")

    again = walk(second_rp, user["username"], user["password"])
    assert "agreement" not in again.kinds
    assert "code" in again.attempt.result

    cli.ok("users", "create", "--username", "bob", "--password", "another long password")
    fresh = walk(public_rp, "bob", "another long password", prompt="login")
    page = fresh.page("agreement")
    assert shown_agreement_text(page) == version_1
    assert ADDED_LINE not in page


def test_version_whose_effective_time_has_passed_is_required(
    public_rp, second_rp, user, provider, cli, tmp_path, seeded
):
    """The other side of the effective time: a version in force since a past time applies."""
    _accept_version_1(public_rp, user)
    publish(
        cli,
        tmp_path,
        "natural_person",
        current_text(provider, "natural_person") + ADDED_LINE + "\n",
        "--material",
        "--effective-at",
        "2020-01-01T00:00:00+08:00",
    )

    result = walk(second_rp, user["username"], user["password"])

    assert result.kinds[0] == "agreement"
    assert ADDED_LINE in shown_agreement_text(result.page("agreement"))
    assert hidden_value(result.page("agreement"), "version_id")
