"""Start-up configuration: no silent production defaults, no weak settings.

STYLE.md rule 2 (start-up refuses with a message that says what to set); OIDC Discovery 3 and
RFC 9700 (https issuer); OWASP Password Storage Cheat Sheet (argon2id minimum m=19 MiB, t=2,
p=1). The app factory is called with overrides; the `idp` command is run as a real process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from idp import create_app
from idp.config import DEMO_REGISTRY, ConfigError

IDP = Path(sys.executable).with_name("idp")
GOOD_SECRET = "a-random-production-secret-of-more-than-32-chars"
PRODUCTION = {
    "ENV": "production",
    "ISSUER": "https://login.example.gov.cn",
    "SECRET_KEY": GOOD_SECRET,
    "AUTHORITY_NAME": "杭州市政务服务管理机构",
    "REGISTRY_FILE": str(DEMO_REGISTRY),
    "SMS_SENDER": "http",
    "SMS_HTTP_URL": "https://sms.example.gov.cn/send",
}


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"ISSUER": "", "SECRET_KEY": ""}, ["IDP_ISSUER", "IDP_SECRET_KEY"]),
        ({"ISSUER": ""}, ["IDP_ISSUER"]),
        ({"SECRET_KEY": ""}, ["IDP_SECRET_KEY"]),
    ],
    ids=["both", "issuer", "secret"],
)
def test_production_refuses_to_start_without_issuer_or_secret(overrides, named):
    """STYLE.md 2: no production default for the issuer and secret; the message names them."""
    with pytest.raises(ConfigError) as refused:
        create_app({**PRODUCTION, **overrides})

    for name in named:
        assert name in str(refused.value)


def test_cli_in_production_without_issuer_exits_2_naming_it(tmp_path):
    """STYLE.md 2: the `idp` command refuses too, exit status 2, the message on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(
        IDP_ENV="production",
        IDP_SECRET_KEY=GOOD_SECRET,
        IDP_DATABASE_URL=f"sqlite:///{tmp_path / 'idp.sqlite3'}",
        IDP_KEYS_DIR=str(tmp_path / "keys"),
        IDP_INSTANCE_DIR=str(tmp_path / "instance"),
    )

    result = subprocess.run(
        [str(IDP), "clients", "list"], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2
    assert "IDP_ISSUER" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "idp.sqlite3").exists()


def test_http_issuer_is_refused_in_production():
    """OIDC Discovery 3 / RFC 9700: the issuer uses https outside development."""
    with pytest.raises(ConfigError, match="https"):
        create_app({**PRODUCTION, "ISSUER": "http://login.example.gov.cn"})


@pytest.mark.parametrize(
    "secret",
    ["short", "x" * 31, "development-only-secret-key-do-not-use-in-production"],
    ids=["short", "31-chars", "development-default"],
)
def test_weak_secret_key_is_refused_in_production(secret):
    """STYLE.md 2: a random secret of at least 32 characters, never the development default."""
    with pytest.raises(ConfigError, match="IDP_SECRET_KEY"):
        create_app({**PRODUCTION, "SECRET_KEY": secret})


@pytest.mark.parametrize(
    "argon2",
    [
        {"ARGON2_MEMORY_KIB": 19455},
        {"ARGON2_TIME_COST": 1},
        {"ARGON2_PARALLELISM": 0},
    ],
    ids=["memory", "time", "parallelism"],
)
def test_argon2_parameters_below_owasp_minimum_are_refused(argon2):
    """OWASP Password Storage Cheat Sheet: argon2id m >= 19 MiB, t >= 2, p >= 1."""
    with pytest.raises(ConfigError, match="OWASP"):
        create_app({**PRODUCTION, **argon2})


def test_argon2_parameters_are_refused_in_development_too():
    """OWASP Password Storage: the minimum holds in every mode (hashes outlive the mode)."""
    with pytest.raises(ConfigError, match="IDP_ARGON2_TIME_COST"):
        create_app({"ENV": "development", "ARGON2_TIME_COST": 1})


def test_production_refuses_to_start_without_the_authority_name():
    """The agreements name the authority (clause 2): production has no placeholder for it."""
    with pytest.raises(ConfigError, match="IDP_AUTHORITY_NAME"):
        create_app({**PRODUCTION, "AUTHORITY_NAME": ""})


def test_production_settings_that_follow_the_rules_are_accepted(make_app):
    """The checks above refuse only what is wrong: a correct production set-up starts."""
    application = make_app(**PRODUCTION)

    assert application.test_client().get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"REGISTRY_FILE": ""}, "IDP_REGISTRY_FILE"),
        ({"SMS_SENDER": ""}, "IDP_SMS_SENDER"),
        ({"SMS_HTTP_URL": ""}, "IDP_SMS_HTTP_URL"),
        ({"VERIFIER": "http"}, "IDP_VERIFIER_HTTP_URL"),
        ({"DATA_KEY": "x"}, "IDP_DATA_INDEX_KEY"),
    ],
)
def test_production_names_the_missing_real_name_setting(overrides, named):
    """Real-name registration has no silent production default: no registry, no SMS gateway."""
    with pytest.raises(ConfigError) as refused:
        create_app({**PRODUCTION, **overrides})

    assert named in str(refused.value)
