"""Portals (OAuth clients): one validation of client metadata and the operations on portals.

The console (``/admin/portals``), the admin API (``/admin/api/clients``), dynamic registration
(RFC 7591 / RFC 7592, ``idp.oauth.registration``) and the ``idp clients`` command all go through
:class:`ClientRegistry`, so a portal is held to the same rules whichever way it is registered
(docs/portals.md). The package is split along I/O:

- :mod:`.metadata`: the fields, their enumerations and limits, :class:`FieldError`, the errors
  and the policy (no I/O);
- :mod:`.validation`: every rule that needs neither the network nor the database (no I/O);
- :mod:`.fetch`: the guarded fetch of a portal's documents (``jwks_uri``,
  ``sector_identifier_uri``) and the checks of what they answer;
- :mod:`.registry`: :class:`ClientRegistry`, the operations over the database, with audit.
"""

from idp.oauth.clients.fetch import REMOTE_CODES, Fetcher, FetchError, Resolver, fetch_json
from idp.oauth.clients.metadata import (
    AUTH_METHODS,
    CLIENT_ID_PATTERN,
    DEFAULT_SCOPES,
    FIELDS,
    MATTER_PATTERN,
    MAX_INITIAL_TOKEN_DAYS,
    MAX_INITIAL_TOKEN_USES,
    MAX_KEYS,
    MAX_LIST,
    MAX_NAME_LENGTH,
    MAX_URI_LENGTH,
    MINIMUM_LEVELS,
    STATUSES,
    SUBJECT_TYPES,
    FieldError,
    InvalidMetadata,
    RegistryError,
    RegistryPolicy,
    defaults,
    initial_token_problems,
    metadata_of,
)
from idp.oauth.clients.registry import (
    Actor,
    ClientNotFound,
    ClientRegistry,
    NoClientSecret,
    Outcome,
    Refused,
    describe,
    hash_token,
)
from idp.oauth.clients.validation import key_set_problem, uri_problem

__all__ = [
    "AUTH_METHODS",
    "CLIENT_ID_PATTERN",
    "DEFAULT_SCOPES",
    "FIELDS",
    "MATTER_PATTERN",
    "MAX_INITIAL_TOKEN_DAYS",
    "MAX_INITIAL_TOKEN_USES",
    "MAX_KEYS",
    "MAX_LIST",
    "MAX_NAME_LENGTH",
    "MAX_URI_LENGTH",
    "MINIMUM_LEVELS",
    "REMOTE_CODES",
    "STATUSES",
    "SUBJECT_TYPES",
    "Actor",
    "ClientNotFound",
    "ClientRegistry",
    "FetchError",
    "Fetcher",
    "FieldError",
    "InvalidMetadata",
    "NoClientSecret",
    "Outcome",
    "Refused",
    "RegistryError",
    "Resolver",
    "RegistryPolicy",
    "defaults",
    "describe",
    "fetch_json",
    "hash_token",
    "initial_token_problems",
    "key_set_problem",
    "metadata_of",
    "uri_problem",
]
