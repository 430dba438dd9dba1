"""``idp db prune``: what can no longer be used is deleted; what can still be used stays."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from idp.models import Grant, Token
from tests.login.helpers import same_portal


def _count(provider, model) -> int:  # type: ignore[no-untyped-def]
    return provider.db.session.scalar(select(func.count()).select_from(model))


def test_prune_deletes_expired_grants_and_tokens_and_keeps_live_ones(
    make_app, provider, cli, user, confidential_rp
):
    """Expired grants go with their tokens; a live grant and its tokens are untouched."""
    short = make_app(ACCESS_TOKEN_TTL=1, REFRESH_TOKEN_IDLE_TTL=1, REFRESH_TOKEN_ABSOLUTE_TTL=1)
    expiring = same_portal(confidential_rp, short.test_client())
    attempt = expiring.login(user["username"], user["password"])
    assert expiring.exchange(attempt).status_code == 200
    live = confidential_rp.login(user["username"], user["password"])
    live_tokens = confidential_rp.exchange(live).get_json()
    assert _count(provider, Grant) == 2 and _count(provider, Token) == 2
    time.sleep(1.5)

    result = cli.ok("db", "prune")

    assert result["deleted_grants"] == 1
    provider.db.session.expire_all()
    assert _count(provider, Grant) == 1 and _count(provider, Token) == 1
    assert confidential_rp.userinfo(live_tokens["access_token"]).status_code == 200
    assert confidential_rp.refresh(live_tokens["refresh_token"]).status_code == 200
