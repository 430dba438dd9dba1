"""Local time from the zone database (``IDP_TIMEZONE``, issue 21): the times pages show and the
calendar date on which a birth date is judged follow the configured zone, not a fixed UTC+8."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from idp.config import ConfigError, load_config
from tests.account.helpers import account_login, signed_in_page
from tests.realname.helpers import PASSWORD, ZHANG_SAN, RegistrationForm, field_errors, page

# GB 11643-1999: the weights of the first 17 characters and the check characters of MOD 11-2.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def _resident_id(born: str) -> str:
    body = f"110101{born}123"
    return body + _CHECK[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def _overview_time(browser: Any) -> tuple[datetime, str]:
    html = signed_in_page(browser, "/account?lang=en")
    match = re.search(r'<time datetime="([^"]+)">\(([^)]+)\)</time>', html)
    assert match, "no time on the overview"
    return datetime.fromisoformat(match.group(1)), match.group(2)


def test_a_shown_time_follows_the_configured_zone(
    register_person: Callable[..., Any], make_app: Any
) -> None:
    """The overview shows when the account was verified: 8 hours ahead of UTC by default
    (Asia/Shanghai), 6 in Asia/Urumqi, none with UTC."""
    shanghai = register_person(ZHANG_SAN)
    moment, shown = _overview_time(shanghai)
    assert shown == moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")

    for zone in ("Asia/Urumqi", "UTC"):
        browser = make_app(TIMEZONE=zone).test_client()
        assert account_login(browser, ZHANG_SAN.phone, PASSWORD).status_code == 303
        same, elsewhere = _overview_time(browser)
        assert same == moment
        assert elsewhere == moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
        assert elsewhere != shown


def test_a_birth_date_is_judged_on_the_local_calendar_date(make_app: Any) -> None:
    """Someone born today in Kiritimati (UTC+14) is born tomorrow for a zone at UTC-12, whatever
    the hour: the registration form refuses the ID number there, and takes it in Kiritimati."""
    today_east = datetime.now(UTC).astimezone(ZoneInfo("Pacific/Kiritimati")).strftime("%Y%m%d")
    id_number = _resident_id(today_east)
    typed = {"name": "张小新", "id_type": "resident_id", "id_number": id_number}

    west = RegistrationForm.open(make_app(TIMEZONE="Etc/GMT+12").test_client())
    refused = west.send_code("13800000077", **typed)
    assert refused.status_code == 400
    assert field_errors(page(refused))["id_number"] == "证件号码中的出生日期晚于当前日期。"

    east = RegistrationForm.open(make_app(TIMEZONE="Pacific/Kiritimati").test_client())
    taken = east.send_code("13800000077", **typed)
    assert "id_number" not in field_errors(page(taken))


@pytest.mark.parametrize("zone", ["UTC+8", "Asia/Nowhere", "../../etc/passwd", ""])
def test_a_zone_that_is_not_in_the_zone_database_refuses_the_start(zone: str) -> None:
    with pytest.raises(ConfigError, match="IDP_TIMEZONE"):
        load_config({"TIMEZONE": zone})
