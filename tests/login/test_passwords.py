"""Password storage: argon2id with the configured parameters, upgraded at login.

RFC 9106 (argon2id), OWASP Password Storage Cheat Sheet ("upgrade the hash when the user next
logs in"). The stored hash is read from the accounts table: the requirement is about storage.
"""

from __future__ import annotations

from tests.login.helpers import same_portal, scalar


def _stored_hash(provider, username):  # type: ignore[no-untyped-def]
    return scalar(
        provider, "SELECT password_hash FROM accounts WHERE username = :name", name=username
    )


def test_password_is_stored_as_argon2id_with_the_configured_parameters(provider, user):
    """RFC 9106 / OWASP: argon2id, m=19456 KiB, t=2, p=1 as set in IDP_ARGON2_* for the suite."""
    stored = _stored_hash(provider, user["username"])

    assert stored.startswith("$argon2id$v=19$")
    assert "$m=19456,t=2,p=1$" in stored
    assert user["password"] not in stored


def test_hash_is_upgraded_at_login_when_the_parameters_change(provider, make_app, public_rp, user):
    """OWASP Password Storage: a hash made with old parameters is replaced at the next login."""
    before = _stored_hash(provider, user["username"])
    stronger = make_app(ARGON2_TIME_COST=3)
    rp = same_portal(public_rp, stronger.test_client())

    attempt = rp.login(user["username"], user["password"])

    assert "code" in attempt.result
    after = _stored_hash(provider, user["username"])
    assert after != before
    assert after.startswith("$argon2id$")
    assert "$m=19456,t=3,p=1$" in after
    # The upgraded hash still verifies the same password (log in again on the suite's app).
    again = public_rp.login(user["username"], user["password"], prompt="login")
    assert "code" in again.result


def test_failed_login_does_not_rewrite_the_hash(provider, make_app, public_rp, user):
    """OWASP Password Storage: only a verified password may be re-hashed."""
    before = _stored_hash(provider, user["username"])
    stronger = make_app(ARGON2_TIME_COST=3)
    rp = same_portal(public_rp, stronger.test_client())

    attempt = rp.login(user["username"], "not the password")

    assert attempt.response.status_code == 401
    assert _stored_hash(provider, user["username"]) == before
