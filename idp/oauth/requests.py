"""A framework-neutral HTTP request for the protocol layer and for Authlib."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request


class PairsPayload(OAuth2Payload):
    """Parameters as received, keeping repeated names so duplicates can be refused."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            datalist[name].append(value)
        self._datalist = datalist
        self._data = {name: values[0] for name, values in datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class ProtocolRequest(OAuth2Request):
    """What the protocol layer needs of an HTTP request: method, URL, headers and parameters."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        form: Iterable[tuple[str, str]] = (),
        args: Iterable[tuple[str, str]] = (),
        remote_addr: str | None = None,
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._form_pairs = list(form)
        self._args_pairs = list(args)
        self.remote_addr = remote_addr
        # The request's DPoP proof once an endpoint checked it (``idp.oauth.dpop``).
        self.dpop_proof: Any = None
        # RFC 6749: the token, revocation and introspection endpoints read the body only.
        self.payload = PairsPayload(self._form_pairs if method == "POST" else self._args_pairs)

    @property
    def form(self) -> dict[str, str]:
        return {name: value for name, value in reversed(self._form_pairs)}

    @property
    def args(self) -> dict[str, str]:
        return {name: value for name, value in reversed(self._args_pairs)}


@dataclass
class ProtocolResponse:
    status: int
    body: object
    headers: list[tuple[str, str]] = field(default_factory=list)
