"""A sealed value the provider cannot open (a data key ring that lacks the key it was sealed
with) is the operator's failure, not the person's: the answer is a plain 500, with no key
detail on the page, and the detail goes to the log (idp.errors: one mapping for every
refusal)."""

from __future__ import annotations

import base64
import logging
import os
from typing import Any

from tests.realname.helpers import LI_SI


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_a_profile_sealed_under_a_missing_key_answers_500_without_detail(
    register_person: Any, make_app: Any, seeded: None, caplog: Any
) -> None:
    browser = register_person(LI_SI)
    assert browser.get("/account").status_code == 200
    session = browser.get_cookie("idp_session")
    assert session is not None

    # The same stores, but a key ring without the key the profile was sealed with.
    rekeyed = make_app(DATA_KEY=_key(), DATA_INDEX_KEY=_key())
    other = rekeyed.test_client()
    other.set_cookie("idp_session", session.value)
    with caplog.at_level(logging.ERROR):
        response = other.get("/account")

    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "is not in the key ring" not in page and "personal_data_key" not in page
    logged = [record.getMessage() for record in caplog.records]
    assert any("personal_data_key" in line and "not in the key ring" in line for line in logged)
