"""The errors the simulated services raise, named exactly as AWS names them.

Every error a simulated operation can end with is an :class:`AWSError` carrying
AWS's error code, AWS's message and the HTTP status AWS answers with. The wire
layer turns it into the JSON or XML error body of the service's protocol, so a
boto3 client sees a ``botocore.exceptions.ClientError`` whose
``Error.Code`` is the class name below and whose class is available as
``client.exceptions.<Code>``.

Exception tree::

    KMSTeachError                      anything kms_teach raises on purpose
     ├── AWSError                      an error a simulated AWS API answers with
     │    ├── ValidationException      a request that breaks a documented constraint
     │    ├── AccessDeniedException    the permissions engine said no
     │    ├── NotFoundException        the key (or alias, grant ...) does not exist
     │    ├── InvalidArnException
     │    ├── InvalidMarkerException
     │    ├── InvalidAliasNameException
     │    ├── AlreadyExistsException
     │    ├── DisabledException        the key is disabled
     │    ├── KMSInvalidStateException the key's state does not allow the operation
     │    ├── InvalidCiphertextException
     │    ├── IncorrectKeyException
     │    ├── InvalidKeyUsageException
     │    ├── InvalidGrantTokenException
     │    ├── MalformedPolicyDocumentException
     │    ├── LimitExceededException
     │    ├── UnsupportedOperationException
     │    ├── TagException
     │    ├── ConflictException
     │    ├── DryRunOperationException
     │    ├── KMSInternalException     a bug in the simulator (HTTP 500)
     │    └── ...                      (see ``KMS_ERROR_CODES``)
     └── StoreError                    the encrypted store cannot be opened or read

Fidelity: AWS returns HTTP 400 for every client fault of KMS (recorded against
real AWS); we do the same, and 500 only for the faults botocore's model marks
as server faults.
"""

from __future__ import annotations

__all__ = [
    "KMSTeachError",
    "AWSError",
    "StoreError",
    "KMS_ERROR_CODES",
    "error_class",
]


class KMSTeachError(Exception):
    """Base class of every exception kms_teach raises on purpose."""


class StoreError(KMSTeachError):
    """The encrypted store could not be opened, read or written."""


class AWSError(KMSTeachError):
    """An error answered by a simulated AWS API.

    ``code`` is AWS's error code (the class name), ``message`` AWS's message text
    and ``status`` the HTTP status the wire answers with.
    """

    code: str = "InternalFailure"
    status: int = 400

    def __init__(self, message: str = "", *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def __str__(self) -> str:  # pragma: no cover - trivial
        return f"{self.code}: {self.message}" if self.message else self.code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


# Every client fault KMS documents (botocore's model plus the errors AWS returns
# that the model does not list). Server faults carry status 500.
KMS_ERROR_CODES: dict[str, int] = {
    "ValidationException": 400,
    "AccessDeniedException": 400,
    "UnrecognizedClientException": 400,
    "InvalidSignatureException": 400,
    "ThrottlingException": 400,
    "NotFoundException": 400,
    "InvalidArnException": 400,
    "InvalidMarkerException": 400,
    "InvalidAliasNameException": 400,
    "AlreadyExistsException": 400,
    "DisabledException": 400,
    "KMSInvalidStateException": 400,
    "InvalidCiphertextException": 400,
    "IncorrectKeyException": 400,
    "InvalidKeyUsageException": 400,
    "InvalidGrantTokenException": 400,
    "InvalidGrantIdException": 400,
    "MalformedPolicyDocumentException": 400,
    "LimitExceededException": 400,
    "UnsupportedOperationException": 400,
    "TagException": 400,
    "ConflictException": 400,
    "DryRunOperationException": 400,
    "KMSInvalidSignatureException": 400,
    "KMSInvalidMacException": 400,
    "IncorrectKeyMaterialException": 400,
    "ExpiredImportTokenException": 400,
    "InvalidImportTokenException": 400,
    "KMSInternalException": 500,
    "DependencyTimeoutException": 503,
    "KeyUnavailableException": 500,
}

_classes: dict[str, type[AWSError]] = {}


def error_class(code: str) -> type[AWSError]:
    """The :class:`AWSError` subclass for an AWS error ``code``."""
    cls = _classes.get(code)
    if cls is None:
        status = KMS_ERROR_CODES.get(code, 400)
        cls = type(code, (AWSError,), {"code": code, "status": status, "__module__": __name__})
        _classes[code] = cls
    return cls


for _code in KMS_ERROR_CODES:
    globals()[_code] = error_class(_code)
    __all__.append(_code)
del _code
