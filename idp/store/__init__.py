"""Short-lived state in Redis: authorization codes, interactions, sessions, rate limits, SMS codes.

Each kind of state sits behind a small class with the adapter verbs of node-oidc-provider
(``put``, ``get``, ``consume``, ``delete``). Values are JSON; keys are namespaced and, where the
identifier is a bearer secret (authorization codes), hashed before use.
"""

from idp.store.connection import StoreUnavailable, connect
from idp.store.kv import ShortLivedStore
from idp.store.otp import Issue, OneTimeCodes

__all__ = ["Issue", "OneTimeCodes", "ShortLivedStore", "StoreUnavailable", "connect"]
