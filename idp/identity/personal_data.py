"""Personal data at rest: AES-256-GCM encryption with a key id on every value, and blind indexes.

PIPL article 51 (encryption of personal information), GB/T 35273-2020 section 6.3. Names, ID
numbers, phone numbers and account numbers are stored only *sealed*::

    v1.<key id>.<base64url(nonce 12 bytes || ciphertext || tag)>

The associated data binds each value to its column and row (``accounts.name:<account id>``), so a
sealed value copied to another row or column does not open. Equality lookups (log in by phone,
one account per ID number) go through *blind indexes*: HMAC-SHA256 under a separate index key of
the kind and the normalised value. The index key is never rotated with the data keys (a rotation
re-encrypts; the indexes stay valid).

Keys come from ``IDP_DATA_KEY`` (comma-separated base64 keys of 32 bytes, the first encrypting)
and ``IDP_DATA_INDEX_KEY``, or from the key ring file ``data/keyring.json`` in the keys folder,
which is created (mode 0600) at first start and extended by ``idp keys rotate-data``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from idp.errors import IdpError

# In its own folder: the signing key ring reads every *.json directly in the keys folder.
KEY_RING_FILE = "data/keyring.json"
VERSION = "v1"
KEY_BYTES = 32


class PersonalDataError(IdpError, RuntimeError):
    """A key is missing or malformed, or a sealed value does not open (tampered or misplaced).
    An operator's problem, never the person's: the text is for the log and the command line."""

    code = "personal_data_key"
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail=detail)


def _b64decode(value: str) -> bytes:
    padded = value + "=" * (-len(value) % 4)
    return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))


def _b64encode(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


def _decode_key(raw: str, what: str) -> bytes:
    try:
        key = _b64decode(raw.strip())
    except ValueError:
        raise PersonalDataError(f"{what} is not base64") from None
    if len(key) != KEY_BYTES:
        raise PersonalDataError(f"{what} must be {KEY_BYTES} random bytes, base64-encoded")
    return key


def key_id(key: bytes) -> str:
    """A short, public name for a key: derived from it, so the same key always has the same id."""
    return hashlib.sha256(b"idp data key id" + key).hexdigest()[:12]


@dataclass(frozen=True)
class Sealed:
    key_id: str
    blob: bytes


def parse(sealed: str) -> Sealed:
    version, _, rest = sealed.partition(".")
    kid, _, blob = rest.partition(".")
    if version != VERSION or not kid or not blob:
        raise PersonalDataError("not a sealed value")
    try:
        return Sealed(kid, _b64decode(blob))
    except ValueError:
        raise PersonalDataError("not a sealed value") from None


def sealed_bytes_key_id(sealed: bytes) -> str:
    """The key id of bytes sealed by ``PersonalData.seal_bytes``."""
    version, dot, rest = sealed[:64].partition(b".")
    kid, dot2, _blob = rest.partition(b".")
    if version != VERSION.encode() or not dot or not dot2 or not kid:
        raise PersonalDataError("not sealed bytes")
    return kid.decode("ascii", "replace")


class PersonalData:
    """Seals, opens and indexes personal data."""

    def __init__(
        self,
        keys: dict[str, bytes],
        current: str,
        index_key: bytes,
        ring_file: Path | None = None,
        ring_mtime: int | None = None,
    ) -> None:
        if current not in keys:
            raise PersonalDataError("the current data key is not in the key ring")
        # Keys and current key id replaced together (a reload in another thread).
        self._ring = ({kid: AESGCM(key) for kid, key in keys.items()}, current)
        self._index_key = index_key
        self._ring_file = ring_file
        self._ring_mtime = ring_mtime

    @property
    def current(self) -> str:
        return self._ring[1]

    def _refresh(self) -> tuple[dict[str, AESGCM], str]:
        """The key ring, read again when its file changed since (``idp keys rotate-data`` run by
        another process): a running server then opens values sealed under the new key and seals
        with it."""
        if self._ring_file is None:
            return self._ring
        try:
            mtime = self._ring_file.stat().st_mtime_ns
        except OSError:
            return self._ring
        if mtime != self._ring_mtime:
            fresh = PersonalData.from_file(self._ring_file)
            if fresh._index_key != self._index_key:
                raise PersonalDataError("the index key of the data key ring changed")
            self._ring, self._ring_mtime = fresh._ring, fresh._ring_mtime
        return self._ring

    def seal(self, value: str, context: str) -> str:
        keys, current = self._refresh()
        nonce = os.urandom(12)
        blob = keys[current].encrypt(nonce, value.encode(), context.encode())
        return f"{VERSION}.{current}.{_b64encode(nonce + blob)}"

    def open(self, sealed: str, context: str) -> str:
        parsed = parse(sealed)
        cipher = self._refresh()[0].get(parsed.key_id)
        if cipher is None:
            raise PersonalDataError(f"data key {parsed.key_id} is not in the key ring")
        try:
            plain = cipher.decrypt(parsed.blob[:12], parsed.blob[12:], context.encode())
        except InvalidTag:
            what = context.split(":")[0]
            raise PersonalDataError(f"a sealed value of {what} does not open") from None
        return plain.decode()

    # Bytes (a material's file, idp.identity.materials): ``v1.<key id>.`` then, in binary,
    # nonce (12 bytes) || ciphertext || tag; the same keys and associated data as ``seal``.
    def seal_bytes(self, value: bytes, context: str) -> bytes:
        keys, current = self._refresh()
        nonce = os.urandom(12)
        blob = keys[current].encrypt(nonce, value, context.encode())
        return f"{VERSION}.{current}.".encode() + nonce + blob

    def open_bytes(self, sealed: bytes, context: str) -> bytes:
        kid = sealed_bytes_key_id(sealed)
        cipher = self._refresh()[0].get(kid)
        if cipher is None:
            raise PersonalDataError(f"data key {kid} is not in the key ring")
        blob = sealed[len(VERSION) + len(kid) + 2 :]
        try:
            return cipher.decrypt(blob[:12], blob[12:], context.encode())
        except InvalidTag:
            what = context.split(":")[0]
            raise PersonalDataError(f"a sealed file of {what} does not open") from None

    def reseal_bytes(self, sealed: bytes, context: str) -> bytes | None:
        """The bytes sealed under the current key, or None when they already are."""
        if sealed_bytes_key_id(sealed) == self._refresh()[1]:
            return None
        return self.seal_bytes(self.open_bytes(sealed, context), context)

    def open_optional(self, sealed: str | None, context: str) -> str | None:
        return None if sealed is None else self.open(sealed, context)

    def reseal(self, sealed: str, context: str) -> str | None:
        """The value sealed under the current key, or None when it already is."""
        if parse(sealed).key_id == self._refresh()[1]:
            return None
        return self.seal(self.open(sealed, context), context)

    def index(self, kind: str, value: str) -> str:
        """The blind index of a normalised value: equal values of one kind give equal indexes."""
        message = kind.encode() + b"\x00" + value.encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

    def keyed_hash(self, kind: str, value: str) -> str:
        """A keyed one-way hash for evidence (bank card numbers): the index function, named."""
        return self.index(f"evidence:{kind}", value)

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def from_settings(cls, data_key: str, index_key: str, keys_dir: Path) -> PersonalData:
        if data_key:
            keys = [_decode_key(k, "IDP_DATA_KEY") for k in data_key.split(",") if k.strip()]
            if not keys:
                raise PersonalDataError("IDP_DATA_KEY holds no key")
            ring = {key_id(k): k for k in keys}
            return cls(ring, key_id(keys[0]), _decode_key(index_key, "IDP_DATA_INDEX_KEY"))
        return cls.from_file(keys_dir / KEY_RING_FILE, create=True)

    @classmethod
    def from_file(cls, path: Path, *, create: bool = False) -> PersonalData:
        if not path.exists():
            if not create:
                raise PersonalDataError(f"{path} does not exist")
            _write_ring(path, _new_ring())
        try:
            mtime = path.stat().st_mtime_ns
            data = json.loads(path.read_text())
            ring = {entry["id"]: _decode_key(entry["key"], str(path)) for entry in data["keys"]}
            index_key = _decode_key(data["index_key"], str(path))
            return cls(ring, data["current"], index_key, ring_file=path, ring_mtime=mtime)
        except (ValueError, KeyError, TypeError) as exc:
            raise PersonalDataError(f"{path} is not a valid data key ring: {exc}") from None


def _new_ring() -> dict[str, object]:
    key = secrets.token_bytes(KEY_BYTES)
    return {
        "current": key_id(key),
        "keys": [{"id": key_id(key), "key": _b64encode(key)}],
        "index_key": _b64encode(secrets.token_bytes(KEY_BYTES)),
    }


def _write_ring(path: Path, data: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.replace(temporary, path)


def add_key_to_file(keys_dir: Path) -> str:
    """Add a new data key to the key ring file and make it current; returns its id."""
    path = keys_dir / KEY_RING_FILE
    PersonalData.from_file(path, create=True)  # validates what is there
    data = json.loads(path.read_text())
    key = secrets.token_bytes(KEY_BYTES)
    data["keys"].insert(0, {"id": key_id(key), "key": _b64encode(key)})
    data["current"] = key_id(key)
    _write_ring(path, data)
    return key_id(key)
