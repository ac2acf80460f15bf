"""Layer 1: the pure cryptographic functions of ``kms_teach._crypto.blob``.

No KMS keys, no service, no boto3: bytes in, bytes out.
"""

from __future__ import annotations

import hashlib
import os
import struct
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from kms_teach._crypto import RandomSource
from kms_teach._crypto.blob import (
    BLOB_HEADER_LEN,
    BLOB_MAGIC,
    BLOB_OVERHEAD,
    BLOB_VERSION,
    KEY_ID_MRK,
    KEY_ID_UUID,
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

FAST = settings(max_examples=100, deadline=None)

ACCOUNT = "111122223333"
UUID_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
MRK_KEY_ID = "mrk-1234abcd12ab34cd56ef1234567890ab"
MATERIAL_ID = "ab" * 32

# Text that UTF-8 can encode (no lone surrogates), including the whole of Unicode beyond.
utf8_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
contexts = st.dictionaries(utf8_text, utf8_text, max_size=6)


def _decode_context(encoded: bytes) -> dict[str, str]:
    """Inverse of the documented encoding: proves it is injective (and checks its layout)."""
    (count,) = struct.unpack_from(">I", encoded, 0)
    pos, out, previous = 4, {}, None
    for _ in range(count):
        (klen,) = struct.unpack_from(">I", encoded, pos)
        key = encoded[pos + 4 : pos + 4 + klen]
        pos += 4 + klen
        (vlen,) = struct.unpack_from(">I", encoded, pos)
        value = encoded[pos + 4 : pos + 4 + vlen]
        pos += 4 + vlen
        assert previous is None or previous < key, "pairs must be in ascending order of the key's UTF-8 bytes"
        previous = key
        out[key.decode("utf-8")] = value.decode("utf-8")
    assert pos == len(encoded), "no trailing bytes"
    return out


def _seal(plaintext=b"attack at dawn", context=None, *, key_id=UUID_KEY_ID, account_id=ACCOUNT,
          material_id=MATERIAL_ID, backing_key=b"\x01" * 32, seed=1) -> bytes:
    return seal_blob(
        backing_key=backing_key,
        account_id=account_id,
        key_id=key_id,
        key_material_id=material_id,
        plaintext=plaintext,
        encryption_context=context,
        random=RandomSource(seed),
    )


def _with_header_check(body: bytes) -> bytes:
    """An 86-byte header body followed by a correct header check."""
    assert len(body) == BLOB_HEADER_LEN - 4
    return body + hashlib.sha256(body).digest()[:4]


# ---------------------------------------------------------------------------
# HKDF
# ---------------------------------------------------------------------------


@FAST
@given(backing_key=st.binary(min_size=0, max_size=64), nonce=st.binary(min_size=0, max_size=64),
       info=st.binary(max_size=64))
def test_derive_key_equals_cryptography_hkdf_sha256(backing_key, nonce, info):
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=info).derive(backing_key)
    assert derive_key(backing_key, nonce, info) == expected


@FAST
@given(backing_key=st.binary(min_size=32, max_size=32), nonce=st.binary(min_size=16, max_size=16))
def test_derive_key_default_info_is_the_ciphertext_label(backing_key, nonce):
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=b"kms_teach ciphertext v1").derive(
        backing_key
    )
    assert derive_key(backing_key, nonce) == expected


def test_derive_key_depends_on_every_input():
    base = derive_key(b"k" * 32, b"n" * 16, b"info")
    assert len(base) == 32
    assert derive_key(b"K" * 32, b"n" * 16, b"info") != base
    assert derive_key(b"k" * 32, b"N" * 16, b"info") != base
    assert derive_key(b"k" * 32, b"n" * 16, b"INFO") != base


# ---------------------------------------------------------------------------
# Canonical encryption context
# ---------------------------------------------------------------------------


def test_empty_and_none_encryption_contexts_encode_identically():
    assert encode_encryption_context(None) == encode_encryption_context({}) == b"\x00\x00\x00\x00"


def test_encryption_context_encoding_has_the_documented_layout():
    encoded = encode_encryption_context({"b": "2", "a": "1"})
    assert encoded == (
        b"\x00\x00\x00\x02"
        + b"\x00\x00\x00\x01a" + b"\x00\x00\x00\x011"
        + b"\x00\x00\x00\x01b" + b"\x00\x00\x00\x012"
    )


def test_encryption_context_pairs_are_ordered_by_utf8_bytes_of_the_key():
    # U+FFFD (EF BF BD) sorts before U+1F600 (F0 9F 98 80) by UTF-8 bytes (UTF-16 would disagree).
    encoded = encode_encryption_context({"\U0001F600": "x", "\uFFFD": "y", "Z": "z", "a": "w"})
    keys = list(_decode_context(encoded))
    assert keys == ["Z", "a", "\uFFFD", "\U0001F600"]


def test_encryption_context_lengths_count_utf8_bytes_not_characters():
    encoded = encode_encryption_context({"é": "😀"})
    assert encoded == b"\x00\x00\x00\x01" + b"\x00\x00\x00\x02" + "é".encode() + b"\x00\x00\x00\x04" + "😀".encode()


@pytest.mark.parametrize(
    "a, b",
    [
        ({"ab": "c"}, {"a": "bc"}),
        ({"a": "bc"}, {"abc": ""}),
        ({"": "abc"}, {"abc": ""}),
        ({"a": "b", "c": "d"}, {"a": "b\x00\x00\x00\x01c\x00\x00\x00\x01d"}),
        ({"a": "b", "c": "d"}, {"ab": "cd"}),
        ({"a=b": "c"}, {"a": "b=c"}),
        ({"a,b": "c"}, {"a": "b,c"}),
        ({"a:b": "c"}, {"a": "b:c"}),
        ({"a\x00b": "c"}, {"a": "b\x00c"}),
        ({"k": ""}, {}),
        ({"": ""}, {}),
        ({"": ""}, None),
        ({"": "x"}, {"x": ""}),
        ({"é": "a"}, {"e\u0301": "a"}),  # composed vs decomposed: different bytes, different contexts
        ({"\u00e9": ""}, {"\u00c3": "\u00a9"}),
    ],
)
def test_distinct_encryption_contexts_encode_differently(a, b):
    assert encode_encryption_context(a) != encode_encryption_context(b)


@FAST
@given(data=st.data(), context=contexts)
def test_encryption_context_encoding_ignores_pair_order(data, context):
    shuffled_items = data.draw(st.permutations(list(context.items())))
    assert encode_encryption_context(dict(shuffled_items)) == encode_encryption_context(context)


@FAST
@given(context=contexts)
def test_encryption_context_encoding_is_unambiguous(context):
    # Decoding gives the context back, so two different contexts never share an encoding.
    assert _decode_context(encode_encryption_context(context)) == context


@FAST
@given(a=contexts, b=contexts)
def test_different_encryption_contexts_never_share_an_encoding(a, b):
    if a != b:
        assert encode_encryption_context(a) != encode_encryption_context(b)
    else:
        assert encode_encryption_context(a) == encode_encryption_context(b)


# ---------------------------------------------------------------------------
# Key IDs in binary form
# ---------------------------------------------------------------------------


def test_uuid_key_id_round_trips_through_bytes():
    form, raw = key_id_to_bytes(UUID_KEY_ID)
    assert form == KEY_ID_UUID
    assert raw == uuid.UUID(UUID_KEY_ID).bytes
    assert key_id_from_bytes(form, raw) == UUID_KEY_ID


def test_multi_region_key_id_round_trips_through_bytes():
    form, raw = key_id_to_bytes(MRK_KEY_ID)
    assert form == KEY_ID_MRK
    assert raw == bytes.fromhex(MRK_KEY_ID[4:])
    assert key_id_from_bytes(form, raw) == MRK_KEY_ID


@FAST
@given(raw=st.binary(min_size=16, max_size=16), form=st.sampled_from([KEY_ID_UUID, KEY_ID_MRK]))
def test_any_16_bytes_round_trip_through_a_key_id(raw, form):
    key_id = key_id_from_bytes(form, raw)
    assert key_id_to_bytes(key_id) == (form, raw)


def test_key_id_from_bytes_rejects_an_unknown_form():
    with pytest.raises(ValueError):
        key_id_from_bytes(2, b"\x00" * 16)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "alias/my-key",
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "1234abcd12ab34cd56ef1234567890ab",  # no dashes
        "1234abcd-12ab-34cd-56ef-1234567890a",  # one digit short
        "1234abcd-12ab-34cd-56ef-1234567890abc",  # one digit long
        "1234abcd-12ab-34cd-56ef1-234567890ab",  # dash in the wrong place
        "1234abcg-12ab-34cd-56ef-1234567890ab",  # not hex
        "1234abcd-12ab-34cd-56ef-1234567890a ",  # odd number of hex digits
        "1234abcd-12ab-34cd-56ef-1234567890 ",  # too short, padded with a space
        "1234abcd-12ab-34cd-56ef-12345678  ab",  # whitespace inside the last group
        "1234abcd-12ab-34cd-56ef-1234567890  ",  # whitespace instead of the last two digits
        "1234abcd-12ab-34cd-56ef-12345678--ab",  # dashes instead of digits
        "1234ABCD-12AB-34CD-56EF-1234567890AB",  # upper case: not a KMS key ID (they are lower case)
        "mrk-",
        "mrk-1234abcd12ab34cd56ef1234567890a",  # 31 hex digits
        "mrk-1234abcd12ab34cd56ef1234567890abc",  # 33 hex digits
        "mrk-1234ABCD12AB34CD56EF1234567890AB",  # upper case
        "mrk-1234abcd12ab34cd56ef1234567890ag",  # not hex
        "mrk-1234abcd12ab34cd56ef12345678  ab",  # whitespace inside
        "mrk-1234abcd12ab34cd56ef1234567890  ",  # whitespace instead of the last two digits
        "mrk-1234abcd-12ab-34cd-56ef-1234567890ab",
    ],
)
def test_key_id_to_bytes_rejects_what_is_not_a_kms_key_id(bad):
    with pytest.raises(ValueError):
        key_id_to_bytes(bad)


@st.composite
def _near_key_ids(draw) -> str:
    """A valid key ID with a few characters replaced, inserted or removed."""
    raw = draw(st.binary(min_size=16, max_size=16))
    chars = list(key_id_from_bytes(draw(st.sampled_from([KEY_ID_UUID, KEY_ID_MRK])), raw))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        position = draw(st.integers(min_value=0, max_value=len(chars) - 1))
        char = draw(st.sampled_from(list("0aAfFgG- \t\n_")))
        if action == "replace":
            chars[position] = char
        elif action == "insert":
            chars.insert(position, char)
        elif len(chars) > 1:
            del chars[position]
    return "".join(chars)


@settings(max_examples=300, deadline=None)
@given(candidate=_near_key_ids())
def test_every_key_id_key_id_to_bytes_accepts_is_16_bytes_and_round_trips(candidate):
    try:
        form, raw = key_id_to_bytes(candidate)
    except ValueError:
        return
    assert len(raw) == 16
    assert key_id_from_bytes(form, raw) == candidate


# ---------------------------------------------------------------------------
# The ciphertext blob
# ---------------------------------------------------------------------------


def test_blob_constants_match_the_documented_layout():
    assert BLOB_MAGIC == b"KT"
    assert BLOB_VERSION == 1
    assert BLOB_HEADER_LEN == 90
    assert BLOB_OVERHEAD == 106


@FAST
@given(
    plaintext=st.binary(min_size=0, max_size=4096),
    context=st.one_of(st.none(), contexts),
    backing_key=st.binary(min_size=32, max_size=32),
    seed=st.integers(min_value=0, max_value=2**64),
)
def test_seal_then_open_returns_the_plaintext(plaintext, context, backing_key, seed):
    blob = _seal(plaintext, context, backing_key=backing_key, seed=seed)
    assert len(blob) == BLOB_OVERHEAD + len(plaintext)
    header = parse_blob_header(blob)
    assert open_blob(blob, header, backing_key=backing_key, encryption_context=context) == plaintext


def test_the_plaintext_does_not_appear_in_the_blob():
    plaintext = b"attack at dawn, attack at dawn, attack at dawn"
    assert plaintext not in _seal(plaintext)


def test_sealing_twice_gives_different_blobs():
    random = RandomSource(7)
    blobs = {
        seal_blob(backing_key=b"\x01" * 32, account_id=ACCOUNT, key_id=UUID_KEY_ID, key_material_id=MATERIAL_ID,
                  plaintext=b"same", encryption_context=None, random=random)
        for _ in range(20)
    }
    assert len(blobs) == 20
    nonces = {parse_blob_header(b).kdf_nonce for b in blobs}
    ivs = {parse_blob_header(b).iv for b in blobs}
    assert len(nonces) == len(ivs) == 20


@pytest.mark.parametrize("account_id", ["000000000000", "000000000001", "111122223333", "999999999999"])
@pytest.mark.parametrize("key_id", [UUID_KEY_ID, MRK_KEY_ID, "00000000-0000-0000-0000-000000000000",
                                    "ffffffff-ffff-ffff-ffff-ffffffffffff", "mrk-" + "f" * 32])
def test_blob_header_fields_round_trip(account_id, key_id):
    material_id = hashlib.sha256(key_id.encode()).hexdigest()
    blob = _seal(b"x", key_id=key_id, account_id=account_id, material_id=material_id)
    header = parse_blob_header(blob)
    assert isinstance(header, BlobHeader)
    assert header.account_id == account_id
    assert header.key_id == key_id
    assert header.key_material_id == material_id
    assert blob[:2] == BLOB_MAGIC
    assert blob[2] == BLOB_VERSION
    assert blob[3] == (KEY_ID_MRK if key_id.startswith("mrk-") else KEY_ID_UUID)
    assert header.kdf_nonce == blob[58:74]
    assert header.iv == blob[74:86]
    assert blob[86:90] == hashlib.sha256(blob[:86]).digest()[:4]


@FAST
@given(
    account=st.integers(min_value=0, max_value=999_999_999_999),
    raw=st.binary(min_size=16, max_size=16),
    form=st.sampled_from([KEY_ID_UUID, KEY_ID_MRK]),
    material=st.binary(min_size=32, max_size=32),
)
def test_any_header_fields_round_trip(account, raw, form, material):
    account_id = f"{account:012d}"
    key_id = key_id_from_bytes(form, raw)
    header = parse_blob_header(_seal(b"p", key_id=key_id, account_id=account_id, material_id=material.hex()))
    assert (header.account_id, header.key_id, header.key_material_id) == (account_id, key_id, material.hex())


@pytest.mark.parametrize("length", [0, 1, 2, 4, 10, 57, 85, 89, 90, 105])
def test_parse_blob_header_rejects_a_blob_too_short_to_be_one(length):
    blob = _seal(b"some plaintext")[:length]
    with pytest.raises(CryptoError):
        parse_blob_header(blob)


def test_parse_blob_header_accepts_a_blob_of_exactly_the_overhead():
    blob = _seal(b"")
    assert len(blob) == BLOB_OVERHEAD
    parse_blob_header(blob)


@pytest.mark.parametrize("position", range(BLOB_HEADER_LEN))
def test_parse_blob_header_rejects_any_damaged_header_byte(position):
    blob = bytearray(_seal(b"payload"))
    blob[position] ^= 0x01
    with pytest.raises(CryptoError):
        parse_blob_header(bytes(blob))


@pytest.mark.parametrize(
    "offset, value",
    [
        (0, b"XT"),  # magic
        (0, b"\x01\x02"),  # AWS's blob starts 01 02 ...
        (2, b"\x00"),  # version 0
        (2, b"\x02"),  # version 2
        (3, b"\x02"),  # unknown key ID form
        (3, b"\xff"),
    ],
)
def test_parse_blob_header_rejects_a_garbled_header_even_with_a_valid_check(offset, value):
    blob = _seal(b"payload")
    body = bytearray(blob[: BLOB_HEADER_LEN - 4])
    body[offset : offset + len(value)] = value
    forged = _with_header_check(bytes(body)) + blob[BLOB_HEADER_LEN:]
    with pytest.raises(CryptoError):
        parse_blob_header(forged)


@FAST
@given(garbage=st.binary(min_size=0, max_size=300))
def test_parse_blob_header_rejects_random_bytes(garbage):
    with pytest.raises(CryptoError):
        parse_blob_header(garbage)


def test_crypto_errors_say_nothing_about_what_failed():
    with pytest.raises(CryptoError) as excinfo:
        parse_blob_header(b"short")
    assert str(excinfo.value) == ""


def test_open_blob_with_the_wrong_backing_key_fails():
    blob = _seal(b"secret", backing_key=b"\x01" * 32)
    with pytest.raises(CryptoError):
        open_blob(blob, parse_blob_header(blob), backing_key=b"\x02" * 32, encryption_context=None)


@pytest.mark.parametrize(
    "sealed_with, opened_with",
    [
        ({"a": "b"}, None),
        ({"a": "b"}, {}),
        (None, {"a": "b"}),
        ({"a": "b"}, {"a": "c"}),
        ({"a": "b"}, {"b": "b"}),
        ({"a": "b"}, {"a": "b", "c": "d"}),
        ({"ab": "c"}, {"a": "bc"}),
        ({"": ""}, None),
    ],
)
def test_open_blob_with_a_different_encryption_context_fails(sealed_with, opened_with):
    blob = _seal(b"secret", sealed_with)
    with pytest.raises(CryptoError):
        open_blob(blob, parse_blob_header(blob), backing_key=b"\x01" * 32, encryption_context=opened_with)


@pytest.mark.parametrize("sealed_with, opened_with", [(None, {}), ({}, None), ({"a": "b", "c": "d"}, {"c": "d", "a": "b"})])
def test_open_blob_with_an_equivalent_encryption_context_succeeds(sealed_with, opened_with):
    blob = _seal(b"secret", sealed_with)
    assert open_blob(blob, parse_blob_header(blob), backing_key=b"\x01" * 32,
                     encryption_context=opened_with) == b"secret"


@pytest.mark.parametrize("position", [0, 3, 10, 30, 60, 80, 86, 89, 90, 95, -17, -16, -1])
def test_open_blob_detects_a_damaged_byte_when_given_the_original_header(position):
    # The header is authenticated as AAD too, not only by the header check.
    blob = _seal(b"some plaintext")
    header = parse_blob_header(blob)
    damaged = bytearray(blob)
    damaged[position] ^= 0x80
    with pytest.raises(CryptoError):
        open_blob(bytes(damaged), header, backing_key=b"\x01" * 32, encryption_context=None)


def test_open_blob_rejects_a_truncated_tag():
    blob = _seal(b"some plaintext")
    header = parse_blob_header(blob)
    with pytest.raises(CryptoError):
        open_blob(blob[:-1], header, backing_key=b"\x01" * 32, encryption_context=None)


def test_blob_uses_hkdf_derived_key_with_aes_gcm():
    """The documented construction: AES-256-GCM under HKDF(backing key, nonce), AAD = header || context."""

    backing_key = os.urandom(32)
    context = {"purpose": "test"}
    blob = _seal(b"documented", context, backing_key=backing_key)
    header = parse_blob_header(blob)
    one_time_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=header.kdf_nonce,
                        info=b"kms_teach ciphertext v1").derive(backing_key)
    aad = blob[:BLOB_HEADER_LEN] + encode_encryption_context(context)
    assert AESGCM(one_time_key).decrypt(header.iv, blob[BLOB_HEADER_LEN:], aad) == b"documented"


# ---------------------------------------------------------------------------
# Wrapping secrets at rest
# ---------------------------------------------------------------------------


@FAST
@given(secret=st.binary(max_size=200), aad=st.binary(max_size=64), key=st.binary(min_size=32, max_size=32))
def test_wrap_then_unwrap_returns_the_secret(secret, aad, key):
    wrapped = wrap_secret(key, secret, aad, RandomSource(3))
    assert len(wrapped) == 12 + len(secret) + 16
    assert unwrap_secret(key, wrapped, aad) == secret


@FAST
@given(secret=st.binary(min_size=1, max_size=64), aad=st.binary(max_size=64), other=st.binary(max_size=64))
def test_unwrap_with_a_different_aad_fails(secret, aad, other):
    if other == aad:
        other = aad + b"!"
    wrapped = wrap_secret(b"\x05" * 32, secret, aad, RandomSource(None))
    with pytest.raises(CryptoError):
        unwrap_secret(b"\x05" * 32, wrapped, other)


def test_unwrap_with_a_different_key_fails():
    wrapped = wrap_secret(b"\x05" * 32, b"secret", b"aad", RandomSource(None))
    with pytest.raises(CryptoError):
        unwrap_secret(b"\x06" * 32, wrapped, b"aad")


def test_unwrap_material_bound_to_one_key_arn_fails_for_another():
    aad_a = b"arn:aws:kms:us-east-1:111122223333:key/a|" + MATERIAL_ID.encode()
    aad_b = b"arn:aws:kms:us-east-1:111122223333:key/b|" + MATERIAL_ID.encode()
    wrapped = wrap_secret(b"\x05" * 32, b"material", aad_a, RandomSource(None))
    with pytest.raises(CryptoError):
        unwrap_secret(b"\x05" * 32, wrapped, aad_b)


@pytest.mark.parametrize("length", [0, 1, 12, 27])
def test_unwrap_rejects_a_wrapped_secret_too_short_to_be_one(length):
    wrapped = wrap_secret(b"\x05" * 32, b"secret", b"aad", RandomSource(None))[:length]
    with pytest.raises(CryptoError):
        unwrap_secret(b"\x05" * 32, wrapped, b"aad")


@pytest.mark.parametrize("position", [0, 11, 12, 17, -16, -1])
def test_unwrap_detects_a_damaged_byte(position):
    wrapped = bytearray(wrap_secret(b"\x05" * 32, b"secret", b"aad", RandomSource(None)))
    wrapped[position] ^= 0x01
    with pytest.raises(CryptoError):
        unwrap_secret(b"\x05" * 32, bytes(wrapped), b"aad")


# ---------------------------------------------------------------------------
# Random source
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, -1, 1234, 2**100, b"", b"seed", "seed", "sé😀d"])
def test_a_seeded_random_source_is_reproducible(seed):
    a, b = RandomSource(seed), RandomSource(seed)
    sizes = [1, 16, 32, 12, 1024, 0, 7]
    assert [a.token_bytes(n) for n in sizes] == [b.token_bytes(n) for n in sizes]
    assert a.seeded and b.seeded


def test_a_seeded_stream_returns_the_requested_number_of_bytes():
    r = RandomSource(9)
    for n in (0, 1, 12, 16, 32, 1000):
        assert len(r.token_bytes(n)) == n


def test_a_seeded_stream_never_repeats_a_draw():
    r = RandomSource(42)
    draws = [r.token_bytes(16) for _ in range(2000)]
    assert len(set(draws)) == len(draws)


@pytest.mark.parametrize("a, b", [(1, 2), (0, -1), (1, "1"), ("a", "b"), (b"a", b"b"), ("seed", "seed ")])
def test_different_seeds_give_different_streams(a, b):
    ra, rb = RandomSource(a), RandomSource(b)
    assert [ra.token_bytes(32) for _ in range(5)] != [rb.token_bytes(32) for _ in range(5)]
    ra, rb = RandomSource(a), RandomSource(b)
    assert ra.token_bytes(32) != rb.token_bytes(32)


@FAST
@given(a=st.integers(min_value=-(2**127), max_value=2**127 - 1), b=st.integers(min_value=-(2**127), max_value=2**127 - 1))
def test_different_integer_seeds_never_give_the_same_first_draw(a, b):
    if a != b:
        assert RandomSource(a).token_bytes(32) != RandomSource(b).token_bytes(32)


def test_a_seeded_stream_continues_from_a_restored_counter():
    a = RandomSource("course")
    [a.token_bytes(32) for _ in range(5)]
    state = a.state()
    assert state == 5
    expected = [a.token_bytes(32) for _ in range(3)]
    b = RandomSource("course")
    b.restore(state)
    assert [b.token_bytes(32) for _ in range(3)] == expected


def test_an_unseeded_random_source_is_not_reproducible():
    a, b = RandomSource(), RandomSource()
    assert not a.seeded and not b.seeded
    assert a.token_bytes(32) != b.token_bytes(32)
    assert a.token_bytes(32) != a.token_bytes(32)


# --------------------------------------------------------------------------
# The other formats of the crypto layer: S3 object bodies, imported key material, tokens, checksums
# --------------------------------------------------------------------------


def test_an_object_body_opens_only_under_its_key_and_arn():
    from kms_teach._crypto.objects import open_object, seal_object

    key, arn = bytes(range(32)), "arn:aws:s3:::bucket/report.txt"
    sealed = seal_object(key, b"quarterly figures", arn, RandomSource(7))
    assert len(sealed) == 12 + len(b"quarterly figures") + 16
    # iv | AES-256-GCM(key, iv, body, aad = the ARN): readable with cryptography alone
    assert AESGCM(key).decrypt(sealed[:12], sealed[12:], arn.encode()) == b"quarterly figures"
    assert open_object(key, sealed, arn) == b"quarterly figures"
    for bad in (dict(data_key=bytes(32)), dict(object_arn=arn + "x"), dict(sealed=sealed[:-1] + bytes([sealed[-1] ^ 1])),
                dict(sealed=sealed[:20]), dict(data_key=b"short")):
        args = dict(data_key=key, sealed=sealed, object_arn=arn) | bad
        with pytest.raises(CryptoError):
            open_object(**args)


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1",
                                       "RSA_AES_KEY_WRAP_SHA_256"])
def test_imported_key_material_unwraps_as_aws_documents(algorithm):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

    from kms_teach._crypto.key_import import new_wrapping_key, unwrap_key_material

    private, public = new_wrapping_key("RSA_2048")
    wrapping = serialization.load_der_public_key(public)
    h = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)
    material = bytes(range(32))
    if algorithm.startswith("RSA_AES"):  # an ephemeral AES key, RSA-OAEP encrypted, then RFC 5649 key wrap
        aes = bytes(range(100, 132))
        wrapped = wrapping.encrypt(aes, oaep) + aes_key_wrap_with_padding(aes, material)
    else:
        wrapped = wrapping.encrypt(material, oaep)
    assert unwrap_key_material(private, algorithm, wrapped) == material
    with pytest.raises(CryptoError):
        unwrap_key_material(private, algorithm, wrapped[:-1] + bytes([wrapped[-1] ^ 1]))
    other, _ = new_wrapping_key("RSA_2048")
    with pytest.raises(CryptoError):
        unwrap_key_material(other, algorithm, wrapped)


def test_the_id_of_imported_material_is_an_hmac_under_the_keys_salt():
    import hmac

    from kms_teach._crypto.key_import import imported_material_id

    salt = "ab" * 32
    assert imported_material_id(salt, b"material") == hmac.digest(bytes.fromhex(salt), b"material", "sha256").hex()
    assert imported_material_id(salt, b"material") != imported_material_id("cd" * 32, b"material")


def test_a_token_verifies_only_under_its_secret():
    from kms_teach._crypto.tokens import open_token, seal_token

    token = seal_token(b"s" * 32, b'{"g":"1"}')
    assert open_token(b"s" * 32, token) == b'{"g":"1"}'
    assert open_token(b"t" * 32, token) is None
    assert open_token(b"s" * 32, token[:-1] + bytes([token[-1] ^ 1])) is None
    assert open_token(b"s" * 32, token[-16:]) is None


def test_the_checksums_are_the_published_check_values():
    from kms_teach._crypto.checksums import CHECKSUM_ALGORITHMS, checksum

    check = {  # of b"123456789" (CRC catalogue check values; the hashes' test vectors)
        "CRC32": "cbf43926", "CRC32C": "e3069283", "CRC64NVME": "ae8b14860a799888",
        "SHA1": "f7c3bc1d808e04732adf679965ccc34ca7ae3441", "MD5": "25f9e794323b453885f5181f1b624d0b",
        "SHA256": "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
        "SHA512": "d9e6762dd1c8eaf6d61b3c6192fc408d4d6d5f1176d0c29169bc24e71c3f274ad27fcd5811b313d681f7e55ec02d73d4"
                  "99c95455b6b5bb503acf574fba8ffe85",
    }
    assert set(CHECKSUM_ALGORITHMS) == set(check)
    for algorithm, value in check.items():
        assert checksum(algorithm, b"123456789").hex() == value, algorithm
