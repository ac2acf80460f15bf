"""Layer 1: cryptography, as pure functions over pyca ``cryptography``.

Nothing here knows about accounts, policies or state: the service layer decides
*which* key material to use, this package does the maths and defines the byte
formats. Every use of key material lives here.

* :mod:`.blob`: the ciphertext blob (``docs/ciphertext-format.md``), the
  canonical encryption context encoding, and sealing secrets at rest;
* :mod:`.keyspecs`: every KMS key spec, its algorithms and its cryptography;
* :mod:`.ed25519ph`: Ed25519ph (RFC 8032), which pyca ``cryptography`` lacks;
* :mod:`.key_import`: wrapping keys and unwrapping of imported key material;
* :mod:`.objects`: S3 object bodies sealed under their data keys;
* :mod:`.checksums`: S3's object checksums (CRC-32, CRC-32C, CRC-64/NVME, SHA, MD5);
* :mod:`.tokens`: tokens only this cloud can issue (grant tokens);
* :mod:`.random_source`: the injected source of random bytes.

No module outside this package (but the ``envelope`` recipe, grading and
exercises) imports ``cryptography``: an import-linter contract checks it.
"""

from .blob import (
    BLOB_FIELDS,
    BLOB_HEADER_LEN,
    BLOB_MAGIC,
    BLOB_OVERHEAD,
    BLOB_VERSION,
    BlobHeader,
    CryptoError,
    derive_key,
    encode_encryption_context,
    key_id_from_bytes,
    key_id_to_bytes,
    open_blob,
    parse_blob_header,
    seal_blob,
    unwrap_secret,
    wrap_secret,
)
from .random_source import RandomSource

from . import blob as _blob

__all__ = [*_blob.__all__, "RandomSource"]
