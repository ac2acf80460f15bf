"""Layer 1: the checksums of S3 objects (Amazon S3 User Guide, "Checking object integrity").

S3's additional checksums are the big-endian digest of the whole object:
CRC-32 (ISO-HDLC, as ``zlib``), CRC-32C (Castagnoli), CRC-64/NVME, SHA-1,
SHA-256, SHA-512 and MD5. :func:`checksum` computes any of them; the two CRCs
the standard library lacks are table-driven, reflected CRCs here.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Callable

__all__ = ["CHECKSUM_ALGORITHMS", "checksum", "crc32c", "crc64nvme"]


def _reflected_table(poly: int) -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _reflected_table(0x82F63B78)
_CRC64NVME_TABLE = _reflected_table(0x9A6C9329AC4BC9B5)


def _crc(data: bytes, table: list[int], mask: int) -> int:
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ mask


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as S3's CRC32C checksum."""
    return _crc(data, _CRC32C_TABLE, 0xFFFFFFFF)


def crc64nvme(data: bytes) -> int:
    """CRC-64/NVME, as S3's CRC64NVME checksum."""
    return _crc(data, _CRC64NVME_TABLE, 0xFFFFFFFFFFFFFFFF)


_DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    "CRC32": lambda d: zlib.crc32(d).to_bytes(4, "big"),
    "CRC32C": lambda d: crc32c(d).to_bytes(4, "big"),
    "CRC64NVME": lambda d: crc64nvme(d).to_bytes(8, "big"),
    "SHA1": lambda d: hashlib.sha1(d).digest(),
    "SHA256": lambda d: hashlib.sha256(d).digest(),
    "SHA512": lambda d: hashlib.sha512(d).digest(),
    "MD5": lambda d: hashlib.md5(d).digest(),
}

#: The checksum algorithms :func:`checksum` computes, in S3's names.
CHECKSUM_ALGORITHMS = tuple(_DIGESTS)


def checksum(algorithm: str, data: bytes) -> bytes:
    """The big-endian digest of ``data`` with one of :data:`CHECKSUM_ALGORITHMS`."""
    return _DIGESTS[algorithm](data)
