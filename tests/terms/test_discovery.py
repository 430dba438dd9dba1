"""Discovery advertises the agreement pages (OpenID Connect Discovery 1.0 section 3; issue #3,
item 7)."""

from __future__ import annotations

import pytest

from tests.terms.helpers import ISSUER


@pytest.mark.parametrize(
    "path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
)
def test_metadata_names_policy_and_terms_pages(client, seeded, path):
    """Discovery section 3 (op_policy_uri, op_tos_uri), served the same under the RFC 8414
    path; both URLs answer with an HTML page holding the current agreements."""
    metadata = client.get(path).get_json()

    assert metadata["op_policy_uri"] == f"{ISSUER}/policy"
    assert metadata["op_tos_uri"] == f"{ISSUER}/terms"
    for uri in (metadata["op_policy_uri"], metadata["op_tos_uri"]):
        page = client.get(uri.removeprefix(ISSUER))
        assert page.status_code == 200
        assert page.mimetype == "text/html"
        assert 'data-kind="natural_person"' in page.get_data(as_text=True)
