"""The ``claims`` request parameter and essential ``acr`` requests.

OpenID Connect Core 1.0 sections 5.5 (requesting claims), 5.5.1.1 (requesting ``acr``) and
3.1.2.6 (``unmet_authentication_requirements``, errata set 2).
"""

from __future__ import annotations

import json

from tests.authorize.helpers import assert_error_redirect, tokens_for
from tests.support import RelyingParty

CLI_ACR = "urn:idp:loa:L0"  # accounts made by `idp users create`


def _claims(value: dict) -> str:  # type: ignore[type-arg]
    return json.dumps(value)


def test_name_requested_for_the_id_token_is_released_there_only(public_rp, user):
    """OIDC Core 5.5: a claim requested for the ID token appears in it, beyond the scopes."""
    attempt = public_rp.login(
        user["username"],
        user["password"],
        scope="openid",
        claims=_claims({"id_token": {"name": None}}),
    )
    tokens = tokens_for(public_rp, attempt)
    claims = public_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert claims["name"] == user["name"]
    assert "preferred_username" not in claims
    info = public_rp.userinfo(tokens["access_token"]).get_json()
    assert "name" not in info
    assert info["sub"] == claims["sub"]


def test_name_requested_for_userinfo_is_released_there_only(public_rp, user):
    """OIDC Core 5.5: a claim requested for userinfo appears in the userinfo answer."""
    attempt = public_rp.login(
        user["username"],
        user["password"],
        scope="openid",
        claims=_claims({"userinfo": {"name": {"essential": True}}}),
    )
    tokens = tokens_for(public_rp, attempt)
    claims = public_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert "name" not in claims
    info = public_rp.userinfo(tokens["access_token"])
    assert info.status_code == 200
    assert info.get_json()["name"] == user["name"]


def test_unknown_claims_and_members_are_ignored(public_rp, user):
    """OIDC Core 5.5: unsupported claims and unknown top-level members are not errors."""
    attempt = public_rp.login(
        user["username"],
        user["password"],
        scope="openid",
        claims=_claims({"id_token": {"shoe_size": None}, "x_vendor": {"a": 1}}),
    )
    claims = public_rp.validate_id_token(tokens_for(public_rp, attempt)["id_token"])
    assert "shoe_size" not in claims


def test_essential_acr_the_login_cannot_reach_is_unmet(public_rp, user):
    """OIDC Core 5.5.1.1 and 3.1.2.6: unmet_authentication_requirements, with state and iss."""
    request = {"id_token": {"acr": {"essential": True, "values": ["urn:idp:loa:L3"]}}}
    attempt = public_rp.login(user["username"], user["password"], claims=_claims(request))
    result = assert_error_redirect(attempt, public_rp, "unmet_authentication_requirements")
    assert result.get("error_description")


def test_essential_acr_single_value_the_login_cannot_reach_is_unmet(public_rp, user):
    """OIDC Core 5.5.1: ``value`` is the single-value form of ``values``."""
    request = {"id_token": {"acr": {"essential": True, "value": "urn:idp:loa:L2"}}}
    attempt = public_rp.login(user["username"], user["password"], claims=_claims(request))
    assert_error_redirect(attempt, public_rp, "unmet_authentication_requirements")


def test_unmet_essential_acr_with_a_live_session_is_refused_at_once(public_rp, signed_in):
    """OIDC Core 5.5.1.1: the existing login's acr is checked too; no code is issued."""
    request = {"id_token": {"acr": {"essential": True, "values": ["urn:idp:loa:L4"]}}}
    attempt = public_rp.authorize(claims=_claims(request))
    assert_error_redirect(attempt, public_rp, "unmet_authentication_requirements")


def test_essential_acr_the_login_reaches_is_returned(public_rp, user):
    """OIDC Core 5.5.1.1: the acr claim carries one of the requested values."""
    request = {"id_token": {"acr": {"essential": True, "values": ["urn:idp:loa:L3", CLI_ACR]}}}
    attempt = public_rp.login(user["username"], user["password"], claims=_claims(request))
    tokens = tokens_for(public_rp, attempt)
    claims = public_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert claims["acr"] == CLI_ACR


def test_voluntary_acr_request_does_not_fail_the_login(public_rp, user):
    """OIDC Core 5.5.1.1: a voluntary acr request is satisfied as far as possible, not refused."""
    request = {"id_token": {"acr": {"values": ["urn:idp:loa:L4"]}}}
    attempt = public_rp.login(user["username"], user["password"], claims=_claims(request))
    claims = public_rp.validate_id_token(tokens_for(public_rp, attempt)["id_token"])
    assert claims["acr"] == CLI_ACR


def test_claims_parameter_cannot_reach_beyond_the_portals_allowed_scopes(cli, client, user):
    """OIDC Core 5.5.1 (the OP may decline claims) and RFC 6749 3.3: a portal not allowed the
    ``profile`` scope gets no profile claim by naming it in ``claims``."""
    data = cli.ok(
        "clients", "create", "--name", "No Profile", "--public", "--scope", "offline_access",
        "--redirect-uri", "http://127.0.0.1:8765/np", "--json",
    )  # fmt: skip
    rp = RelyingParty(client, data["client_id"], None, "http://127.0.0.1:8765/np")
    wanted = {"name": None, "preferred_username": None}
    attempt = rp.login(
        user["username"],
        user["password"],
        scope="openid",
        claims=_claims({"id_token": wanted, "userinfo": wanted}),
    )
    tokens = tokens_for(rp, attempt)
    claims = rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert not {"name", "preferred_username"} & set(claims)
    info = rp.userinfo(tokens["access_token"]).get_json()
    assert set(info) == {"sub"}
