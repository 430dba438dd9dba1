"""Hypothesis strategies for requests to any route (issue 17): each request is either plausible
(text a person or a portal might send, and garbage that is still valid text) or hostile, with
at least one value of one of the classes the boundary refuses:

- ``control``: NUL and the other control characters (C0, DEL, C1);
- ``encoding``: bytes that are not UTF-8 (a lone continuation byte, an overlong NUL, an encoded
  surrogate), percent-encoded in a query, a form or a path, raw in a JSON body or in HTTP Basic;
- ``surrogate``: a lone surrogate escaped in JSON (``"\\ud800"``);
- ``too_long``: one character more than the field's limit (``idp.views.limits``).

A request is built as bytes (path, query, body) so that invalid UTF-8 reaches the server as it
would on the wire.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

from idp.views import limits

HOSTILE_CLASSES = ("control", "encoding", "surrogate", "too_long")
# Field names worth sending: the ones the views and the protocol read, and a few others.
KNOWN_FIELDS = sorted(limits.FIELD_LIMITS) + [
    "action",
    "decision",
    "method",
    "accept_agreement",
    "grant_type",
    "status",
    "uses",
    "days",
    "entity_type",
    "region",
    "grade",
    "acting_as",
    "version",
    "sha256",
    "nature",
    "effective_at",
    "log",
    "page",
    "from",
    "to",
    "portal",
    "account",
    "trusted",
    "sensitive_claims",
    "subject_type",
    "token_endpoint_auth_method",
    "scopes",
]
# Fetched by the provider (a portal's key set, sector identifiers, logout deliveries): never
# sent with a value, so that a fuzzed request sends no traffic anywhere.
FETCHED_FIELDS = ("jwks_uri", "sector_identifier_uri", "backchannel_logout_uri", "logo_uri")
PLAUSIBLE = [
    "",
    "openid",
    "openid profile",
    "code",
    "authorization_code",
    "refresh_token",
    "S256",
    "en",
    "zh-CN",
    "alice",
    "王小明",
    "13800138000",
    "110101199003074477",
    "https://portal.example.gov.cn/callback",
    "demo-portal",
    "client_secret_basic",
    "none",
    "send_code",
    "register",
    "approve",
    "deny",
    "login",
    "yes",
    "1",
    "-1",
    "0" * 64,
    '"quoted"',
    "back\\slash",
    "{}",
    "[]",
    '{"userinfo": {"名": null}}',
    "tab\there",
    "line\nbreak",
    "emoji 😀",
    "\ufffd",
    "%00",
]
# Bytes that are not UTF-8.
INVALID_UTF8 = [
    b"\xff",
    b"\xfe\xff",
    b"\xc3\x28",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xe2\x82",
    b"\x80",
]
CONTROL_CHARACTERS = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]] + [
    "\x7f",
    "\x85",
    "\x9f",
]

# Fields whose limit makes a request of a sensible size when broken (not an agreement's text).
SHORT_FIELDS = [name for name in KNOWN_FIELDS if limits.limit_of(name, limits.JSON_DEFAULT) <= 8192]

plain_text = st.one_of(
    st.sampled_from(PLAUSIBLE),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
        max_size=40,
    ),
)


@dataclass
class Fuzzed:
    """One generated request, and which hostile class it carries (None: plausible)."""

    method: str
    path: str  # percent-encoded
    query: str = ""  # percent-encoded
    body: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hostile: str | None = None
    where: str = ""

    def url(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    def __repr__(self) -> str:  # what Hypothesis prints for a falsifying example
        return (
            f"Fuzzed({self.method} {self.url()!r}, body={self.body!r:.300}, "
            f"content_type={self.content_type!r}, headers={self.headers!r}, "
            f"hostile={self.hostile!r} in {self.where!r})"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # Hypothesis' printer
        printer.text(repr(self))


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _urlencoded(pairs: list[tuple[bytes, bytes]]) -> str:
    return "&".join(
        f"{quote_from_bytes(n, safe='')}={quote_from_bytes(v, safe='')}" for n, v in pairs
    )


@st.composite
def hostile_bytes(draw: st.DrawFn, hostile: str, name: str, default: int) -> bytes:
    """A value of class ``hostile`` for the field ``name``, as bytes (``surrogate`` becomes
    ``encoding`` outside JSON: a surrogate cannot be UTF-8)."""
    prefix = _encode(draw(plain_text))[:20]
    if hostile == "control":
        return prefix + draw(st.sampled_from(CONTROL_CHARACTERS)).encode() + b"x"
    if hostile == "too_long":
        limit = limits.limit_of(name, default)
        filler = draw(st.sampled_from(["a", "长", "%"]))
        return (filler * (limit + 1)).encode()
    return prefix + draw(st.sampled_from(INVALID_UTF8))


@st.composite
def pairs_of(
    draw: st.DrawFn, hostile: str | None, default: int
) -> tuple[list[tuple[bytes, bytes]], str]:
    """Fields of a query or a form; with ``hostile``, one of them (or its name) is."""
    names = draw(st.lists(st.sampled_from(KNOWN_FIELDS), max_size=6))
    pairs = [(name.encode(), _encode(draw(plain_text))) for name in names]
    if hostile is None:
        return pairs, ""
    kind = "encoding" if hostile == "surrogate" else hostile
    name = draw(st.sampled_from(SHORT_FIELDS if kind == "too_long" else KNOWN_FIELDS))
    if kind != "too_long" and draw(st.booleans()) and len(pairs) < 6:
        # The hostile text in a parameter's name instead of its value.
        pairs.insert(
            draw(st.integers(0, len(pairs))),
            (draw(hostile_bytes(kind, "", limits.MAX_NAME_LENGTH)), b"1"),
        )
        return pairs, "name"
    value = draw(hostile_bytes(kind, name, default))
    pairs.insert(draw(st.integers(0, len(pairs))), (name.encode(), value))
    return pairs, name


def _json_value(draw: st.DrawFn) -> Any:
    return draw(
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(-5, 5), plain_text),
            lambda inner: st.one_of(
                st.lists(inner, max_size=3),
                st.dictionaries(st.sampled_from(KNOWN_FIELDS), inner, max_size=3),
            ),
            max_leaves=6,
        )
    )


@st.composite
def json_body(draw: st.DrawFn, hostile: str | None) -> tuple[bytes, str]:
    body = {
        name: _json_value(draw)
        for name in draw(st.lists(st.sampled_from(KNOWN_FIELDS), max_size=5))
    }
    if hostile is None:
        return json.dumps(body, ensure_ascii=draw(st.booleans())).encode(), ""
    name = draw(st.sampled_from(SHORT_FIELDS if hostile == "too_long" else KNOWN_FIELDS))
    marker = "\x00HOSTILE\x00"
    body[name] = [marker] if draw(st.booleans()) else marker
    placeholder = json.dumps(marker).encode()  # the marker as JSON text, quotes included
    if hostile == "control":
        control = draw(st.sampled_from(CONTROL_CHARACTERS))
        value = json.dumps("x" + control + "y").encode()
    elif hostile == "surrogate":
        value = b'"\\' + draw(st.sampled_from([b"ud800", b"udbff", b"udc00", b"udfff"])) + b'"'
    elif hostile == "too_long":
        value = json.dumps("a" * (limits.limit_of(name, limits.JSON_DEFAULT) + 1)).encode()
    else:
        value = b'"x' + draw(st.sampled_from(INVALID_UTF8)) + b'"'
    return json.dumps(body, ensure_ascii=True).encode().replace(placeholder, value), name


def path_for(rule: Any, values: dict[str, bytes]) -> str:
    """The rule's path with each argument (``<name>``, ``<path:name>``) percent-encoded from
    bytes."""
    return re.sub(
        r"<(?:[a-z]+:)?([a-z_]+)>",
        lambda match: quote_from_bytes(values[match.group(1)], safe=""),
        rule.rule,
    )


@st.composite
def requests_for(draw: st.DrawFn, rule: Any, method: str, credentials: dict[str, str]) -> Fuzzed:
    """A request to ``rule`` with ``method``; ``credentials`` may hold a CSRF token
    (``csrf_token``) and a bearer token (``bearer``) that make some requests go further."""
    hostile = draw(st.one_of(st.none(), st.sampled_from(HOSTILE_CLASSES)))
    places = ["query", "header"]
    if rule.arguments:
        places.append("path")
    if method in ("POST", "PUT", "PATCH"):
        places += ["form", "json"]
    where = draw(st.sampled_from(places)) if hostile else ""
    if hostile == "surrogate" and where not in ("json",):
        where = "json" if "json" in places else where
        hostile = "surrogate" if where == "json" else "encoding"
    if hostile == "too_long" and where == "header":
        where = "query"

    plausible_ids = {
        argument: _encode(draw(st.sampled_from(["demo-portal", "1", "x" * 36, "abc"])))
        for argument in rule.arguments
    }
    if where == "path":
        argument = draw(st.sampled_from(sorted(rule.arguments)))
        kind = "encoding" if hostile == "surrogate" else hostile
        if kind == "too_long":
            plausible_ids[argument] = b"a" * (limits.MAX_SEGMENT_LENGTH + 1)
        else:
            plausible_ids[argument] = draw(hostile_bytes(kind, "", limits.MAX_SEGMENT_LENGTH))
    path = path_for(rule, plausible_ids)

    query_pairs, query_field = draw(
        pairs_of(hostile if where == "query" else None, limits.QUERY_DEFAULT)
    )
    headers: dict[str, str] = {}
    if draw(st.booleans()) and credentials.get("bearer"):
        headers["Authorization"] = f"Bearer {credentials['bearer']}"
    elif draw(st.booleans()):
        user = _encode(draw(plain_text))
        headers["Authorization"] = "Basic " + base64.b64encode(user + b":secret").decode()
    if where == "header":
        kind = "encoding" if hostile == "surrogate" else hostile
        # HTTP Basic whose decoded bytes are hostile: raw, or percent-encoded (RFC 6749 2.3.1).
        user = draw(hostile_bytes(kind, "client_id", limits.QUERY_DEFAULT))
        if draw(st.booleans()):
            user = quote_from_bytes(user, safe="").encode()
        headers["Authorization"] = "Basic " + base64.b64encode(user + b":secret").decode()
        if not rule.rule.startswith(("/token", "/revoke", "/introspect")):
            # Elsewhere only the header's own characters are read.
            control = draw(st.sampled_from(CONTROL_CHARACTERS))
            headers["Authorization"] = f"Bearer abc{control}def"

    body: bytes | None = None
    content_type: str | None = None
    body_field = ""
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        shape = (
            where if where in ("form", "json") else draw(st.sampled_from(["form", "json", "none"]))
        )
        if shape == "form":
            pairs, body_field = draw(
                pairs_of(hostile if where == "form" else None, limits.QUERY_DEFAULT)
            )
            if credentials.get("csrf_token") and draw(st.booleans()):
                pairs.append((b"csrf_token", credentials["csrf_token"].encode()))
            body, content_type = _urlencoded(pairs).encode(), "application/x-www-form-urlencoded"
        elif shape == "json":
            body, body_field = draw(json_body(hostile if where == "json" else None))
            content_type = "application/json"
    detail = {"query": query_field, "form": body_field, "json": body_field}.get(where, where)
    return Fuzzed(
        method=method,
        path=path,
        query=_urlencoded(query_pairs),
        body=body,
        content_type=content_type,
        headers=headers,
        hostile=hostile,
        where=f"{where}:{detail}" if hostile else "",
    )
