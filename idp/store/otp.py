"""SMS one-time codes in Redis: issue, verify once, limit (real-name registration, item 9).

The rules (NIST SP 800-63B 5.1.3 "out-of-band authenticators", OWASP Authentication Cheat Sheet):

- a code is six digits from :mod:`secrets`, valid ``ttl`` seconds (at most 10 minutes), for one
  phone **and one purpose** (``register``, ``login``, ``change_phone``): a login code cannot
  complete a registration;
- a code is single use: verifying it and consuming it is one Lua script, so two requests racing
  with the right code cannot both succeed;
- after ``max_attempts`` wrong tries (at most 5) the code is dead, even for the right digits,
  until a new one is issued;
- a new code for the same phone and purpose only ``resend_interval`` seconds after the last one,
  and at most ``phone_per_hour`` codes per phone and ``address_per_hour`` per client address in an
  hour (each window starts at its first code);
- personal data stays out of Redis: phones and addresses appear in keys only as
  HMAC-SHA256(secret, value), and the code only as an HMAC bound to the phone and purpose. The
  comparison runs over every character of the HMAC, without an early exit (constant time).

Keys (``<phone>`` and ``<address>`` are the hex HMACs):

- ``idp:sms:code:<purpose>:{<phone>}``: hash ``{code, attempts}``, lifetime ``ttl``;
- ``idp:sms:resend:<purpose>:{<phone>}``: the resend wait, lifetime ``resend_interval``;
- ``idp:sms:phone-hour:{<phone>}``, ``idp:sms:address-hour:{<address>}``: codes issued in the
  hour.

The phone is the hash tag of its keys, so the phone's script touches one Redis Cluster slot. The
address's counter is shared by every phone asked for from that address and so lies in a slot of
its own: it is taken by a script of its own before the phone's (``_TAKE_ADDRESS``), and given back
when the phone's script refuses. Two round trips instead of one, and the two counters are no
longer changed in one step: for a moment the address may count a code the phone then refuses
(another request from that address, at its very last allowed code, may be refused meanwhile), and
a process dying between the two calls leaves the address one code poorer for the rest of the
hour. Both err on the strict side of a coarse abuse limit; the rules that protect a phone (one
code per purpose, the resend wait, the phone's hourly cap, single use) stay in one script.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass

import redis

PURPOSES = frozenset({"register", "login", "change_phone", "recover", "grant"})
MAX_TTL = 600  # seconds: a code lives at most 10 minutes
MAX_ATTEMPTS = 5
_HOUR = 3600
_PHONE_PUNCTUATION = re.compile(r"[\s\-()]")

# KEYS: the address's hour. ARGV: address cap, hour.
# Returns {refusal, milliseconds to wait}; the refusal is '' when the address's count was taken.
_TAKE_ADDRESS = """
local address_count = tonumber(redis.call('GET', KEYS[1]) or '0')
if address_count >= tonumber(ARGV[1]) then
  return {'address_hourly', redis.call('PTTL', KEYS[1])}
end
redis.call('SET', KEYS[1], 0, 'EX', tonumber(ARGV[2]), 'NX')
redis.call('INCR', KEYS[1])
return {'', 0}
"""

# KEYS: the address's hour. Gives back the count a refused issue took (never past the window:
# a counter that expired meanwhile is not brought back without an expiry).
_GIVE_BACK_ADDRESS = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DECR', KEYS[1])
end
return 0
"""

# KEYS: code, resend wait, phone hour (one hash tag: the phone).
# ARGV: code HMAC, ttl, resend interval, phone cap, hour.
# Returns {refusal, milliseconds to wait}; the refusal is '' when the code was stored.
_ISSUE = """
local wait = redis.call('PTTL', KEYS[2])
if wait > 0 then
  return {'resend_wait', wait}
end
local hour = tonumber(ARGV[5])
local phone_count = tonumber(redis.call('GET', KEYS[3]) or '0')
if phone_count >= tonumber(ARGV[4]) then
  return {'phone_hourly', redis.call('PTTL', KEYS[3])}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'code', ARGV[1], 'attempts', 0)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[3]))
redis.call('SET', KEYS[3], 0, 'EX', hour, 'NX')
redis.call('INCR', KEYS[3])
return {'', 0}
"""

# KEYS: code. ARGV: candidate HMAC, max attempts, consume ('1': a right code is used up; '0': it
# stays for the submit that will use it, while a wrong try still counts).
# The HMACs are compared over their whole length (XOR accumulated, no early exit).
_VERIFY = """
local stored = redis.call('HMGET', KEYS[1], 'code', 'attempts')
if not stored[1] then
  return 'expired'
end
local limit = tonumber(ARGV[2])
if tonumber(stored[2]) >= limit then
  return 'too_many'
end
local expected, candidate = stored[1], ARGV[1]
local diff = 0
if #expected ~= #candidate then
  diff = 1
end
for i = 1, #expected do
  diff = bit.bor(diff, bit.bxor(string.byte(expected, i), string.byte(candidate, i) or 0))
end
if diff == 0 then
  if ARGV[3] == '1' then
    redis.call('DEL', KEYS[1])
  end
  return 'ok'
end
if redis.call('HINCRBY', KEYS[1], 'attempts', 1) >= limit then
  return 'too_many'
end
return 'wrong'
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Issue:
    """The outcome of :meth:`OneTimeCodes.issue`: the code to send, or why none was issued."""

    code: str | None  # None when refused
    refused: str | None  # None | "resend_wait" | "phone_hourly" | "address_hourly"
    wait_seconds: int = 0


class OneTimeCodes:
    """Issue and verify SMS codes; see the module docstring for the rules and the keys."""

    def __init__(
        self,
        client: redis.Redis,
        secret: bytes,
        *,
        ttl: int,
        max_attempts: int,
        resend_interval: int,
        phone_per_hour: int,
        address_per_hour: int,
    ) -> None:
        if not secret:
            raise ValueError("the HMAC secret must not be empty")
        if not 1 <= ttl <= MAX_TTL:
            raise ValueError(f"ttl must be between 1 and {MAX_TTL} seconds")
        if not 1 <= max_attempts <= MAX_ATTEMPTS:
            raise ValueError(f"max_attempts must be between 1 and {MAX_ATTEMPTS}")
        if min(resend_interval, phone_per_hour, address_per_hour) < 1:
            raise ValueError("resend_interval and the hourly limits must be positive")
        self.client = client
        # Separate keys for identifiers and for codes, both derived from the one secret.
        self._id_key = hmac.new(secret, b"idp sms identifier", hashlib.sha256).digest()
        self._code_key = hmac.new(secret, b"idp sms code", hashlib.sha256).digest()
        self.ttl = ttl
        self.max_attempts = max_attempts
        self.resend_interval = resend_interval
        self.phone_per_hour = phone_per_hour
        self.address_per_hour = address_per_hour
        self._take_address = client.register_script(_TAKE_ADDRESS)
        self._give_back_address = client.register_script(_GIVE_BACK_ADDRESS)
        self._issue = client.register_script(_ISSUE)
        self._verify = client.register_script(_VERIFY)

    # -- keys ----------------------------------------------------------------------------------
    def _identifier(self, kind: str, value: str) -> str:
        return hmac.new(self._id_key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()

    def _phone(self, phone: str) -> str:
        """The phone's HMAC. The same number written with spaces, hyphens or the +86 / 0086
        prefix is one phone, so that the limits cannot be escaped by rewriting it."""
        canonical = _PHONE_PUNCTUATION.sub("", phone)
        for prefix in ("+86", "0086"):
            if canonical.startswith(prefix):
                canonical = canonical[len(prefix) :]
        if not canonical:
            raise ValueError("the phone number must not be empty")
        return self._identifier("phone", canonical)

    @staticmethod
    def _purpose(purpose: str) -> str:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {purpose!r}: one of {', '.join(sorted(PURPOSES))}")
        return purpose

    def _code_key_name(self, phone_id: str, purpose: str) -> str:
        return f"idp:sms:code:{purpose}:{{{phone_id}}}"

    @staticmethod
    def _resend_key_name(phone_id: str, purpose: str) -> str:
        return f"idp:sms:resend:{purpose}:{{{phone_id}}}"

    def _code_hmac(self, phone_id: str, purpose: str, code: str) -> str:
        message = f"{purpose}\0{phone_id}\0{code}".encode()
        return hmac.new(self._code_key, message, hashlib.sha256).hexdigest()

    # -- operations ----------------------------------------------------------------------------
    def issue(self, phone: str, purpose: str, address: str) -> Issue:
        """A new code for ``phone`` and ``purpose``, replacing any outstanding one, or a refusal
        with the seconds to wait. Refusals count toward no limit."""
        purpose = self._purpose(purpose)
        phone_id = self._phone(phone)
        code = f"{secrets.randbelow(10**6):06d}"
        # The address's count first, in its own slot (see the module docstring), then the
        # phone's script; a refusal of the phone gives the address its count back.
        address_key = f"idp:sms:address-hour:{{{self._identifier('address', address)}}}"
        refused, wait_ms = self._take_address(
            keys=[address_key], args=[self.address_per_hour, _HOUR]
        )
        if not refused:
            refused, wait_ms = self._issue(
                keys=[
                    self._code_key_name(phone_id, purpose),
                    self._resend_key_name(phone_id, purpose),
                    f"idp:sms:phone-hour:{{{phone_id}}}",
                ],
                args=[
                    self._code_hmac(phone_id, purpose, code),
                    self.ttl,
                    self.resend_interval,
                    self.phone_per_hour,
                    _HOUR,
                ],
            )
            if not refused:
                return Issue(code=code, refused=None)
            self._give_back_address(keys=[address_key])
        # PTTL is negative only for a key without expiry, which these never are: wait an hour.
        wait = math.ceil(int(wait_ms) / 1000) if int(wait_ms) > 0 else _HOUR
        return Issue(code=None, refused=_text(refused), wait_seconds=max(1, wait))

    def verify(self, phone: str, purpose: str, code: str, *, consume: bool = True) -> str:
        """``"ok"`` (the code is consumed), ``"wrong"``, ``"expired"`` (none outstanding for this
        phone and purpose, or it expired) or ``"too_many"`` (the wrong try that reached
        ``max_attempts``, and every try after it: the code is dead). With ``consume=False`` a
        right code stays outstanding (a form refused for another field tells whether the code
        was right without using it up); a wrong one counts as an attempt all the same."""
        purpose = self._purpose(purpose)
        phone_id = self._phone(phone)
        outcome = self._verify(
            keys=[self._code_key_name(phone_id, purpose)],
            args=[
                self._code_hmac(phone_id, purpose, code),
                self.max_attempts,
                "1" if consume else "0",
            ],
        )
        return _text(outcome)

    def cancel(self, phone: str, purpose: str) -> None:
        """Forget the outstanding code and the resend wait (the SMS was never sent). The hourly
        counts keep the attempt, so a failing gateway cannot be retried without limit."""
        purpose = self._purpose(purpose)
        phone_id = self._phone(phone)
        self.client.delete(
            self._code_key_name(phone_id, purpose), self._resend_key_name(phone_id, purpose)
        )
