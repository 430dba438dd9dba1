"""Signing keys: private files, the published key set and rotation.

RFC 7517 (JWKS members kid/alg/use), OIDC Core 10.1.1 (rotation: publish the next key before it
signs; keep the previous key published while tokens it signed are valid). The rotation tests use
their own keys folder (IDP_KEYS_DIR for the `idp` command, KEYS_DIR for the app) so the suite's
keys stay untouched, and an app with KEYS_RELOAD_INTERVAL=0 so it sees the rotation at once.
"""

from __future__ import annotations

import base64
import json
import stat
import subprocess

import pytest

from tests.login.helpers import same_portal

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def _header(jwt: str) -> dict:  # type: ignore[type-arg]
    segment = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _by_status(rows: list[dict], alg: str) -> dict[str, list[str]]:  # type: ignore[type-arg]
    found: dict[str, list[str]] = {}
    for row in rows:
        if row["alg"] == alg:
            found.setdefault(row["status"], []).append(row["kid"])
    return found


@pytest.fixture
def own_keys(tmp_path, monkeypatch, make_app):  # type: ignore[no-untyped-def]
    """An app and the `idp` command sharing a fresh keys folder; the app reloads keys at once."""
    keys_dir = tmp_path / "keys"
    monkeypatch.setenv("IDP_KEYS_DIR", str(keys_dir))
    application = make_app(KEYS_DIR=str(keys_dir), KEYS_RELOAD_INTERVAL=0)
    return keys_dir, application


def test_keys_folder_and_files_are_private_and_ignored_by_git(own_keys, tmp_path):
    """Private keys: folder 0700, files 0600, and a .gitignore that keeps them out of git."""
    keys_dir, _application = own_keys

    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    key_files = sorted(keys_dir.glob("*.json"))
    assert len(key_files) == 6  # RS256, ES256, PS256 (issue 18): active and next
    for path in key_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    ignored = subprocess.run(
        ["git", "-C", str(tmp_path), "check-ignore", "-q", f"keys/{key_files[0].name}"],
        check=False,
    )
    assert ignored.returncode == 0
    status = subprocess.run(
        ["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert ".json" not in status


def test_jwks_publishes_next_and_active_keys_for_each_algorithm(cli, own_keys):
    """RFC 7517: 6 public keys (RS256, ES256 and PS256 for FAPI 2.0 since issue 18, next and
    active), each with kid, alg, use."""
    _keys_dir, application = own_keys
    jwks = application.test_client().get("/jwks.json").get_json()
    rows = cli.ok("keys", "list", "--json")

    assert len(jwks["keys"]) == 6
    for key in jwks["keys"]:
        assert {"kid", "alg", "use", "kty"} <= set(key)
        assert key["use"] == "sig"
        assert not PRIVATE_MEMBERS & set(key)
    assert sorted(k["alg"] for k in jwks["keys"]) == [
        "ES256",
        "ES256",
        "PS256",
        "PS256",
        "RS256",
        "RS256",
    ]
    for alg in ("RS256", "ES256", "PS256"):
        statuses = _by_status(rows, alg)
        assert len(statuses["active"]) == 1
        assert len(statuses["next"]) == 1
        published = {k["kid"] for k in jwks["keys"] if k["alg"] == alg}
        assert published == {statuses["active"][0], statuses["next"][0]}


def test_rotation_promotes_next_key_and_keeps_the_old_one_published(cli, own_keys, public_rp, user):
    """OIDC Core 10.1.1: next -> active (signs new ID tokens), active -> retired (still published);
    an ID token signed before the rotation still validates against the JWKS after it."""
    _keys_dir, application = own_keys
    rp = same_portal(public_rp, application.test_client())
    before = _by_status(cli.ok("keys", "list", "--json"), "RS256")
    first = rp.login(user["username"], user["password"])
    old_tokens = rp.exchange(first).get_json()
    assert _header(old_tokens["id_token"])["kid"] == before["active"][0]

    rotated = cli.ok("keys", "rotate", "--json")

    after = _by_status(rotated, "RS256")
    assert after["active"] == before["next"]
    assert after["retired"] == before["active"]
    assert len(after["next"]) == 1 and after["next"] != before["next"]
    for alg in ("RS256", "ES256"):
        assert len(_by_status(rotated, alg)["active"]) == 1
    published = {k["kid"] for k in rp.browser.get("/jwks.json").get_json()["keys"]}
    assert {*before["active"], *after["active"], *after["next"]} <= published
    # The running app signs with the promoted key at once (KEYS_RELOAD_INTERVAL=0).
    second = rp.login(user["username"], user["password"])
    new_tokens = rp.exchange(second).get_json()
    assert _header(new_tokens["id_token"])["kid"] == after["active"][0]
    claims = rp.validate_id_token(new_tokens["id_token"], second.params["nonce"])
    # Signed before the rotation, still verifiable with the published keys.
    old_claims = rp.validate_id_token(old_tokens["id_token"], first.params["nonce"])
    assert old_claims["sub"] == claims["sub"] == user["sub"]
    # The provider itself still accepts it as id_token_hint (OIDC Core 3.1.2.1).
    hinted = rp.authorize(prompt="none", id_token_hint=old_tokens["id_token"])
    assert "code" in hinted.result


def test_rotation_of_one_algorithm_leaves_the_other_alone(cli, own_keys):
    """`idp keys rotate --alg ES256` rotates ES256 only; exactly one active key per algorithm."""
    before = cli.ok("keys", "list", "--json")

    after = cli.ok("keys", "rotate", "--alg", "ES256", "--json")

    assert _by_status(after, "RS256") == _by_status(before, "RS256")
    assert _by_status(after, "ES256")["active"] == _by_status(before, "ES256")["next"]
    assert _by_status(after, "ES256")["retired"] == _by_status(before, "ES256")["active"]
