"""The whole authorization code flow through the public interface."""

from __future__ import annotations

import base64
import hashlib


def test_code_flow_with_pkce_login_consent_token_userinfo(public_rp, user):
    attempt = public_rp.login(user["username"], user["password"])

    assert attempt.response.status_code == 303
    assert attempt.result["state"] == attempt.params["state"]
    assert attempt.result["iss"] == "http://localhost"
    token_response = public_rp.exchange(attempt)
    assert token_response.status_code == 200
    assert token_response.headers["Cache-Control"] == "no-store"
    tokens = token_response.get_json()
    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == {"openid", "profile"}

    claims = public_rp.validate_id_token(tokens["id_token"], nonce=attempt.params["nonce"])
    digest = hashlib.sha256(tokens["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert claims["amr"] == ["pwd"]
    assert {"auth_time", "acr", "sid", "sub"} <= set(claims)

    info = public_rp.userinfo(tokens["access_token"])
    assert info.status_code == 200
    assert info.get_json() == {
        "sub": claims["sub"],
        "name": user["name"],
        "preferred_username": user["username"],
        "updated_at": info.get_json()["updated_at"],
        "user_type": "natural_person",
        "verification_level": "L0",
    }


def test_confidential_client_with_basic_auth(confidential_rp, user):
    attempt = confidential_rp.login(user["username"], user["password"])
    response = confidential_rp.exchange(attempt)
    assert response.status_code == 200, response.get_json()
    confidential_rp.validate_id_token(response.get_json()["id_token"], attempt.params["nonce"])
