"""Fixtures of the real-name tests: portals allowed every real-name scope, the shipped
agreements, and people of the demo registry registered over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.realname.helpers import Person, RegistrationForm, create_portal, form_for, outbox_code
from tests.support import CliRunner, RelyingParty


@pytest.fixture
def seeded(cli: CliRunner) -> None:
    """The shipped agreements published, as ``idp db upgrade`` does in every deployment."""
    cli.ok("db", "upgrade")


@pytest.fixture
def portal(cli: CliRunner, client) -> RelyingParty:  # type: ignore[no-untyped-def]
    """A trusted portal (no consent page for ordinary claims) allowed every real-name scope."""
    return create_portal(cli, client, name="Trusted Portal", trusted=True)


@pytest.fixture
def consent_portal(cli: CliRunner, client) -> RelyingParty:  # type: ignore[no-untyped-def]
    """A portal of another authority: the person consents to what it receives."""
    return create_portal(cli, client, name="Consent Portal")


@pytest.fixture
def register_person(app, provider) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """``register_person(person, browser=None, **fields)``: registration in the user space
    (``/account/register``), in ``browser`` (a fresh one by default). Returns the browser, which
    holds the new session."""

    def register(person: Person, browser: Any = None, **overrides: str | None) -> Any:
        browser = browser or app.test_client()
        form = RegistrationForm.open(browser)
        fields = form_for(person, **overrides)
        sent = form.send_code(fields["phone"])
        assert sent.status_code == 200, sent.status_code
        fields["sms_code"] = outbox_code(provider, fields["phone"])
        response = form.submit(fields)
        assert response.status_code == 303, (response.status_code, form.html[-2000:])
        assert response.headers["Location"].endswith("/account/verification")
        return browser

    return register
