"""DPoP with pushed authorization requests (RFC 9449 10, 10.1): ``dpop_jkt`` or a DPoP proof at
/par binds the code to the key; a fapi2 portal gets DPoP-bound tokens only."""

from __future__ import annotations

from typing import Any

from tests.fapi.dpop_proofs import ProofKey
from tests.fapi.helpers import key_portal, pushed_login
from tests.fapi.test_dpop import exchange
from tests.support import ISSUER, RelyingParty

PAR_URL = f"{ISSUER}/par"


def push_with(rp: RelyingParty, proof: str | None, **overrides: Any) -> tuple[Any, str | None]:
    params, verifier = rp.authorization_params(**overrides)
    headers, auth_fields = rp.client_auth()
    if proof is not None:
        headers = {**headers, "DPoP": proof}
    response = rp.browser.post("/par", data={**auth_fields, **params}, headers=headers)
    return response, verifier


def test_a_proof_at_par_binds_the_code(confidential_rp, user):
    key = ProofKey()
    response, verifier = push_with(confidential_rp, key.proof(htu=PAR_URL))
    assert response.status_code == 201, response.get_json()
    attempt = pushed_login(confidential_rp, user, response.get_json()["request_uri"], verifier)

    other = exchange(confidential_rp, attempt, ProofKey().proof())
    assert other.status_code == 400
    assert other.get_json()["error"] == "invalid_grant"

    response, verifier = push_with(confidential_rp, key.proof(htu=PAR_URL))
    attempt = pushed_login(confidential_rp, user, response.get_json()["request_uri"], verifier)
    tokens = exchange(confidential_rp, attempt, key.proof())
    assert tokens.status_code == 200, tokens.get_json()
    assert tokens.get_json()["token_type"] == "DPoP"


def test_dpop_jkt_at_par_binds_the_code(confidential_rp, user):
    key = ProofKey()
    response, verifier = push_with(confidential_rp, None, dpop_jkt=key.jkt)
    assert response.status_code == 201
    attempt = pushed_login(confidential_rp, user, response.get_json()["request_uri"], verifier)
    assert exchange(confidential_rp, attempt, None).get_json()["error"] == "invalid_grant"


def test_a_proof_and_another_dpop_jkt_at_par_are_refused(confidential_rp):
    response, _ = push_with(confidential_rp, ProofKey().proof(htu=PAR_URL), dpop_jkt=ProofKey().jkt)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_a_bad_proof_at_par_is_refused(confidential_rp):
    key = ProofKey()
    response, _ = push_with(confidential_rp, key.proof())  # htu is the token endpoint
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"
    assert "htu" in response.get_json()["error_description"]


def test_a_fapi2_portal_gets_dpop_bound_tokens_only(cli, client, user, tmp_path):
    """FAPI 2.0 Security Profile 5.3.2.2: sender-constrained tokens (DPoP here)."""
    rp = key_portal(cli, client, tmp_path, "--profile", "fapi2", "--id-token-alg", "PS256")
    assert cli.ok("clients", "show", rp.client_id)["dpop_bound_access_tokens"] is True
    key = ProofKey()
    response, verifier = push_with(rp, None)
    attempt = pushed_login(rp, user, response.get_json()["request_uri"], verifier)
    refused = exchange(rp, attempt, None)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_dpop_proof"

    response, verifier = push_with(rp, key.proof(htu=PAR_URL))
    attempt = pushed_login(rp, user, response.get_json()["request_uri"], verifier)
    tokens = exchange(rp, attempt, key.proof())
    assert tokens.status_code == 200, tokens.get_json()
    assert tokens.get_json()["token_type"] == "DPoP"
