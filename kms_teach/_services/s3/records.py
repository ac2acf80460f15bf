"""Layer 3: the records S3 keeps - buckets, stored objects, S3 owned keys.

Each is a dataclass with the store's convention (``kms_teach._store.base``):
``KIND``, ``ident``, ``to_record()`` (the JSON-able dict the store seals:
dates as ISO 8601 text, bytes as base64) and ``from_record()``. The layout of
the dicts is the one the store has always held.
"""

from __future__ import annotations

import base64
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ... import _model as m

__all__ = ["Bucket", "StoredObject", "OwnedKey"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _iso(value: _dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(slots=True)
class Bucket:
    KIND: ClassVar[str] = "s3-bucket"

    name: str
    account_id: str
    region: str
    created: _dt.datetime
    encryption: dict | None = None  # PutBucketEncryption's configuration (snake_case), None: SSE-S3 default
    policy: str | None = None  # the bucket policy (PutBucketPolicy's document, as given), None: no policy
    policy_principals: dict = field(default_factory=dict)  # its users' and roles' unique IDs (see KmsKey's)

    @property
    def ident(self) -> tuple:
        return (self.name,)

    @property
    def arn(self) -> str:
        return f"arn:{m.partition(self.region)}:s3:::{self.name}"

    def to_record(self) -> dict:
        rec = {"name": self.name, "account_id": self.account_id, "region": self.region,
               "created": _iso(self.created), "encryption": self.encryption}
        if self.policy is not None:
            rec["policy"] = self.policy
            rec["policy_principals"] = self.policy_principals
        return rec

    @classmethod
    def from_record(cls, rec: dict) -> "Bucket":
        return cls(rec["name"], rec["account_id"], rec["region"], m.from_iso(rec["created"]), rec.get("encryption"),
                   rec.get("policy"), dict(rec.get("policy_principals") or {}))


@dataclass(slots=True)
class StoredObject:
    """One stored object: metadata in the clear, the data only encrypted."""

    KIND: ClassVar[str] = "s3-object"

    bucket: str
    key: str
    size: int
    etag: str  # with its quotes
    last_modified: _dt.datetime
    content_type: str
    sse: str  # "aws:kms" or "AES256"
    ciphertext: bytes  # iv | AES-256-GCM(data key, body) | tag (kms_teach._crypto.objects)
    data_key: bytes  # the encrypted data key: a KMS ciphertext blob, or wrapped under an S3 owned key
    kms_key_arn: str | None = None
    encryption_context: dict[str, str] = field(default_factory=dict)  # what KMS bound the data key to
    context_given: bool = False  # the caller sent x-amz-server-side-encryption-context
    owned_key_id: str | None = None  # SSE-S3: which S3 owned key wraps the data key
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)  # cache_control, content_encoding, expires (ISO) ...
    storage_class: str = "STANDARD"
    checksum: tuple[str, str] | None = None  # (algorithm, base64 value)
    checksum_type: str = "FULL_OBJECT"  # or COMPOSITE (a multipart object's checksum of its parts' checksums)
    # A multipart object (kms_teach._services.s3.multipart): ``ciphertext`` is empty and its data is in
    # the store's blobs, one sealed part each: [{"part_number", "size", "blob", "etag", "checksum"}, ...].
    parts: list[dict] | None = None
    upload_id: str | None = None  # the multipart upload it was made by (each part's seal is bound to it)

    @property
    def ident(self) -> tuple:
        return (self.bucket, self.key)

    def to_record(self) -> dict:
        return {
            "bucket": self.bucket, "key": self.key, "size": self.size, "etag": self.etag,
            "last_modified": _iso(self.last_modified), "content_type": self.content_type, "sse": self.sse,
            "ciphertext": _b64(self.ciphertext), "data_key": _b64(self.data_key), "kms_key_arn": self.kms_key_arn,
            "encryption_context": self.encryption_context, "context_given": self.context_given,
            "owned_key_id": self.owned_key_id, "metadata": self.metadata, "headers": self.headers,
            "storage_class": self.storage_class, "checksum": list(self.checksum) if self.checksum else None,
            "checksum_type": self.checksum_type, "parts": self.parts, "upload_id": self.upload_id,
        }

    @classmethod
    def from_record(cls, rec: dict) -> "StoredObject":
        return cls(
            rec["bucket"], rec["key"], rec["size"], rec["etag"], m.from_iso(rec["last_modified"]),
            rec["content_type"], rec["sse"], base64.b64decode(rec["ciphertext"]), base64.b64decode(rec["data_key"]),
            rec.get("kms_key_arn"), dict(rec.get("encryption_context") or {}), bool(rec.get("context_given")),
            rec.get("owned_key_id"), dict(rec.get("metadata") or {}), dict(rec.get("headers") or {}),
            rec.get("storage_class") or "STANDARD", tuple(rec["checksum"]) if rec.get("checksum") else None,
            rec.get("checksum_type") or "FULL_OBJECT", rec.get("parts"), rec.get("upload_id"),
        )


@dataclass(slots=True)
class OwnedKey:
    """An S3 owned key (an AWS owned key: not a KMS key of any account), one per Region, for SSE-S3."""

    KIND: ClassVar[str] = "s3-owned-key"

    region: str
    key_id: str
    material: bytes

    @property
    def ident(self) -> tuple:
        return (self.region,)

    def to_record(self) -> dict:
        return {"region": self.region, "key_id": self.key_id, "material": _b64(self.material)}

    @classmethod
    def from_record(cls, rec: dict) -> "OwnedKey":
        return cls(rec["region"], rec["key_id"], base64.b64decode(rec["material"]))
