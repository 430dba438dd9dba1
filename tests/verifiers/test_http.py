"""The HTTP verifier against a real gateway on a loopback port (docs/registry.md, "HTTP gateway").

One POST per check to the URL with ``{check}`` filled in, a Bearer token, retries on network
errors and 5xx, ``unavailable`` (never ``match``) for anything but a clear answer, and a circuit
breaker per check that opens after N unavailable answers and lets one trial through after the
cooldown.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from idp.identity.verifiers import CHECKS, Result, Verdict
from tests.verifiers.helpers import TOKEN, Answer, Gateway, answer, http_verifier, raw, wait_until

PERSON = {
    "name": "张三",
    "id_number": "110105198503120178",
    "phone": "13800131001",
    "bank_card": "6222029542555030",
}
NUMBERS = {
    "social_security": "11010597499213",
    "housing_fund": "110155776014",
    "driving_licence": "110105198503120178",
}
ENTITY = {
    "uscc": "91330106064307423H",
    "name": "杭州示例科技有限公司",
    "legal_representative_name": "陈晓明",
    "legal_representative_id_number": "330106198809160719",
}


def test_a_match_carries_the_gateways_reference(gateway: Gateway) -> None:
    gateway.answers(answer("match", reference="TEL-20240611-0001"))
    verdict = http_verifier(gateway).verify("phone_three_elements", PERSON)
    assert verdict.result is Result.MATCH
    assert verdict.reference == "TEL-20240611-0001"
    assert verdict.source == "telecom_operator"
    assert verdict.elements == ("name", "id_number", "phone")
    assert len(gateway.calls) == 1


def test_a_no_match_is_passed_on_with_its_reason(gateway: Gateway) -> None:
    gateway.answers(answer("no_match", reference="POP-7", reason="status"))
    verdict = http_verifier(gateway).verify("two_elements", PERSON)
    assert verdict.result is Result.NO_MATCH
    assert verdict.reference == "POP-7"
    assert verdict.detail == {"reason": "status"}


def test_the_request_names_the_check_carries_the_token_and_only_the_checks_elements(
    gateway: Gateway,
) -> None:
    submitted = {**PERSON, "phone": "+86 138 0013 1001", "housing_fund": "110155776014"}
    http_verifier(gateway).verify("phone_three_elements", submitted)
    (call,) = gateway.calls
    assert call.path == "/verify/phone_three_elements"
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["Content-Type"] == "application/json"
    assert call.body == {
        "check": "phone_three_elements",
        "elements": {"name": "张三", "id_number": "110105198503120178", "phone": "13800131001"},
    }


def test_every_check_goes_to_its_own_url(gateway: Gateway) -> None:
    verifier = http_verifier(gateway)
    for check in CHECKS:
        verifier.verify(check, {**PERSON, **ENTITY, **NUMBERS})
    assert [call.path for call in gateway.calls] == [f"/verify/{check}" for check in CHECKS]


def test_an_entity_match_keeps_only_the_documented_detail(gateway: Gateway) -> None:
    gateway.answers(
        answer("match", entity_type="limited_company", region="330106", legal_name="陈晓明")
    )
    verdict = http_verifier(gateway).verify("entity", ENTITY)
    assert verdict.result is Result.MATCH
    assert verdict.detail == {"entity_type": "limited_company", "region": "330106"}


def test_a_5xx_is_retried_and_the_next_answer_counts(gateway: Gateway) -> None:
    gateway.answers(raw("oops", status=500), answer("match", reference="R2"))
    verdict = http_verifier(gateway, VERIFIER_RETRIES=2).verify("two_elements", PERSON)
    assert verdict.result is Result.MATCH
    assert verdict.reference == "R2"
    assert len(gateway.calls) == 2


def test_retries_are_limited(gateway: Gateway) -> None:
    gateway.answers(raw("down", status=503))
    verdict = http_verifier(gateway, VERIFIER_RETRIES=2).verify("two_elements", PERSON)
    assert verdict.result is Result.UNAVAILABLE
    assert verdict.reference is None
    assert verdict.detail == {"reason": "status 503"}
    assert len(gateway.calls) == 3


def test_a_refused_connection_is_retried_then_unavailable() -> None:
    closed = Gateway()
    closed.stop()
    verdict = http_verifier(closed, VERIFIER_RETRIES=1).verify("two_elements", PERSON)
    assert verdict.result is Result.UNAVAILABLE
    assert verdict.detail["reason"].startswith("network")


def test_a_4xx_is_unavailable_and_not_retried(gateway: Gateway) -> None:
    gateway.answers(answer("match", status=401))
    verdict = http_verifier(gateway, VERIFIER_RETRIES=2).verify("two_elements", PERSON)
    assert verdict.result is Result.UNAVAILABLE
    assert len(gateway.calls) == 1


def test_a_slow_gateway_times_out_as_unavailable_without_a_retry(gateway: Gateway) -> None:
    gateway.answers(Answer(200, b'{"result": "match"}', hang=True))
    verifier = http_verifier(gateway, VERIFIER_TIMEOUT=1, VERIFIER_RETRIES=2)
    verdict = verifier.verify("two_elements", PERSON)
    assert verdict.result is Result.UNAVAILABLE
    assert verdict.detail == {"reason": "timeout"}
    assert len(gateway.calls) == 1  # the source may have answered (and billed) it: no retry


@pytest.mark.parametrize(
    "reply",
    [
        raw("<html>maintenance</html>"),
        raw('{"result": "match"'),
        raw('["match"]'),
        raw('{"result": "MATCH"}'),
        raw('{"result": "unavailable"}'),
        raw('{"result": true}'),
        raw('{"reference": "R"}'),
        raw('{"result": "match", "reference": 7}'),
        raw('{"result": "match", "detail": ["x"]}'),
        raw("", status=204),
        raw('{"result": "match"}', status=302),
    ],
    ids=lambda reply: reply.body.decode()[:24] or str(reply.status),
)
def test_anything_but_a_clear_answer_is_unavailable_never_match(
    gateway: Gateway, reply: Answer
) -> None:
    gateway.answers(reply)
    verdict = http_verifier(gateway, VERIFIER_RETRIES=2).verify("two_elements", PERSON)
    assert verdict.result is Result.UNAVAILABLE
    assert len(gateway.calls) == 1


def test_a_missing_reference_or_detail_is_accepted(gateway: Gateway) -> None:
    gateway.answers(raw('{"result": "no_match"}'))
    verdict = http_verifier(gateway).verify("two_elements", PERSON)
    assert verdict.result is Result.NO_MATCH
    assert verdict.reference is None
    assert verdict.detail == {}


def test_bad_calls_are_value_errors_and_reach_no_gateway(gateway: Gateway) -> None:
    verifier = http_verifier(gateway)
    with pytest.raises(ValueError, match="unknown check"):
        verifier.verify("three_elements", PERSON)
    with pytest.raises(ValueError, match="needs the element 'bank_card'"):
        verifier.verify("bank_card_four_elements", {**PERSON, "bank_card": ""})
    assert gateway.calls == []


# -- circuit breaker ---------------------------------------------------------------------------


def fail_times(verifier, count: int) -> list[Verdict]:  # type: ignore[no-untyped-def]
    return [verifier.verify("two_elements", PERSON) for _ in range(count)]


def test_the_breaker_opens_after_n_unavailable_answers(gateway: Gateway) -> None:
    gateway.answers(raw("down", status=503))
    verifier = http_verifier(gateway, VERIFIER_BREAKER_FAILURES=3, VERIFIER_BREAKER_COOLDOWN=60)
    assert [v.detail["reason"] for v in fail_times(verifier, 3)] == ["status 503"] * 3
    assert len(gateway.calls) == 3

    gateway.answers(answer("match"))
    verdict = verifier.verify("two_elements", PERSON)
    assert verdict.result is Result.UNAVAILABLE
    assert verdict.detail == {"reason": "circuit_open"}
    assert len(gateway.calls) == 3  # not called while open

    # Other checks have their own breaker.
    assert verifier.verify("phone_three_elements", PERSON).result is Result.MATCH
    assert len(gateway.calls) == 4


def test_an_answer_resets_the_failure_count(gateway: Gateway) -> None:
    verifier = http_verifier(gateway, VERIFIER_BREAKER_FAILURES=3, VERIFIER_BREAKER_COOLDOWN=60)
    gateway.answers(raw("down", status=503), raw("down", status=503), answer("no_match"))
    fail_times(verifier, 3)
    gateway.answers(raw("down", status=503))
    fail_times(verifier, 2)
    assert len(gateway.calls) == 5
    gateway.answers(answer("match"))
    assert verifier.verify("two_elements", PERSON).result is Result.MATCH


def test_the_breaker_half_opens_after_the_cooldown(gateway: Gateway) -> None:
    gateway.answers(raw("down", status=503))
    verifier = http_verifier(gateway, VERIFIER_BREAKER_FAILURES=2, VERIFIER_BREAKER_COOLDOWN=1)
    fail_times(verifier, 2)
    assert verifier.verify("two_elements", PERSON).detail == {"reason": "circuit_open"}
    assert len(gateway.calls) == 2

    time.sleep(1.2)
    # The trial call fails: open again for another cooldown, at once (not after N failures).
    assert verifier.verify("two_elements", PERSON).detail == {"reason": "status 503"}
    assert len(gateway.calls) == 3
    assert verifier.verify("two_elements", PERSON).detail == {"reason": "circuit_open"}
    assert len(gateway.calls) == 3

    time.sleep(1.2)
    gateway.answers(answer("match"))
    assert verifier.verify("two_elements", PERSON).result is Result.MATCH
    assert verifier.verify("two_elements", PERSON).result is Result.MATCH
    assert len(gateway.calls) == 5  # closed again


def test_only_one_trial_call_goes_through_while_half_open(gateway: Gateway) -> None:
    gateway.answers(raw("down", status=503))
    verifier = http_verifier(
        gateway, VERIFIER_BREAKER_FAILURES=1, VERIFIER_BREAKER_COOLDOWN=1, VERIFIER_TIMEOUT=5
    )
    fail_times(verifier, 1)
    time.sleep(1.2)

    gateway.answers(Answer(200, b'{"result": "match", "reference": "TRIAL"}', hang=True))
    trial: list[Verdict] = []
    thread = threading.Thread(target=lambda: trial.append(fail_times(verifier, 1)[0]))
    thread.start()
    wait_until(lambda: len(gateway.calls) == 2, "the trial call")
    concurrent = verifier.verify("two_elements", PERSON)
    assert concurrent.detail == {"reason": "circuit_open"}
    gateway.release()
    thread.join(10)
    assert trial[0].result is Result.MATCH and trial[0].reference == "TRIAL"
    assert len(gateway.calls) == 2


def test_failures_are_logged_without_elements(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.answers(raw('{"echo": "张三 110105198503120178"}', status=500))
    caplog.set_level(logging.INFO, logger="idp.identity.verifiers")
    verifier = http_verifier(gateway, VERIFIER_RETRIES=1, VERIFIER_BREAKER_FAILURES=1)
    fail_times(verifier, 1)
    messages = [record.getMessage() for record in caplog.records]
    assert any("two_elements" in message and "status 500" in message for message in messages)
    assert any("circuit open" in message for message in messages)
    for message in messages:
        for value in PERSON.values():
            assert value not in message
