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

    __slots__ = ("keys", "deleted_keys", "aliases", "deleted_aliases", "meta", "records", "deleted_records")

    def __init__(self):
        self.keys: dict[tuple, KmsKey] = {}
        self.deleted_keys: set[tuple] = set()
        self.aliases: dict[tuple, Alias] = {}
        self.deleted_aliases: set[tuple] = set()
        self.meta: dict[str, object] = {}
        # Any other service's records (IAM users, S3 objects ...): (kind, identity) -> Record
        self.records: dict[tuple[str, tuple], Record] = {}
        self.deleted_records: set[tuple[str, tuple]] = set()

    def __bool__(self) -> bool:
        return bool(self.keys or self.deleted_keys or self.aliases or self.deleted_aliases or self.meta
                    or self.records or self.deleted_records)

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
    """Keeps nothing: the in-memory model is the only copy."""

    path = None
    persistent = False

    def load(self) -> tuple[list[KmsKey], list[Alias], dict]:
        return [], [], {}

    def load_records(self) -> dict[str, list[dict]]:
        return {}

    def commit(self, changes: Changes) -> None:
        pass

    def close(self) -> None:
        pass
