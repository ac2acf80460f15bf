"""Layer 2: the persistent store - every record encrypted at rest.

:class:`SQLiteStore` (the same interface as :class:`~kms_teach._store.base.MemoryStore`)
persists to ``DIR/kms.sqlite3``. Every row is encrypted:

  - Each record (a KMS key with its metadata, an alias, the clock) is
    serialised to JSON and sealed with AES-256-GCM under a *record key*; the
    row's name is an HMAC of the record's identity, so even key IDs and alias
    names are not readable in the file.
  - Inside a KMS key's record, each backing key's material is wrapped again,
    on its own, under a *key-material wrapping key* and bound to the key's ARN
    and key material ID, so material cannot be moved from one key to another.
  - Both keys are derived from a 256-bit *root key* that is kept apart from the
    database, in ``DIR/hsm/root-key`` (file mode 0600). It plays the part of
    the HSMs in AWS: without it the database is opaque bytes.

  Every operation that changes state commits in a single SQLite transaction
  (WAL journal, ``synchronous=FULL``): a crash leaves either the whole change
  or none of it.

Fidelity: in AWS, key material is only ever in plaintext inside FIPS 140-2
Level 2 validated HSMs; here it is in plaintext in the simulator's memory
while it runs, and encrypted on disk.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Iterable

from .._crypto import CryptoError, RandomSource, derive_key, unwrap_secret, wrap_secret
from .._errors import StoreError
from .._model import Alias, BackingKey, KmsKey
from .base import Changes

__all__ = ["SQLiteStore"]


class SQLiteStore:
    """An encrypted, transactional store in a directory."""

    persistent = True
    DB_NAME = "kms.sqlite3"
    ROOT_KEY = Path("hsm") / "root-key"

    def __init__(self, path: str | os.PathLike, random: RandomSource):
        self.path = Path(path)
        self._random = random
        self._lock = threading.Lock()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            root = self._root_key()
        except OSError as exc:
            raise StoreError(f"cannot open the store in {self.path}: {exc}") from None
        self._record_key = derive_key(root, b"kms_teach store", b"record encryption key")
        self._name_key = derive_key(root, b"kms_teach store", b"record name key")
        self._material_key = derive_key(root, b"kms_teach store", b"key material wrapping key")
        try:
            self._db = sqlite3.connect(self.path / self.DB_NAME, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("CREATE TABLE IF NOT EXISTS records (name BLOB PRIMARY KEY, kind TEXT NOT NULL, sealed BLOB NOT NULL)")
            # Blobs (S3 object parts): sealed like records, but never read when the store opens.
            self._db.execute("CREATE TABLE IF NOT EXISTS blobs (name BLOB PRIMARY KEY, sealed BLOB NOT NULL)")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path / self.DB_NAME} is not a kms_teach store: {exc}") from None

    # -- the root key ---------------------------------------------------------

    def _root_key(self) -> bytes:
        key_path = self.path / self.ROOT_KEY
        if key_path.exists():
            data = key_path.read_bytes()
            if len(data) != 32:
                raise StoreError(f"{key_path} is damaged: a root key is 32 bytes")
            return data
        key_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The root key always comes from the operating system, even for a seeded
        # Cloud: it protects the store, not the lesson.
        data = os.urandom(32)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return data

    # -- sealing ----------------------------------------------------------------

    def _name(self, kind: str, ident: Iterable[str]) -> bytes:
        return hmac.digest(self._name_key, "\x00".join((kind, *ident)).encode("utf-8"), "sha256")

    def _seal(self, kind: str, name: bytes, record: dict) -> bytes:
        plaintext = json.dumps(record, separators=(",", ":")).encode("utf-8")
        return wrap_secret(self._record_key, plaintext, kind.encode() + name, self._random)

    def _unseal(self, kind: str, name: bytes, sealed: bytes) -> dict:
        try:
            return json.loads(unwrap_secret(self._record_key, sealed, kind.encode() + name))
        except CryptoError:
            raise StoreError(
                f"a {kind} record in {self.path / self.DB_NAME} cannot be decrypted with this root key"
            ) from None

    def _wrap_material(self, key: KmsKey, bk: BackingKey) -> str:
        aad = f"{key.arn}|{bk.key_material_id}".encode()
        return base64.b64encode(wrap_secret(self._material_key, bk.material, aad, self._random)).decode()

    def _unwrap_material(self, key: KmsKey, bk: BackingKey, wrapped: str) -> bytes:
        aad = f"{key.arn}|{bk.key_material_id}".encode()
        try:
            return unwrap_secret(self._material_key, base64.b64decode(wrapped), aad)
        except CryptoError:
            raise StoreError(f"the key material of {key.arn} cannot be unwrapped") from None

    # -- the interface ----------------------------------------------------------

    def load(self) -> tuple[list[KmsKey], list[Alias], dict]:
        keys, aliases, meta = [], [], {}
        with self._lock:
            rows = self._db.execute("SELECT name, kind, sealed FROM records").fetchall()
        for name, kind, sealed in rows:
            record = self._unseal(kind, name, sealed)
            if kind == KmsKey.KIND:
                keys.append(KmsKey.from_record(record, self._unwrap_material))
            elif kind == Alias.KIND:
                aliases.append(Alias.from_record(record))
            elif kind == "meta":
                meta[record["name"]] = record["value"]
        return keys, aliases, meta

    _KMS_KINDS = (KmsKey.KIND, Alias.KIND, "meta")

    def load_records(self) -> dict[str, list[dict]]:
        """Every record of the other services, by kind."""
        out: dict[str, list[dict]] = {}
        with self._lock:
            rows = self._db.execute(
                "SELECT name, kind, sealed FROM records WHERE kind NOT IN (?, ?, ?)", self._KMS_KINDS
            ).fetchall()
        for name, kind, sealed in rows:
            out.setdefault(kind, []).append(self._unseal(kind, name, sealed))
        return out

    def commit(self, changes: Changes) -> None:
        rows = []
        key_kind, alias_kind = KmsKey.KIND, Alias.KIND
        for ident, key in changes.keys.items():
            name = self._name(key_kind, ident)
            rows.append(("put", name, key_kind, self._seal(key_kind, name, key.to_record(self._wrap_material))))
        for ident in changes.deleted_keys:
            rows.append(("del", self._name(key_kind, ident), key_kind, None))
        for ident, alias in changes.aliases.items():
            name = self._name(alias_kind, ident)
            rows.append(("put", name, alias_kind, self._seal(alias_kind, name, alias.to_record())))
        for ident in changes.deleted_aliases:
            rows.append(("del", self._name(alias_kind, ident), alias_kind, None))
        for (kind, ident), record in changes.records.items():
            name = self._name(kind, ident)
            rows.append(("put", name, kind, self._seal(kind, name, record.to_record())))
        for kind, ident in changes.deleted_records:
            rows.append(("del", self._name(kind, ident), kind, None))
        for (kind, ident), data in changes.blobs.items():
            name = self._name("blob:" + kind, ident)
            rows.append(("blob", name, kind, wrap_secret(self._record_key, data, b"blob:" + kind.encode() + name,
                                                         self._random)))
        for kind, ident in changes.deleted_blobs:
            rows.append(("delblob", self._name("blob:" + kind, ident), kind, None))
        for mname, value in changes.meta.items():
            name = self._name("meta", (mname,))
            rows.append(("put", name, "meta", self._seal("meta", name, {"name": mname, "value": value})))
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for op, name, kind, sealed in rows:
                    if op == "put":
                        self._db.execute(
                            "INSERT OR REPLACE INTO records (name, kind, sealed) VALUES (?, ?, ?)", (name, kind, sealed)
                        )
                    elif op == "blob":
                        self._db.execute("INSERT OR REPLACE INTO blobs (name, sealed) VALUES (?, ?)", (name, sealed))
                    elif op == "delblob":
                        self._db.execute("DELETE FROM blobs WHERE name = ?", (name,))
                    else:
                        self._db.execute("DELETE FROM records WHERE name = ?", (name,))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def read_blob(self, kind: str, ident: tuple) -> bytes | None:
        """The blob ``(kind, ident)``, or None if there is none."""
        name = self._name("blob:" + kind, ident)
        with self._lock:
            row = self._db.execute("SELECT sealed FROM blobs WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        try:
            return unwrap_secret(self._record_key, row[0], b"blob:" + kind.encode() + name)
        except CryptoError:
            raise StoreError(f"a {kind} blob in {self.path / self.DB_NAME} cannot be decrypted with this root key") \
                from None

    def next_generation(self) -> int:
        """Count one more opening of this store, atomically across processes."""
        name = self._name("meta", ("generation",))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT sealed FROM records WHERE name = ?", (name,)).fetchone()
                generation = (self._unseal("meta", name, row[0])["value"] if row else 0) + 1
                sealed = self._seal("meta", name, {"name": "generation", "value": generation})
                self._db.execute("INSERT OR REPLACE INTO records (name, kind, sealed) VALUES (?, 'meta', ?)", (name, sealed))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return generation

    def close(self) -> None:
        with self._lock:
            self._db.close()
