"""Layer 1: sealing an S3 object's body under its own data key.

Amazon S3 encrypts every object with a data key of its own (envelope
encryption, Amazon S3 User Guide, "Protecting data with server-side
encryption"). Here the sealed body is::

    iv (12) | AES-256-GCM(data key, iv, body, aad = the object's ARN in UTF-8) | tag (16)

Binding the ARN means a sealed body copied under another bucket or key does
not open. The data key itself is protected elsewhere: by KMS for SSE-KMS, by
an S3 owned key (:func:`~kms_teach._crypto.blob.wrap_secret`) for SSE-S3.
"""

from __future__ import annotations

from .._errors import CryptoError
from .blob import unwrap_secret, wrap_secret
from .random_source import RandomSource

__all__ = ["seal_object", "open_object"]


def seal_object(data_key: bytes, body: bytes, object_arn: str, random: RandomSource) -> bytes:
    """The sealed body of an object: ``iv | ciphertext | tag``, bound to its ARN."""
    return wrap_secret(data_key, body, object_arn.encode("utf-8"), random)


def open_object(data_key: bytes, sealed: bytes, object_arn: str) -> bytes:
    """The body of a sealed object; :class:`CryptoError` if it does not open under this key and ARN."""
    try:
        return unwrap_secret(data_key, sealed, object_arn.encode("utf-8"))
    except ValueError:  # a data key that is not an AES key
        raise CryptoError() from None
