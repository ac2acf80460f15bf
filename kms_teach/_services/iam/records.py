"""Layer 3: the records IAM and STS keep - users, roles, managed policies, access keys, sessions, accounts.

Each is a dataclass with the store's convention (``kms_teach._store.base``):
``KIND`` names its kind of record, ``ident`` its identity within the kind,
``to_record()`` is the JSON-able dict the store seals and ``from_record()``
reads one back. The dicts keep exactly the layout the store has always held
(dates as ISO 8601 text), so a store written before these classes existed
loads unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["User", "Role", "ManagedPolicy", "AccessKey", "Session", "Account", "RECORD_TYPES"]


def _iso(when: _dt.datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _when(text: str | None) -> _dt.datetime | None:
    return _dt.datetime.fromisoformat(text) if text else None


class _Record:
    """What every IAM record shares: a plain dict out, the same dict in."""

    __slots__ = ()
    KIND: ClassVar[str]
    _DATES: ClassVar[tuple[str, ...]] = ()

    def to_record(self) -> dict[str, Any]:
        rec = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in self._DATES:
            rec[name] = _iso(rec[name])
        return rec

    @classmethod
    def from_record(cls, rec: dict[str, Any]):
        values = {}
        for f in dataclasses.fields(cls):
            if f.name in rec:
                value = rec[f.name]
                values[f.name] = _when(value) if f.name in cls._DATES else value
        return cls(**values)


def _tags() -> list:
    return field(default_factory=list)


@dataclass(slots=True)
class User(_Record):
    KIND: ClassVar[str] = "iam-user"
    _DATES: ClassVar[tuple[str, ...]] = ("create_date",)

    account_id: str
    user_name: str
    path: str
    user_id: str
    create_date: _dt.datetime
    tags: list[list[str]] = _tags()  # [key, value] pairs, in the order given
    inline: dict[str, str] = field(default_factory=dict)  # policy name -> document
    attached: list[str] = field(default_factory=list)  # managed policy ARNs

    @property
    def ident(self) -> tuple:
        return (self.account_id, self.user_name.lower())  # names are unique without regard to case

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:user{self.path}{self.user_name}"


@dataclass(slots=True)
class Role(_Record):
    KIND: ClassVar[str] = "iam-role"
    _DATES: ClassVar[tuple[str, ...]] = ("create_date", "last_used_date")

    account_id: str
    role_name: str
    path: str
    role_id: str
    create_date: _dt.datetime
    assume_role_policy: str
    description: str | None = None
    max_session_duration: int = 3600
    tags: list[list[str]] = _tags()
    inline: dict[str, str] = field(default_factory=dict)
    attached: list[str] = field(default_factory=list)
    last_used_date: _dt.datetime | None = None
    last_used_region: str | None = None
    # The unique IDs of the users and roles the trust policy named when it was stored (IAM User Guide,
    # "IAM identifiers": a recreated principal of the same name is not trusted).
    trust_principals: dict[str, str] = field(default_factory=dict)

    @property
    def ident(self) -> tuple:
        return (self.account_id, self.role_name.lower())

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role{self.path}{self.role_name}"


@dataclass(slots=True)
class ManagedPolicy(_Record):
    KIND: ClassVar[str] = "iam-policy"
    _DATES: ClassVar[tuple[str, ...]] = ("create_date", "update_date")

    account_id: str  # "aws" for an AWS managed policy
    policy_name: str
    path: str
    policy_id: str
    create_date: _dt.datetime
    update_date: _dt.datetime
    document: str
    description: str | None = None
    tags: list[list[str]] = _tags()

    @property
    def ident(self) -> tuple:
        return (self.account_id, self.policy_name.lower())

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:policy{self.path}{self.policy_name}"


@dataclass(slots=True)
class AccessKey(_Record):
    KIND: ClassVar[str] = "iam-access-key"
    _DATES: ClassVar[tuple[str, ...]] = ("create_date",)

    account_id: str
    user_name: str | None  # None: the account's root user
    access_key_id: str
    secret: str
    status: str
    create_date: _dt.datetime

    @property
    def ident(self) -> tuple:
        return (self.access_key_id,)


@dataclass(slots=True)
class Session(_Record):
    """An AssumeRole session: temporary credentials for a role."""

    KIND: ClassVar[str] = "sts-session"
    _DATES: ClassVar[tuple[str, ...]] = ("expiration",)

    account_id: str
    role_name: str
    role_arn: str
    role_id: str
    session_name: str
    access_key_id: str
    secret: str
    session_token: str
    expiration: _dt.datetime
    source_identity: str | None = None
    caller: str | None = None

    @property
    def ident(self) -> tuple:
        return (self.access_key_id,)

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.role_name}/{self.session_name}"


@dataclass(slots=True)
class Account(_Record):
    """An account: it exists from the first time someone acts in it."""

    KIND: ClassVar[str] = "iam-account"
    _DATES: ClassVar[tuple[str, ...]] = ("create_date",)

    account_id: str
    create_date: _dt.datetime

    @property
    def ident(self) -> tuple:
        return (self.account_id,)


#: Every kind of IAM record, in the order IAM loads them.
RECORD_TYPES = (User, Role, ManagedPolicy, AccessKey, Session, Account)
