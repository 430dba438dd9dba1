"""Fixtures for the authorization endpoint tests (this folder only)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.authorize.helpers import tokens_for
from tests.support import RelyingParty


@pytest.fixture
def signed_in(public_rp: RelyingParty, user: dict[str, str]) -> dict[str, Any]:
    """The browser holds a live session for ``user`` who consented to ``openid profile``."""
    attempt = public_rp.login(user["username"], user["password"])
    assert "code" in attempt.result, attempt.result
    tokens = tokens_for(public_rp, attempt)
    claims = public_rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    return {"tokens": tokens, "claims": claims, "id_token": tokens["id_token"]}
