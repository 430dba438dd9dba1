"""One-time codes (idp.store.otp): single use, attempts, purpose binding, expiry, privacy."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from idp.store.otp import OneTimeCodes
from tests.sms.helpers import redis_contents

PHONE = "13800138000"
OTHER_PHONE = "13900139000"
ADDRESS = "203.0.113.7"


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_issued_code_is_six_digits_and_verifies_once(codes: OneTimeCodes) -> None:
    issued = codes.issue(PHONE, "register", ADDRESS)

    assert issued.refused is None and issued.wait_seconds == 0
    assert issued.code is not None and len(issued.code) == 6 and issued.code.isdigit()
    assert codes.verify(PHONE, "register", issued.code) == "ok"
    assert codes.verify(PHONE, "register", issued.code) == "expired"


def test_codes_are_not_predictable(codes: OneTimeCodes) -> None:
    issued = {codes.issue(f"1380013{n:04d}", "login", ADDRESS).code for n in range(15)}

    assert len(issued) > 10  # 15 draws from a million values: repeats are near impossible


def test_wrong_tries_kill_the_code_even_for_the_right_digits(
    make_codes: Callable[..., OneTimeCodes],
) -> None:
    codes = make_codes(max_attempts=3)
    code = codes.issue(PHONE, "login", ADDRESS).code
    assert code is not None

    assert codes.verify(PHONE, "login", other_than(code)) == "wrong"
    assert codes.verify(PHONE, "login", "000000" if code != "000000" else "111111") == "wrong"
    assert codes.verify(PHONE, "login", other_than(code)) == "too_many"
    assert codes.verify(PHONE, "login", code) == "too_many"


def test_a_code_is_bound_to_its_purpose(codes: OneTimeCodes) -> None:
    login = codes.issue(PHONE, "login", ADDRESS).code
    assert login is not None

    assert codes.verify(PHONE, "register", login) == "expired"
    assert codes.verify(PHONE, "change_phone", login) == "expired"
    register = codes.issue(PHONE, "register", ADDRESS).code
    assert register is not None
    if register != login:
        assert codes.verify(PHONE, "register", login) == "wrong"
    assert codes.verify(PHONE, "register", register) == "ok"
    assert codes.verify(PHONE, "login", login) == "ok"


def test_a_code_is_bound_to_its_phone(codes: OneTimeCodes) -> None:
    code = codes.issue(PHONE, "register", ADDRESS).code
    assert code is not None

    assert codes.verify(OTHER_PHONE, "register", code) == "expired"
    assert codes.verify(PHONE, "register", code) == "ok"


def test_the_same_number_written_differently_is_one_phone(codes: OneTimeCodes) -> None:
    code = codes.issue("+86 138-0013-8000", "register", ADDRESS).code
    assert code is not None

    assert codes.issue("0086 13800138000", "register", ADDRESS).refused == "resend_wait"
    assert codes.verify(PHONE, "register", code) == "ok"


def test_a_new_code_replaces_the_outstanding_one(make_codes: Callable[..., OneTimeCodes]) -> None:
    codes = make_codes(resend_interval=1, max_attempts=2)
    first = codes.issue(PHONE, "register", ADDRESS).code
    assert first is not None
    assert codes.verify(PHONE, "register", other_than(first)) == "wrong"
    time.sleep(1.1)  # the shortest possible resend wait

    second = codes.issue(PHONE, "register", ADDRESS).code
    assert second is not None
    if second != first:
        assert codes.verify(PHONE, "register", first) == "wrong"  # a fresh count of attempts
    assert codes.verify(PHONE, "register", second) == "ok"


def test_a_code_expires(make_codes: Callable[..., OneTimeCodes]) -> None:
    codes = make_codes(ttl=1)
    code = codes.issue(PHONE, "login", ADDRESS).code
    assert code is not None
    time.sleep(1.1)

    assert codes.verify(PHONE, "login", code) == "expired"


def test_every_key_expires_and_the_code_within_its_ttl(codes: OneTimeCodes, provider) -> None:  # type: ignore[no-untyped-def]
    codes.issue(PHONE, "register", ADDRESS)

    rows = redis_contents(provider.redis)
    assert {key.split(":")[2] for key, _value, _ttl in rows} == {
        "code",
        "resend",
        "phone-hour",
        "address-hour",
    }
    for key, _value, ttl in rows:
        assert 0 < ttl <= 3600, key
        if key.startswith("idp:sms:code:"):
            assert ttl <= 600
        if key.startswith("idp:sms:resend:"):
            assert ttl <= 60


def test_cancel_forgets_the_code_and_the_resend_wait(codes: OneTimeCodes) -> None:
    code = codes.issue(PHONE, "register", ADDRESS).code
    assert code is not None

    codes.cancel(PHONE, "register")

    assert codes.verify(PHONE, "register", code) == "expired"
    assert codes.issue(PHONE, "register", ADDRESS).code is not None


def test_no_phone_address_or_code_in_redis_in_clear(codes: OneTimeCodes, provider) -> None:  # type: ignore[no-untyped-def]
    issued = [
        codes.issue(PHONE, "register", ADDRESS).code,
        codes.issue(PHONE, "login", "2001:db8::1").code,
        codes.issue(OTHER_PHONE, "change_phone", ADDRESS).code,
    ]
    codes.verify(PHONE, "login", "999999" if issued[1] != "999999" else "888888")

    rows = redis_contents(provider.redis)
    assert len(rows) == 3 + 3 + 2 + 2  # codes, resend waits, phone hours, address hours
    for key, value, _ttl in rows:
        for secret in (PHONE, OTHER_PHONE, ADDRESS, "2001:db8"):
            assert secret not in key and secret not in value, key
    stored = [value for key, value, _ttl in rows if key.startswith("idp:sms:code:")]
    for value in stored:
        for code in issued:
            assert f'"{code}"' not in value  # the code field holds an HMAC, not the digits


@pytest.mark.parametrize(
    ("phone", "purpose"), [(PHONE, "signup"), (PHONE, ""), ("", "login"), (" - ", "login")]
)
def test_bad_phone_or_purpose_is_a_clear_error(
    codes: OneTimeCodes, phone: str, purpose: str
) -> None:
    with pytest.raises(ValueError, match="purpose|phone"):
        codes.issue(phone, purpose, ADDRESS)
    with pytest.raises(ValueError, match="purpose|phone"):
        codes.verify(phone, purpose, "123456")


@pytest.mark.parametrize(
    "settings",
    [{"ttl": 601}, {"ttl": 0}, {"max_attempts": 6}, {"max_attempts": 0}, {"resend_interval": 0}],
)
def test_limits_beyond_the_rules_are_refused(
    make_codes: Callable[..., OneTimeCodes], settings: dict[str, int]
) -> None:
    with pytest.raises(ValueError):
        make_codes(**settings)
