"""Fixtures of the legal-person tests: the shipped agreements and the sample catalogue, and a
company built over HTTP: 陈晓明 (L3) registers 杭州示例科技有限公司, appoints 张三 administrator
(apply, [tax]) with his SMS code, 张三 authorises 李四 as handler (apply, [tax.declaration]) with
hers, and 李四 confirms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.companies.helpers import (
    CHEN_XIAOMING,
    LI_SI,
    SAMPLE_CATALOGUE,
    ZHANG_SAN,
    appoint,
    authorise,
    entity_id_of,
    entity_path,
    grant_rows,
    location,
    page,
    post,
    raise_to_l3,
    register_company,
    registered,
)
from tests.support import CliRunner


@pytest.fixture
def seeded(cli: CliRunner) -> None:
    """The shipped agreements (the legal-person agreement among them), as ``idp db upgrade``
    publishes them in every deployment, and the sample catalogue of matters."""
    cli.ok("db", "upgrade")
    cli.ok("matters", "import", str(SAMPLE_CATALOGUE))


@dataclass
class Company:
    app: Any
    legal_representative: Any  # a browser logged in as 陈晓明
    company: str  # /account/companies/<entity id>
    entity_id: str


def build_company(app: Any, provider: Any) -> Company:
    chen = registered(app, provider, CHEN_XIAOMING)
    raise_to_l3(chen, CHEN_XIAOMING)
    company = entity_path(register_company(chen))
    return Company(app, chen, company, entity_id_of(company))


@pytest.fixture
def represented(app: Any, provider: Any, seeded: None) -> Company:
    """The company with its legal representative only (no SMS code sent yet)."""
    return build_company(app, provider)


@dataclass
class World:
    app: Any
    legal_representative: Any  # browsers, each logged in as its person
    administrator: Any
    handler: Any
    company: str  # /account/companies/<entity id>
    entity_id: str
    grant_id: str


def build_world(app: Any, provider: Any) -> World:
    """The company, its administrator and a confirmed handler grant, all over HTTP."""
    chen = registered(app, provider, CHEN_XIAOMING)
    raise_to_l3(chen, CHEN_XIAOMING)
    company = entity_path(register_company(chen))
    zhang = registered(app, provider, ZHANG_SAN)
    li = registered(app, provider, LI_SI)
    location(
        appoint(chen, company, provider, CHEN_XIAOMING, ZHANG_SAN, grade="apply", matters=["tax"])
    )
    location(
        authorise(
            zhang, company, provider, ZHANG_SAN, LI_SI, grade="apply", matters=["tax.declaration"]
        )
    )
    (grant_id,) = grant_rows(page(li.get("/account/companies?lang=en")))
    location(post(li, f"/account/companies/grants/{grant_id}/respond", {"decision": "confirm"}))
    return World(app, chen, zhang, li, company, entity_id_of(company), grant_id)


@pytest.fixture
def world(app: Any, provider: Any, seeded: None) -> World:
    return build_world(app, provider)
