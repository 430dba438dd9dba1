"""The portal's settings, from ``PORTAL_*`` environment variables (see clients/README.md)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names the variable to set."""


@dataclass(frozen=True)
class PortalSettings:
    name: str  # shown to people, e.g. 杭州市政务服务网
    issuer: str  # the provider's issuer; everything else comes from its discovery document
    client_id: str
    client_secret: str  # a confidential client: client_secret_basic at the token endpoint
    base_url: str  # the portal's own external URL, without a trailing slash
    secret_key: str  # signs the session cookie
    state_dir: Path  # holds the SQLite file of ended sessions and seen logout tokens
    # Where the portal itself reaches the provider, when that differs from the issuer that the
    # browser sees (containers: the browser opens http://localhost:8000, the portal http://idp:8000).
    provider_url: str | None = None
    # What the portal asks for; ``openid profile entity`` lets a person act for a company.
    scope: str = "openid profile"

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        return f"{self.base_url}/"

    @property
    def backchannel_logout_uri(self) -> str:
        return f"{self.base_url}/backchannel-logout"

    @property
    def cookie_name(self) -> str:
        """Cookies ignore ports: two portals on one host need two cookie names."""
        return "portal_" + re.sub(r"[^A-Za-z0-9_]", "_", self.client_id)

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.base_url).scheme == "https"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PortalSettings:
        env = os.environ if environ is None else environ

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise SettingsError(f"{name} must be set (see clients/README.md)")
            return value

        def secret(name: str) -> str:
            """NAME, or the content of the file NAME_FILE names (container secrets)."""
            value = env.get(name, "").strip()
            path = env.get(f"{name}_FILE", "").strip()
            if not value and path:
                try:
                    value = Path(path).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise SettingsError(f"{name}_FILE: {exc}") from None
            if not value:
                raise SettingsError(f"{name} or {name}_FILE must be set (see clients/README.md)")
            return value

        settings = cls(
            name=required("PORTAL_NAME"),
            issuer=required("PORTAL_ISSUER"),
            client_id=required("PORTAL_CLIENT_ID"),
            client_secret=secret("PORTAL_CLIENT_SECRET"),
            base_url=required("PORTAL_BASE_URL").rstrip("/"),
            secret_key=secret("PORTAL_SECRET_KEY"),
            state_dir=Path(required("PORTAL_STATE_DIR")),
            provider_url=(env.get("PORTAL_PROVIDER_URL", "").strip().rstrip("/") or None),
            scope=" ".join(env.get("PORTAL_SCOPE", "").split()) or "openid profile",
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        for label, url in (("PORTAL_ISSUER", self.issuer), ("PORTAL_BASE_URL", self.base_url)):
            parts = urlsplit(url)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                raise SettingsError(f"{label} must be an absolute http(s) URL: {url}")
        if "openid" not in self.scope.split():
            raise SettingsError("PORTAL_SCOPE must contain openid, e.g. 'openid profile entity'")
        if len(self.secret_key) < 16:
            raise SettingsError("PORTAL_SECRET_KEY must be a random value of 16+ characters")
