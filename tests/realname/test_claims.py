"""Real-name claims and scopes (issue: real-name registration, item 7): ``id_number`` only for an
allowed portal and after the separate tick; masked ID number, phone, ``verified_claims`` per
OpenID Connect for Identity Assurance 1.0, and the discovery metadata."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.realname.helpers import (
    LI_SI,
    follow_interaction,
    page,
    password_login,
    register,
    tokens,
)
from tests.support import CliRunner, RelyingParty

REAL_NAME_SCOPES = "openid profile phone realname id_number"


def test_id_number_scope_is_invalid_for_a_portal_not_allowed_it(
    consent_portal: RelyingParty,
) -> None:
    attempt = consent_portal.authorize(scope="openid id_number")
    assert attempt.result["error"] == "invalid_scope"
    assert attempt.result["state"] == attempt.params["state"]


def test_id_number_only_after_the_separate_tick(
    consent_portal: RelyingParty, cli: CliRunner, provider: Any
) -> None:
    rp = consent_portal
    cli.ok("clients", "allow-claim", rp.client_id, "id_number", "yes")

    # Registration inside the login; on the consent page the ID number has its own checkbox,
    # left unticked.
    attempt = rp.authorize(scope=REAL_NAME_SCOPES)
    response = register(rp, LI_SI, provider=provider, attempt=attempt)
    consent_html = page(rp.browser.get(response.headers["Location"]))
    assert re.search(r'name="sensitive_claims" value="id_number"', consent_html)
    attempt.response = response
    assert follow_interaction(rp, attempt) is None
    body, claims = tokens(rp, attempt)
    info = rp.userinfo(body["access_token"]).get_json()
    for released in (claims, info):
        assert "id_number" not in released
        assert released["id_number_masked"] == "310104********023X"
        assert released["phone_number"] == f"+86{LI_SI.phone}"
        assert released["phone_number_verified"] is True
        assert released["name"] == LI_SI.name
    assert LI_SI.id_number not in json.dumps(info) + json.dumps(claims)

    # Asked again (prompt=consent) and ticked: the full number goes to this grant.
    attempt = password_login(rp, LI_SI.phone, scope=REAL_NAME_SCOPES, prompt="login consent")
    assert follow_interaction(rp, attempt, sensitive=("id_number",)) is None
    body, claims = tokens(rp, attempt)
    info = rp.userinfo(body["access_token"]).get_json()
    assert claims["id_number"] == LI_SI.id_number
    assert info["id_number"] == LI_SI.id_number


def test_a_portal_no_longer_allowed_cannot_ask_for_the_id_number(
    consent_portal: RelyingParty, cli: CliRunner
) -> None:
    cli.ok("clients", "allow-claim", consent_portal.client_id, "id_number", "yes")
    allowed = consent_portal.authorize(scope=REAL_NAME_SCOPES)
    assert allowed.response.headers["Location"].startswith("/interaction/")
    cli.ok("clients", "allow-claim", consent_portal.client_id, "id_number", "no")
    refused = consent_portal.authorize(scope=REAL_NAME_SCOPES)
    assert refused.result["error"] == "invalid_scope"


def test_verified_claims_per_identity_assurance(portal: RelyingParty, provider: Any) -> None:
    request = {
        "userinfo": {
            "verified_claims": {
                "verification": {"trust_framework": None},
                "claims": {"name": None},
            }
        }
    }
    attempt = portal.authorize(scope="openid", claims=json.dumps(request))
    register(portal, LI_SI, provider=provider, attempt=attempt)
    body, _claims = tokens(portal, attempt)
    info = portal.userinfo(body["access_token"]).get_json()

    verified = info["verified_claims"]
    assert verified["claims"] == {"name": LI_SI.name}
    verification = verified["verification"]
    assert verification["trust_framework"] == "cn_gov_realname"
    [evidence] = verification["evidence"]
    assert evidence["type"] == "electronic_record"
    assert evidence["record"]["source"]["name"] == "population_registry"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", evidence["time"])
    assert "name" not in info  # only inside verified_claims: the scope asked for nothing else


def test_discovery_lists_the_levels_and_the_real_name_claims(client: Any) -> None:
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["acr_values_supported"][-4:] == [
        "urn:idp:loa:L1",
        "urn:idp:loa:L2",
        "urn:idp:loa:L3",
        "urn:idp:loa:L4",
    ]
    assert set(metadata["claims_supported"]) >= {
        "name",
        "user_type",
        "verification_level",
        "verified_at",
        "phone_number",
        "phone_number_verified",
        "id_number_masked",
        "id_number",
        "verified_claims",
        "acr",
    }
    assert set(metadata["scopes_supported"]) >= {"profile", "phone", "realname", "id_number"}
    assert metadata["verified_claims_supported"] is True
    assert metadata["trust_frameworks_supported"] == ["cn_gov_realname"]
    assert "electronic_record" in metadata["evidence_supported"]
    assert "name" in metadata["claims_in_verified_claims_supported"]
