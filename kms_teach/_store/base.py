"""Layer 2: what every store shares - the record convention, the changes of one operation, the memory store.

The record convention: what a service keeps is a dataclass (a :class:`Record`)
with a ``KIND`` (which kind of record), an ``ident`` (its identity within the
kind), ``to_record()`` (the JSON-able dict the store seals) and a classmethod
``from_record(dict)`` (reading one back). A service collects what one
operation changed in a :class:`Changes` and hands it to its store's
``commit`` in one piece: written together, or not at all.
:class:`MemoryStore` keeps nothing beyond the process (the default);
:class:`~kms_teach._store.sqlite.SQLiteStore` persists, encrypted.

KMS keys (:class:`~kms_teach._model.KmsKey`) follow the convention too, with
one addition: their key material is wrapped by the store on its own, so
``to_record`` and ``from_record`` take the store's wrapping functions.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, ClassVar, Protocol

from .._model import Alias, KmsKey

__all__ = ["Record", "Changes", "MemoryStore"]


class Record(Protocol):
    """A record a service keeps (the convention above)."""

    KIND: ClassVar[str]

    @property
    def ident(self) -> tuple: ...

    def to_record(self) -> dict[str, Any]: ...


class Changes:
    """The records one operation changed, written together or not at all."""

    __slots__ = ("keys", "deleted_keys", "aliases", "deleted_aliases", "meta", "records", "deleted_records",
                 "blobs", "deleted_blobs")

    def __init__(self):
        self.keys: dict[tuple, KmsKey] = {}
        self.deleted_keys: set[tuple] = set()
        self.aliases: dict[tuple, Alias] = {}
        self.deleted_aliases: set[tuple] = set()
        self.meta: dict[str, object] = {}
        # Any other service's records (IAM users, S3 objects ...): (kind, identity) -> Record
        self.records: dict[tuple[str, tuple], Record] = {}
        self.deleted_records: set[tuple[str, tuple]] = set()
        # Large opaque values kept apart from the records (S3 object parts, already encrypted):
        # never loaded when the store opens, read back one at a time (:meth:`read_blob` of a store).
        self.blobs: dict[tuple[str, tuple], bytes] = {}
        self.deleted_blobs: set[tuple[str, tuple]] = set()

    def __bool__(self) -> bool:
        return bool(self.keys or self.deleted_keys or self.aliases or self.deleted_aliases or self.meta
                    or self.records or self.deleted_records or self.blobs or self.deleted_blobs)

    def put_blob(self, kind: str, ident: tuple, data: bytes) -> None:
        """Store ``data`` as the blob ``(kind, ident)`` (written when the changes commit)."""
        self.deleted_blobs.discard((kind, ident))
        self.blobs[(kind, ident)] = data

    def delete_blob(self, kind: str, ident: tuple) -> None:
        self.blobs.pop((kind, ident), None)
        self.deleted_blobs.add((kind, ident))

    def put_record(self, record: Record) -> None:
        """Store a service's ``record`` (written with its ``to_record()`` when the changes commit)."""
        key = (record.KIND, record.ident)
        self.deleted_records.discard(key)
        self.records[key] = record

    def delete_record(self, record: Record) -> None:
        key = (record.KIND, record.ident)
        self.records.pop(key, None)
        self.deleted_records.add(key)

    def put_key(self, key: KmsKey) -> None:
        self.deleted_keys.discard(key.ident)
        self.keys[key.ident] = key

    def delete_key(self, key: KmsKey) -> None:
        self.keys.pop(key.ident, None)
        self.deleted_keys.add(key.ident)

    def put_alias(self, alias: Alias) -> None:
        self.deleted_aliases.discard(alias.ident)
        self.aliases[alias.ident] = alias

    def delete_alias(self, alias: Alias) -> None:
        self.aliases.pop(alias.ident, None)
        self.deleted_aliases.add(alias.ident)


class MemoryStore:
    """Keeps nothing beyond the process: the in-memory model is the only copy.

    Blobs (S3 object parts) are the exception to "in memory": they go to a private
    temporary SQLite database (deleted when it closes), so an object of any size
    costs the process a bounded amount of memory, as with the persistent store.
    """

    path = None
    persistent = False

    def __init__(self):
        self._blob_db = None
        self._blob_lock = threading.Lock()

    def _blobs(self):
        if self._blob_db is None:
            # "" opens a temporary on-disk database: pages beyond its small cache live in a file.
            self._blob_db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
            self._blob_db.execute("CREATE TABLE blobs (kind TEXT NOT NULL, ident TEXT NOT NULL, data BLOB NOT NULL,"
                                  " PRIMARY KEY (kind, ident))")
        return self._blob_db

    def read_blob(self, kind: str, ident: tuple) -> bytes | None:
        with self._blob_lock:
            if self._blob_db is None:
                return None
            row = self._blob_db.execute("SELECT data FROM blobs WHERE kind = ? AND ident = ?",
                                        (kind, "\x00".join(ident))).fetchone()
        return bytes(row[0]) if row else None

    def load(self) -> tuple[list[KmsKey], list[Alias], dict]:
        return [], [], {}

    def load_records(self) -> dict[str, list[dict]]:
        return {}

    def commit(self, changes: Changes) -> None:
        if not (changes.blobs or changes.deleted_blobs):
            return
        with self._blob_lock:
            db = self._blobs()
            db.execute("BEGIN")
            try:
                for kind, ident in changes.deleted_blobs:
                    db.execute("DELETE FROM blobs WHERE kind = ? AND ident = ?", (kind, "\x00".join(ident)))
                for (kind, ident), data in changes.blobs.items():
                    db.execute("INSERT OR REPLACE INTO blobs (kind, ident, data) VALUES (?, ?, ?)",
                               (kind, "\x00".join(ident), data))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._blob_lock:
            if self._blob_db is not None:
                self._blob_db.close()
                self._blob_db = None
