"""RP-Initiated Logout 1.0 at the end-session endpoint.

Section 2: the id_token_hint must be an ID token this provider issued (expired ones accepted,
forged, foreign and ``alg: none`` ones refused); ``client_id`` must match its audience; the OP
MUST ask the person when no valid hint came or when the hint does not belong to the current
session. Section 3: redirection only to a registered post_logout_redirect_uri (exact match),
with ``state``. Section 4: ``ui_locales``. Bad input logs nobody out and redirects nowhere.
"""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import urlencode

import pytest
from jwcrypto import jwk, jws

from tests.logout.helpers import log_in, logged_in, on_browser, register_portal
from tests.support import csrf_token, form_fields

A_LOGGED_OUT = "https://a.example.gov.cn/logged-out"


@pytest.fixture
def portal(cli, client):  # type: ignore[no-untyped-def]
    return register_portal(cli, client, "Portal A", "a.example.gov.cn")


@pytest.fixture
def signed_in(portal, user):  # type: ignore[no-untyped-def]
    """The person logged in at the portal: its token response (with validated claims)."""
    return log_in(portal, user["username"], user["password"])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segments(token: str) -> tuple[dict, dict]:  # type: ignore[type-arg]
    header, payload, _signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
    )


def refused(response) -> None:  # type: ignore[no-untyped-def]
    """An error page: no redirect anywhere, the session cookie left alone."""
    assert response.status_code == 400, response.status_code
    assert "Location" not in response.headers
    assert not any(h.startswith("idp_session=") for h in response.headers.getlist("Set-Cookie"))


def logout(browser, **params):  # type: ignore[no-untyped-def]
    return browser.get("/logout?" + urlencode(params))


def confirm(browser, page, decision: str = "logout"):  # type: ignore[no-untyped-def]
    """Post the confirmation form shown on ``page``."""
    html = page.get_data(as_text=True)
    return browser.post("/logout/confirm", data={**form_fields(html), "decision": decision})


# -- a valid hint ----------------------------------------------------------------------------


def test_valid_hint_logs_out_at_once_and_returns_with_state(client, portal, signed_in):
    """Section 2 and 3: the hint identifies the person; back to the registered URI with state."""
    response = logout(
        client,
        id_token_hint=signed_in["id_token"],
        client_id=portal.client_id,
        post_logout_redirect_uri=A_LOGGED_OUT,
        state="xyz 1/2",
    )

    assert response.status_code == 303
    assert response.headers["Location"] == A_LOGGED_OUT + "?state=xyz+1%2F2"
    assert client.get_cookie("idp_session") is None
    assert not logged_in(portal)


def test_logout_by_post_is_accepted(client, portal, signed_in):
    """Section 2: the RP may use HTTP GET or POST at the end-session endpoint."""
    response = client.post(
        "/logout",
        data={"id_token_hint": signed_in["id_token"], "post_logout_redirect_uri": A_LOGGED_OUT},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == A_LOGGED_OUT
    assert not logged_in(portal)


def test_valid_hint_without_redirect_uri_shows_the_logged_out_page(client, portal, signed_in):
    """Section 3: without post_logout_redirect_uri the OP shows its own page."""
    response = logout(client, id_token_hint=signed_in["id_token"], ui_locales="en")

    assert response.status_code == 200
    assert "You have been logged out." in response.get_data(as_text=True)
    assert not logged_in(portal)


def test_expired_hint_is_accepted(make_app, portal, user):
    """Section 2: the OP SHOULD accept an ID token whose exp has passed as the hint."""
    short = make_app(ID_TOKEN_TTL=1)
    browser = short.test_client()
    rp = on_browser(portal, browser)
    tokens = log_in(rp, user["username"], user["password"])
    expires = tokens["claims"]["exp"]
    time.sleep(max(0.0, expires - time.time() + 0.5))
    assert time.time() > expires

    response = logout(
        browser, id_token_hint=tokens["id_token"], post_logout_redirect_uri=A_LOGGED_OUT
    )

    assert response.status_code == 303
    assert response.headers["Location"] == A_LOGGED_OUT
    assert not logged_in(rp)


def test_no_session_any_more_still_returns_to_the_portal(client, portal, signed_in):
    """Section 3: logging out twice is harmless; the person is sent back with state."""
    first = logout(client, id_token_hint=signed_in["id_token"])
    assert first.status_code == 200

    again = logout(
        client,
        id_token_hint=signed_in["id_token"],
        post_logout_redirect_uri=A_LOGGED_OUT,
        state="s2",
    )

    assert again.status_code == 303
    assert again.headers["Location"] == A_LOGGED_OUT + "?state=s2"


# -- hints that must not log anyone out ------------------------------------------------------


def test_alg_none_hint_is_refused(client, portal, signed_in):
    """Section 2 and OIDC Core 3.1.2.1 (id_token_hint): an unsigned token is never trusted."""
    header, payload = segments(signed_in["id_token"])
    none_header = b64(json.dumps({**header, "alg": "none"}).encode())
    unsigned = f"{none_header}.{b64(json.dumps(payload).encode())}."

    refused(logout(client, id_token_hint=unsigned, post_logout_redirect_uri=A_LOGGED_OUT))
    assert logged_in(portal)


def test_forged_hint_is_refused(client, portal, signed_in):
    """Section 2: a token signed by another key (even under our key id) is refused."""
    header, payload = segments(signed_in["id_token"])
    key = jwk.JWK.generate(kty="RSA", size=2048)
    token = jws.JWS(json.dumps(payload).encode())
    token.add_signature(key, protected=json.dumps({"alg": "RS256", "kid": header["kid"]}))
    forged = token.serialize(compact=True)

    refused(logout(client, id_token_hint=forged, post_logout_redirect_uri=A_LOGGED_OUT))
    assert logged_in(portal)


def test_tampered_hint_is_refused(client, portal, signed_in):
    """Section 2: our signature over other claims does not verify."""
    header_part, _payload, signature = signed_in["id_token"].split(".")
    _header, payload = segments(signed_in["id_token"])
    payload["sub"] = "someone-else"
    tampered = f"{header_part}.{b64(json.dumps(payload).encode())}.{signature}"

    refused(logout(client, id_token_hint=tampered))
    assert logged_in(portal)


def test_hint_from_another_issuer_is_refused(make_app, client, portal, signed_in, user):
    """Section 2: the hint must have been issued by this OP (its ``iss``), not just signed with
    a key we hold."""
    foreign = make_app(ISSUER="https://other.example.gov.cn")
    rp = on_browser(portal, foreign.test_client())
    attempt = rp.login(user["username"], user["password"])
    foreign_token = rp.exchange(attempt).get_json()["id_token"]
    assert segments(foreign_token)[1]["iss"] == "https://other.example.gov.cn"

    refused(logout(client, id_token_hint=foreign_token, post_logout_redirect_uri=A_LOGGED_OUT))
    assert logged_in(portal)


def test_client_id_not_matching_the_hint_is_refused(cli, client, portal, signed_in):
    """Section 2: with both client_id and id_token_hint, the client must be the token's aud."""
    other = register_portal(cli, client, "Portal C", "c.example.gov.cn")

    refused(logout(client, id_token_hint=signed_in["id_token"], client_id=other.client_id))
    assert logged_in(portal)


def test_garbage_and_repeated_parameters_are_refused(client, portal, signed_in):
    """Section 2: malformed requests are errors, not logouts."""
    refused(logout(client, id_token_hint="not-a-jwt"))
    repeated = client.get(
        "/logout?" + urlencode([("id_token_hint", signed_in["id_token"]), ("id_token_hint", "x")])
    )
    refused(repeated)
    assert logged_in(portal)


def test_logout_token_is_not_an_id_token_hint(cli, client, receivers, user):
    """Section 2: the hint must be an ID token; another JWT we signed (a logout token) is not."""
    receiver = receivers()
    rp = register_portal(cli, client, "Portal R", "r.example.gov.cn", backchannel_uri=receiver.url)
    first = log_in(rp, user["username"], user["password"])
    logout(client, id_token_hint=first["id_token"])
    logout_token = receiver.wait_for_tokens()[0]
    log_in(rp, user["username"], user["password"])

    refused(
        logout(
            client,
            id_token_hint=logout_token,
            post_logout_redirect_uri="https://r.example.gov.cn/logged-out",
        )
    )
    assert logged_in(rp)


# -- post-logout redirection -----------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://a.example.gov.cn/logged-out/",
        "https://a.example.gov.cn/logged-out?next=/",
        "https://a.example.gov.cn/logged-out#x",
        "https://a.example.gov.cn/logged-ou",
        "https://A.example.gov.cn/logged-out",
        "http://a.example.gov.cn/logged-out",
        "https://a.example.gov.cn.evil.example/logged-out",
        "https://evil.example/",
        "//evil.example/",
    ],
)
def test_unregistered_post_logout_uri_is_refused(client, portal, signed_in, uri):
    """Section 3: only an exactly registered URI; otherwise no redirect (no open redirect)
    and nobody logged out."""
    response = logout(client, id_token_hint=signed_in["id_token"], post_logout_redirect_uri=uri)

    refused(response)
    assert logged_in(portal)


def test_another_portals_uri_is_refused(cli, client, portal, signed_in):
    """Section 3: the URI must be registered for the portal the hint names."""
    register_portal(cli, client, "Portal C", "c.example.gov.cn")

    response = logout(
        client,
        id_token_hint=signed_in["id_token"],
        post_logout_redirect_uri="https://c.example.gov.cn/logged-out",
    )

    refused(response)
    assert logged_in(portal)


def test_redirect_uri_without_any_client_is_refused(client, portal, signed_in):
    """Section 3: without a hint or client_id the OP cannot know the URI is registered."""
    refused(logout(client, post_logout_redirect_uri=A_LOGGED_OUT))
    assert logged_in(portal)


# -- confirmation (no forced logout by a third party) ----------------------------------------


def test_without_hint_the_person_confirms_first(client, portal, signed_in):
    """Section 2: without a hint the OP MUST ask; only the confirmation logs out."""
    page = logout(
        client,
        client_id=portal.client_id,
        post_logout_redirect_uri=A_LOGGED_OUT,
        state="s3",
        ui_locales="en",
    )

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'lang="en"' in html and "Portal A" in html and "Do you want to log out" in html
    assert logged_in(portal)

    done = confirm(client, page)

    assert done.status_code == 303
    assert done.headers["Location"] == A_LOGGED_OUT + "?state=s3"
    assert not logged_in(portal)


def test_ui_locales_chooses_the_language_of_the_confirmation(client, portal, signed_in):
    """Section 4 (ui_locales): the page is in the language the portal asked for."""
    page = logout(client, client_id=portal.client_id, ui_locales="zh-CN")

    assert '<html lang="zh-CN"' in page.get_data(as_text=True)


def test_staying_logged_in_keeps_the_session(client, portal, signed_in):
    """Section 2: the person may decline; they go back to the portal still logged in."""
    page = logout(
        client, client_id=portal.client_id, post_logout_redirect_uri=A_LOGGED_OUT, state="s4"
    )

    stay = confirm(client, page, decision="stay")

    assert stay.status_code == 303
    assert stay.headers["Location"] == A_LOGGED_OUT + "?state=s4"
    assert logged_in(portal)


def test_hint_of_another_person_asks_instead_of_logging_out(cli, client, portal, signed_in):
    """Section 2: a hint that is not the logged-in person's must not log them out silently."""
    cli.ok("users", "create", "--username", "bob", "--password", "bob long password")
    browser = client.application.test_client()
    bobs = log_in(on_browser(portal, browser), "bob", "bob long password")

    page = logout(client, id_token_hint=bobs["id_token"], post_logout_redirect_uri=A_LOGGED_OUT)

    assert page.status_code == 200
    assert 'name="confirmation"' in page.get_data(as_text=True)
    assert logged_in(portal)


def test_hint_of_an_earlier_session_asks_instead_of_logging_out(client, portal, signed_in, user):
    """Section 2: the OP MUST ask when the ID token does not belong to the current session,
    even for the same person (an old token must not end a new session silently)."""
    logout(client, id_token_hint=signed_in["id_token"])
    assert not logged_in(portal)
    log_in(portal, user["username"], user["password"])

    page = logout(
        client, id_token_hint=signed_in["id_token"], post_logout_redirect_uri=A_LOGGED_OUT
    )

    assert page.status_code == 200
    assert 'name="confirmation"' in page.get_data(as_text=True)
    assert logged_in(portal)


def test_replayed_confirmation_logs_nobody_out(client, portal, signed_in, user):
    """Bad input: a confirmation is single use, even after the person logged in again."""
    page = logout(client, client_id=portal.client_id)
    assert confirm(client, page).status_code == 200
    log_in(portal, user["username"], user["password"])

    replay = confirm(client, page)

    assert replay.status_code == 400
    assert logged_in(portal)


def test_confirmation_of_another_browser_logs_nobody_out(client, portal, signed_in, user):
    """Bad input: a confirmation shown to one session cannot end another one."""
    page = logout(client, client_id=portal.client_id)
    victim = client.application.test_client()
    victim_portal = on_browser(portal, victim)
    log_in(victim_portal, user["username"], user["password"])
    fields = form_fields(page.get_data(as_text=True))
    victim_page = victim.get("/logout?" + urlencode({"client_id": portal.client_id}))
    fields["csrf_token"] = csrf_token(victim_page.get_data(as_text=True))

    response = victim.post("/logout/confirm", data={**fields, "decision": "logout"})

    assert response.status_code == 400
    assert logged_in(victim_portal)
    assert logged_in(portal)


def test_confirmation_without_csrf_token_is_refused(client, portal, signed_in):
    """Bad input: the confirmation form is a state-changing POST with a CSRF token."""
    page = logout(client, client_id=portal.client_id)
    fields = form_fields(page.get_data(as_text=True))
    del fields["csrf_token"]

    response = client.post("/logout/confirm", data={**fields, "decision": "logout"})

    assert response.status_code == 400
    assert logged_in(portal)


def test_confirmation_cannot_smuggle_an_unregistered_uri(client, portal, signed_in):
    """Section 3: the confirmation's redirect URI is checked again (no open redirect)."""
    page = logout(client, client_id=portal.client_id, post_logout_redirect_uri=A_LOGGED_OUT)
    fields = form_fields(page.get_data(as_text=True))
    fields["post_logout_redirect_uri"] = "https://evil.example/"

    response = client.post("/logout/confirm", data={**fields, "decision": "logout"})

    refused(response)
    assert logged_in(portal)


def test_discovery_advertises_logout(client):
    """RP-Initiated Logout 1.0 section 2.1, Back-Channel Logout 1.0 section 2.1."""
    metadata = client.get("/.well-known/openid-configuration").get_json()

    assert metadata["end_session_endpoint"] == "http://localhost/logout"
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True
