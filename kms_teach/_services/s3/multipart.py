"""Layer 3: S3 multipart upload, encrypted part by part, streamed, and kept across restarts.

The seven operations of the Amazon S3 API Reference ("Uploading and copying objects using
multipart upload"): CreateMultipartUpload, UploadPart, UploadPartCopy, ListParts,
ListMultipartUploads, CompleteMultipartUpload and AbortMultipartUpload.

Encryption, as S3 does it for a multipart upload::

    CreateMultipartUpload   one data key for the whole object: kms.GenerateDataKey (SSE-KMS, as the
                            caller, via S3) or a fresh key wrapped under the S3 owned key (SSE-S3).
                            Only the *encrypted* data key is kept, in the upload's record.
    UploadPart              kms.Decrypt of that data key (SSE-KMS: "the requester needs permissions
                            for the kms:Decrypt action on the UploadPart and UploadPartCopy APIs",
                            Amazon S3 API Reference, CreateMultipartUpload), the part sealed under
                            it (AES-256-GCM, bound to the object's ARN, the upload ID and the part
                            number), the plaintext key forgotten.
    CompleteMultipartUpload the object is the list of its sealed parts: nothing is decrypted or
                            copied, the parts' blobs become the object's.
    GetObject               one kms.Decrypt, then the parts are read from the store and opened one
                            at a time as the body is sent (a Range reads only the parts it covers).

Memory stays bounded whatever the object's size: a part is held only while it is sealed or
opened, and the store keeps the sealed parts as blobs (:meth:`Changes.put_blob
<kms_teach._store.base.Changes.put_blob>`), which are never loaded when the store opens. The
upload and each part are records of the store, so an upload survives a restart of the endpoint.
A GetObject under way when its object is deleted or overwritten goes on to its end, as S3's do:
the parts are deleted when the last body being sent is done.

ETags and checksums: a part's ETag is the MD5 of its data (SSE-S3) or of its sealed bytes
(SSE-KMS: as for PutObject, AWS's SSE-KMS ETags are "not an MD5 digest of their object data");
the object's ETag is the MD5 of the parts' binary MD5s, then ``-`` and the number of parts. With
``ChecksumAlgorithm``, every part has that checksum (checked if the client sent one, computed
if not) and the object gets a COMPOSITE checksum (the checksum of the parts' checksums, ``-N``)
or a FULL_OBJECT one (CRC32, CRC32C, CRC64NVME: the CRC of the whole object, combined from the
parts' CRCs without reading them again).

Fidelity notes
--------------
* S3 keeps an incomplete upload (and bills its parts) until it is aborted or a lifecycle rule
  ends it; no lifecycle rules are simulated, so an upload lasts until it is completed or
  aborted (and ``AbortDate`` is never given).
* DeleteBucket discards the bucket's incomplete uploads with their parts, where AWS asks for
  them to be aborted first.
* UploadPartCopy copies at most 64 MiB per part (AWS: 5 GiB), the size of the largest part the
  endpoint accepts in a request: the copied range is held in memory while it is sealed.
* GetObject and HeadObject with ``PartNumber=N`` give the object's N-th part, counting the parts
  in the order CompleteMultipartUpload listed them (the aws CLI and boto3 number parts 1, 2, 3 ...,
  where the position and the number are the same).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator
from urllib.parse import quote_plus, unquote

from ... import _model as m
from ..._crypto import CryptoError
from ..._crypto.checksums import CRC_ALGORITHMS, checksum as object_checksum, crc_combine
from ..._crypto.objects import open_object, seal_object
from ..._errors import (
    BadDigest,
    EntityTooLarge,
    EntityTooSmall,
    InternalError,
    InvalidArgument,
    InvalidPart,
    InvalidPartNumber,
    InvalidPartOrder,
    InvalidRange,
    InvalidRequest,
    MalformedXML,
    NoSuchKey,
    NoSuchUpload,
    PreconditionFailed,
    S3NotImplemented,
)
from ..._store import Changes
from .records import StoredObject, _iso

__all__ = ["MULTIPART_OPERATIONS", "MULTIPART_SUPPORTED", "MultipartOperations", "MultipartUpload",
           "UploadedPart", "PartStream", "MIN_PART_SIZE", "MAX_PART_NUMBER"]

MULTIPART_OPERATIONS = (
    "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "ListParts", "ListMultipartUploads",
    "CompleteMultipartUpload", "AbortMultipartUpload",
)

#: Every part but the last is at least 5 MiB (Amazon S3 User Guide, "Amazon S3 multipart upload limits").
MIN_PART_SIZE = 5 * 1024 * 1024
#: Part numbers are 1 to 10,000.
MAX_PART_NUMBER = 10_000
#: The largest part UploadPartCopy makes here (see the Fidelity notes).
MAX_COPY_PART = 64 * 1024 * 1024
#: The store's kind for a sealed part's bytes.
PART_BLOB = "s3-part"

_CHECKSUMS = {
    "CRC32": "checksum_crc32", "CRC32C": "checksum_crc32_c", "CRC64NVME": "checksum_crc64_nvme",
    "SHA1": "checksum_sha1", "SHA256": "checksum_sha256", "SHA512": "checksum_sha512", "MD5": "checksum_md5",
}
_XXHASH = ("checksum_xxhash64", "checksum_xxhash3", "checksum_xxhash128")
_SSE_C = ("sse_customer_algorithm", "sse_customer_key", "sse_customer_key_md5")

# The request members each operation honours (see service._SUPPORTED).
MULTIPART_SUPPORTED = {
    "CreateMultipartUpload": {"acl", "bucket", "cache_control", "content_disposition", "content_encoding",
                              "content_language", "content_type", "expires", "key", "metadata",
                              "server_side_encryption", "storage_class", "ssekms_key_id", "ssekms_encryption_context",
                              "bucket_key_enabled", "request_payer", "expected_bucket_owner", "checksum_algorithm",
                              "checksum_type"},
    "UploadPart": {"body", "bucket", "content_length", "content_md5", "checksum_algorithm", *_CHECKSUMS.values(),
                   *_XXHASH, "key", "part_number", "upload_id", "request_payer", "expected_bucket_owner", *_SSE_C},
    "UploadPartCopy": {"bucket", "copy_source", "copy_source_if_match", "copy_source_if_modified_since",
                       "copy_source_if_none_match", "copy_source_if_unmodified_since", "copy_source_range", "key",
                       "part_number", "upload_id", "request_payer", "expected_bucket_owner",
                       "expected_source_bucket_owner", *_SSE_C},
    "ListParts": {"bucket", "key", "max_parts", "part_number_marker", "upload_id", "request_payer",
                  "expected_bucket_owner", *_SSE_C},
    "ListMultipartUploads": {"bucket", "delimiter", "encoding_type", "key_marker", "max_uploads", "prefix",
                             "upload_id_marker", "expected_bucket_owner", "request_payer"},
    "CompleteMultipartUpload": {"bucket", "key", "multipart_upload", "upload_id", *_CHECKSUMS.values(), *_XXHASH,
                                "checksum_type", "mpu_object_size", "request_payer", "expected_bucket_owner",
                                "if_match", "if_none_match", *_SSE_C},
    "AbortMultipartUpload": {"bucket", "key", "upload_id", "request_payer", "expected_bucket_owner",
                             "if_match_initiated_time"},
}

_S3_ACTIONS = {
    "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject", "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject", "ListParts": "s3:ListMultipartUploadParts",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads", "AbortMultipartUpload": "s3:AbortMultipartUpload",
}


def _quoted_md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


# ---------------------------------------------------------------------------
# The records
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class MultipartUpload:
    """An upload in progress: the object's attributes and its encrypted data key (never the plaintext)."""

    KIND: ClassVar[str] = "s3-multipart-upload"

    bucket: str
    key: str
    upload_id: str
    initiated: _dt.datetime
    initiator_arn: str
    sse: str
    data_key: bytes  # a KMS ciphertext blob, or wrapped under the S3 owned key
    kms_key_arn: str | None = None
    encryption_context: dict[str, str] = field(default_factory=dict)
    context_given: bool = False
    owned_key_id: str | None = None
    content_type: str = "binary/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    storage_class: str = "STANDARD"
    checksum_algorithm: str | None = None
    checksum_type: str | None = None

    @property
    def ident(self) -> tuple:
        return (self.bucket, self.upload_id)

    def to_record(self) -> dict:
        return {
            "bucket": self.bucket, "key": self.key, "upload_id": self.upload_id, "initiated": _iso(self.initiated),
            "initiator_arn": self.initiator_arn, "sse": self.sse,
            "data_key": base64.b64encode(self.data_key).decode("ascii"), "kms_key_arn": self.kms_key_arn,
            "encryption_context": self.encryption_context, "context_given": self.context_given,
            "owned_key_id": self.owned_key_id, "content_type": self.content_type, "metadata": self.metadata,
            "headers": self.headers, "storage_class": self.storage_class,
            "checksum_algorithm": self.checksum_algorithm, "checksum_type": self.checksum_type,
        }

    @classmethod
    def from_record(cls, rec: dict) -> "MultipartUpload":
        return cls(
            rec["bucket"], rec["key"], rec["upload_id"], m.from_iso(rec["initiated"]), rec["initiator_arn"],
            rec["sse"], base64.b64decode(rec["data_key"]), rec.get("kms_key_arn"),
            dict(rec.get("encryption_context") or {}), bool(rec.get("context_given")), rec.get("owned_key_id"),
            rec.get("content_type") or "binary/octet-stream", dict(rec.get("metadata") or {}),
            dict(rec.get("headers") or {}), rec.get("storage_class") or "STANDARD", rec.get("checksum_algorithm"),
            rec.get("checksum_type"),
        )


@dataclass(slots=True)
class UploadedPart:
    """One uploaded part: its metadata (the sealed bytes are the store's blob ``(upload_id, blob)``)."""

    KIND: ClassVar[str] = "s3-upload-part"

    bucket: str
    upload_id: str
    part_number: int
    size: int
    etag: str  # with its quotes
    last_modified: _dt.datetime
    blob: str  # this upload of the part (a part uploaded again gets a new blob)
    checksum: str | None = None  # base64, in the upload's checksum algorithm

    @property
    def ident(self) -> tuple:
        return (self.bucket, self.upload_id, str(self.part_number))

    def to_record(self) -> dict:
        return {"bucket": self.bucket, "upload_id": self.upload_id, "part_number": self.part_number,
                "size": self.size, "etag": self.etag, "last_modified": _iso(self.last_modified), "blob": self.blob,
                "checksum": self.checksum}

    @classmethod
    def from_record(cls, rec: dict) -> "UploadedPart":
        return cls(rec["bucket"], rec["upload_id"], rec["part_number"], rec["size"], rec["etag"],
                   m.from_iso(rec["last_modified"]), rec["blob"], rec.get("checksum"))


def _part_aad(object_arn: str, upload_id: str, part_number: int) -> str:
    """What a sealed part is bound to: a part does not open under another object, upload or number."""
    return f"{object_arn}|multipart|{upload_id}|{part_number}"


# ---------------------------------------------------------------------------
# Streaming a multipart object's body
# ---------------------------------------------------------------------------


class PartStream:
    """The body of a multipart object (or a range of it), read from the store one part at a time.

    An iterable of byte chunks (what a WSGI server sends) with ``read(amt)`` (what botocore reads
    in-process). It holds the plaintext data key until the body is read or closed.
    """

    def __init__(self, store, data_key: bytes, object_arn: str, upload_id: str, parts: list[dict],
                 start: int, end: int, on_close=None):
        self._store = store
        self._on_close = on_close  # told once, when the body is read to its end, closed or dropped
        self._data_key = data_key
        self._arn = object_arn
        self._upload_id = upload_id
        self._parts = parts
        self._start, self._end = start, end  # inclusive byte range of the object
        self._chunks: Iterator[bytes] | None = None
        self._pending = b""
        self._position = 0
        self.length = max(0, end - start + 1)

    def _generate(self) -> Iterator[bytes]:
        offset = 0
        for part in self._parts:
            first, last = offset, offset + part["size"] - 1
            offset += part["size"]
            if last < self._start or part["size"] == 0:
                continue
            if first > self._end:
                break
            sealed = self._store.read_blob(PART_BLOB, (part["bucket"], self._upload_id, part["blob"]))
            if sealed is None:  # deleted (or overwritten) while it was being read
                raise InternalError("We encountered an internal error. Please try again.")
            try:
                data = open_object(self._data_key, sealed,
                                   _part_aad(self._arn, self._upload_id, part["part_number"]))
            except CryptoError:
                raise InternalError("We encountered an internal error. Please try again.") from None
            del sealed
            lo = max(self._start, first) - first
            hi = min(self._end, last) - first + 1
            view = memoryview(data)
            # Sent in pieces of at most 1 MiB (a part can be 64 MiB): the server writes as it goes.
            for i in range(lo, hi, 1 << 20):
                yield bytes(view[i : min(hi, i + (1 << 20))])
            view.release()
            del data
        self.close()

    def __iter__(self) -> Iterator[bytes]:
        if self._chunks is None:
            self._chunks = self._generate()
        return self._chunks

    def read(self, amt: int | None = None) -> bytes:
        chunks = iter(self)
        if amt is None or amt < 0:
            out = self._pending + b"".join(chunks)
            self._pending = b""
            self._position += len(out)
            return out
        if not self._pending:
            self._pending = next(chunks, b"")
        if len(self._pending) <= amt:  # a chunk at most: no copy (botocore reads in pieces of its own)
            out, self._pending = self._pending, b""
        else:
            out, self._pending = self._pending[:amt], self._pending[amt:]
        self._position += len(out)
        return out

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self._position

    def stream(self, amt: int = 65536, decode_content: bool = False) -> Iterator[bytes]:
        while True:
            chunk = self.read(amt)
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self._data_key = b""
        self._parts = []
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def __del__(self):
        self.close()


# ---------------------------------------------------------------------------
# The operations (a mixin of kms_teach._services.s3.service.S3)
# ---------------------------------------------------------------------------


class MultipartOperations:
    """S3's multipart upload operations; mixed into :class:`~kms_teach._services.s3.service.S3`, whose
    helpers (``_bucket``, ``_encryption_for``, ``_new_data_key`` ...) they use."""

    #: Operations S3 runs without its lock held throughout (they take it for the parts that need it),
    #: so parts are sealed in parallel.
    #: Run without the service's lock around the whole call (declared ``locked=False``): they take it
    #: themselves around what needs it, so parts of one upload are sealed and written concurrently.
    UNLOCKED_OPERATIONS = frozenset({"UploadPart", "UploadPartCopy"})

    def _init_multipart(self, records: dict[str, list[dict]]) -> None:
        self._uploads: dict[tuple[str, str], MultipartUpload] = {}  # (bucket, upload ID) -> upload
        # (bucket, upload ID) of a multipart object -> GetObject bodies being sent, and the blobs to
        # delete once the last of them is done (the object was deleted or overwritten meanwhile).
        self._readers: dict[tuple[str, str], int] = {}
        self._doomed: dict[tuple[str, str], tuple[str, list[str]]] = {}
        self._parts: dict[tuple[str, str], dict[int, UploadedPart]] = {}
        for rec in records.get(MultipartUpload.KIND, ()):
            upload = MultipartUpload.from_record(rec)
            self._uploads[upload.ident] = upload
            self._parts.setdefault(upload.ident, {})
        for rec in records.get(UploadedPart.KIND, ()):
            part = UploadedPart.from_record(rec)
            parts = self._parts.get((part.bucket, part.upload_id))
            if parts is not None:
                parts[part.part_number] = part

    # -- helpers ----------------------------------------------------------------

    def _drop_object_data(self, changes: Changes, obj: StoredObject) -> None:
        """Delete the blobs a multipart object's data is in (the object is overwritten or deleted).

        A GetObject already sending the object goes on to its end, as in S3: while one is, the
        blobs stay, and the last reader to finish deletes them (:meth:`_reader_done`).
        """
        if not obj.parts:
            return
        ident = (obj.bucket, obj.upload_id)
        if self._readers.get(ident):
            self._doomed[ident] = (obj.key, [part["blob"] for part in obj.parts])
            return
        for part in obj.parts:
            changes.delete_blob(PART_BLOB, (obj.bucket, obj.upload_id, part["blob"]))

    def _reader_done(self, ident: tuple[str, str]) -> None:
        with self._lock:
            left = self._readers.get(ident, 0) - 1
            if left > 0:
                self._readers[ident] = left
                return
            self._readers.pop(ident, None)
            doomed = self._doomed.pop(ident, None)
            if doomed is None:
                return
            key, blobs = doomed
            current = self._objects.get(ident[0], {}).get(key)
            if current is not None and current.upload_id == ident[1]:
                return  # the change that would have replaced it was never committed: the data stays
            changes = Changes()
            for blob in blobs:
                changes.delete_blob(PART_BLOB, (ident[0], ident[1], blob))
            try:
                self.store.commit(changes)
            except Exception:  # pragma: no cover - a store failure here leaves unreachable blobs, not lost data
                pass

    def _drop_upload(self, changes: Changes, upload: MultipartUpload, keep_blobs: set[str] = frozenset()) -> None:
        changes.delete_record(upload)
        for part in self._parts.get(upload.ident, {}).values():
            changes.delete_record(part)
            if part.blob not in keep_blobs:
                changes.delete_blob(PART_BLOB, (part.bucket, upload.upload_id, part.blob))

    def _drop_bucket_uploads(self, changes: Changes, bucket: str) -> list[tuple[str, str]]:
        gone = [ident for ident in self._uploads if ident[0] == bucket]
        for ident in gone:
            self._drop_upload(changes, self._uploads[ident])
        return gone

    def _forget_uploads(self, idents) -> None:
        for ident in idents:
            self._uploads.pop(ident, None)
            self._parts.pop(ident, None)

    def _upload(self, ctx, req: dict, operation: str):
        bucket = self._bucket(ctx, req["bucket"], operation, req.get("expected_bucket_owner"), req.get("key"))
        upload = self._uploads.get((bucket.name, req["upload_id"]))
        if upload is None or upload.key != req["key"]:
            raise NoSuchUpload("The specified upload does not exist. The upload ID may be invalid, or the upload "
                               "may have been aborted or completed.", UploadId=req["upload_id"])
        if any(req.get(n) is not None for n in _SSE_C):
            raise InvalidRequest("The multipart upload initiate requested encryption. Subsequent part requests "
                                 "must include the appropriate encryption parameters.")
        return bucket, upload

    @staticmethod
    def _part_number(req: dict) -> int:
        number = req["part_number"]
        if not 1 <= number <= MAX_PART_NUMBER:
            raise InvalidArgument(f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
                                  ArgumentName="partNumber", ArgumentValue=str(number))
        return number

    @staticmethod
    def _owner(account_id: str) -> dict:
        from .service import _canonical_id

        return {"id": _canonical_id(account_id)}

    def _upload_sse_members(self, upload: MultipartUpload) -> dict[str, Any]:
        out: dict[str, Any] = {"server_side_encryption": upload.sse}
        if upload.sse == "aws:kms":
            out["ssekms_key_id"] = upload.kms_key_arn
        return out

    # -- CreateMultipartUpload ------------------------------------------------------

    @staticmethod
    def _checksum_settings(req: dict) -> tuple[str | None, str | None]:
        """(checksum algorithm, checksum type) of a new upload, checked as S3 checks them."""
        algorithm, kind = req.get("checksum_algorithm"), req.get("checksum_type")
        if algorithm is None:
            if kind is not None:
                raise InvalidRequest("The x-amz-checksum-type header can only be used with the "
                                     "x-amz-checksum-algorithm header.")
            return None, None
        algorithm = algorithm.upper()
        if algorithm.startswith("XXHASH"):
            raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                   "(kms_teach does not simulate XXHASH checksums).")
        if algorithm not in _CHECKSUMS:
            raise InvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the "
                                 "valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
        if kind is None:
            kind = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
        if kind not in ("COMPOSITE", "FULL_OBJECT"):
            raise InvalidRequest(f"Value for x-amz-checksum-type header is invalid: {kind}")
        if kind == "FULL_OBJECT" and algorithm not in CRC_ALGORITHMS:
            raise InvalidRequest(f"The FULL_OBJECT checksum type cannot be used with the {algorithm.lower()} "
                                 "checksum algorithm.")
        if kind == "COMPOSITE" and algorithm == "CRC64NVME":
            raise InvalidRequest("The COMPOSITE checksum type cannot be used with the crc64nvme checksum "
                                 "algorithm.")
        return algorithm, kind

    def _op_CreateMultipartUpload(self, ctx, req, call=None):
        bucket = self._bucket(ctx, req["bucket"], "CreateMultipartUpload", req.get("expected_bucket_owner"),
                              req.get("key"))
        key = req["key"]
        storage_class, metadata = self._upload_attributes(req)
        sse, key_ref, user_context = self._encryption_for(bucket, req)
        algorithm, kind = self._checksum_settings(req)
        changes = Changes()
        # One data key for the whole object; what S3 keeps is the encrypted copy only.
        dk = self._new_data_key(ctx, bucket, key, sse, key_ref, user_context, changes)
        del dk["plaintext"]
        upload_id = base64.urlsafe_b64encode(self.random.token_bytes(48)).decode("ascii").rstrip("=")
        upload = MultipartUpload(
            bucket=bucket.name, key=key, upload_id=upload_id, initiated=self.clock.now(),
            initiator_arn=ctx.principal.arn, sse=sse, data_key=dk["wrapped"],
            content_type=req.get("content_type") or "binary/octet-stream", metadata=metadata,
            headers=self._content_headers(req), storage_class=storage_class, checksum_algorithm=algorithm,
            checksum_type=kind,
        )
        out: dict[str, Any] = {"bucket": bucket.name, "key": key, "upload_id": upload_id, "server_side_encryption": sse}
        if sse == "aws:kms":
            upload.kms_key_arn, upload.encryption_context = dk["kms_key_arn"], dk["context"]
            upload.context_given = user_context is not None
            out.update(self._sse_kms_members(upload.kms_key_arn, upload.encryption_context if upload.context_given
                                             else None))
        else:
            upload.owned_key_id = dk["owned"][0]
        changes.put_record(upload)
        self._write(changes)
        if sse == "AES256":
            self._owned.setdefault(bucket.region, dk["owned"])  # a new owned key is kept once committed
        self._uploads[upload.ident] = upload
        self._parts[upload.ident] = {}
        if algorithm is not None:
            out["checksum_algorithm"] = algorithm
            out["checksum_type"] = kind
        return out

    # -- UploadPart and UploadPartCopy ----------------------------------------------

    def _part_checksum(self, req: dict, upload: MultipartUpload, body: bytes) -> str | None:
        """The part's checksum in the upload's algorithm: the client's (checked) or computed here."""
        given = self._checksum(req, body)  # Content-MD5 and any x-amz-checksum-*: checked against the body
        algorithm = upload.checksum_algorithm
        if algorithm is None:
            return None
        if given is not None and given[0] != algorithm:
            raise InvalidRequest(f"Checksum Type mismatch occurred, expected checksum Type: {algorithm.lower()}, "
                                 f"actual checksum Type: {given[0].lower()}")
        if given is not None:
            return given[1]
        return base64.b64encode(object_checksum(algorithm, body)).decode("ascii")

    def _store_part(self, ctx, bucket, upload: MultipartUpload, number: int, body: bytes,
                    checksum: str | None) -> UploadedPart:
        """Seal one part under the upload's data key and write it to the store (S3's lock not held)."""
        arn = self._object_arn(bucket, upload.key)
        data_key = self._unwrap_data_key(ctx, bucket, upload.key, upload.sse, upload.data_key,
                                         upload.encryption_context)
        with self._lock:
            blob = self.random.token_bytes(12).hex()
            now = self.clock.now()
        sealed = seal_object(data_key, body, _part_aad(arn, upload.upload_id, number), self.random)
        del data_key
        etag = _quoted_md5(sealed if upload.sse == "aws:kms" else body)
        part = UploadedPart(bucket.name, upload.upload_id, number, len(body), etag, now, blob, checksum)
        changes = Changes()
        changes.put_blob(PART_BLOB, (bucket.name, upload.upload_id, blob), sealed)
        del sealed
        changes.put_record(part)
        with self._lock:
            parts = self._parts.get(upload.ident)
            if self._uploads.get(upload.ident) is not upload or parts is None:
                # Completed or aborted while this part was being sealed: it belongs to no upload.
                raise NoSuchUpload("The specified upload does not exist. The upload ID may be invalid, or the "
                                   "upload may have been aborted or completed.", UploadId=upload.upload_id)
            previous = parts.get(number)
            if previous is not None:  # a part uploaded again replaces the earlier one
                changes.delete_blob(PART_BLOB, (bucket.name, upload.upload_id, previous.blob))
            self._write(changes)
            parts[number] = part
        return part

    def _op_UploadPart(self, ctx, req, call=None):
        with self._lock:
            bucket, upload = self._upload(ctx, req, "UploadPart")
        number = self._part_number(req)
        body = req.get("body") or b""
        if not isinstance(body, (bytes, bytearray)):
            body = body.read() if hasattr(body, "read") else str(body).encode("utf-8")
        body = bytes(body)
        if any(req.get(n) is not None for n in _XXHASH):
            raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                   "(kms_teach does not simulate XXHASH checksums).")
        checksum = self._part_checksum(req, upload, body)
        part = self._store_part(ctx, bucket, upload, number, body, checksum)
        out = self._upload_sse_members(upload)
        out["e_tag"] = part.etag
        if checksum is not None:
            out[_CHECKSUMS[upload.checksum_algorithm]] = checksum
        return out

    @staticmethod
    def _copy_source(value: str) -> tuple[str, str]:
        source = unquote(value)
        source, _, query = source.partition("?")
        if query and query not in ("versionId=null",):
            raise InvalidArgument("Invalid version id specified", ArgumentName="x-amz-copy-source",
                                  ArgumentValue=value)
        bucket, _, key = source.lstrip("/").partition("/")
        if not bucket or not key:
            raise InvalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                                  ArgumentName="x-amz-copy-source", ArgumentValue=value)
        return bucket, key

    @staticmethod
    def _copy_preconditions(req: dict, obj: StoredObject) -> None:
        """x-amz-copy-source-if-*: each failure is 412 PreconditionFailed (not 304) for a copy."""
        from .service import _http_seconds

        etag = obj.etag.strip('"')
        modified = _http_seconds(obj.last_modified)

        def matches(header: str) -> bool:
            return any(t.strip().strip('"') in (etag, "*") for t in header.split(","))

        checks = (
            ("copy_source_if_match", lambda v: matches(v), "x-amz-copy-source-If-Match"),
            ("copy_source_if_none_match", lambda v: not matches(v), "x-amz-copy-source-If-None-Match"),
            ("copy_source_if_unmodified_since", lambda v: modified <= v, "x-amz-copy-source-If-Unmodified-Since"),
            ("copy_source_if_modified_since", lambda v: modified > v, "x-amz-copy-source-If-Modified-Since"),
        )
        for member, holds, condition in checks:
            if req.get(member) is not None and not holds(req[member]):
                raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                         Condition=condition)

    def _op_UploadPartCopy(self, ctx, req, call=None):
        import re

        with self._lock:
            bucket, upload = self._upload(ctx, req, "UploadPartCopy")
            src_bucket_name, src_key = self._copy_source(req["copy_source"])
            src_bucket = self._bucket(ctx, src_bucket_name, "GetObject", req.get("expected_source_bucket_owner"),
                                      src_key)
            obj = self._objects[src_bucket.name].get(src_key)
            if obj is None:
                raise NoSuchKey("The specified key does not exist.", Key=src_key)
            self._copy_preconditions(req, obj)
            start, end = 0, obj.size - 1
            if req.get("copy_source_range") is not None:
                match = re.fullmatch(r"bytes=(\d+)-(\d+)", req["copy_source_range"].strip())
                if not match or int(match[2]) < int(match[1]):
                    raise InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last "
                                          "where first and last are the zero-based offsets of the first and last "
                                          "bytes to copy", ArgumentName="x-amz-copy-source-range",
                                          ArgumentValue=req["copy_source_range"])
                start, end = int(match[1]), int(match[2])
                if end >= obj.size:
                    raise InvalidRange(f"Range specified is not valid for source object of size: {obj.size}",
                                       RangeRequested=req["copy_source_range"], ActualObjectSize=obj.size)
            if end - start + 1 > MAX_COPY_PART:
                raise EntityTooLarge(f"kms_teach copies at most {MAX_COPY_PART} bytes per part; give "
                                     "x-amz-copy-source-range to copy a large object in several parts.",
                                     ProposedSize=end - start + 1, MaxSizeAllowed=MAX_COPY_PART)
            body = self._object_body(ctx, src_bucket, obj, start, end)
        number = self._part_number(req)
        if not isinstance(body, bytes):
            body = body.read()
        checksum = None
        if upload.checksum_algorithm is not None:
            checksum = base64.b64encode(object_checksum(upload.checksum_algorithm, body)).decode("ascii")
        part = self._store_part(ctx, bucket, upload, number, body, checksum)
        result: dict[str, Any] = {"e_tag": part.etag, "last_modified": part.last_modified}
        if checksum is not None:
            result[_CHECKSUMS[upload.checksum_algorithm]] = checksum
        out = self._upload_sse_members(upload)
        out["copy_part_result"] = result
        return out

    # -- listing --------------------------------------------------------------------

    def _op_ListParts(self, ctx, req, call=None):
        bucket, upload = self._upload(ctx, req, "ListParts")
        max_parts = req.get("max_parts")
        if max_parts is None:
            max_parts = 1000
        elif not 0 <= max_parts <= 2147483647:
            raise InvalidArgument("Argument max-parts must be an integer between 0 and 2147483647",
                                  ArgumentName="max-parts", ArgumentValue=str(max_parts))
        marker = req.get("part_number_marker") or 0
        if not 0 <= marker <= 2147483647:
            raise InvalidArgument("Argument part-number-marker must be an integer between 0 and 2147483647",
                                  ArgumentName="part-number-marker", ArgumentValue=str(marker))
        numbers = sorted(n for n in self._parts[upload.ident] if n > marker)
        shown = numbers[: min(max_parts, 1000)]
        truncated = len(shown) < len(numbers)
        rows = []
        for n in shown:
            part = self._parts[upload.ident][n]
            row: dict[str, Any] = {"part_number": n, "last_modified": part.last_modified, "e_tag": part.etag,
                                   "size": part.size}
            if part.checksum is not None:
                row[_CHECKSUMS[upload.checksum_algorithm]] = part.checksum
            rows.append(row)
        initiator = {"id": upload.initiator_arn, "display_name": upload.initiator_arn.rpartition("/")[2]
                     or upload.initiator_arn}
        out: dict[str, Any] = {
            "bucket": bucket.name, "key": upload.key, "upload_id": upload.upload_id,
            "part_number_marker": marker, "max_parts": max_parts, "is_truncated": truncated,
            "initiator": initiator, "owner": self._owner(bucket.account_id), "storage_class": upload.storage_class,
        }
        if shown:
            out["next_part_number_marker"] = shown[-1]
            out["parts"] = rows
        if upload.checksum_algorithm is not None:
            out["checksum_algorithm"] = upload.checksum_algorithm
            out["checksum_type"] = upload.checksum_type
        return out

    def _op_ListMultipartUploads(self, ctx, req, call=None):
        bucket = self._bucket(ctx, req["bucket"], "ListMultipartUploads", req.get("expected_bucket_owner"))
        prefix = req.get("prefix") or ""
        delimiter = req.get("delimiter") or ""
        encoding, enc = self._listing_encoding(req)
        max_uploads = req.get("max_uploads")
        if max_uploads is None:
            max_uploads = 1000
        elif not 0 <= max_uploads <= 2147483647:
            raise InvalidArgument("Argument max-uploads must be an integer between 0 and 2147483647",
                                  ArgumentName="max-uploads", ArgumentValue=str(max_uploads))
        limit = min(max_uploads, 1000)
        key_marker = req.get("key_marker") or ""
        id_marker = req.get("upload_id_marker") if key_marker else None
        # Sorted by key, then (for one key) by when each upload was initiated.
        uploads = sorted((u for u in self._uploads.values() if u.bucket == bucket.name and u.key.startswith(prefix)),
                         key=lambda u: (u.key, u.initiated, u.upload_id))
        if key_marker:
            order = {u.upload_id: (u.key, u.initiated, u.upload_id) for u in uploads}
            if id_marker is not None and id_marker in order:
                after = order[id_marker]
                uploads = [u for u in uploads if (u.key, u.initiated, u.upload_id) > after]
            else:
                uploads = [u for u in uploads if u.key > key_marker]
        rows: list[MultipartUpload] = []
        prefixes: list[str] = []
        truncated = False
        last_key = last_id = None
        for u in uploads:
            common = None
            if delimiter:
                i = u.key.find(delimiter, len(prefix))
                if i >= 0:
                    common = u.key[: i + len(delimiter)]
            if common is not None and prefixes and prefixes[-1] == common:
                continue
            if len(rows) + len(prefixes) >= limit:
                truncated = True
                break
            if common is not None:
                prefixes.append(common)
                last_key, last_id = common, None
            else:
                rows.append(u)
                last_key, last_id = u.key, u.upload_id
        out: dict[str, Any] = {"bucket": bucket.name, "key_marker": enc(key_marker),
                               "upload_id_marker": req.get("upload_id_marker") or "", "max_uploads": max_uploads,
                               "is_truncated": truncated, "prefix": enc(prefix)}
        if req.get("delimiter") is not None:
            out["delimiter"] = enc(req["delimiter"])
        if encoding is not None:
            out["encoding_type"] = encoding
        if truncated:
            out["next_key_marker"] = enc(last_key or "")
            out["next_upload_id_marker"] = last_id or ""
        if rows:
            listed = []
            for u in rows:
                row: dict[str, Any] = {
                    "upload_id": u.upload_id, "key": enc(u.key), "initiated": u.initiated,
                    "storage_class": u.storage_class, "owner": self._owner(bucket.account_id),
                    "initiator": {"id": u.initiator_arn, "display_name": u.initiator_arn.rpartition("/")[2]},
                }
                if u.checksum_algorithm is not None:
                    row["checksum_algorithm"] = u.checksum_algorithm
                    row["checksum_type"] = u.checksum_type
                listed.append(row)
            out["uploads"] = listed
        if prefixes:
            out["common_prefixes"] = [{"prefix": enc(p)} for p in prefixes]
        return out

    # -- CompleteMultipartUpload and AbortMultipartUpload -----------------------------

    def _completed_checksum(self, req: dict, upload: MultipartUpload, chosen: list[UploadedPart]) -> tuple | None:
        """The object's checksum (algorithm, value) from its parts', checked against the request's if given."""
        algorithm = upload.checksum_algorithm
        given = [(a, req[mb]) for a, mb in _CHECKSUMS.items() if req.get(mb) is not None]
        if algorithm is None:
            return None
        if any(p.checksum is None for p in chosen):  # pragma: no cover - every part of such an upload has one
            raise InternalError("We encountered an internal error. Please try again.")
        if req.get("checksum_type") is not None and req["checksum_type"] != upload.checksum_type:
            raise InvalidRequest(f"The upload was created using the {upload.checksum_type} checksum mode. The "
                                 f"complete request must use the same checksum mode.")
        if upload.checksum_type == "FULL_OBJECT":
            width = CRC_ALGORITHMS[algorithm][0] // 8
            crc = 0
            for i, p in enumerate(chosen):
                value = int.from_bytes(base64.b64decode(p.checksum), "big")
                crc = value if i == 0 else crc_combine(algorithm, crc, value, p.size)
            value = base64.b64encode(crc.to_bytes(width, "big")).decode("ascii")
        else:
            digest = object_checksum(algorithm, b"".join(base64.b64decode(p.checksum) for p in chosen))
            value = f"{base64.b64encode(digest).decode('ascii')}-{len(chosen)}"
        for a, v in given:
            if a != algorithm or v.split("-")[0] != value.split("-")[0]:
                raise BadDigest(f"The {a} you specified for the whole object did not match what was calculated "
                                "from its parts.")
        return algorithm, value

    def _op_CompleteMultipartUpload(self, ctx, req, call=None):
        bucket, upload = self._upload(ctx, req, "CompleteMultipartUpload")
        listed = (req.get("multipart_upload") or {}).get("parts") or []
        if not listed:
            raise MalformedXML("The XML you provided was not well-formed or did not validate against our "
                               "published schema")
        stored = self._parts[upload.ident]
        chosen: list[UploadedPart] = []
        previous = 0
        for entry in listed:
            number, etag = entry.get("part_number"), entry.get("e_tag")
            if number is None or etag is None:
                raise MalformedXML("The XML you provided was not well-formed or did not validate against our "
                                   "published schema")
            if number <= previous:
                raise InvalidPartOrder("The list of parts was not in ascending order. Parts must be ordered by "
                                       "part number.", UploadId=upload.upload_id)
            previous = number
            part = stored.get(number)
            invalid = InvalidPart("One or more of the specified parts could not be found.  The part may not have "
                                  "been uploaded, or the specified entity tag may not match the part's entity tag.",
                                  UploadId=upload.upload_id, PartNumber=number, ETag=etag)
            if part is None or etag.strip().strip('"') != part.etag.strip('"'):
                raise invalid
            for algorithm, member in _CHECKSUMS.items():
                value = entry.get(member)
                if value is not None and (algorithm != upload.checksum_algorithm or value != part.checksum):
                    raise invalid
            chosen.append(part)
        for part in chosen[:-1]:
            if part.size < MIN_PART_SIZE:
                raise EntityTooSmall("Your proposed upload is smaller than the minimum allowed size",
                                     ProposedSize=part.size, MinSizeAllowed=MIN_PART_SIZE,
                                     PartNumber=part.part_number, ETag=part.etag.strip('"'))
        size = sum(p.size for p in chosen)
        if req.get("mpu_object_size") is not None and req["mpu_object_size"] != size:
            raise InvalidRequest(f"The provided 'x-amz-mp-object-size' header value {req['mpu_object_size']} does "
                                 f"not match what was computed: {size}")
        existing = self._objects[bucket.name].get(upload.key)
        if req.get("if_none_match") is not None:
            if req["if_none_match"].strip() != "*":
                raise S3NotImplemented("A header you provided implies functionality that is not implemented "
                                       "(If-None-Match on CompleteMultipartUpload takes only *).")
            if existing is not None:
                raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                         Condition="If-None-Match")
        if req.get("if_match") is not None:
            if existing is None:
                raise NoSuchKey("The specified key does not exist.", Key=upload.key)
            if req["if_match"].strip().strip('"') not in (existing.etag.strip('"'), "*"):
                raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                         Condition="If-Match")
        checksum = self._completed_checksum(req, upload, chosen)
        digests = b"".join(bytes.fromhex(p.etag.strip('"')) for p in chosen)
        etag = f'"{hashlib.md5(digests).hexdigest()}-{len(chosen)}"'
        obj = StoredObject(
            bucket=bucket.name, key=upload.key, size=size, etag=etag, last_modified=self.clock.now(),
            content_type=upload.content_type, sse=upload.sse, ciphertext=b"", data_key=upload.data_key,
            kms_key_arn=upload.kms_key_arn, encryption_context=dict(upload.encryption_context),
            context_given=upload.context_given, owned_key_id=upload.owned_key_id, metadata=dict(upload.metadata),
            headers=dict(upload.headers), storage_class=upload.storage_class, checksum=checksum,
            checksum_type=upload.checksum_type or "FULL_OBJECT", upload_id=upload.upload_id,
            parts=[{"bucket": bucket.name, "part_number": p.part_number, "size": p.size, "blob": p.blob,
                    "etag": p.etag} for p in chosen],
        )
        changes = Changes()
        changes.put_record(obj)
        if existing is not None:
            self._drop_object_data(changes, existing)
        # The chosen parts' blobs become the object's; parts uploaded but not listed are deleted.
        self._drop_upload(changes, upload, keep_blobs={p.blob for p in chosen})
        self._write(changes)
        self._forget_uploads([upload.ident])
        if existing is None:
            self._sorted.pop(bucket.name, None)
        self._objects[bucket.name][upload.key] = obj
        out: dict[str, Any] = {
            "location": f"https://{bucket.name}.s3.{bucket.region}.amazonaws.com/{quote_plus(upload.key, safe='/')}",
            "bucket": bucket.name, "key": upload.key, "e_tag": etag,
        }
        out.update(self._upload_sse_members(upload))
        if checksum is not None:
            out[_CHECKSUMS[checksum[0]]] = checksum[1]
            out["checksum_type"] = obj.checksum_type
        return out

    def _op_AbortMultipartUpload(self, ctx, req, call=None):
        bucket, upload = self._upload(ctx, req, "AbortMultipartUpload")
        initiated = req.get("if_match_initiated_time")
        if initiated is not None and initiated.replace(microsecond=0) != upload.initiated.replace(microsecond=0):
            raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                     Condition="x-amz-if-match-initiated-time")
        changes = Changes()
        self._drop_upload(changes, upload)
        self._write(changes)
        self._forget_uploads([upload.ident])
        return {}

    # -- reading a multipart object ---------------------------------------------------

    @staticmethod
    def _part_range(req: dict, obj: StoredObject) -> tuple[int | None, int | None, int | None]:
        """(first byte, last byte, parts count) that GetObject/HeadObject ``PartNumber`` asks for;
        (None, None, None) without one. A single-part object has one part: the whole object."""
        number = req.get("part_number")
        if number is None:
            return None, None, None
        if req.get("range") is not None:
            raise InvalidRequest("Cannot specify both Range header and partNumber query parameter")
        if not 1 <= number <= MAX_PART_NUMBER:
            raise InvalidArgument(f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
                                  ArgumentName="partNumber", ArgumentValue=str(number))
        sizes = [p["size"] for p in obj.parts] if obj.parts is not None else [obj.size]
        if number > len(sizes):
            raise InvalidPartNumber("The requested partnumber is not satisfiable", PartNumberRequested=number,
                                    ActualPartCount=len(sizes))
        count = len(sizes) if obj.parts is not None else None
        if obj.size == 0:
            return None, None, count
        start = sum(sizes[: number - 1])
        return start, start + sizes[number - 1] - 1, count

    def _object_body(self, ctx, bucket, obj: StoredObject, start: int, end: int):
        """An object's bytes ``start..end`` (inclusive): bytes for a single-part object, a
        :class:`PartStream` (read part by part as it is sent) for a multipart one."""
        if obj.parts is None:
            data = self._plaintext(ctx, bucket, obj)
            return data if (start, end) == (0, obj.size - 1) else data[start : end + 1]
        data_key = self._unwrap_data_key(ctx, bucket, obj.key, obj.sse, obj.data_key, obj.encryption_context)
        ident = (bucket.name, obj.upload_id)
        with self._lock:
            self._readers[ident] = self._readers.get(ident, 0) + 1
        return PartStream(self.store, data_key, self._object_arn(bucket, obj.key), obj.upload_id, obj.parts,
                          start, end, on_close=lambda: self._reader_done(ident))
