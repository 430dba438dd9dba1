"""Subject identifiers: public, or pairwise per sector (OpenID Connect Core 1.0 section 8).

A portal registered with ``subject_type=pairwise`` sees every person (and every company) under a
``sub`` of its own, so that portals of different sectors cannot join their records by ``sub``.
The sector is the host of the portal's ``sector_identifier_uri`` or, without one, the host of its
redirect URIs (section 8.1; registration ensures there is one host then). The value is an HMAC
under the blind-index key, which is never rotated, so a pairwise ``sub`` never changes.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from idp.identity.personal_data import PersonalData
from idp.models import Client


def sector_of(client: Client) -> str:
    uri = client.sector_identifier_uri or (client.redirect_uris or [""])[0]
    return (urlsplit(uri).hostname or client.client_id).lower()


class Subjects:
    def __init__(self, personal_data: PersonalData) -> None:
        self.personal_data = personal_data

    def for_client(self, client: Client | None, local_subject: str) -> str:
        """The ``sub`` this portal sees for the account or company ``local_subject``."""
        if client is None or client.subject_type != "pairwise":
            return local_subject
        digest = self.personal_data.keyed_hash("pairwise", f"{sector_of(client)}|{local_subject}")
        raw = bytes.fromhex(digest)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
