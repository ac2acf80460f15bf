"""Layer 3: a simulated Amazon S3 that encrypts every object the way AWS's S3 does.

Every object is stored encrypted, with its own data key (envelope encryption):

* **SSE-KMS** (``ServerSideEncryption="aws:kms"``, or a bucket whose default
  encryption is ``aws:kms``): S3 asks KMS for a fresh data key for each object,
  *as the caller* and through S3::

      kms.GenerateDataKey(KeyId=<the key, or the AWS managed key alias/aws/s3>,
                          KeySpec=AES_256,
                          EncryptionContext={"aws:s3:arn": "arn:aws:s3:::BUCKET/KEY", ...caller's pairs})
          kms:ViaService = s3.<region>.amazonaws.com

  encrypts the body locally (AES-256-GCM) with the plaintext data key, forgets
  it, and keeps the *encrypted* data key next to the object. GetObject gives
  the encrypted data key back to ``kms.Decrypt`` (again as the caller, through
  S3), so whoever may not decrypt with the KMS key cannot read the object
  (``AccessDenied``), and every use is in the account's KMS audit trail.

* **SSE-S3** (``ServerSideEncryption="AES256"``, the default of every bucket):
  the same envelope, but the data key is wrapped under a key *owned by S3*
  (an "AWS owned key"), one per Region. It is not a KMS key in any account:
  ListKeys never shows it, and no call to it reaches anyone's audit trail.

Nothing readable is ever kept: in memory S3 holds only ciphertexts and
encrypted data keys; the store writes the same records (and the SQLite store
seals each record again under its root key).

Requests and responses are snake_case dicts (botocore's ``xform_name`` of each
member: ``SSEKMSKeyId`` is ``ssekms_key_id``, ``ETag`` is ``e_tag``); the wire
layer (:class:`~kms_teach._wire.rest_xml.RestXmlProtocol`) maps
them to and from S3's HTTP requests.

Fidelity notes
--------------
* **S3 permissions are enforced** by the one permissions engine, on every
  operation: the caller's identity policies and the bucket policy
  (PutBucketPolicy), evaluated together as AWS does (an explicit Deny wins;
  within the bucket's account either side may allow; across accounts both
  must). The root user of the bucket's account may always read, replace and
  delete its bucket policy. No ACLs, access points or Block Public Access; S3
  condition keys (``s3:prefix``, ``s3:x-amz-server-side-encryption``, ...) are
  not set, only the global ones. KMS permissions are enforced, in full, on
  every call S3 makes to KMS for the caller.
* S3 Bucket Keys, DSSE-KMS, SSE-C, versioning, object lock, tagging and copies
  (CopyObject) are not simulated: asking for them is answered ``501 NotImplemented``
  (never silently ignored). Multipart uploads are (:mod:`.multipart`).
* As in AWS, HeadObject does not call KMS (only ``ChecksumMode=ENABLED`` needs
  the data key), and ETags are the MD5 of the data only for SSE-S3 objects;
  an SSE-KMS object's ETag is opaque (here: the MD5 of its ciphertext).
* As in AWS since January 2023, a bucket without a configuration has SSE-S3
  default encryption: GetBucketEncryption returns it, and DeleteBucketEncryption
  resets to it. ``ServerSideEncryptionConfigurationNotFoundError`` therefore
  never happens for a general purpose bucket.
* S3 writes and deletes are strongly consistent and immediate, as in AWS today.
* AWS computes a CRC64NVME checksum for every upload; here a checksum is kept
  only when the client sends one (which it then validates, and returns with
  ``ChecksumMode=ENABLED``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import json
import re
import threading
from typing import Any
from urllib.parse import quote_plus

from ..._errors import (
    AWSError,
    AccessControlListNotSupported,
    AccessDenied,
    BadDigest,
    MalformedPolicy,
    MethodNotAllowed,
    NoSuchBucketPolicy,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    IllegalLocationConstraintException,
    InternalError,
    InvalidArgument,
    InvalidBucketAclWithObjectOwnership,
    InvalidBucketName,
    InvalidDigest,
    InvalidLocationConstraint,
    InvalidRange,
    InvalidRequest,
    InvalidStorageClass,
    KMSErrorInS3,
    KeyTooLongError,
    MalformedXML,
    MetadataTooLarge,
    NoSuchBucket,
    NoSuchKey,
    NotModified,
    PermanentRedirect,
    PreconditionFailed,
    S3NotImplemented,
)
from ... import _model as m
from ..._crypto import CryptoError, RandomSource, unwrap_secret, wrap_secret
from ..._crypto.checksums import checksum as object_checksum
from ..._crypto.objects import open_object, seal_object
from ..._policy.authz import Resource
from ..._policy.document import bind_principals, parse_policy, show_bound
from ..base import DATA, Call, Operation, Service, Target
from ..context import RequestContext
from ..._store import Changes, MemoryStore
from .multipart import MULTIPART_SUPPORTED, MultipartOperations
from .multipart import _S3_ACTIONS as _MULTIPART_ACTIONS
from .records import Bucket, OwnedKey, StoredObject, _b64, _iso

__all__ = ["S3", "OPERATIONS"]

#: Each operation's action, from the "Permissions" of its page in the Amazon S3 API Reference (and
#: "Actions, resources, and condition keys for Amazon S3" in the Service Authorization Reference), and
#: what it acts on: the account ("*"), the bucket, or the object (``arn:aws:s3:::bucket/key``).
_DECLARED = {
    "CreateBucket": ("s3:CreateBucket", "new bucket"),
    "DeleteBucket": ("s3:DeleteBucket", "bucket"),
    "HeadBucket": ("s3:ListBucket", "bucket"),
    "ListBuckets": ("s3:ListAllMyBuckets", "account"),
    "PutBucketEncryption": ("s3:PutEncryptionConfiguration", "bucket"),
    "GetBucketEncryption": ("s3:GetEncryptionConfiguration", "bucket"),
    "DeleteBucketEncryption": ("s3:PutEncryptionConfiguration", "bucket"),
    "PutBucketPolicy": ("s3:PutBucketPolicy", "bucket"),
    "GetBucketPolicy": ("s3:GetBucketPolicy", "bucket"),
    "DeleteBucketPolicy": ("s3:DeleteBucketPolicy", "bucket"),
    "PutObject": ("s3:PutObject", "object"),
    "GetObject": ("s3:GetObject", "object"),
    "HeadObject": ("s3:GetObject", "object"),
    "DeleteObject": ("s3:DeleteObject", "object"),
    "ListObjectsV2": ("s3:ListBucket", "bucket"),
    # Multipart upload (Amazon S3 User Guide, "Multipart upload API and permissions"): the parts of an
    # object are written with s3:PutObject; UploadPartCopy also reads its source (s3:GetObject, resolved
    # from CopySource).
    **{name: (action, "bucket" if name == "ListMultipartUploads" else "object")
       for name, action in _MULTIPART_ACTIONS.items()},
}
OPERATIONS = tuple(_DECLARED)

#: Object-level calls (and listing objects) are data events, which CloudTrail records only when a trail
#: asks for them (CloudTrail User Guide, "Logging data events"): they are not in the event history. Every
#: other operation is a management event, recorded by default. The KMS calls S3 makes for SSE-KMS objects
#: are KMS management events, in the trail as KMS records them.
DATA_EVENTS = frozenset({"PutObject", "GetObject", "HeadObject", "DeleteObject", "ListObjectsV2",
                         # ListMultipartUploads, on the bucket, is a management event.
                         "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "ListParts",
                         "CompleteMultipartUpload", "AbortMultipartUpload"})
MANAGEMENT_EVENTS = frozenset(OPERATIONS) - DATA_EVENTS
#: "The root principal in the bucket owner's account can perform the GetBucketPolicy, PutBucketPolicy,
#: and DeleteBucketPolicy API actions, even if their bucket policy explicitly denies the root principal's
#: access" (Amazon S3 API Reference, PutBucketPolicy); from another account they answer 405.
_POLICY_OPERATIONS = frozenset({"PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy"})
_MAX_BUCKET_POLICY_BYTES = 20 * 1024

# The request members each operation honours. Anything else the model allows is
# answered NotImplemented rather than silently ignored.
_SUPPORTED = {
    "CreateBucket": {"bucket", "create_bucket_configuration", "acl", "object_ownership",
                     "object_lock_enabled_for_bucket"},
    "DeleteBucket": {"bucket", "expected_bucket_owner"},
    "HeadBucket": {"bucket", "expected_bucket_owner"},
    "ListBuckets": {"max_buckets", "continuation_token", "prefix", "bucket_region"},
    "PutBucketEncryption": {"bucket", "content_md5", "checksum_algorithm", "expected_bucket_owner",
                            "server_side_encryption_configuration"},
    "GetBucketEncryption": {"bucket", "expected_bucket_owner"},
    "DeleteBucketEncryption": {"bucket", "expected_bucket_owner"},
    "PutObject": {"bucket", "key", "body", "acl", "cache_control", "content_disposition", "content_encoding",
                  "content_language", "content_length", "content_md5", "content_type", "checksum_algorithm",
                  "checksum_crc32", "checksum_crc32_c", "checksum_crc64_nvme", "checksum_sha1", "checksum_sha256",
                  "checksum_sha512", "checksum_md5", "expires", "if_match", "if_none_match", "metadata",
                  "server_side_encryption", "storage_class", "ssekms_key_id", "ssekms_encryption_context",
                  "bucket_key_enabled", "request_payer", "expected_bucket_owner"},
    "GetObject": {"bucket", "key", "part_number", "if_match", "if_modified_since", "if_none_match",
                  "if_unmodified_since", "range",
                  "response_cache_control", "response_content_disposition", "response_content_encoding",
                  "response_content_language", "response_content_type", "response_expires", "version_id",
                  "request_payer", "expected_bucket_owner", "checksum_mode", "sse_customer_algorithm",
                  "sse_customer_key", "sse_customer_key_md5"},
    "DeleteObject": {"bucket", "key", "version_id", "request_payer", "expected_bucket_owner", "if_match",
                     "bypass_governance_retention"},
    "ListObjectsV2": {"bucket", "delimiter", "encoding_type", "max_keys", "prefix", "continuation_token",
                      "fetch_owner", "start_after", "request_payer", "expected_bucket_owner",
                      "optional_object_attributes"},
    "PutBucketPolicy": {"bucket", "policy", "content_md5", "checksum_algorithm", "expected_bucket_owner"},
    "GetBucketPolicy": {"bucket", "expected_bucket_owner"},
    "DeleteBucketPolicy": {"bucket", "expected_bucket_owner"},
}
_SUPPORTED["HeadObject"] = _SUPPORTED["GetObject"]
_SUPPORTED.update(MULTIPART_SUPPORTED)

_DEFAULT_SSE = {"rules": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                           "bucket_key_enabled": False}]}
_READABLE_STORAGE_CLASSES = frozenset({"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
                                       "INTELLIGENT_TIERING", "GLACIER_IR"})
_MAX_KEY_BYTES = 1024
_MAX_METADATA_BYTES = 2048
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_RE = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

# The values of the model's enums that S3 checks itself (botocore does not).
_SSE_ALGORITHMS = ("AES256", "aws:fsx", "aws:backup", "aws:kms", "aws:kms:dsse")
_STORAGE_CLASSES = ("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER",
                    "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE", "FSX_OPENZFS", "FSX_ONTAP",
                    "AWS_BACKUP_WARM", "AWS_BACKUP_LOW_COST_WARM")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_ACRONYMS = {"sse": "SSE", "kms": "KMS", "acl": "ACL", "md5": "MD5", "mfa": "MFA", "crc32": "CRC32",
             "sha1": "SHA1", "sha256": "SHA256", "id": "Id"}


def _api_name(snake: str) -> str:
    """``ssekms_key_id`` -> ``SSEKMSKeyId`` (near enough for a message)."""
    return "".join(_ACRONYMS.get(p, p[:1].upper() + p[1:]) for p in snake.split("_"))


# S3's additional checksums: algorithm -> the request member that carries it (base64 of the digest,
# computed by kms_teach._crypto.checksums).
_CHECKSUM_MEMBERS = {
    "CRC32": "checksum_crc32", "CRC32C": "checksum_crc32_c", "CRC64NVME": "checksum_crc64_nvme",
    "SHA1": "checksum_sha1", "SHA256": "checksum_sha256", "SHA512": "checksum_sha512", "MD5": "checksum_md5",
}




def _canonical_id(account_id: str) -> str:
    """The account's S3 canonical user ID (64 hex digits)."""
    return hashlib.sha256(f"kms_teach s3 canonical user {account_id}".encode()).hexdigest()


def _http_seconds(when: _dt.datetime) -> _dt.datetime:
    return when.replace(microsecond=0)


class S3(MultipartOperations, Service):
    """The simulated Amazon Simple Storage Service of one :class:`~kms_teach.Cloud`.

    ``S3(clock=..., random=..., store=..., kms=...)``; ``s3.call(operation,
    request, ctx)`` runs one operation (snake_case dicts);
    ``RestXmlProtocol("s3", s3.call, operations=s3.operations())`` serves it on
    the wire. With ``audit=`` (the cloud's :class:`~kms_teach._services.audit.AuditLog`),
    S3's management events are recorded there, as CloudTrail records them by
    default. ``regions`` are the Regions that exist (a LocationConstraint must
    name one); without it, any name shaped like a Region.
    """

    EVENT_SOURCE = "s3.amazonaws.com"

    def __init__(self, *, clock, random: RandomSource, store=None, kms, audit=None,
                 regions: frozenset[str] | None = None, authorizer=None, principals=None):
        self.clock = clock
        # Who exists: IAM (principal_exists(arn), unique_id_of(arn)), for bucket policies' principals.
        self.principals = principals
        self.random = random
        self.store = store if store is not None else MemoryStore()
        self.kms = kms
        self._regions = regions
        self._lock = threading.RLock()
        self._init_service(audit=audit, authorizer=authorizer)
        self._buckets: dict[str, Bucket] = {}
        self._objects: dict[str, dict[str, StoredObject]] = {}
        self._sorted: dict[str, list[str]] = {}
        self._owned: dict[str, tuple[str, bytes]] = {}  # Region -> (owned key ID, key)
        self._load()

    def _load(self) -> None:
        records = self.store.load_records()
        for rec in records.get(Bucket.KIND, ()):
            bucket = Bucket.from_record(rec)
            self._buckets[bucket.name] = bucket
            self._objects.setdefault(bucket.name, {})
        for rec in records.get(StoredObject.KIND, ()):
            obj = StoredObject.from_record(rec)
            self._objects.setdefault(obj.bucket, {})[obj.key] = obj
        for rec in records.get(OwnedKey.KIND, ()):
            owned = OwnedKey.from_record(rec)
            self._owned[owned.region] = (owned.key_id, owned.material)
        self._init_multipart(records)

    # ------------------------------------------------------------------ running an operation

    def call(self, operation: str, request: dict, ctx: RequestContext) -> dict:
        """Run one S3 operation (snake_case request and response; GetObject's ``body`` is bytes)."""
        return super().call(operation, dict(request or {}), ctx)

    def _unsupported(self, operation: str) -> AWSError:
        return S3NotImplemented(f"A header you provided implies functionality that is not implemented "
                                f"(kms_teach does not simulate the S3 {operation} operation).")

    def _internal(self, message: str) -> AWSError:
        return InternalError("We encountered an internal error. Please try again.")

    def _authorize(self, call: Call, target: Target) -> None:
        if self.authorizer is not None:
            self.authorizer(target.ctx or call.ctx, target.action, target.resource, call.request, denied=AccessDenied)

    # -- the declared steps ---------------------------------------------------------

    def _validate(self, call: Call) -> None:
        """Members the model allows but kms_teach does not simulate are refused, never silently ignored."""
        supported = _SUPPORTED[call.op.name]
        for name, value in call.request.items():
            if name not in supported and value is not None:
                shown = _api_name(name)
                raise S3NotImplemented(f"A header you provided implies functionality that is not implemented "
                                       f"(kms_teach does not simulate {shown} in S3 {call.op.name}).")

    def resource_of(self, bucket: Bucket, key: str | None = None) -> Resource:
        """A bucket (or one of its objects) as the permissions engine decides on it, with its bucket policy."""
        arn = bucket.arn if key is None else f"{bucket.arn}/{key}"
        return Resource(arn, bucket.account_id, bucket.policy, "bucket policy", bindings=bucket.policy_principals)

    def _resolve(self, call: Call) -> list[Target]:
        action, what = _DECLARED[call.op.name]
        req, ctx = call.request, call.ctx
        if what == "account":
            return [Target(action, Resource("*", ctx.account_id))]
        if what == "new bucket":
            name = req.get("bucket") or ""
            return [Target(action, Resource(f"arn:{m.partition(ctx.region)}:s3:::{name}", ctx.account_id))]
        bucket = self._bucket(ctx, req["bucket"], call.op.name, req.get("expected_bucket_owner"))
        call.scratch["bucket"] = bucket
        return [Target(action, self.resource_of(bucket, req.get("key") if what == "object" else None))]

    def _resolve_copy(self, call: Call) -> list[Target]:
        """UploadPartCopy writes its part and reads its source: s3:GetObject on that object too (Amazon S3
        API Reference, UploadPartCopy, "Permissions"). A missing source bucket is the handler's NoSuchBucket."""
        targets = self._resolve(call)
        if call.request.get("copy_source"):
            source_bucket, source_key = self._copy_source(call.request["copy_source"])
            source = self._buckets.get(source_bucket)
            if source is not None:
                targets.append(Target("s3:GetObject", self.resource_of(source, source_key)))
        return targets

    def _authorize_bucket_policy(self, call: Call, target: Target) -> None:
        p, bucket = call.ctx.principal, call.scratch["bucket"]
        if p.account_id != bucket.account_id:
            raise MethodNotAllowed("The specified method is not allowed against this resource.",
                                   Method={"PutBucketPolicy": "PUT", "GetBucketPolicy": "GET"}.get(call.op.name,
                                                                                                  "DELETE"),
                                   ResourceType="BUCKETPOLICY")
        if p.kind == "Root":
            return
        self._authorize(call, target)

    def _write(self, changes: Changes) -> None:
        try:
            self.store.commit(changes)
        except Exception:
            raise InternalError("We encountered an internal error. Please try again.") from None

    # ------------------------------------------------------------------ helpers

    def stored_object(self, bucket: str, key: str) -> dict | None:
        """What S3 keeps for an object, exactly as the store writes it (ciphertext and
        encrypted data key in base64): for looking at envelope encryption, not an AWS API."""
        with self._lock:
            obj = self._objects.get(bucket, {}).get(key)
            return obj.to_record() if obj is not None else None

    def _bucket(self, ctx: RequestContext, name: str, operation: str, expected_owner: str | None = None,
                key: str | None = None) -> Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            raise NoSuchBucket("The specified bucket does not exist", BucketName=name)
        if bucket.region != ctx.region:
            raise PermanentRedirect(
                "The bucket you are attempting to access must be addressed using the specified endpoint. "
                "Please send all future requests to this endpoint.",
                Bucket=name, Endpoint=f"s3.{bucket.region}.amazonaws.com",
                headers={"x-amz-bucket-region": bucket.region}
            )
        if expected_owner is not None and expected_owner != bucket.account_id:
            raise AccessDenied("Access Denied")
        return bucket

    def _kms_ctx(self, ctx: RequestContext, bucket: Bucket) -> RequestContext:
        """S3 calls KMS as the caller, through S3 (kms:ViaService), from S3's address."""
        return RequestContext(bucket.region, ctx.principal, user_agent="s3.amazonaws.com",
                              source_ip="s3.amazonaws.com", via_service=f"s3.{bucket.region}.amazonaws.com")

    @staticmethod
    def _kms_error(exc: AWSError) -> AWSError:
        """A KMS error as S3 reports it: KMS's refusal is S3's AccessDenied, the rest KMS.<code>."""
        if exc.code == "AccessDeniedException":
            return AccessDenied(exc.message)
        return KMSErrorInS3(exc)

    def _owned_key(self, region: str, changes: Changes) -> tuple[str, bytes]:
        """The S3 owned key of a Region (an AWS owned key: not a KMS key of any account)."""
        owned = self._owned.get(region)
        if owned is None:
            key_id = self.random.token_bytes(16).hex()
            material = self.random.token_bytes(32)
            owned = (key_id, material)
            changes.put_record(OwnedKey(region, key_id, material))
        return owned

    @staticmethod
    def _open_body(data_key: bytes, ciphertext: bytes, arn: str) -> bytes:
        try:
            return open_object(data_key, ciphertext, arn)
        except CryptoError:
            raise InternalError("We encountered an internal error. Please try again.") from None

    def _object_arn(self, bucket: Bucket, key: str) -> str:
        return f"{bucket.arn}/{key}"

    def _unwrap_data_key(self, ctx: RequestContext, bucket: Bucket, key: str, sse: str, data_key: bytes,
                         encryption_context: dict[str, str]) -> bytes:
        """The plaintext data key of an object (or a multipart upload): from KMS (as the caller, via S3)
        or unwrapped under the S3 owned key."""
        if sse == "aws:kms":
            try:
                out = self.kms.call("Decrypt", {"ciphertext_blob": data_key, "encryption_context": encryption_context},
                                    self._kms_ctx(ctx, bucket))
            except AWSError as exc:
                raise self._kms_error(exc) from None
            return out["plaintext"]
        key_id, material = self._owned[bucket.region]
        try:
            return unwrap_secret(material, data_key, f"sse-s3|{key_id}|{self._object_arn(bucket, key)}".encode())
        except CryptoError:
            raise InternalError("We encountered an internal error. Please try again.") from None

    def _new_data_key(self, ctx: RequestContext, bucket: Bucket, key: str, sse: str, key_ref: str | None,
                      user_context: dict | None, changes: Changes) -> dict[str, Any]:
        """A fresh data key for one object: ``plaintext`` (to seal with, then forget), ``wrapped`` (what S3
        keeps), and for SSE-KMS ``kms_key_arn`` and ``context``, for SSE-S3 ``owned`` (the owned key)."""
        arn = self._object_arn(bucket, key)
        if sse == "aws:kms":
            if key_ref is None:
                key_ref = self.kms.aws_managed_key(bucket.account_id, bucket.region, "s3").arn
            context = dict(user_context or {})
            context["aws:s3:arn"] = arn
            try:
                dk = self.kms.call("GenerateDataKey", {"key_id": key_ref, "key_spec": "AES_256",
                                                       "encryption_context": context}, self._kms_ctx(ctx, bucket))
            except AWSError as exc:
                raise self._kms_error(exc) from None
            return {"plaintext": dk["plaintext"], "wrapped": dk["ciphertext_blob"], "kms_key_arn": dk["key_id"],
                    "context": context}
        owned_id, owned = self._owned_key(bucket.region, changes)
        data_key = self.random.token_bytes(32)
        wrapped = wrap_secret(owned, data_key, f"sse-s3|{owned_id}|{arn}".encode(), self.random)
        return {"plaintext": data_key, "wrapped": wrapped, "owned": (owned_id, owned)}

    def _plaintext(self, ctx: RequestContext, bucket: Bucket, obj: StoredObject) -> bytes:
        """Decrypt a single-part object: its data key from KMS (as the caller, via S3) or the S3 owned key."""
        data_key = self._unwrap_data_key(ctx, bucket, obj.key, obj.sse, obj.data_key, obj.encryption_context)
        return self._open_body(data_key, obj.ciphertext, self._object_arn(bucket, obj.key))

    def _sorted_keys(self, bucket: str) -> list[str]:
        keys = self._sorted.get(bucket)
        if keys is None:
            keys = self._sorted[bucket] = sorted(self._objects.get(bucket, {}))  # code point order = UTF-8 order
        return keys

    # ================================================================ buckets

    def _region_exists(self, region: str) -> bool:
        if self._regions is not None:
            return region in self._regions
        return _REGION_RE.fullmatch(region) is not None

    @staticmethod
    def _valid_bucket_name(name: str) -> bool:
        return bool(
            _BUCKET_RE.fullmatch(name) and ".." not in name and not _IP_RE.fullmatch(name)
            and not name.startswith(_RESERVED_PREFIXES) and not name.endswith(_RESERVED_SUFFIXES)
        )

    def _op_CreateBucket(self, ctx, req, call=None):
        name = req["bucket"]
        conf = req.get("create_bucket_configuration") or {}
        for unsupported, what in (("location", "directory buckets (Location)"), ("bucket", "directory buckets (Bucket)"),
                                  ("tags", "tags on CreateBucket")):
            if conf.get(unsupported) is not None:
                raise S3NotImplemented(f"A header you provided implies functionality that is not implemented "
                                       f"(kms_teach does not simulate {what}).")
        if not self._valid_bucket_name(name):
            raise InvalidBucketName("The specified bucket is not valid.", BucketName=name)
        constraint = conf.get("location_constraint")
        region = ctx.region
        if constraint is not None and constraint != "EU" and not self._region_exists(constraint):
            raise InvalidLocationConstraint("The specified location-constraint is not valid",
                                            LocationConstraint=constraint)
        if region == "us-east-1":
            # The us-east-1 endpoint creates buckets in any Region; us-east-1 itself is never named.
            if constraint == "us-east-1":
                raise InvalidLocationConstraint("The specified location-constraint is not valid",
                                                LocationConstraint=constraint)
            target = {"EU": "eu-west-1"}.get(constraint, constraint) if constraint else "us-east-1"
        else:
            if not constraint:
                raise IllegalLocationConstraintException(
                    "The unspecified location constraint is incompatible for the region specific endpoint "
                    "this request was sent to."
                )
            if constraint != region:
                raise IllegalLocationConstraintException(
                    f"The {constraint} location constraint is incompatible for the region specific endpoint "
                    "this request was sent to."
                )
            target = region
        ownership = req.get("object_ownership")
        if ownership not in (None, "BucketOwnerEnforced"):
            raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                   "(kms_teach does not simulate ACLs: only ObjectOwnership BucketOwnerEnforced).")
        if req.get("acl") not in (None, "private"):
            raise InvalidBucketAclWithObjectOwnership(
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
            )
        if req.get("object_lock_enabled_for_bucket"):
            raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                   "(kms_teach does not simulate S3 Object Lock).")
        account = ctx.principal.account_id
        location = f"/{name}" if target == "us-east-1" else f"http://{name}.s3.amazonaws.com/"
        existing = self._buckets.get(name)
        if existing is not None:
            if existing.account_id != account:
                raise BucketAlreadyExists("The requested bucket name is not available. The bucket namespace is "
                                          "shared by all users of the system. Please select a different name "
                                          "and try again.", BucketName=name)
            if existing.region == "us-east-1" and region == "us-east-1":
                return {"location": location}  # legacy: re-creating your own bucket there succeeds
            raise BucketAlreadyOwnedByYou("Your previous request to create the named bucket succeeded and you "
                                          "already own it.", BucketName=name)
        if not account:  # an AWS service principal owns no buckets
            raise AccessDenied("Access Denied")
        bucket = Bucket(name, account, target, self.clock.now())
        changes = Changes()
        changes.put_record(bucket)
        self._write(changes)
        self._buckets[name] = bucket
        self._objects[name] = {}
        self._sorted.pop(name, None)
        return {"location": location}

    def _op_DeleteBucket(self, ctx, req, call=None):
        bucket = self._bucket(ctx, req["bucket"], "DeleteBucket", req.get("expected_bucket_owner"))
        if self._objects.get(bucket.name):
            raise BucketNotEmpty("The bucket you tried to delete is not empty", BucketName=bucket.name)
        changes = Changes()
        changes.delete_record(bucket)
        gone = self._drop_bucket_uploads(changes, bucket.name)
        self._write(changes)
        self._forget_uploads(gone)
        del self._buckets[bucket.name]
        self._objects.pop(bucket.name, None)
        self._sorted.pop(bucket.name, None)
        return {}

    def _op_HeadBucket(self, ctx, req, call=None):
        bucket = self._bucket(ctx, req["bucket"], "HeadBucket", req.get("expected_bucket_owner"))
        return {"bucket_region": bucket.region, "access_point_alias": False}

    def _op_ListBuckets(self, ctx, req, call=None):
        account = ctx.principal.account_id
        prefix = req.get("prefix") or ""
        region = req.get("bucket_region")
        limit = req.get("max_buckets")
        if limit is not None and not 1 <= limit <= 10000:
            raise InvalidArgument("Argument max-buckets must be an integer between 1 and 10000.",
                                  ArgumentName="max-buckets", ArgumentValue=str(limit))
        after = None
        if req.get("continuation_token"):
            after = self._decode_token(req["continuation_token"])
        names = sorted(b.name for b in self._buckets.values() if b.account_id == account
                       and b.name.startswith(prefix) and (region is None or b.region == region)
                       and (after is None or b.name > after))
        out: dict[str, Any] = {}
        if limit is not None and len(names) > limit:
            names = names[:limit]
            out["continuation_token"] = self._encode_token(names[-1])
        out["buckets"] = [{"name": n, "creation_date": self._buckets[n].created,
                           "bucket_region": self._buckets[n].region} for n in names]
        out["owner"] = {"id": _canonical_id(account)}
        if req.get("prefix") is not None:
            out["prefix"] = req["prefix"]
        return out

    # -- default encryption ------------------------------------------------------

    def _op_PutBucketEncryption(self, ctx, req, call=None):
        bucket = self._bucket(ctx, req["bucket"], "PutBucketEncryption", req.get("expected_bucket_owner"))
        conf = req["server_side_encryption_configuration"]
        rules = conf.get("rules") or []
        if len(rules) != 1:
            raise MalformedXML("The XML you provided was not well-formed or did not validate against our "
                               "published schema")
        rule = rules[0]
        default = rule.get("apply_server_side_encryption_by_default")
        algorithm = default["sse_algorithm"] if default else "AES256"
        if algorithm not in _SSE_ALGORITHMS:
            raise MalformedXML("The XML you provided was not well-formed or did not validate against our "
                               "published schema")
        if algorithm in ("aws:fsx", "aws:backup"):
            raise InvalidArgument("The encryption method specified is not supported",
                                  ArgumentName="SSEAlgorithm", ArgumentValue=algorithm)
        if algorithm == "aws:kms:dsse":
            raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                   "(kms_teach does not simulate DSSE-KMS).")
        if default and default.get("kms_master_key_id") is not None and algorithm != "aws:kms":
            raise InvalidArgument("a KMSMasterKeyID is not applicable if the default sse algorithm is not "
                                  "aws:kms or aws:kms:dsse", ArgumentName="ApplyServerSideEncryptionByDefault")
        if rule.get("bucket_key_enabled") and algorithm == "aws:kms":
            raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                   "(kms_teach does not simulate S3 Bucket Keys: every object gets its own data "
                                   "key from KMS; set BucketKeyEnabled to false).")
        # As in AWS, the KMS key is not checked here: a wrong key fails the uploads that use it.
        bucket.encryption = json.loads(json.dumps(conf, default=str))
        changes = Changes()
        changes.put_record(bucket)
        self._write(changes)
        return {}

    def _op_GetBucketEncryption(self, ctx, req, call=None):
        bucket = self._bucket(ctx, req["bucket"], "GetBucketEncryption", req.get("expected_bucket_owner"))
        conf = json.loads(json.dumps(bucket.encryption or _DEFAULT_SSE))
        for rule in conf["rules"]:
            rule.setdefault("bucket_key_enabled", False)
        return {"server_side_encryption_configuration": conf}

    def _op_DeleteBucketEncryption(self, ctx, req, call=None):
        bucket = self._bucket(ctx, req["bucket"], "DeleteBucketEncryption", req.get("expected_bucket_owner"))
        if bucket.encryption is not None:
            bucket.encryption = None  # back to the SSE-S3 default
            changes = Changes()
            changes.put_record(bucket)
            self._write(changes)
        return {}

    # -- bucket policies ----------------------------------------------------------

    def _op_PutBucketPolicy(self, ctx, req, call=None):
        bucket = call.scratch["bucket"]
        text = req.get("policy")
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", "replace")
        if not text or not text.lstrip().startswith("{"):
            raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
        if len(text.encode("utf-8")) > _MAX_BUCKET_POLICY_BYTES:
            raise MalformedPolicy("Policy exceeds the maximum allowed document size.")
        try:
            # A bucket policy is a resource-based policy: every statement names a principal, as in a key policy.
            policy = parse_policy(text, key_policy=True, max_bytes=_MAX_BUCKET_POLICY_BYTES)
        except AWSError as exc:
            raise MalformedPolicy(exc.message) from None
        if self.principals is not None:
            for stmt in policy.statements:
                for block in (stmt.principal, stmt.not_principal):
                    for name in (block or {}).get("AWS", ()):
                        # A user or role that does not exist is refused (Amazon S3 User Guide, "Policy
                        # elements: Principal"; the error AWS answers is "Invalid principal in policy").
                        if name != "*" and not self.principals.principal_exists(name):
                            raise MalformedPolicy("Invalid principal in policy")
        for stmt in policy.statements:
            for action in (stmt.action or []) + (stmt.not_action or []):
                if action != "*" and not action.lower().startswith("s3:"):
                    raise MalformedPolicy("Policy has invalid action")
            for resource in (stmt.resource or []) + (stmt.not_resource or []):
                if resource != "*" and resource != bucket.arn and not resource.startswith(bucket.arn + "/"):
                    raise MalformedPolicy("Policy has invalid resource")
        old, old_bound = bucket.policy, bucket.policy_principals
        bucket.policy = text
        # Bound to the users and roles it names now, as key policies are (see _policy.document).
        bucket.policy_principals = bind_principals(policy, self.principals.unique_id_of) \
            if self.principals is not None else {}
        changes = Changes()
        changes.put_record(bucket)
        try:
            self._write(changes)
        except AWSError:
            bucket.policy, bucket.policy_principals = old, old_bound  # nothing changes that the store did not take
            raise
        return {}

    def _op_GetBucketPolicy(self, ctx, req, call=None):
        bucket = call.scratch["bucket"]
        if bucket.policy is None:
            raise NoSuchBucketPolicy("The bucket policy does not exist", BucketName=bucket.name)
        if bucket.policy_principals and self.principals is not None:
            return {"policy": show_bound(bucket.policy, bucket.policy_principals, self.principals.unique_id_of)}
        return {"policy": bucket.policy}

    def _op_DeleteBucketPolicy(self, ctx, req, call=None):
        bucket = call.scratch["bucket"]
        if bucket.policy is not None:
            old, old_bound = bucket.policy, bucket.policy_principals
            bucket.policy, bucket.policy_principals = None, {}
            changes = Changes()
            changes.put_record(bucket)
            try:
                self._write(changes)
            except AWSError:
                bucket.policy, bucket.policy_principals = old, old_bound
                raise
        return {}

    # ================================================================ objects

    def _encryption_for(self, bucket: Bucket, req: dict) -> tuple[str, str | None, dict | None]:
        """(algorithm, KMS key reference or None, caller's encryption context or None) for an upload."""
        sse = req.get("server_side_encryption")
        key_ref = req.get("ssekms_key_id")
        context_header = req.get("ssekms_encryption_context")
        needs_kms = ("Server Side Encryption with AWS KMS managed key requires HTTP header "
                     "x-amz-server-side-encryption : aws:kms")
        if sse is None:
            if key_ref is not None or context_header is not None:
                raise InvalidArgument(needs_kms, ArgumentName="x-amz-server-side-encryption",
                                      ArgumentValue="null")
            rule = (bucket.encryption or _DEFAULT_SSE)["rules"][0]
            default = rule.get("apply_server_side_encryption_by_default") or {"sse_algorithm": "AES256"}
            sse, key_ref = default["sse_algorithm"], default.get("kms_master_key_id")
            if sse == "aws:kms" and rule.get("bucket_key_enabled") and req.get("bucket_key_enabled") is not False:
                raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                       "(kms_teach does not simulate S3 Bucket Keys).")
            return sse, key_ref, None
        if sse == "aws:kms:dsse":
            raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                   "(kms_teach does not simulate DSSE-KMS).")
        if sse not in ("aws:kms", "AES256"):
            raise InvalidArgument("The encryption method specified is not supported",
                                  ArgumentName="x-amz-server-side-encryption", ArgumentValue=sse)
        if sse == "AES256":
            if key_ref is not None or context_header is not None:
                raise InvalidArgument(needs_kms, ArgumentName="x-amz-server-side-encryption",
                                      ArgumentValue=sse)
            return sse, None, None
        if req.get("bucket_key_enabled"):
            raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                   "(kms_teach does not simulate S3 Bucket Keys).")
        if key_ref is not None and not key_ref.strip():
            raise InvalidArgument("The KMS key ID must not be empty",
                                  ArgumentName="x-amz-server-side-encryption-aws-kms-key-id", ArgumentValue=key_ref)
        context = None
        if context_header is not None:
            context = self._parse_context(context_header)
        return sse, key_ref, context

    @staticmethod
    def _sse_kms_members(kms_key_arn: str, context: dict[str, str] | None) -> dict[str, str]:
        """An SSE-KMS upload's answer: the KMS key, and the encryption context if the caller gave one."""
        out = {"ssekms_key_id": kms_key_arn}
        if context is not None:
            out["ssekms_encryption_context"] = _b64(json.dumps(context, separators=(",", ":")).encode())
        return out

    @staticmethod
    def _parse_context(header: str) -> dict[str, str]:
        bad = InvalidArgument("The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 "
                              "string holding JSON which represents a string-string map",
                              ArgumentName="x-amz-server-side-encryption-context", ArgumentValue=header)
        try:
            value = json.loads(base64.b64decode(header, validate=True).decode("utf-8"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise bad from None
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise bad
        return value

    @staticmethod
    def _checksum(req: dict, body: bytes) -> tuple[str, str] | None:
        md5 = req.get("content_md5")
        if md5 is not None:
            try:
                digest = base64.b64decode(md5, validate=True)
            except (ValueError, binascii.Error):
                digest = b""
            if len(digest) != 16:
                raise InvalidDigest("The Content-MD5 you specified was invalid.", **{"Content-MD5": md5})
            if digest != hashlib.md5(body).digest():
                raise BadDigest("The Content-MD5 you specified did not match what we received.",
                                ExpectedDigest=md5, CalculatedDigest=_b64(hashlib.md5(body).digest()))
        given = [(algo, req[member]) for algo, member in _CHECKSUM_MEMBERS.items() if req.get(member) is not None]
        for xx in ("checksum_xxhash64", "checksum_xxhash3", "checksum_xxhash128"):
            if req.get(xx) is not None:
                raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                       "(kms_teach does not simulate XXHASH checksums).")
        if len(given) > 1:
            raise InvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not "
                                 "allowed.")
        if not given:
            return None
        algo, value = given[0]
        expected = _b64(object_checksum(algo, body))
        if value != expected:
            raise BadDigest(f"The {algo} you specified did not match the calculated checksum.")
        return algo, value

    @staticmethod
    def _upload_attributes(req: dict) -> tuple[str, dict[str, str]]:
        """(storage class, metadata) of a PutObject or CreateMultipartUpload, checked as S3 checks them."""
        key = req["key"]
        if len(key.encode("utf-8")) > _MAX_KEY_BYTES:
            raise KeyTooLongError("Your key is too long", Size=len(key.encode("utf-8")),
                                  MaxSizeAllowed=_MAX_KEY_BYTES)
        if req.get("acl") not in (None, "private", "bucket-owner-full-control"):
            raise AccessControlListNotSupported("The bucket does not allow ACLs")
        storage_class = req.get("storage_class") or "STANDARD"
        if storage_class not in _STORAGE_CLASSES:
            raise InvalidStorageClass("The storage class you specified is not valid",
                                      StorageClassRequested=storage_class)
        if storage_class not in _READABLE_STORAGE_CLASSES:
            raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                   f"(kms_teach does not simulate the {storage_class} storage class).")
        metadata = {k.lower(): v for k, v in (req.get("metadata") or {}).items()}
        meta_size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
        if meta_size > _MAX_METADATA_BYTES:
            raise MetadataTooLarge("Your metadata headers exceed the maximum allowed metadata size",
                                   Size=meta_size, MaxSizeAllowed=_MAX_METADATA_BYTES)
        return storage_class, metadata

    @staticmethod
    def _content_headers(req: dict) -> dict[str, Any]:
        """The headers an upload sets for every later GetObject (Expires as ISO 8601 text)."""
        headers = {name: req[name] for name in ("cache_control", "content_disposition", "content_encoding",
                                                "content_language") if req.get(name) is not None}
        if req.get("expires") is not None:
            headers["expires"] = _iso(req["expires"])
        return headers

    def _op_PutObject(self, ctx, req, call=None):
        bucket = self._bucket(ctx, req["bucket"], "PutObject", req.get("expected_bucket_owner"), req.get("key"))
        key = req["key"]
        body = req.get("body") or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, (bytes, bytearray)):
            body = body.read()
        body = bytes(body)
        storage_class, metadata = self._upload_attributes(req)
        sse, key_ref, user_context = self._encryption_for(bucket, req)
        checksum = self._checksum(req, body)
        existing = self._objects[bucket.name].get(key)
        if req.get("if_none_match") is not None:
            if req["if_none_match"] != "*":
                raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                       "(If-None-Match on PutObject takes only *).")
            if existing is not None:
                raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                         Condition="If-None-Match")
        if req.get("if_match") is not None:
            if existing is None:
                raise NoSuchKey("The specified key does not exist.", Key=key)
            if req["if_match"].strip('"') not in (existing.etag.strip('"'), "*"):
                raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                         Condition="If-Match")

        arn = self._object_arn(bucket, key)
        changes = Changes()
        now = self.clock.now()
        out: dict[str, Any] = {"server_side_encryption": sse}
        dk = self._new_data_key(ctx, bucket, key, sse, key_ref, user_context, changes)
        ciphertext = seal_object(dk.pop("plaintext"), body, arn, self.random)  # the plaintext data key goes no further
        obj = StoredObject(key=key, bucket=bucket.name, size=len(body), etag="", last_modified=now, content_type="",
                           sse=sse, ciphertext=ciphertext, data_key=dk["wrapped"])
        if sse == "aws:kms":
            obj.kms_key_arn, obj.encryption_context = dk["kms_key_arn"], dk["context"]
            obj.context_given = user_context is not None
            # An SSE-KMS object's ETag is not the MD5 of its data (AWS: "not an MD5 digest of their object data").
            obj.etag = f'"{hashlib.md5(ciphertext).hexdigest()}"'
            out.update(self._sse_kms_members(obj.kms_key_arn, obj.encryption_context if obj.context_given else None))
        else:
            owned_id, owned = dk["owned"]
            obj.owned_key_id = owned_id
            obj.etag = f'"{hashlib.md5(body).hexdigest()}"'
        obj.content_type = req.get("content_type") or "binary/octet-stream"
        obj.metadata = metadata
        obj.storage_class = storage_class
        obj.checksum = checksum
        obj.headers = self._content_headers(req)
        changes.put_record(obj)
        if existing is not None:
            self._drop_object_data(changes, existing)
        self._write(changes)
        if sse == "AES256":
            self._owned.setdefault(bucket.region, (owned_id, owned))  # a new owned key is kept once committed
        if existing is None:
            self._sorted.pop(bucket.name, None)
        self._objects[bucket.name][key] = obj
        out["e_tag"] = obj.etag
        if checksum is not None:
            out[_CHECKSUM_MEMBERS[checksum[0]]] = checksum[1]
            out["checksum_type"] = obj.checksum_type
        return out

    def _object(self, ctx, req, operation) -> tuple[Bucket, StoredObject]:
        bucket = self._bucket(ctx, req["bucket"], operation, req.get("expected_bucket_owner"), req.get("key"))
        key = req["key"]
        obj = self._objects[bucket.name].get(key)
        version = req.get("version_id")
        if version is not None and version != "null":
            raise InvalidArgument("Invalid version id specified", ArgumentName="versionId",
                                  ArgumentValue=version)
        if obj is None:
            raise NoSuchKey("The specified key does not exist.", Key=key)
        if any(req.get(n) is not None for n in ("sse_customer_algorithm", "sse_customer_key", "sse_customer_key_md5")):
            raise InvalidRequest("The encryption parameters are not applicable to this object.")
        return bucket, obj

    @staticmethod
    def _preconditions(req: dict, obj: StoredObject) -> None:
        """If-Match / If-Unmodified-Since (412) and If-None-Match / If-Modified-Since (304), as RFC 7232 orders them."""
        modified = _http_seconds(obj.last_modified)
        etag = obj.etag.strip('"')

        def matches(header: str) -> bool:
            return any(t.strip().strip('"') in (etag, "*") for t in header.split(","))

        if req.get("if_match") is not None:
            if not matches(req["if_match"]):
                raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                         Condition="If-Match")
        elif req.get("if_unmodified_since") is not None and modified > req["if_unmodified_since"]:
            raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                     Condition="If-Unmodified-Since")
        if req.get("if_none_match") is not None:
            if matches(req["if_none_match"]):
                raise NotModified("Not Modified")
        elif req.get("if_modified_since") is not None and modified <= req["if_modified_since"]:
            raise NotModified("Not Modified")

    def _object_headers(self, obj: StoredObject, req: dict) -> dict:
        out: dict[str, Any] = {
            "accept_ranges": "bytes",
            "last_modified": _http_seconds(obj.last_modified),
            "content_length": obj.size,
            "e_tag": obj.etag,
            "content_type": obj.content_type,
            "server_side_encryption": obj.sse,
        }
        if obj.sse == "aws:kms":
            out["ssekms_key_id"] = obj.kms_key_arn
        if obj.metadata:
            out["metadata"] = dict(obj.metadata)
        if obj.storage_class != "STANDARD":
            out["storage_class"] = obj.storage_class
        for name in ("cache_control", "content_disposition", "content_encoding", "content_language"):
            if name in obj.headers:
                out[name] = obj.headers[name]
        if "expires" in obj.headers:
            out["expires"] = m.from_iso(obj.headers["expires"])
        for name in ("cache_control", "content_disposition", "content_encoding", "content_language", "content_type",
                     "expires"):
            override = req.get(f"response_{name}")
            if override is not None:
                out[name] = override
        return out

    def _op_HeadObject(self, ctx, req, call=None):
        bucket, obj = self._object(ctx, req, "HeadObject")
        self._preconditions(req, obj)
        out = self._object_headers(obj, req)
        if req.get("checksum_mode") == "ENABLED" and obj.checksum is not None:
            if obj.sse == "aws:kms":
                # The checksum of an SSE-KMS object is encrypted too: reading it needs the data key.
                self._unwrap_data_key(ctx, bucket, obj.key, obj.sse, obj.data_key, obj.encryption_context)
            out[_CHECKSUM_MEMBERS[obj.checksum[0]]] = obj.checksum[1]
            out["checksum_type"] = obj.checksum_type
        start, end, count = self._part_range(req, obj)
        if start is None and req.get("range") is not None:
            start, end = self._range(req["range"], obj.size)
        if start is not None:
            out["content_length"] = end - start + 1
            out["content_range"] = f"bytes {start}-{end}/{obj.size}"
            out["_status"] = 206
        if count is not None:
            out["parts_count"] = count
        return out

    @staticmethod
    def _range(header: str, size: int) -> tuple[int | None, int | None]:
        """The byte range a Range header asks for; (None, None) when S3 ignores it (whole object)."""
        match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
        if not match or (match[1] == "" and match[2] == ""):
            return None, None  # not a single byte range: S3 answers with the whole object
        unsatisfiable = InvalidRange("The requested range is not satisfiable", RangeRequested=header,
                                     ActualObjectSize=size, headers={"Content-Range": f"bytes */{size}"})
        if match[1] == "":
            n = int(match[2])
            if n == 0 or size == 0:
                raise unsatisfiable
            return max(0, size - n), size - 1
        start = int(match[1])
        end = int(match[2]) if match[2] else size - 1
        if match[2] and end < start:
            return None, None
        if start >= size:
            raise unsatisfiable
        return start, min(end, size - 1)

    def _op_GetObject(self, ctx, req, call=None):
        bucket, obj = self._object(ctx, req, "GetObject")
        self._preconditions(req, obj)
        start, end, count = self._part_range(req, obj)  # ?partNumber=N: one part of a multipart object
        if start is None and req.get("range") is not None:
            start, end = self._range(req["range"], obj.size)
        # A multipart object's body is a stream, read from the store part by part as it is sent.
        data = self._object_body(ctx, bucket, obj, 0 if start is None else start,
                                 obj.size - 1 if start is None else end)
        out = self._object_headers(obj, req)
        if start is not None:
            out["content_range"] = f"bytes {start}-{end}/{obj.size}"
            out["_status"] = 206
        elif req.get("checksum_mode") == "ENABLED" and obj.checksum is not None:
            out[_CHECKSUM_MEMBERS[obj.checksum[0]]] = obj.checksum[1]
            out["checksum_type"] = obj.checksum_type
        out["content_length"] = len(data) if isinstance(data, bytes) else data.length
        out["body"] = data
        if count is not None:
            out["parts_count"] = count
        return out

    def _op_DeleteObject(self, ctx, req, call=None):
        bucket = self._bucket(ctx, req["bucket"], "DeleteObject", req.get("expected_bucket_owner"), req.get("key"))
        key = req["key"]
        version = req.get("version_id")
        if version is not None and version != "null":
            raise InvalidArgument("Invalid version id specified", ArgumentName="versionId",
                                  ArgumentValue=version)
        obj = self._objects[bucket.name].get(key)
        if req.get("if_match") is not None:
            if obj is None:
                raise NoSuchKey("The specified key does not exist.", Key=key)
            if req["if_match"].strip('"') not in (obj.etag.strip('"'), "*"):
                raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                         Condition="If-Match")
        if obj is not None:  # deleting a key that is not there succeeds too
            changes = Changes()
            changes.delete_record(obj)
            self._drop_object_data(changes, obj)
            self._write(changes)
            del self._objects[bucket.name][key]
            self._sorted.pop(bucket.name, None)
        return {}

    # -- listing -----------------------------------------------------------------

    @staticmethod
    def _encode_token(last: str) -> str:
        return base64.urlsafe_b64encode(b"\x01" + last.encode("utf-8")).decode("ascii")

    @staticmethod
    def _decode_token(token: str) -> str:
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
            if raw[:1] != b"\x01":
                raise ValueError(token)
            return raw[1:].decode("utf-8")
        except (ValueError, UnicodeError, binascii.Error):
            raise InvalidArgument("The continuation token provided is incorrect",
                                  ArgumentName="continuation-token", ArgumentValue=token) from None

    @staticmethod
    def _listing_encoding(req: dict):
        """(EncodingType, the function that encodes a key in the listing) of a List* request."""
        encoding = req.get("encoding_type")
        if encoding is not None and encoding != "url":
            raise InvalidArgument("Invalid Encoding Method specified in Request", ArgumentName="encoding-type",
                                  ArgumentValue=encoding)

        def enc(text: str) -> str:
            return quote_plus(text, safe="/") if encoding == "url" else text

        return encoding, enc

    def _op_ListObjectsV2(self, ctx, req, call=None):
        bucket = self._bucket(ctx, req["bucket"], "ListObjectsV2", req.get("expected_bucket_owner"))
        prefix = req.get("prefix") or ""
        delimiter = req.get("delimiter") or ""
        encoding, enc = self._listing_encoding(req)
        max_keys = req.get("max_keys")
        if max_keys is None:
            max_keys = 1000
        elif max_keys < 0:
            raise InvalidArgument("Argument maxKeys must be an integer between 0 and 2147483647",
                                  ArgumentName="maxKeys", ArgumentValue=str(max_keys))
        limit = min(max_keys, 1000)
        marker = req.get("start_after") or ""
        if req.get("continuation_token") is not None:
            marker = max(marker, self._decode_token(req["continuation_token"]))
        objects = self._objects[bucket.name]
        contents: list[StoredObject] = []
        prefixes: list[str] = []
        last = None
        truncated = False

        def items():
            previous_cp = None
            for key in self._sorted_keys(bucket.name):
                if not key.startswith(prefix) or key <= marker:
                    continue
                if delimiter:
                    i = key.find(delimiter, len(prefix))
                    if i >= 0:
                        cp = key[: i + len(delimiter)]
                        if cp == previous_cp or cp <= marker:
                            continue
                        previous_cp = cp
                        yield cp, None
                        continue
                yield key, objects[key]

        if limit > 0:
            for name, obj in items():
                if len(contents) + len(prefixes) == limit:
                    truncated = True
                    break
                last = name
                if obj is None:
                    prefixes.append(name)
                else:
                    contents.append(obj)

        out: dict[str, Any] = {
            "name": bucket.name, "prefix": enc(prefix), "max_keys": max_keys,
            "key_count": len(contents) + len(prefixes), "is_truncated": truncated,
        }
        if req.get("delimiter") is not None:
            out["delimiter"] = enc(req["delimiter"])
        if encoding is not None:
            out["encoding_type"] = encoding
        if req.get("continuation_token") is not None:
            out["continuation_token"] = req["continuation_token"]
        if req.get("start_after") is not None:
            out["start_after"] = enc(req["start_after"])
        if truncated:
            out["next_continuation_token"] = self._encode_token(last)
        if contents:
            rows = []
            for obj in contents:
                row: dict[str, Any] = {"key": enc(obj.key), "last_modified": obj.last_modified, "e_tag": obj.etag,
                                       "size": obj.size, "storage_class": obj.storage_class}
                if obj.checksum is not None:
                    row["checksum_algorithm"] = [obj.checksum[0]]
                    row["checksum_type"] = obj.checksum_type
                if req.get("fetch_owner"):
                    row["owner"] = {"id": _canonical_id(bucket.account_id)}
                rows.append(row)
            out["contents"] = rows
        if prefixes:
            out["common_prefixes"] = [{"prefix": enc(p)} for p in prefixes]
        return out


def _declare(name: str) -> Operation:
    action = _DECLARED[name][0]
    policy_op = name in _POLICY_OPERATIONS
    return Operation(
        name=name, action=action, resolve=S3._resolve_copy if name == "UploadPartCopy" else S3._resolve, handler=getattr(S3, "_op_" + name), validate=S3._validate,
        writes=name.startswith(("Create", "Put", "Delete")), event=DATA if name in DATA_EVENTS else "Management",
        authorize=S3._authorize_bucket_policy if policy_op else None,
        locked=name not in S3.UNLOCKED_OPERATIONS,
        authorized_by="the bucket owner's root user may always (Amazon S3 API Reference, PutBucketPolicy)"
        if policy_op else None,
    )


S3.OPERATIONS = {name: _declare(name) for name in OPERATIONS}
