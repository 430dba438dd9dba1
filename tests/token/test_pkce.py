"""PKCE at the token endpoint (RFC 7636 section 4.6, RFC 9700 sections 2.1.1 and 4.8)."""

from __future__ import annotations

from tests.support import pkce_pair


def test_wrong_code_verifier_is_invalid_grant(public_rp, user):
    """RFC 7636 section 4.6: a verifier that does not match the challenge is invalid_grant."""
    attempt = public_rp.login(user["username"], user["password"])
    wrong_verifier, _ = pkce_pair()

    response = public_rp.exchange(attempt, code_verifier=wrong_verifier)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert "access_token" not in response.get_json()


def test_missing_code_verifier_is_invalid_request(confidential_rp, user):
    """RFC 7636 section 4.5: the verifier is required when a challenge was sent, even for a
    confidential client."""
    attempt = confidential_rp.login(user["username"], user["password"])
    attempt.verifier = None

    response = confidential_rp.exchange(attempt)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_public_client_without_code_verifier_is_refused(public_rp, user):
    """RFC 9700 section 2.1.1: public clients must use PKCE."""
    attempt = public_rp.login(user["username"], user["password"])
    attempt.verifier = None

    response = public_rp.exchange(attempt)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_verifier_without_challenge_is_refused(confidential_rp, user):
    """RFC 9700 section 4.8: a code_verifier at the token endpoint when the authorization
    request had no code_challenge must be rejected (PKCE downgrade)."""
    attempt = confidential_rp.login(
        user["username"], user["password"], code_challenge=None, code_challenge_method=None
    )
    assert "code" in attempt.result, attempt.result
    verifier, _ = pkce_pair()

    response = confidential_rp.exchange(attempt, code_verifier=verifier)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_confidential_client_without_pkce_still_works(confidential_rp, user):
    """RFC 9700 section 2.1.1 makes PKCE a SHOULD for confidential clients (nonce-protected
    OpenID requests); the plain RFC 6749 exchange succeeds."""
    attempt = confidential_rp.login(
        user["username"], user["password"], code_challenge=None, code_challenge_method=None
    )

    response = confidential_rp.exchange(attempt)

    assert response.status_code == 200, response.get_json()
    assert "access_token" in response.get_json()
