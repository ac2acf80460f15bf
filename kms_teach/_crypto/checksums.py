"""Layer 1: the checksums of S3 objects (Amazon S3 User Guide, "Checking object integrity").

S3's additional checksums are the big-endian digest of the whole object:
CRC-32 (ISO-HDLC, as ``zlib``), CRC-32C (Castagnoli), CRC-64/NVME, SHA-1,
SHA-256, SHA-512 and MD5. :func:`checksum` computes any of them; the two CRCs
the standard library lacks are table-driven, reflected CRCs here.
"""

from __future__ import annotations

import hashlib
import zlib
from functools import lru_cache
from typing import Callable

__all__ = ["CHECKSUM_ALGORITHMS", "CRC_ALGORITHMS", "checksum", "crc32c", "crc64nvme", "crc_combine"]


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


# -- combining CRCs -------------------------------------------------------------------------------
# A multipart upload's FULL_OBJECT checksum is the CRC of the whole object, computed from the
# parts' CRCs and lengths alone (Amazon S3 User Guide, "Checking object integrity": full object
# checksums), so S3 never reads the parts again. This is zlib's crc32_combine, for any of the three
# reflected CRCs (each starts from and is finally XORed with all ones): appending len2 bytes to
# a message multiplies its CRC register by a fixed GF(2) matrix, the "len2 zero bytes" operator.

#: The CRC algorithms (width, reflected polynomial) whose checksums combine.
CRC_ALGORITHMS = {"CRC32": (32, 0xEDB88320), "CRC32C": (32, 0x82F63B78), "CRC64NVME": (64, 0x9A6C9329AC4BC9B5)}


def _gf2_times(matrix: list[int], vector: int) -> int:
    out = 0
    i = 0
    while vector:
        if vector & 1:
            out ^= matrix[i]
        vector >>= 1
        i += 1
    return out


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, column) for column in matrix]


@lru_cache(maxsize=64)
def _zeros_operator(algorithm: str, nbytes: int) -> tuple[int, ...]:
    """The matrix that appends ``nbytes`` zero bytes to a CRC register (cached: parts share a size)."""
    width, poly = CRC_ALGORITHMS[algorithm]
    op = [poly] + [1 << i for i in range(width - 1)]  # one zero bit
    for _ in range(3):
        op = _gf2_square(op)  # one zero byte
    result: list[int] | None = None
    while nbytes:
        if nbytes & 1:
            result = op if result is None else [_gf2_times(op, column) for column in result]
        nbytes >>= 1
        if nbytes:
            op = _gf2_square(op)
    return tuple(result or [1 << i for i in range(width)])


def crc_combine(algorithm: str, crc1: int, crc2: int, len2: int) -> int:
    """The CRC of ``a + b`` from ``crc1`` (of ``a``), ``crc2`` (of ``b``) and ``len2 = len(b)``."""
    if len2 <= 0:
        return crc1
    return _gf2_times(list(_zeros_operator(algorithm, len2)), crc1) ^ crc2
