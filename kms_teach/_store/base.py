"""Layer 2: what every store shares - the changes of one operation, and the store that keeps nothing.

A service collects what one operation changed in a :class:`Changes` and hands
it to its store's ``commit`` in one piece: written together, or not at all.
:class:`MemoryStore` keeps nothing beyond the process (the default);
:class:`~kms_teach._store.sqlite.SQLiteStore` persists, encrypted.
"""

from __future__ import annotations

from .._model import Alias, KmsKey

__all__ = ["Changes", "MemoryStore"]


class Changes:
    """The records one operation changed, written together or not at all."""

    __slots__ = ("keys", "deleted_keys", "aliases", "deleted_aliases", "meta", "records", "deleted_records")

    def __init__(self):
        self.keys: dict[tuple, KmsKey] = {}
        self.deleted_keys: set[tuple] = set()
        self.aliases: dict[tuple, Alias] = {}
        self.deleted_aliases: set[tuple] = set()
        self.meta: dict[str, object] = {}
        # Any other service's records (IAM users, roles, ...): (kind, identity) -> JSON-able dict
        self.records: dict[tuple[str, tuple], dict] = {}
        self.deleted_records: set[tuple[str, tuple]] = set()

    def __bool__(self) -> bool:
        return bool(self.keys or self.deleted_keys or self.aliases or self.deleted_aliases or self.meta
                    or self.records or self.deleted_records)

    def put_record(self, kind: str, ident: tuple, record: dict) -> None:
        """Store a JSON-able ``record`` of another service (its identity must be inside it too)."""
        self.deleted_records.discard((kind, ident))
        self.records[(kind, ident)] = record

    def delete_record(self, kind: str, ident: tuple) -> None:
        self.records.pop((kind, ident), None)
        self.deleted_records.add((kind, ident))

    def put_key(self, key: KmsKey) -> None:
        ident = (key.account_id, key.region, key.key_id)
        self.deleted_keys.discard(ident)
        self.keys[ident] = key

    def delete_key(self, key: KmsKey) -> None:
        ident = (key.account_id, key.region, key.key_id)
        self.keys.pop(ident, None)
        self.deleted_keys.add(ident)

    def put_alias(self, alias: Alias) -> None:
        ident = (alias.account_id, alias.region, alias.alias_name)
        self.deleted_aliases.discard(ident)
        self.aliases[ident] = alias

    def delete_alias(self, alias: Alias) -> None:
        ident = (alias.account_id, alias.region, alias.alias_name)
        self.aliases.pop(ident, None)
        self.deleted_aliases.add(ident)


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
