"""The portal tests run over the sample catalogue of matters (``idp matters import``): a portal's
matter classes must be published ones (docs/portals.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE_CATALOGUE = Path(__file__).resolve().parents[2] / "idp" / "data" / "matters.sample.json"


@pytest.fixture(autouse=True)
def catalogue(request: pytest.FixtureRequest) -> None:
    """The sample catalogue published before each test that uses the app."""
    if "app" not in request.fixturenames and "provider" not in request.fixturenames:
        return
    request.getfixturevalue("clean_state")
    request.getfixturevalue("cli").ok("matters", "import", str(SAMPLE_CATALOGUE))
