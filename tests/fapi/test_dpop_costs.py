"""What DPoP adds to a hot request (tests/ops/test_request_costs.py holds the rest): UserInfo
with a DPoP-bound token is the bearer request's lookup and disclosure insert plus one Redis
round trip, the jti claimed (SET NX); the proof's signature is checked in the process, and
nonces are stateless (no Redis)."""

from __future__ import annotations

from tests.agreements.helpers import walk
from tests.fapi.dpop_proofs import USERINFO_URL, ProofKey
from tests.fapi.test_dpop import exchange, userinfo
from tests.ops.test_request_costs import SCOPE, installed, measure  # noqa: F401 (fixtures)


def test_dpop_userinfo_adds_one_redis_round_trip(  # type: ignore[no-untyped-def]
    installed,  # noqa: F811
    confidential_rp,
    user,
    measure,  # noqa: F811
) -> None:
    key = ProofKey()
    walked = walk(confidential_rp, user["username"], user["password"], scope=SCOPE)
    tokens = exchange(confidential_rp, walked.attempt, key.proof()).get_json()
    access = tokens["access_token"]
    assert userinfo(confidential_rp, access, key.proof("GET", USERINFO_URL, access_token=access))
    proof = key.proof("GET", USERINFO_URL, access_token=access)
    with measure() as costs:
        assert userinfo(confidential_rp, access, proof).status_code == 200
    assert costs.summary() == (["SELECT tokens", "INSERT disclosure_queue"], ["SET"])
