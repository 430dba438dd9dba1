"""What any text that comes in may hold, and how long it may be (issue 17): the rules the
boundary (``idp.views.boundary``) applies to every query, form, path, JSON body and header before
a view runs. Pure: no Flask, no I/O. docs/configuration.md ("Input limits") lists the numbers.

A value is refused when it

- is not UTF-8 (RFC 3629; percent-encoded bytes are decoded strictly, RFC 3986 2.5), or holds a
  lone surrogate (``"\\ud800"`` in JSON, RFC 8259 section 8.2);
- holds a control character: C0 (NUL included), DEL or C1. Tab, line feed and carriage return
  are allowed only in the few fields that hold several lines (``MULTILINE_FIELDS``);
- is longer than its field's limit (``FIELD_LIMITS``, else the default of its source).

The limits are hard caps, at or above the longest value any legitimate use needs; the rules
behind the views keep their own, finer limits and messages (a name of at most 64 characters at
registration, a code verifier of 43 to 128). A value under the cap that names nothing (an unknown
portal, say) is answered as unknown by the view, not refused here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

# Problems, as codes (the admin API's ``errors[].code``) and for the messages.
CONTROL = "control_character"  # NUL and the other control characters
ENCODING = "invalid_encoding"  # not UTF-8, a lone surrogate
TOO_LONG = "too_long"
SYNTAX = "syntax"  # a value with a syntax of its own (``scope``) that does not follow it
TOO_MANY = "too_many_fields"
NESTING = "too_deeply_nested"

#: Longest value, in characters, of each field (query, form or JSON member) by its name.
FIELD_LIMITS: dict[str, int] = {
    # OAuth 2.0 and OpenID Connect parameters (RFC 6749, RFC 7636, OIDC Core 3.1.2.1)
    "client_id": 512,
    "client_secret": 512,
    "client_assertion": 8192,
    "client_assertion_type": 128,
    "grant_type": 128,
    "response_type": 64,
    "response_mode": 32,
    "redirect_uri": 2000,
    "post_logout_redirect_uri": 2000,
    "scope": 1024,
    "state": 2048,
    "nonce": 2048,
    "code": 512,
    "code_challenge": 256,
    "code_challenge_method": 32,
    "code_verifier": 256,
    "refresh_token": 2048,
    "access_token": 2048,
    "token": 8192,
    "token_type_hint": 64,
    "id_token_hint": 8192,
    "login_hint": 256,
    "logout_hint": 256,
    "prompt": 128,
    "max_age": 32,
    "ui_locales": 256,
    "claims_locales": 256,
    "acr_values": 512,
    "claims": 4096,
    "matters": 4096,
    "confirmation": 128,
    "lang": 32,
    # people: login, registration, recovery, verification
    "username": 128,
    "password": 1024,
    "password_confirm": 1024,
    "name": 255,
    "id_type": 32,
    "id_number": 64,
    "phone": 32,
    "sms_code": 16,
    "identifier": 64,
    "bank_card": 64,
    "social_security": 64,
    "housing_fund": 64,
    "uscc": 64,
    "csrf_token": 512,
    "next": 512,
    # the console and the admin API
    "reason": 500,
    "reference": 128,
    "query": 128,
    "text": 200_000,  # an agreement's text (the request body limit comes first)
    "client_name": 255,
    "name_en": 255,
    "redirect_uris": 8192,
    "post_logout_redirect_uris": 8192,
    "jwks": 8192,
    "contacts": 8192,
}
#: Fields that may hold several lines (tab, line feed and carriage return allowed).
MULTILINE_FIELDS = frozenset(
    {"text", "reason", "redirect_uris", "post_logout_redirect_uris", "jwks", "contacts", "matters"}
    # A message's body and a matter step's note (docs/user-space.md).
    | {"body", "note"}
)
QUERY_DEFAULT = 2048  # any other query or form field
JSON_DEFAULT = 8192  # any other string in a JSON body (a key's "n", a certificate in "x5c")
MAX_NAME_LENGTH = 128  # a parameter's or a JSON member's name
MAX_FIELDS = 512  # parameters in a query or a form, members and items in a JSON body
MAX_DEPTH = 32  # nesting of a JSON body
MAX_SEGMENT_LENGTH = 256  # one segment of a path
MAX_HEADER_LENGTH = 8192  # the Authorization header

# C0 controls (NUL among them) without tab, LF and CR; DEL; C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile("[\t\n\r]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# RFC 6749 section 3.3: scope = scope-token *( SP scope-token ),
# scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
# A name safe to repeat in a message: what every field of ours is called.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: where (``source``: ``path``, ``query``, ``form``, ``json``,
    ``header``), which field, the problem, the limit broken (for ``too_long``) and, in a JSON
    body, the JSON Pointer (RFC 6901) of the value."""

    source: str
    field: str
    problem: str
    limit: int | None = None
    pointer: str | None = None

    @property
    def label(self) -> str:
        """The field's name when it is safe to repeat (ASCII letters, digits, ``_.-[]``),
        else a neutral word: a hostile name is never echoed."""
        return self.field if _PLAIN_NAME.fullmatch(self.field) else "parameter"


def limit_of(name: str, default: int) -> int:
    return FIELD_LIMITS.get(name, default)


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """``control_character`` or ``invalid_encoding`` for a decoded value, else None."""
    if _SURROGATE.search(value):
        return ENCODING
    if _CONTROL.search(value) or (not multiline and _LINE_BREAKS.search(value)):
        return CONTROL
    return None


def check_value(source: str, name: str, value: str, default: int) -> Refusal | None:
    """One field: its characters, its length, and for ``scope`` its syntax."""
    problem = text_problem(value, multiline=name in MULTILINE_FIELDS)
    if problem:
        return Refusal(source, name, problem)
    limit = limit_of(name, default)
    if len(value) > limit:
        return Refusal(source, name, TOO_LONG, limit)
    if name == "scope" and value and not _SCOPE.fullmatch(value):
        return Refusal(source, name, SYNTAX)
    return None


def check_name(source: str, name: str) -> Refusal | None:
    problem = text_problem(name)
    if problem:
        return Refusal(source, name, problem)
    if len(name) > MAX_NAME_LENGTH:
        return Refusal(source, name[:MAX_NAME_LENGTH], TOO_LONG, MAX_NAME_LENGTH)
    return None


def decode(raw: bytes) -> str | None:
    """``raw`` as UTF-8, or None when it is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def form_pairs(raw: bytes) -> list[tuple[str, str]] | None:
    """``application/x-www-form-urlencoded`` (a query string or a form body) as decoded pairs,
    strictly: None when the raw bytes or any percent-encoded value is not UTF-8. ``+`` is a
    space (WHATWG URL, as werkzeug reads it)."""
    if b"%" not in raw and b"+" not in raw:  # nothing encoded: the common case, decoded once
        text = decode(raw)
        if text is None:
            return None
        return [
            (name, value) for name, _sep, value in (p.partition("=") for p in text.split("&") if p)
        ]
    pairs: list[tuple[str, str]] = []
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _sep, value = part.partition(b"=")
        decoded_name = decode(unquote_to_bytes(name.replace(b"+", b" ")))
        decoded_value = decode(unquote_to_bytes(value.replace(b"+", b" ")))
        if decoded_name is None or decoded_value is None:
            return None
        pairs.append((decoded_name, decoded_value))
    return pairs


def check_pairs(source: str, pairs: Iterable[tuple[str, str]], default: int) -> Refusal | None:
    """Every field of a query or a form, and their number."""
    for count, (name, value) in enumerate(pairs, start=1):
        if count > MAX_FIELDS:
            return Refusal(source, "", TOO_MANY, MAX_FIELDS)
        refused = check_name(source, name) or check_value(source, name, value, default)
        if refused:
            return refused
    return None


def check_encoded(source: str, raw: bytes, default: int = QUERY_DEFAULT) -> Refusal | None:
    """A raw query string or url-encoded form body."""
    pairs = form_pairs(raw)
    if pairs is None:
        return Refusal(source, "", ENCODING)
    return check_pairs(source, pairs, default)


def check_path(raw: bytes) -> Refusal | None:
    """The path as it came (percent-decoded by the server, never decoded as text yet)."""
    path = decode(raw)
    if path is None:
        return Refusal("path", "", ENCODING)
    for segment in path.split("/"):
        problem = text_problem(segment)
        if problem:
            return Refusal("path", "", problem)
        if len(segment) > MAX_SEGMENT_LENGTH:
            return Refusal("path", "", TOO_LONG, MAX_SEGMENT_LENGTH)
    return None


def parse_json(raw: bytes) -> tuple[Any, Refusal | None]:
    """A JSON body (RFC 8259 8.1: UTF-8): (the value, None), (None, a refusal) for text that is
    not UTF-8 or nests too deep, or (``...``, None) when it is no JSON at all (the view answers
    that in its own words)."""
    text = decode(raw)
    if text is None:
        return None, Refusal("json", "", ENCODING, pointer="")
    try:
        return json.loads(text), None
    except RecursionError:
        return None, Refusal("json", "", NESTING, MAX_DEPTH, pointer="")
    except ValueError:
        return ..., None


def _pointer_token(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _strings(value: Any) -> Iterator[tuple[str, str, str | None, int]]:
    """(pointer, member name, string, depth) of every string in ``value``, keys included (a
    key is yielded with None as its string), depth first, without recursion."""
    pending: list[tuple[str, str, Any, int]] = [("", "", value, 0)]
    while pending:
        pointer, name, item, depth = pending.pop()
        if isinstance(item, str):
            yield pointer, name, item, depth
        elif isinstance(item, dict):
            for key, member in item.items():
                child = f"{pointer}/{_pointer_token(key)}"
                yield child, key, None, depth + 1
                pending.append((child, key, member, depth + 1))
        elif isinstance(item, list):
            for index, member in enumerate(item):
                pending.append((f"{pointer}/{index}", name, member, depth + 1))


def check_json(value: Any) -> Refusal | None:
    """Every string of a parsed JSON body, member names included; its size and depth. An item
    of an array is held to the limit of the member that holds the array."""
    for count, (pointer, name, text, depth) in enumerate(_strings(value), start=1):
        if count > MAX_FIELDS * 4:
            return Refusal("json", "", TOO_MANY, MAX_FIELDS * 4, pointer="")
        if depth > MAX_DEPTH:
            return Refusal("json", name, NESTING, MAX_DEPTH, pointer=pointer)
        if text is None:
            refused = check_name("json", name)
        else:
            refused = check_value("json", name, text, JSON_DEFAULT)
        if refused:
            return Refusal("json", refused.field, refused.problem, refused.limit, pointer)
    return None


def check_header(name: str, value: str) -> Refusal | None:
    """A header value as the server gave it (ISO 8859-1 text): visible ASCII and spaces only
    (RFC 9110 5.5 allows more, but none of the headers we read needs it)."""
    if any(not (" " <= character <= "~") for character in value):
        return Refusal("header", name, CONTROL if _CONTROL.search(value) else ENCODING)
    if len(value) > MAX_HEADER_LENGTH:
        return Refusal("header", name, TOO_LONG, MAX_HEADER_LENGTH)
    return None


def basic_credentials(token: str) -> tuple[str, str] | Refusal | None:
    """HTTP Basic credentials of a client (RFC 6749 2.3.1: each part form-urlencoded before
    base64, RFC 7617), decoded strictly: (client_id, client_secret), a refusal, or None when
    ``token`` is no base64 at all (the endpoint answers that)."""
    import base64
    import binascii

    try:
        raw = base64.b64decode(token.strip(), validate=False)
    except (binascii.Error, ValueError):
        return None
    text = decode(raw)
    if text is None:
        return Refusal("header", "Authorization", ENCODING)
    user, _sep, password = text.partition(":")
    parts = []
    for name, part in (("client_id", user), ("client_secret", password)):
        decoded = decode(unquote_to_bytes(part))
        if decoded is None:
            return Refusal("header", name, ENCODING)
        refused = check_value("header", name, decoded, QUERY_DEFAULT)
        if refused:
            return refused
        parts.append(decoded)
    return parts[0], parts[1]
