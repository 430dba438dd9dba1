"""Identity verifiers: ask an authoritative source whether identity elements belong together.

Issue "real-name registration", item 4; natural-person agreement clause 4(2) (real-name
registration proved by the person's phone, social security, bank card, housing fund account, ID
number or driving licence). Each *check* is an element set answered by one source (``CHECKS``,
``SOURCES``). Two backends implement :class:`Verifier`:

- :class:`RegistryFileVerifier` answers from a JSON snapshot read once at start (docs/registry.md);
  development uses the fictional demo registry shipped in ``idp/data/demo-registry.json``;
- :class:`HttpVerifier` POSTs each check to an authoritative gateway, with retries and a circuit
  breaker per check, and answers ``unavailable`` (never ``match``) whenever the answer is not a
  clear one.

Elements are normalised the same way on both sides before comparison (``normalise``). A verdict
never carries submitted or registry personal data, and nothing here logs elements.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idp.identity.verifiers.checks import (
    CHECKS,
    SOURCES,
    Result,
    Verdict,
    Verifier,
    normalise,
)
from idp.identity.verifiers.gateway import HttpVerifier
from idp.identity.verifiers.registry_file import RegistryFileVerifier

if TYPE_CHECKING:
    from idp.config import Config

__all__ = [
    "CHECKS",
    "SOURCES",
    "HttpVerifier",
    "RegistryFileVerifier",
    "Result",
    "Verdict",
    "Verifier",
    "build_verifier",
    "normalise",
]


def build_verifier(config: Config) -> Verifier:
    """The verifier that ``IDP_VERIFIER`` names (docs/configuration.md); ValueError if the
    registry file is invalid."""
    if config.VERIFIER == "registry_file":
        return RegistryFileVerifier.from_file(config.REGISTRY_FILE)
    if config.VERIFIER == "http":
        return HttpVerifier(
            config.VERIFIER_HTTP_URL,
            token=config.VERIFIER_HTTP_TOKEN,
            timeout=config.VERIFIER_TIMEOUT,
            retries=config.VERIFIER_RETRIES,
            breaker_failures=config.VERIFIER_BREAKER_FAILURES,
            breaker_cooldown=config.VERIFIER_BREAKER_COOLDOWN,
        )
    raise ValueError(f"unknown verifier {config.VERIFIER!r}; use 'registry_file' or 'http'")
