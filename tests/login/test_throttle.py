"""Failed-login limits kept in Redis.

NIST SP 800-63B 5.2.2 (limit consecutive failed attempts, at most 100 before lock-out) and the
OWASP Authentication Cheat Sheet (one generic answer for wrong passwords and unknown accounts;
throttling per account and per address). Messages are read in English (ui_locales=en).
"""

from __future__ import annotations

import re
import time

from tests.login.helpers import login_error, open_login_page, same_portal

INVALID = "Invalid username or password."
LOCKED = "This account is locked after too many failed attempts. Contact the service desk."
WAIT = re.compile(r"^Too many failed attempts\. Try again in (\d+) seconds\.$")


def _attempts(rp, username, passwords):  # type: ignore[no-untyped-def]
    """Submit the login form once per password on one login page; return the responses."""
    attempt = open_login_page(rp)
    return [rp.submit_login(attempt, username, password) for password in passwords]


def test_wrong_password_and_unknown_account_get_the_same_answer(public_rp, user):
    """OWASP Authentication: no hint whether the account exists (same status, same message)."""
    wrong_password, unknown_account = _attempts(public_rp, user["username"], ["wrong"]) + _attempts(
        public_rp, "nobody-here", [user["password"]]
    )

    assert wrong_password.status_code == unknown_account.status_code == 401
    assert login_error(wrong_password) == login_error(unknown_account) == INVALID


def test_after_five_free_failures_even_the_right_password_must_wait(public_rp, user):
    """NIST SP 800-63B 5.2.2: after LOGIN_FREE_FAILURES (default 5) attempts are slowed down."""
    failures = _attempts(public_rp, user["username"], ["wrong"] * 5)
    assert [r.status_code for r in failures] == [401] * 5

    (blocked,) = _attempts(public_rp, user["username"], [user["password"]])

    assert blocked.status_code == 429
    wait = WAIT.match(login_error(blocked))
    assert wait and int(wait.group(1)) >= 1
    assert "Location" not in blocked.headers
    # The announced wait is honest: once it has passed, the right password is accepted.
    time.sleep(int(wait.group(1)) + 0.2)
    (accepted,) = _attempts(public_rp, user["username"], [user["password"]])
    assert accepted.status_code == 303


def test_unknown_usernames_are_throttled_the_same_way(public_rp, user):
    """OWASP Authentication: the throttle cannot be used to tell existing accounts apart."""
    known = _attempts(public_rp, user["username"], ["wrong"] * 6)
    unknown = _attempts(public_rp, "no-such-person", ["wrong"] * 6)

    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert [r.status_code for r in unknown] == [401] * 5 + [429]
    assert WAIT.match(login_error(known[-1])) and WAIT.match(login_error(unknown[-1]))


def test_account_locks_at_the_lock_threshold_and_the_cli_unlocks_it(make_app, cli, public_rp, user):
    """NIST SP 800-63B 5.2.2: lock after LOGIN_LOCK_FAILURES; `idp users unlock` clears it."""
    strict = make_app(LOGIN_LOCK_FAILURES=3, LOGIN_FREE_FAILURES=100)
    rp = same_portal(public_rp, strict.test_client())
    *failures, locked = _attempts(rp, user["username"], ["wrong"] * 3 + [user["password"]])
    assert [r.status_code for r in failures] == [401] * 3
    assert locked.status_code == 403
    assert login_error(locked) == LOCKED

    cli.ok("users", "unlock", user["username"])

    attempt = rp.login(user["username"], user["password"], ui_locales="en")
    assert "code" in attempt.result


def test_unknown_usernames_lock_the_same_way(make_app, public_rp):
    """OWASP Authentication: a lock-out looks the same whether or not the account exists."""
    strict = make_app(LOGIN_LOCK_FAILURES=3, LOGIN_FREE_FAILURES=100)
    rp = same_portal(public_rp, strict.test_client())

    *failures, locked = _attempts(rp, "no-such-person", ["wrong"] * 4)

    assert [r.status_code for r in failures] == [401] * 3
    assert locked.status_code == 403
    assert login_error(locked) == LOCKED


def test_a_successful_login_resets_the_failure_count(make_app, public_rp, user):
    """NIST SP 800-63B 5.2.2: the limit counts *consecutive* failures."""
    strict = make_app(LOGIN_LOCK_FAILURES=3, LOGIN_FREE_FAILURES=100)
    browser = strict.test_client()
    rp = same_portal(public_rp, browser)
    *failures, success = _attempts(rp, user["username"], ["wrong", "wrong", user["password"]])
    assert [r.status_code for r in failures] == [401, 401]
    assert success.status_code == 303

    again = same_portal(public_rp, strict.test_client())
    *failures, success = _attempts(again, user["username"], ["wrong", "wrong", user["password"]])

    assert [r.status_code for r in failures] == [401, 401]
    assert success.status_code == 303


def test_failures_from_one_address_stop_attempts_on_other_usernames(make_app, public_rp, user):
    """OWASP Authentication: at most LOGIN_ADDRESS_FAILURES_PER_HOUR failures per address."""
    strict = make_app(LOGIN_ADDRESS_FAILURES_PER_HOUR=3, LOGIN_FREE_FAILURES=100)
    rp = same_portal(public_rp, strict.test_client())
    attempt = open_login_page(rp)
    failures = [rp.submit_login(attempt, f"guess-{n}", "wrong") for n in range(3)]
    assert [r.status_code for r in failures] == [401] * 3

    blocked = rp.submit_login(attempt, user["username"], user["password"])

    assert blocked.status_code == 429
    assert WAIT.match(login_error(blocked))
    elsewhere_browser = strict.test_client()
    elsewhere_browser.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    elsewhere = same_portal(public_rp, elsewhere_browser)
    assert "code" in elsewhere.login(user["username"], user["password"]).result
