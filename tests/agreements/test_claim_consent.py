"""Claim-release consent per portal (issue #3 item 4; PIPL articles 14, 15, 28 and 29).

The consent page lists what the portal asked for; sensitive personal information (built-in ones
and what the operator marks with IDP_SENSITIVE_CLAIMS; here ``name``) needs its own tick, and
refusing it still lets the login go on without it (OpenID Connect Core 1.0 section 5.3.2 and
5.4: claims not released are omitted). Consent is remembered per account, portal and claim set;
a new claim or scope asks again; ``prompt=consent`` always asks (Core 3.1.2.1). A trusted portal
skips the page for ordinary claims, never for an undecided sensitive one. Withdrawing a consent
stops the portal's refresh tokens at once (PIPL article 15).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.agreements.helpers import (
    consent_claims,
    page_kind,
    portal,
    post_consent,
    rows,
    submit_concurrently,
    walk,
)
from tests.support import RelyingParty, csrf_token


@pytest.fixture
def browser(sensitive_app):  # type: ignore[no-untyped-def]
    """A browser of the app where ``name`` is sensitive."""
    return sensitive_app.test_client()


@pytest.fixture
def rp(cli, browser) -> RelyingParty:  # type: ignore[no-untyped-def]
    return portal(cli, browser, "Sensitive Portal", 8770)


def _tokens(rp, result):  # type: ignore[no-untyped-def]
    assert "code" in result.attempt.result, result.attempt.result
    response = rp.exchange(result.attempt)
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    claims = rp.validate_id_token(tokens["id_token"], result.attempt.params["nonce"])
    info = rp.userinfo(tokens["access_token"])
    assert info.status_code == 200
    return tokens, claims, info.get_json()


def test_consent_page_gives_the_sensitive_claim_its_own_checkbox(rp, user):
    """PIPL article 29: the sensitive claim is ticked separately from the ordinary ones."""
    result = walk(rp, user["username"], user["password"], ui_locales="en")

    page = result.page("consent")
    ordinary, sensitive = consent_claims(page)
    assert sensitive == ["name"]
    assert ordinary == [
        "preferred_username",
        "updated_at",
        "user_type",
        "verification_level",
        "verified_at",
    ]
    assert "checked" not in re.search(
        r'<input type="checkbox" name="sensitive_claims"[^>]*>', page
    ).group(0)
    assert "Sensitive personal information" in page


def test_refusing_the_sensitive_claim_still_logs_in_without_it(rp, user, provider, cli):
    """No tick: the login goes on; ``name`` is in neither the ID token nor userinfo, and the
    disclosure log lists no ``name`` for this portal."""
    result = walk(rp, user["username"], user["password"])

    _tokens_, claims, info = _tokens(rp, result)

    assert "name" not in claims and "name" not in info
    assert claims["preferred_username"] == user["username"]
    assert info["preferred_username"] == user["username"]
    cli.ok("audit", "chain")  # the records, linked into the hash chain
    released = rows(provider, "SELECT channel, claims FROM disclosures ORDER BY seq")
    assert {r["channel"] for r in released} == {"id_token", "userinfo"}
    for row in released:
        names = row["claims"] if isinstance(row["claims"], list) else json.loads(row["claims"])
        assert "name" not in names and "preferred_username" in names


def test_ticking_the_sensitive_claim_releases_it(rp, user):
    result = walk(rp, user["username"], user["password"], tick=("name",))

    _tokens_, claims, info = _tokens(rp, result)

    assert claims["name"] == user["name"]
    assert info["name"] == user["name"]
    assert info["preferred_username"] == user["username"]


def test_a_remembered_refusal_is_not_asked_again_but_prompt_consent_asks(rp, user):
    """The decision is remembered for the same claim set; prompt=consent always shows the page,
    and a tick there releases the claim from then on."""
    first = walk(rp, user["username"], user["password"])
    assert first.kinds == ["login", "consent"]
    _tokens(rp, first)

    second = walk(rp, user["username"], user["password"])
    assert second.kinds == []
    assert "name" not in _tokens(rp, second)[1]

    forced = walk(rp, user["username"], user["password"], prompt="consent", tick=("name",))
    assert forced.kinds == ["consent"]
    assert consent_claims(forced.page("consent"))[1] == ["name"]
    assert _tokens(rp, forced)[2]["name"] == user["name"]

    later = walk(rp, user["username"], user["password"])
    assert later.kinds == []
    assert _tokens(rp, later)[1]["name"] == user["name"]

    # prompt=consent again, this time without the tick: the grant is taken back.
    refused = walk(rp, user["username"], user["password"], prompt="consent")
    assert refused.kinds == ["consent"]
    assert "name" not in _tokens(rp, refused)[2]


def test_a_new_claim_or_scope_asks_again(rp, user):
    """Consent covers the claims asked about: a claim added through the ``claims`` parameter
    (Core 5.5) or a new scope shows the page again, listing what is new."""
    only_username = json.dumps({"userinfo": {"preferred_username": None}})
    first = walk(rp, user["username"], user["password"], scope="openid", claims=only_username)
    assert first.kinds == ["login", "consent"]
    assert consent_claims(first.page("consent")) == (["preferred_username"], [])

    same = walk(rp, user["username"], user["password"], scope="openid", claims=only_username)
    assert same.kinds == []

    with_name = json.dumps({"userinfo": {"preferred_username": None, "name": None}})
    wider = walk(rp, user["username"], user["password"], scope="openid", claims=with_name)
    assert wider.kinds == ["consent"]
    assert consent_claims(wider.page("consent"))[1] == ["name"]
    assert "name" not in _tokens(rp, wider)[2]

    offline = walk(
        rp,
        user["username"],
        user["password"],
        scope="openid offline_access",
        claims=with_name,
    )
    assert offline.kinds == ["consent"]
    assert consent_claims(offline.page("consent")) == (["preferred_username"], ["name"])
    profile = walk(rp, user["username"], user["password"], scope="openid profile")
    assert profile.kinds == ["consent"]
    assert walk(rp, user["username"], user["password"], scope="openid profile").kinds == []


def test_trusted_portal_skips_the_page_for_ordinary_claims(cli, client, user):
    """A portal an administrator marks trusted (``--trusted``) gets ordinary claims without a
    consent page (in the app without operator-marked sensitive claims)."""
    trusted = portal(cli, client, "Government Portal", 8771, "--trusted")

    result = walk(trusted, user["username"], user["password"])

    assert result.kinds == ["login"]
    _tokens_, claims, info = _tokens(trusted, result)
    assert claims["name"] == user["name"] and info["preferred_username"] == user["username"]


def test_set_trusted_switches_the_consent_page_off_and_on(cli, client, user):
    ordinary = portal(cli, client, "Portal", 8772)
    assert cli.ok("clients", "set-trusted", ordinary.client_id, "yes").strip().endswith("yes")
    assert cli.ok("clients", "show", ordinary.client_id)["trusted"] is True

    trusted_login = walk(ordinary, user["username"], user["password"])
    assert trusted_login.kinds == ["login"]

    cli.ok("clients", "set-trusted", ordinary.client_id, "no")
    untrusted_login = walk(ordinary, user["username"], user["password"])
    assert untrusted_login.kinds == ["consent"]


def test_trusted_portal_still_asks_for_an_undecided_sensitive_claim(cli, browser, user):
    """Never for sensitive ones: even a trusted portal shows the page with the separate tick;
    once decided, the trusted portal is not asked again."""
    trusted = portal(cli, browser, "Government Portal", 8773, "--trusted")

    result = walk(trusted, user["username"], user["password"])

    assert result.kinds == ["login", "consent"]
    assert consent_claims(result.page("consent"))[1] == ["name"]
    assert "name" not in _tokens(trusted, result)[1]

    again = walk(trusted, user["username"], user["password"])
    assert again.kinds == []
    assert "name" not in _tokens(trusted, again)[2]


def _withdraw(browser, client_id):  # type: ignore[no-untyped-def]
    """Withdraw through the user space, as the person would."""
    page = browser.get("/account/consents")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'name="client_id" value="{client_id}"' in html
    response = browser.post(
        "/account/consents/withdraw", data={"csrf_token": csrf_token(html), "client_id": client_id}
    )
    assert response.status_code == 303
    return response


def test_withdrawing_consent_stops_the_portals_refresh_token(cli, browser, user):
    """PIPL article 15: after withdrawal the portal's refresh token is invalid_grant
    (RFC 6749 5.2) and its access token no longer works (RFC 6750 3.1); the next login asks for
    consent again. Another portal's tokens keep working."""
    rp = portal(cli, browser, "Sensitive Portal", 8774)
    other = portal(cli, browser, "Other Portal", 8775)
    tokens, _claims, _info = _tokens(
        rp, walk(rp, user["username"], user["password"], scope="openid profile offline_access")
    )
    other_tokens, _c, _i = _tokens(
        other, walk(other, user["username"], user["password"], scope="openid offline_access")
    )
    assert "refresh_token" in tokens and "refresh_token" in other_tokens

    _withdraw(browser, rp.client_id)

    refreshed = rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    assert other.refresh(other_tokens["refresh_token"]).status_code == 200
    assert walk(rp, user["username"], user["password"]).kinds == ["consent"]


def test_consent_form_submitted_several_times_at_once_counts_once(public_rp, user, provider, app):
    """A double-clicked (or concurrently replayed) consent form: one submission continues the
    login, the others are refused as already used (no server error from racing inserts)."""
    attempt = public_rp.authorize()
    public_rp.follow(attempt)
    public_rp.submit_login(attempt, user["username"], user["password"])
    page = public_rp.follow(attempt)
    assert page_kind(page) == "consent"

    statuses = submit_concurrently(app, public_rp, lambda clone: post_consent(clone, page))

    assert statuses == [303, 400, 400, 400]
    assert rows(provider, "SELECT client_id FROM consents") == [{"client_id": public_rp.client_id}]
