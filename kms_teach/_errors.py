"""Every exception kms_teach raises on purpose, written out as classes.

An error a simulated AWS API answers with is an :class:`AWSError`: its class
name is AWS's error code (``code``), it carries AWS's message and the HTTP
status AWS answers with. The wire layer turns it into the error document of
the service's protocol, so a boto3 client sees a ``ClientError`` whose
``Error.Code`` is the code below (and whose class is ``client.exceptions.<Code>``
where botocore's model has one). There is one way to raise one::

    raise NotFoundException(f"Key '{arn}' does not exist")
    raise NoSuchBucket("The specified bucket does not exist", BucketName=name)   # S3: extra elements

A code that is not a class here cannot be raised: a misspelt name fails when
its module is imported, not on some rare path.

The tree (statuses are HTTP 400 unless given)::

    KMSTeachError                           anything kms_teach raises on purpose
     ├── AWSError                           an error a simulated AWS API answers with
     │    ├── AccessDenied (403)            IAM, STS and S3: the caller may not do this
     │    ├── InternalFailure (500)         CloudTrail: a fault of the simulator (the common errors' code)
     │    ├── UnsupportedOperationException KMS and CloudTrail: not valid here, or not simulated
     │    ├── KMSError                      AWS Key Management Service
     │    │    ├── AccessDeniedException    the permissions engine said no
     │    │    ├── AlreadyExistsException
     │    │    ├── ConflictException
     │    │    ├── CustomKeyStoreNotFoundException
     │    │    ├── DisabledException        the key is disabled
     │    │    ├── DryRunOperationException the request would have succeeded (DryRun)
     │    │    ├── ExpiredImportTokenException
     │    │    ├── IncorrectKeyException
     │    │    ├── IncorrectKeyMaterialException
     │    │    ├── InvalidAliasNameException
     │    │    ├── InvalidCiphertextException
     │    │    ├── InvalidGrantIdException
     │    │    ├── InvalidGrantTokenException
     │    │    ├── InvalidImportTokenException
     │    │    ├── InvalidKeyUsageException
     │    │    ├── InvalidMarkerException
     │    │    ├── KMSInternalException (500) a fault of the simulator or its store
     │    │    ├── KMSInvalidMacException
     │    │    ├── KMSInvalidSignatureException
     │    │    ├── KMSInvalidStateException the key's state does not allow the operation
     │    │    ├── LimitExceededException
     │    │    ├── MalformedPolicyDocumentException
     │    │    ├── NotAuthorizedException   an alias of an AWS managed key
     │    │    ├── NotFoundException        the key (or alias, grant ...) does not exist
     │    │    ├── TagException
     │    │    └── ValidationException      a request that breaks a documented constraint
     │    ├── IAMError                      AWS Identity and Access Management and AWS STS
     │    │    ├── DeleteConflict (409)
     │    │    ├── EntityAlreadyExists (409)
     │    │    ├── InvalidAction
     │    │    ├── InvalidInput
     │    │    ├── LimitExceeded (409)
     │    │    ├── MalformedPolicyDocument
     │    │    ├── NoSuchEntity (404)
     │    │    ├── ServiceFailure (500)
     │    │    └── ValidationError
     │    ├── CloudTrailError               AWS CloudTrail
     │    │    ├── InvalidEventCategoryException
     │    │    ├── InvalidLookupAttributesException
     │    │    ├── InvalidMaxResultsException
     │    │    ├── InvalidNextTokenException
     │    │    └── InvalidTimeRangeException
     │    └── S3Error                       Amazon S3: may carry extra elements and headers
     │         ├── AccessControlListNotSupported
     │         ├── BadDigest
     │         ├── BucketAlreadyExists (409)
     │         ├── BucketAlreadyOwnedByYou (409)
     │         ├── BucketNotEmpty (409)
     │         ├── EntityTooLarge
     │         ├── EntityTooSmall
     │         ├── IllegalLocationConstraintException
     │         ├── InternalError (500)
     │         ├── InvalidArgument
     │         ├── InvalidBucketAclWithObjectOwnership
     │         ├── InvalidBucketName
     │         ├── InvalidDigest
     │         ├── InvalidLocationConstraint
     │         ├── InvalidPart
     │         ├── InvalidPartNumber (416)
     │         ├── InvalidPartOrder
     │         ├── InvalidRange (416)
     │         ├── InvalidRequest
     │         ├── InvalidStorageClass
     │         ├── KeyTooLongError
     │         ├── MalformedPolicy              a bucket policy that is not valid
     │         ├── MalformedXML
     │         ├── MetadataTooLarge
     │         ├── MethodNotAllowed (405)        a bucket policy operation from outside the owner's account
     │         ├── NoSuchBucket (404)
     │         ├── NoSuchBucketPolicy (404)
     │         ├── NoSuchKey (404)
     │         ├── NoSuchUpload (404)
     │         ├── NotModified (304)
     │         ├── PermanentRedirect (301)
     │         ├── PreconditionFailed (412)
     │         ├── S3NotImplemented (501)    code NotImplemented (a Python builtin's name)
     │         └── KMSErrorInS3              a KMS error S3 met on the caller's behalf: code KMS.<KMS's code>
     ├── StoreError                         the encrypted store cannot be opened, read or written
     ├── CryptoError                        decryption or parsing failed (opaque on purpose)
     ├── KeyMaterialError                   key material does not fit its key spec
     ├── PolicyError                        a policy document is malformed (becomes an AWSError)
     ├── ProtocolError                      a request the wire refuses before any service sees it
     ├── AuthError                          a request to the endpoint fails authentication
     ├── DataDirInUse                       another process holds the data folder's lock
     └── EnvelopeError                      an envelope message cannot be made or verified

Statuses: KMS answers every client fault with HTTP 400 (recorded against real
AWS) and 500 for the faults botocore's model marks as server faults; IAM, STS
and S3 answer with the statuses of their API references (IAM API Reference,
"Common Error Types"; Amazon S3 API Reference, "Error responses").
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "KMSTeachError", "AWSError", "KMSError", "IAMError", "CloudTrailError", "S3Error",
    "AccessDenied", "UnsupportedOperationException", "InternalFailure",
    # KMS
    "AccessDeniedException", "AlreadyExistsException", "ConflictException", "CustomKeyStoreNotFoundException",
    "DisabledException", "DryRunOperationException", "ExpiredImportTokenException", "IncorrectKeyException",
    "IncorrectKeyMaterialException", "InvalidAliasNameException", "InvalidCiphertextException",
    "InvalidGrantIdException", "InvalidGrantTokenException", "InvalidImportTokenException",
    "InvalidKeyUsageException", "InvalidMarkerException", "KMSInternalException", "KMSInvalidMacException",
    "KMSInvalidSignatureException", "KMSInvalidStateException", "LimitExceededException",
    "MalformedPolicyDocumentException", "NotAuthorizedException", "NotFoundException", "TagException",
    "ValidationException",
    # IAM and STS
    "DeleteConflict", "EntityAlreadyExists", "InvalidAction", "InvalidInput", "LimitExceeded",
    "MalformedPolicyDocument", "NoSuchEntity", "ServiceFailure", "ValidationError",
    # CloudTrail
    "InvalidEventCategoryException", "InvalidLookupAttributesException", "InvalidMaxResultsException",
    "InvalidNextTokenException", "InvalidTimeRangeException",
    # S3
    "AccessControlListNotSupported", "BadDigest", "BucketAlreadyExists", "BucketAlreadyOwnedByYou",
    "BucketNotEmpty", "EntityTooLarge", "EntityTooSmall", "IllegalLocationConstraintException", "InternalError",
    "InvalidArgument", "InvalidBucketAclWithObjectOwnership", "InvalidBucketName", "InvalidDigest",
    "InvalidLocationConstraint", "InvalidPart", "InvalidPartNumber", "InvalidPartOrder", "InvalidRange",
    "InvalidRequest", "InvalidStorageClass", "KeyTooLongError", "MalformedPolicy", "MalformedXML",
    "MetadataTooLarge", "MethodNotAllowed", "NoSuchBucket", "NoSuchBucketPolicy", "NoSuchKey", "NoSuchUpload",
    "NotModified", "PermanentRedirect", "PreconditionFailed", "S3NotImplemented",
    "KMSErrorInS3",
    # not AWS errors
    "StoreError", "CryptoError", "KeyMaterialError", "PolicyError", "ProtocolError", "AuthError", "DataDirInUse",
    "EnvelopeError",
]


class KMSTeachError(Exception):
    """Base class of every exception kms_teach raises on purpose."""


# ---------------------------------------------------------------------------
# Errors the simulated AWS APIs answer with
# ---------------------------------------------------------------------------


class AWSError(KMSTeachError):
    """An error answered by a simulated AWS API.

    ``code`` is AWS's error code (the class name, unless the class says
    otherwise), ``message`` AWS's message and ``status`` the HTTP status the
    wire answers with. Only the classes of this module exist: raise one of them.
    """

    code: str = "AWSError"  # every subclass: its own name (see __init_subclass__), or what it sets
    status: int = 400

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = cls.__name__

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class AccessDenied(AWSError):
    """IAM, STS and S3: the caller is not allowed to do this."""

    status = 403


class UnsupportedOperationException(AWSError):
    """KMS and CloudTrail: the operation is not valid for this resource, or kms_teach does not simulate it."""


class InternalFailure(AWSError):
    """CloudTrail: the request failed because of a fault of the simulator ("Common Errors": InternalFailure)."""

    status = 500


# -- AWS Key Management Service -------------------------------------------------


class KMSError(AWSError):
    """An error of AWS KMS (KMS API Reference: the Errors of each operation)."""


class AccessDeniedException(KMSError):
    """The key policy, the caller's identity policies and the key's grants do not allow the request."""


class AlreadyExistsException(KMSError):
    """An alias or a replica key of that name already exists."""


class ConflictException(KMSError):
    """An automatic rotation is in progress or scheduled to begin within 20 minutes."""


class CustomKeyStoreNotFoundException(KMSError):
    """The custom key store does not exist (kms_teach simulates none)."""


class DisabledException(KMSError):
    """The KMS key is disabled."""


class DryRunOperationException(KMSError):
    """The request would have succeeded, but DryRun was set."""


class ExpiredImportTokenException(KMSError):
    """The import token of GetParametersForImport has expired."""


class IncorrectKeyException(KMSError):
    """The KeyId of the request does not name the key that encrypted the ciphertext."""


class IncorrectKeyMaterialException(KMSError):
    """The imported key material is not valid for the key, or not the material imported before."""


class InvalidAliasNameException(KMSError):
    """The alias name is not valid."""


class InvalidCiphertextException(KMSError):
    """The ciphertext, its encryption context or the key material it needs is not what decrypts it."""


class InvalidGrantIdException(KMSError):
    """The grant ID is not a valid grant ID."""


class InvalidGrantTokenException(KMSError):
    """A grant token this cloud did not issue."""


class InvalidImportTokenException(KMSError):
    """The import token is not one of this key's."""


class InvalidKeyUsageException(KMSError):
    """The key's usage, spec or algorithm does not fit the operation."""


class InvalidMarkerException(KMSError):
    """The pagination marker is not valid."""


class KMSInternalException(KMSError):
    """A fault of the simulator or of its store; nothing changed."""

    status = 500


class KMSInvalidMacException(KMSError):
    """VerifyMac: the MAC does not verify."""


class KMSInvalidSignatureException(KMSError):
    """Verify: the signature does not verify."""


class KMSInvalidStateException(KMSError):
    """The key's state does not allow the operation (KMS Developer Guide, "Key states of AWS KMS keys")."""


class LimitExceededException(KMSError):
    """A quota of KMS is reached (aliases per key, grants per key, on-demand rotations, policy size)."""


class MalformedPolicyDocumentException(KMSError):
    """The key policy is not valid, or would lock the caller out of the key."""


class NotAuthorizedException(KMSError):
    """An alias may not name, or be in, ``alias/aws/``: those belong to AWS managed keys."""


class NotFoundException(KMSError):
    """The key, alias, grant or key material the request names does not exist."""


class TagException(KMSError):
    """A tag is reserved (``aws:``), duplicated, or one too many."""


class ValidationException(KMSError):
    """The request breaks a constraint of the API."""


# -- AWS Identity and Access Management and AWS Security Token Service ----------------


class IAMError(AWSError):
    """An error of IAM or STS (IAM API Reference: the Errors of each action)."""


class DeleteConflict(IAMError):
    """The entity still has attached policies, access keys or attachments."""

    status = 409


class EntityAlreadyExists(IAMError):
    """A user, role or policy of that name already exists in the account."""

    status = 409


class InvalidAction(IAMError):
    """An action kms_teach does not simulate."""


class InvalidInput(IAMError):
    """An input that is not valid (duplicate tag keys ...)."""


class LimitExceeded(IAMError):
    """A quota of IAM is reached."""

    status = 409


class MalformedPolicyDocument(IAMError):
    """The policy document is not valid."""


class NoSuchEntity(IAMError):
    """The user, role, policy or access key does not exist."""

    status = 404


class ServiceFailure(IAMError):
    """A fault of the simulator's store; nothing changed."""

    status = 500


class ValidationError(IAMError):
    """The request breaks a constraint of the API."""


# -- AWS CloudTrail -------------------------------------------------------------------


class CloudTrailError(AWSError):
    """An error of CloudTrail's LookupEvents (CloudTrail API Reference)."""


class InvalidEventCategoryException(CloudTrailError):
    """EventCategory is not ``insight``."""


class InvalidLookupAttributesException(CloudTrailError):
    """More than one lookup attribute, or one that does not exist."""


class InvalidMaxResultsException(CloudTrailError):
    """MaxResults is not between 1 and 50."""


class InvalidNextTokenException(CloudTrailError):
    """The NextToken is not one LookupEvents gave."""


class InvalidTimeRangeException(CloudTrailError):
    """The start time is after the end time."""


# -- Amazon S3 ----------------------------------------------------------------------


class S3Error(AWSError):
    """An error of Amazon S3 (Amazon S3 API Reference, "Error responses").

    Keyword arguments become extra elements of the error document
    (``BucketName="x"``); ``headers`` are extra response headers.
    """

    def __init__(self, message: str = "", *, headers: dict[str, str] | None = None, **details: Any):
        super().__init__(message)
        self.headers = headers or {}
        self.details = {k: v for k, v in details.items() if v is not None}


class AccessControlListNotSupported(S3Error):
    """The bucket does not allow ACLs (Object Ownership: bucket owner enforced)."""


class BadDigest(S3Error):
    """The Content-MD5 or checksum does not match the body."""


class BucketAlreadyExists(S3Error):
    """Another account owns a bucket of that name."""

    status = 409


class BucketAlreadyOwnedByYou(S3Error):
    """The caller already owns a bucket of that name."""

    status = 409


class BucketNotEmpty(S3Error):
    """A bucket that still holds objects cannot be deleted."""

    status = 409


class EntityTooLarge(S3Error):
    """An upload (or a copied part) is larger than the maximum allowed."""


class EntityTooSmall(S3Error):
    """A part other than the last of a multipart upload is smaller than 5 MiB."""


class IllegalLocationConstraintException(S3Error):
    """The location constraint does not fit the Region of the endpoint."""


class InternalError(S3Error):
    """A fault of the simulator or of its store."""

    status = 500


class InvalidArgument(S3Error):
    """An argument is not valid."""


class InvalidBucketAclWithObjectOwnership(S3Error):
    """ACLs cannot be set with Object Ownership bucket owner enforced."""


class InvalidBucketName(S3Error):
    """The bucket name is not valid."""


class InvalidDigest(S3Error):
    """The Content-MD5 is not valid."""


class InvalidLocationConstraint(S3Error):
    """The location constraint is not a Region."""


class InvalidPart(S3Error):
    """CompleteMultipartUpload names a part that was not uploaded, or with another ETag or checksum."""


class InvalidPartNumber(S3Error):
    """GetObject or HeadObject asks for a part the object does not have."""

    status = 416


class InvalidPartOrder(S3Error):
    """CompleteMultipartUpload lists its parts out of ascending part-number order."""


class InvalidRange(S3Error):
    """The requested range is not satisfiable."""

    status = 416


class InvalidRequest(S3Error):
    """The request is not valid."""


class InvalidStorageClass(S3Error):
    """The storage class is not valid."""


class KeyTooLongError(S3Error):
    """The object key is longer than 1024 bytes."""


class MalformedPolicy(S3Error):
    """A bucket policy that is not valid JSON, names no principal, or names a resource outside the bucket."""


class MalformedXML(S3Error):
    """The XML is not well formed or does not validate."""


class MetadataTooLarge(S3Error):
    """The user metadata is larger than 2 KB."""


class MethodNotAllowed(S3Error):
    """The method is not allowed against this resource (a bucket policy operation from another account)."""

    status = 405


class NoSuchBucket(S3Error):
    """The bucket does not exist."""

    status = 404


class NoSuchBucketPolicy(S3Error):
    """The bucket has no bucket policy."""

    status = 404


class NoSuchKey(S3Error):
    """The object does not exist."""

    status = 404


class NoSuchUpload(S3Error):
    """The multipart upload does not exist (never created, aborted or completed)."""

    status = 404


class NotModified(S3Error):
    """If-None-Match or If-Modified-Since: the object has not changed."""

    status = 304


class PermanentRedirect(S3Error):
    """The bucket is in another Region: address that Region's endpoint."""

    status = 301


class PreconditionFailed(S3Error):
    """If-Match or If-Unmodified-Since does not hold."""

    status = 412


class S3NotImplemented(S3Error):
    """Functionality kms_teach does not simulate (code ``NotImplemented``, a Python builtin's name)."""

    code = "NotImplemented"
    status = 501


class KMSErrorInS3(S3Error):
    """A KMS error S3 met calling KMS for the caller: S3 answers ``KMS.<KMS's code>``.

    Built from the KMS error itself, so its code is always one of KMS's;
    ``AccessDeniedException`` is not one of them (S3 answers ``AccessDenied``).
    """

    def __init__(self, kms_error: KMSError):
        super().__init__(kms_error.message)
        self.code = f"KMS.{kms_error.code}"
        self.status = kms_error.status if kms_error.status >= 500 else 400


# ---------------------------------------------------------------------------
# Errors that are not answers of an AWS API
# ---------------------------------------------------------------------------


class StoreError(KMSTeachError):
    """The encrypted store could not be opened, read or written."""


class CryptoError(KMSTeachError):
    """Decryption or parsing failed.

    Deliberately opaque (like ``cryptography``'s ``InvalidTag``): it never says
    *which* check failed, so an error cannot be used as an oracle.
    """


class KeyMaterialError(KMSTeachError):
    """Key material does not fit its key spec (wrong length, wrong curve, not a key)."""


class PolicyError(KMSTeachError):
    """A policy document is malformed; ``message`` is AWS's explanation (it becomes an AWSError)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ProtocolError(KMSTeachError):
    """A request the wire layer refuses before any service sees it (answered with its protocol's error)."""


class AuthError(KMSTeachError):
    """A request that fails authentication.

    ``kind`` is one of ``missing`` (no signature at all), ``incomplete`` (a
    malformed one), ``scope`` (a credential scope that cannot be right),
    ``skewed`` (dated too far from now), ``expired_url`` (a presigned URL past its
    expiry), ``unknown_key`` (no such access key), ``bad_token`` (a session token
    that is missing, wrong, or not wanted), ``payload`` (``x-amz-content-sha256``
    is not the body's), ``unsigned_headers`` (S3: an ``x-amz-*`` header the
    signature does not cover), ``signature`` (it does not verify). ``message`` is the
    text of the JSON and query services; S3 words some of them its own way.
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class DataDirInUse(KMSTeachError):
    """Another opener (``Cloud(path=DIR)`` or ``kms-teach serve``) holds the lock on this data folder.

    ``folder`` is the folder, ``pid`` the holder's process ID (None if it wrote none),
    ``holder`` what it is (its command line) and ``url`` where it serves the cloud, if it does.
    The message says how to share the cloud instead of opening it twice.
    """

    def __init__(self, folder: str, holder: dict | None = None):
        holder = holder or {}
        self.folder = folder
        self.pid = holder.get("pid")
        self.holder = holder.get("what")
        notes = dict(n.split(" ", 1) for n in holder.get("notes", ()) if " " in n)
        self.url = notes.get("url")
        credentials = notes.get("credentials")
        import os

        if self.pid == os.getpid():
            who = f"this process ({self.pid}), through another Cloud object: close that one first, or use it"
        else:
            who = f"process {self.pid}" if self.pid is not None else "another process"
        if self.holder and self.pid != os.getpid():
            who += f" ({self.holder})"
        if self.url:
            share = (f"It serves the cloud at {self.url}: connect to that endpoint instead (the aws CLI "
                     f"and boto3 with AWS_ENDPOINT_URL={self.url}"
                     + (f" and AWS_SHARED_CREDENTIALS_FILE={credentials})." if credentials else ").")
                     + " Or stop it first.")
        else:
            share = ("To use one cloud from two processes, serve it from the process that has it open "
                     "(cloud.serve() gives a URL and credentials) and connect to that endpoint, "
                     "or close it there first.")
        super().__init__(f"{folder} is in use by {who}: only one process may open a data folder, "
                         f"or acknowledged writes would be lost. {share}")


class EnvelopeError(KMSTeachError):
    """An envelope message could not be made or could not be decrypted and verified.

    The message says what failed (never with key material in it); ``reason`` is
    a short code for programs:

    ``format``       not a kms_teach envelope message, an unsupported version or
                     algorithm, or a malformed header or chunk
    ``truncated``    the message ends early (inside the header, inside a chunk,
                     or before its final chunk)
    ``trailing``     bytes follow the final chunk
    ``context``      the message's encryption context is not the one expected
    ``key``          the encrypted data key was rejected by KMS, or belongs to a
                     KMS key other than the one the header names or ``key_id=``
    ``commitment``   the data key does not belong to this message (key commitment)
    ``header``       the header failed authentication (it was altered)
    ``chunk``        a chunk failed authentication (altered, reordered,
                     duplicated or from another message)
    ``too-large``    more data than one message can hold at this chunk size

    Errors of KMS itself that are not about the message (a disabled key,
    access denied, a key pending deletion ...) are not wrapped: they surface
    as boto3's ``ClientError``.
    """

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason
