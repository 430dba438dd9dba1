"""The example portal's logout token validation and logout record (clients/portal), as a portal
developer would test them: tokens signed with a key set made here, no provider needed.

OpenID Connect Back-Channel Logout 1.0, sections 2.4 (the token), 2.6 (validation) and 2.7
(what the portal ends).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from clients.portal.logout_token import (
    BACKCHANNEL_LOGOUT_EVENT,
    InvalidLogoutToken,
    validate_logout_token,
)
from clients.portal.store import LogoutStore

ISSUER = "https://login.example.gov.cn"
CLIENT_ID = "portal-hangzhou"
NOW = 1_900_000_000
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})
ROTATED_KEY = RSAKey.generate_key(2048, parameters={"kid": "k2", "alg": "RS256", "use": "sig"})


def published(*keys: RSAKey) -> dict[str, Any]:
    return KeySet(list(keys)).as_dict(private=False)


def logout_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "iat": NOW,
        "exp": NOW + 120,
        "jti": "jti-1",
        "sid": "sid-1",
        "sub": "sub-1",
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims: dict[str, Any], key: Any = KEY, **header: Any) -> str:
    header = {"alg": "RS256", "kid": key.kid, "typ": "logout+jwt", **header}
    header = {k: v for k, v in header.items() if v is not None}
    return jwt.encode(header, claims, key, algorithms=[header["alg"]], default_type=None)


def altered(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload}.{signature[::-1]}"


def validate(token: str, keys: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    key_set = keys or published(KEY)
    return validate_logout_token(
        token,
        issuer=ISSUER,
        client_id=CLIENT_ID,
        fetch_keys=lambda force: key_set,
        algorithms=["RS256", "ES256"],
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def test_a_valid_logout_token_names_the_session_and_the_person() -> None:
    """Section 2.6: a token passing every check gives its sid, sub, jti and exp."""
    result = validate(sign(logout_claims()))
    assert (result.sid, result.sub, result.jti, result.exp) == (
        "sid-1",
        "sub-1",
        "jti-1",
        NOW + 120,
    )


def test_sid_or_sub_alone_is_enough() -> None:
    """Section 2.4: a logout token contains a sub claim, a sid claim, or both."""
    assert validate(sign(logout_claims(sub=None))).sub is None
    assert validate(sign(logout_claims(sid=None))).sid is None


def test_audience_may_be_a_list_containing_the_client() -> None:
    """Section 2.6 step 3, as OIDC Core 3.1.3.7 item 3: aud contains the client_id."""
    assert validate(sign(logout_claims(aud=[CLIENT_ID]))).sid == "sid-1"


def test_typ_may_be_absent() -> None:
    """Section 2.4: explicit typing is recommended, so an untyped token is still accepted."""
    assert validate(sign(logout_claims(), typ=None)).sid == "sid-1"


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(logout_claims(iss="https://other.example.gov.cn"), id="another-issuer"),
        pytest.param(logout_claims(aud="portal-ningbo"), id="another-audience"),
        pytest.param(logout_claims(aud=["portal-ningbo", "x"]), id="audience-list-without-us"),
        pytest.param(logout_claims(iat=None), id="no-iat"),
        pytest.param(logout_claims(iat=NOW + 3600), id="iat-in-the-future"),
        pytest.param(logout_claims(exp=None), id="no-exp"),
        pytest.param(logout_claims(iat=NOW - 600, exp=NOW - 300), id="expired"),
        pytest.param(logout_claims(sid=None, sub=None), id="neither-sid-nor-sub"),
        pytest.param(logout_claims(sid=""), id="empty-sid"),
        pytest.param(logout_claims(events=None), id="no-events"),
        pytest.param(logout_claims(events={"http://example.com/other": {}}), id="other-event"),
        pytest.param(
            logout_claims(events={BACKCHANNEL_LOGOUT_EVENT: "yes"}), id="event-not-object"
        ),
        pytest.param(logout_claims(nonce="n-0S6_WzA2Mj"), id="nonce"),
        pytest.param(logout_claims(jti=None), id="no-jti"),
    ],
)
def test_claims_that_fail_validation(claims: dict[str, Any]) -> None:
    """Section 2.6 steps 3 to 6 and the required claims of section 2.4."""
    with pytest.raises(InvalidLogoutToken):
        validate(sign(claims))


def test_an_id_token_is_not_a_logout_token() -> None:
    """Sections 2.4 and 4.1: an ID token (typ JWT, a nonce, no events) never logs anyone out."""
    id_token = sign({**logout_claims(events=None), "nonce": "abc", "auth_time": NOW}, typ="JWT")
    with pytest.raises(InvalidLogoutToken):
        validate(id_token)


def test_a_token_typed_as_something_else_is_refused() -> None:
    """Section 2.4: typ, when present, is logout+jwt."""
    with pytest.raises(InvalidLogoutToken):
        validate(sign(logout_claims(), typ="at+jwt"))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: sign(logout_claims(), key=OTHER_KEY), id="signed-by-another-key"),
        pytest.param(
            lambda: sign(logout_claims(), key=OctKey.generate_key(256), alg="HS256", kid=None),
            id="hmac",
        ),
        pytest.param(lambda: altered(sign(logout_claims())), id="altered-signature"),
        pytest.param(lambda: "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", id="alg-none"),
        pytest.param(lambda: "a.b.c.d.e", id="encrypted"),
        pytest.param(lambda: "", id="empty"),
    ],
)
def test_signatures_that_fail_validation(token: Any) -> None:
    """Section 2.6 step 2: the signature verifies with the provider's published key and an
    algorithm it publishes; "none" and symmetric algorithms are refused."""
    with pytest.raises(InvalidLogoutToken):
        validate(token())


def test_a_rotated_key_is_fetched_once_more() -> None:
    """Section 2.6 step 2 with key rotation: a token signed with a key the cached set lacks
    makes the portal fetch the provider's JWKS again, then it verifies."""
    fetched: list[bool] = []

    def fetch_keys(force: bool) -> dict[str, Any]:
        fetched.append(force)
        return published(KEY, ROTATED_KEY) if force else published(KEY)

    result = validate_logout_token(
        sign(logout_claims(), key=ROTATED_KEY),
        issuer=ISSUER,
        client_id=CLIENT_ID,
        fetch_keys=fetch_keys,
        algorithms=["RS256"],
        now=NOW,
    )
    assert result.sid == "sid-1"
    assert fetched == [False, True]


# -- what the portal remembers (section 2.6 step 7, section 2.7) -------------------------------


def test_a_replayed_token_is_refused(tmp_path: Path) -> None:
    """Section 2.6 step 7: a jti seen before is refused."""
    store = LogoutStore(tmp_path / "portal.sqlite3")
    expires = time.time() + 120
    assert store.accept("jti-1", expires, sid="sid-1", sub="sub-1") is True
    assert store.accept("jti-1", expires, sid="sid-1", sub="sub-1") is False
    # A second store on the same file (another gunicorn worker) sees it too.
    assert (
        LogoutStore(tmp_path / "portal.sqlite3").accept("jti-1", expires, sid="x", sub="y") is False
    )


def test_a_sid_ends_that_session_only(tmp_path: Path) -> None:
    """Section 2.7: with a sid, the portal ends the session(s) of that provider session."""
    store = LogoutStore(tmp_path / "portal.sqlite3")
    store.accept("jti-1", time.time() + 120, sid="sid-1", sub="sub-1")
    assert store.is_ended(sid="sid-1", sub="sub-1", logged_in_at=time.time() - 10)
    assert not store.is_ended(sid="sid-2", sub="sub-1", logged_in_at=time.time() - 10)


def test_a_sub_alone_ends_the_persons_earlier_sessions(tmp_path: Path) -> None:
    """Section 2.7: with only a sub, every session of that person at the portal ends; a login
    after the logout is a new session and stays."""
    store = LogoutStore(tmp_path / "portal.sqlite3")
    before = time.time() - 10
    store.accept("jti-1", time.time() + 120, sid=None, sub="sub-1")
    assert store.is_ended(sid="sid-1", sub="sub-1", logged_in_at=before)
    assert not store.is_ended(sid="sid-9", sub="sub-1", logged_in_at=time.time() + 1)
    assert not store.is_ended(sid="sid-1", sub="sub-2", logged_in_at=before)
