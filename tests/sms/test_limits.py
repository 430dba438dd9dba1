"""Sending limits: resend wait per phone and purpose, hourly caps per phone and per address."""

from __future__ import annotations

from collections.abc import Callable

from idp.store.otp import OneTimeCodes

PHONE = "13800138000"


def test_a_second_code_waits_for_the_resend_interval(codes: OneTimeCodes) -> None:
    assert codes.issue(PHONE, "register", "192.0.2.1").code is not None

    again = codes.issue(PHONE, "register", "192.0.2.2")

    assert again.code is None
    assert again.refused == "resend_wait"
    assert 0 < again.wait_seconds <= 60
    # The wait is per phone and purpose.
    assert codes.issue(PHONE, "login", "192.0.2.1").code is not None
    assert codes.issue("13900139000", "register", "192.0.2.1").code is not None


def test_a_refused_request_leaves_the_outstanding_code_alone(codes: OneTimeCodes) -> None:
    code = codes.issue(PHONE, "register", "192.0.2.1").code
    assert code is not None

    assert codes.issue(PHONE, "register", "192.0.2.1").refused == "resend_wait"

    assert codes.verify(PHONE, "register", code) == "ok"


def test_codes_per_phone_are_capped_per_hour(make_codes: Callable[..., OneTimeCodes]) -> None:
    codes = make_codes(phone_per_hour=2)
    assert codes.issue(PHONE, "register", "192.0.2.1").code is not None
    assert codes.issue(PHONE, "login", "192.0.2.2").code is not None

    refused = codes.issue(PHONE, "change_phone", "192.0.2.3")

    assert refused.code is None
    assert refused.refused == "phone_hourly"
    assert 3500 < refused.wait_seconds <= 3600
    assert codes.issue("13900139000", "change_phone", "192.0.2.3").code is not None


def test_codes_per_address_are_capped_per_hour(make_codes: Callable[..., OneTimeCodes]) -> None:
    codes = make_codes(address_per_hour=2)
    assert codes.issue("13800138001", "register", "198.51.100.9").code is not None
    assert codes.issue("13800138002", "register", "198.51.100.9").code is not None

    refused = codes.issue("13800138003", "register", "198.51.100.9")

    assert refused.code is None
    assert refused.refused == "address_hourly"
    assert 3500 < refused.wait_seconds <= 3600
    assert codes.issue("13800138003", "register", "198.51.100.10").code is not None


def test_refusals_do_not_count_toward_the_hourly_caps(
    make_codes: Callable[..., OneTimeCodes],
) -> None:
    codes = make_codes(phone_per_hour=2, address_per_hour=2)
    assert codes.issue(PHONE, "register", "192.0.2.1").code is not None
    for _ in range(5):
        assert codes.issue(PHONE, "register", "192.0.2.1").refused == "resend_wait"

    assert codes.issue(PHONE, "login", "192.0.2.1").code is not None
