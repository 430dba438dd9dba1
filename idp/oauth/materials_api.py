"""The portals' materials API: what the person released on the consent page, each item
fetched once with an access token of that login (issue 12, item 3; docs/user-space.md).

- ``GET /api/materials``: the items released to the token's grant (JSON, ``items``), with
  whether each was fetched already.
- ``GET /api/materials/<id>``: the bytes of one item, once. The second fetch is refused with
  410 ``already_fetched``; an item the person renewed (a new file) after releasing it with 410
  ``material_changed``; an unknown one, or one deleted since, with 404 ``not_found``.

Bearer authentication as RFC 6750 2.1 (the ``Authorization`` header only: a token in the query
would end up in logs, 2.3 and RFC 9700 4.3.2) with its errors (3.1): no token, or another
scheme, 401 with a bare challenge; a malformed header 400 ``invalid_request``; an unknown,
expired or revoked token 401 ``invalid_token``; a token without the scope ``materials`` 403
``insufficient_scope``. Every answer is ``no-store``.
"""

from __future__ import annotations

from typing import Any

from idp.identity.materials import Materials, ReleasedItem
from idp.models import Grant
from idp.oauth.claims import MATERIALS_SCOPE
from idp.oauth.requests import ProtocolRequest, ProtocolResponse
from idp.oauth.tokens import TokenService
from idp.store.portal_limits import PortalLimits

NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
REALM = "materials"
MAX_TOKEN_LENGTH = 512


def _challenge(
    status: int, error: str | None = None, description: str | None = None, **extra: str
) -> ProtocolResponse:
    challenge = f'Bearer realm="{REALM}"'
    body: dict[str, Any] = {}
    if error:
        challenge += f', error="{error}"'
        body["error"] = error
        if description:
            challenge += f', error_description="{description}"'
            body["error_description"] = description
    for name, value in extra.items():
        challenge += f', {name}="{value}"'
    return ProtocolResponse(status, body, [("WWW-Authenticate", challenge), *NO_STORE])


def _error(status: int, error: str, description: str) -> ProtocolResponse:
    return ProtocolResponse(status, {"error": error, "error_description": description}, NO_STORE)


def item(base_url: str, released: ReleasedItem, type_names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": released.release_id,
        "type": released.type_code,
        "type_name": type_names.get(released.type_code, released.type_code),
        "title": released.title,
        "media_type": released.media_type,
        "size": released.size,
        "expires_on": released.expires_on.isoformat() if released.expires_on else None,
        "released_at": released.released_at.isoformat(timespec="seconds"),
        "fetched": released.fetched_at is not None,
        "available": released.fetched_at is None and released.current,
        "href": f"{base_url}/{released.release_id}",
    }


class MaterialsApi:
    def __init__(self, tokens: TokenService, materials: Materials, limits: PortalLimits) -> None:
        self._tokens = tokens
        self._materials = materials
        self._limits = limits  # shared with the portal API: calls a minute per portal

    def _grant(self, request: ProtocolRequest) -> tuple[Grant | None, ProtocolResponse | None]:
        header = request.headers.get("Authorization")
        if not header:
            return None, _challenge(401)
        scheme, _sep, value = header.partition(" ")
        if scheme.lower() != "bearer":
            return None, _challenge(401)  # RFC 6750 3.1: another method, a bare challenge
        value = value.strip()
        if not value or " " in value:
            return None, _challenge(400, "invalid_request", "Malformed Authorization header.")
        token = self._tokens.find(value, "access_token") if len(value) <= MAX_TOKEN_LENGTH else None
        if token is None or token.kind != "access_token" or not token.active:
            return None, _challenge(401, "invalid_token", "The access token is invalid or expired.")
        if MATERIALS_SCOPE not in token.row.scope.split():
            return None, _challenge(
                403,
                "insufficient_scope",
                "The token was not issued for the materials scope.",
                scope=MATERIALS_SCOPE,
            )
        wait = self._limits.take(token.grant.client_id, "requests")
        if wait:
            body = {
                "error": "rate_limited",
                "error_description": "Too many calls from this portal: try again later.",
            }
            return None, ProtocolResponse(429, body, [("Retry-After", str(wait)), *NO_STORE])
        return token.grant, None

    def listing(self, request: ProtocolRequest, base_url: str) -> ProtocolResponse:
        grant, problem = self._grant(request)
        if problem is not None:
            return problem
        assert grant is not None
        names = {code: kind.name for code, kind in self._materials.catalogue.items()}
        items = [item(base_url, r, names) for r in self._materials.released(grant.id)]
        return ProtocolResponse(200, {"items": items}, NO_STORE)

    def fetch(self, request: ProtocolRequest, release_id: str) -> ProtocolResponse:
        grant, problem = self._grant(request)
        if problem is not None:
            return problem
        assert grant is not None
        fetched = self._materials.fetch_released(grant, release_id)
        if fetched.status == "fetched":
            return _error(410, "already_fetched", "This material was fetched already: once only.")
        if fetched.status == "changed":
            return _error(
                410,
                "material_changed",
                "The person replaced this material after releasing it; ask for it again.",
            )
        if fetched.status != "ok":
            return _error(404, "not_found", "No such material was released to this login.")
        headers = [
            ("Content-Type", fetched.media_type),
            ("Content-Disposition", f'attachment; filename="{fetched.file_name}"'),
            ("X-Content-Type-Options", "nosniff"),
            *NO_STORE,
        ]
        return ProtocolResponse(200, fetched.data, headers)
