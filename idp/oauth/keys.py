"""Signing keys: generation, the published key set (RFC 7517) and rotation.

Each key is one file ``<kid>.json`` in the keys folder (mode 0600, folder 0700, ignored by git),
holding the private JWK and its state:

- ``next``: published in JWKS ahead of use, so relying parties already hold it when it signs;
- ``active``: the one key that signs, per algorithm (exactly one at a time);
- ``retired``: no longer signs; published until every token it signed has expired.

``rotate`` moves next -> active -> retired and creates a new next key. Running processes notice
the change at their next use of the keys: each use compares the folder's modification time (one
``stat``, no read) with what was loaded, and every write replaces a file in the folder, which
changes it. ``reload_interval`` (seconds) can space the checks out on a slow shared file system.
The published key set is kept as ready JSON bytes with its ETag (RFC 9110 8.8.3), so the JWKS
endpoint does no work per request.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

# One key of its own per algorithm, rotated alike: RS256 and PS256 (RSA 2048, RFC 7518 3.3 and
# 3.5; the FAPI 2.0 profile signs with PS256 or ES256), ES256 (EC P-256).
SUPPORTED_ALGORITHMS = ("RS256", "ES256", "PS256")
RSA_ALGORITHMS = ("RS256", "PS256")
DEFAULT_ALGORITHM = "RS256"


@dataclass
class StoredKey:
    kid: str
    alg: str
    status: str
    created_at: int
    activated_at: int | None
    retired_at: int | None
    jwk: dict[str, Any]

    def public_jwk(self) -> dict[str, Any]:
        private = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
        data = {k: v for k, v in self.jwk.items() if k not in private}
        data.update(kid=self.kid, alg=self.alg, use="sig")
        return data


def _generate(alg: str) -> dict[str, Any]:
    key: RSAKey | ECKey
    if alg in RSA_ALGORITHMS:
        key = RSAKey.generate_key(2048, private=True)
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", private=True)
    else:
        raise ValueError(f"unsupported algorithm {alg}")
    return dict(key.as_dict(private=True))


class KeyRing:
    def __init__(self, keys_dir: Path, *, retired_grace: int, reload_interval: int = 0) -> None:
        self.keys_dir = keys_dir
        self.retired_grace = retired_grace
        self.reload_interval = reload_interval
        self._keys: list[StoredKey] = []
        self._signing: dict[str, tuple[str, Any]] = {}
        self._jwks: dict[str, Any] = {"keys": []}
        self._jwks_document: tuple[bytes, str] = (b'{"keys":[]}', "")
        self._verify_set: KeySet | None = None
        self._loaded_mtime = -1
        self._checked_at = 0.0

    # -- files -------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.keys_dir.stat().st_mode & 0o077:
            self.keys_dir.chmod(0o700)  # a folder made by someone else (git, mkdir) is tightened
        gitignore = self.keys_dir / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("# Private signing keys: never commit them.\n*\n!.gitignore\n")
        with open(self.keys_dir / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_all(self) -> list[StoredKey]:
        keys = []
        for path in sorted(self.keys_dir.glob("*.json")):
            data = json.loads(path.read_text())
            keys.append(StoredKey(**data))
        return keys

    def _write(self, key: StoredKey) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.keys_dir, prefix=".tmp-", suffix=".json")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(key.__dict__, fh, indent=2)
            os.replace(tmp, self.keys_dir / f"{key.kid}.json")
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _new_key(self, alg: str, status: str) -> StoredKey:
        now = int(time.time())
        key = StoredKey(
            kid=f"{alg.lower()}-{time.strftime('%Y%m%d', time.gmtime(now))}-{secrets.token_hex(4)}",
            alg=alg,
            status=status,
            created_at=now,
            activated_at=now if status == "active" else None,
            retired_at=None,
            jwk=_generate(alg),
        )
        self._write(key)
        return key

    # -- lifecycle ---------------------------------------------------------------------------
    def ensure(self) -> None:
        """Create the folder and, per algorithm, an active and a next key where missing."""
        with self._locked():
            keys = self._read_all()
            for alg in SUPPORTED_ALGORITHMS:
                mine = [k for k in keys if k.alg == alg]
                if not any(k.status == "active" for k in mine):
                    upcoming = [k for k in mine if k.status == "next"]
                    if upcoming:
                        upcoming[0].status = "active"
                        upcoming[0].activated_at = int(time.time())
                        self._write(upcoming[0])
                    else:
                        self._new_key(alg, "active")
                if not any(k.status == "next" for k in self._read_all() if k.alg == alg):
                    self._new_key(alg, "next")
        self._load(force=True)

    def rotate(self, alg: str | None = None) -> list[StoredKey]:
        """next -> active, active -> retired, new next; prune retired keys past their grace."""
        algs = [alg] if alg else list(SUPPORTED_ALGORITHMS)
        for name in algs:
            if name not in SUPPORTED_ALGORITHMS:
                raise ValueError(f"unsupported algorithm {name}")
        now = int(time.time())
        with self._locked():
            keys = self._read_all()
            for name in algs:
                mine = [k for k in keys if k.alg == name]
                for key in mine:
                    if key.status == "active":
                        key.status, key.retired_at = "retired", now
                        self._write(key)
                upcoming = [k for k in mine if k.status == "next"]
                if upcoming:
                    upcoming[0].status, upcoming[0].activated_at = "active", now
                    self._write(upcoming[0])
                else:
                    self._new_key(name, "active")
                self._new_key(name, "next")
            for key in self._read_all():
                if key.status == "retired" and self._expired(key, now):
                    (self.keys_dir / f"{key.kid}.json").unlink(missing_ok=True)
        self._load(force=True)
        return self.list()

    def _expired(self, key: StoredKey, now: float) -> bool:
        return key.retired_at is not None and key.retired_at + self.retired_grace < now

    def list(self) -> list[StoredKey]:
        self._load()
        return list(self._keys)

    # -- cached views ------------------------------------------------------------------------
    def _load(self, force: bool = False) -> None:
        if not force and self.reload_interval:
            now = time.monotonic()
            if now - self._checked_at < self.reload_interval:
                return
            self._checked_at = now
        try:
            mtime = self.keys_dir.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = 0
        if not force and mtime == self._loaded_mtime:
            return
        keys = self._read_all() if self.keys_dir.exists() else []
        wall = time.time()
        published = [
            k for k in keys if k.status in {"next", "active"} or not self._expired(k, wall)
        ]
        signing = {}
        for key in keys:
            if key.status == "active":
                imported = (RSAKey if key.alg in RSA_ALGORITHMS else ECKey).import_key(key.jwk)
                signing[key.alg] = (key.kid, imported)
        self._keys = keys
        self._signing = signing
        self._jwks = {"keys": [k.public_jwk() for k in published]}
        body = json.dumps(self._jwks, separators=(",", ":"), sort_keys=True).encode()
        self._jwks_document = (body, hashlib.sha256(body).hexdigest()[:32])
        self._verify_set = KeySet.import_key_set(cast(Any, self._jwks)) if published else None
        self._loaded_mtime = mtime

    def jwks(self) -> dict[str, Any]:
        self._load()
        return self._jwks

    def jwks_document(self) -> tuple[bytes, str]:
        """The published key set as JSON bytes, and its entity tag."""
        self._load()
        return self._jwks_document

    def sign(self, claims: dict[str, Any], alg: str = DEFAULT_ALGORITHM, typ: str = "JWT") -> str:
        self._load()
        if alg not in self._signing:
            raise RuntimeError(f"no active {alg} signing key: run `idp keys rotate`")
        kid, key = self._signing[alg]
        return jwt.encode({"alg": alg, "kid": kid, "typ": typ}, claims, key, algorithms=[alg])

    def verify(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Verify a JWT we signed (any published key; ``alg: none`` and HMAC refused).

        Expiry is not checked here: callers decide (an expired id_token_hint is acceptable).
        Raises ``ValueError`` when the token is malformed or the signature does not verify.
        """
        self._load()
        if self._verify_set is None:
            raise ValueError("no keys")
        try:
            decoded = jwt.decode(token, self._verify_set, algorithms=list(SUPPORTED_ALGORITHMS))
        except (JoseError, ValueError, TypeError) as exc:
            raise ValueError(str(exc)) from None
        return dict(decoded.header), dict(decoded.claims)
