"""Property tests of kms_teach.envelope: round trips for any data and context, and any change detected.

Small chunk sizes make every example span several chunks. One cloud and key
serve every example (Hypothesis reuses a function-scoped fixture across
examples, so they are built here, not from fixtures).
"""

from __future__ import annotations

import datetime as dt
import functools
import io

from hypothesis import assume, given, settings
from hypothesis import strategies as st

import kms_teach
from kms_teach import envelope
from kms_teach.envelope import EnvelopeError

START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
PROPERTY = settings(max_examples=100, deadline=None)
MANY = settings(max_examples=300, deadline=None)

# Text that JSON and UTF-8 can carry: any Unicode scalar value (no lone surrogates).
text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=16)
contexts = st.dictionaries(text, text, max_size=4)
chunk_sizes = st.integers(min_value=1, max_value=48)


@functools.lru_cache(maxsize=None)
def shared():
    cloud = kms_teach.Cloud(clock=kms_teach.Clock(START, frozen=True), seed=7)
    kms = cloud.client("kms", region_name="us-east-1")
    return kms, kms.create_key(Description="envelope properties")["KeyMetadata"]["KeyId"]


@st.composite
def messages(draw):
    """(plaintext, chunk size, context): up to four chunks' worth of data."""
    chunk = draw(chunk_sizes)
    data = draw(st.binary(max_size=4 * chunk + 3))
    return data, chunk, draw(contexts)


class Trickle:
    """A reader that hands out at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int):
        self.data, self.pos, self.step = data, 0, step

    def read(self, n: int) -> bytes:
        n = min(n, self.step)
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


@PROPERTY
@given(messages())
def test_any_data_and_context_round_trip(case):
    data, chunk, context = case
    kms, key_id = shared()
    message = envelope.encrypt_bytes(kms, key_id, data, encryption_context=context, chunk_size=chunk)
    assert envelope.decrypt_bytes(kms, message, encryption_context=context) == data
    header = envelope.read_header(message)
    assert header.encryption_context == context and header.chunk_size == chunk
    assert len(message) == header.length + len(data) + 21 * (len(data) // chunk + 1)


@PROPERTY
@given(messages(), st.integers(min_value=1, max_value=9), st.integers(min_value=1, max_value=9))
def test_streams_with_short_reads_give_the_same_plaintext(case, read_step, decrypt_step):
    data, chunk, context = case
    kms, key_id = shared()
    out = io.BytesIO()
    envelope.encrypt_stream(kms, key_id, Trickle(data, read_step), out, encryption_context=context, chunk_size=chunk)
    back = io.BytesIO()
    envelope.decrypt_stream(kms, Trickle(out.getvalue(), decrypt_step), back, encryption_context=context)
    assert back.getvalue() == data
    assert envelope.decrypt_bytes(kms, out.getvalue(), encryption_context=context) == data


@MANY
@given(messages(), st.data())
def test_any_single_byte_change_fails(case, draw):
    data, chunk, context = case
    kms, key_id = shared()
    message = envelope.encrypt_bytes(kms, key_id, data, encryption_context=context, chunk_size=chunk)
    i = draw.draw(st.integers(min_value=0, max_value=len(message) - 1), label="position")
    flip = draw.draw(st.integers(min_value=1, max_value=255), label="xor")
    damaged = bytearray(message)
    damaged[i] ^= flip
    try:
        envelope.decrypt_bytes(kms, bytes(damaged), encryption_context=context)
    except EnvelopeError:
        return
    raise AssertionError(f"a change at byte {i} went unnoticed")


@MANY
@given(messages(), st.data())
def test_any_truncation_or_extension_fails(case, draw):
    data, chunk, context = case
    kms, key_id = shared()
    message = envelope.encrypt_bytes(kms, key_id, data, encryption_context=context, chunk_size=chunk)
    cut = draw.draw(st.integers(min_value=0, max_value=len(message) - 1), label="cut")
    extra = draw.draw(st.binary(min_size=1, max_size=40), label="extra")
    for damaged in (message[:cut], message + extra):
        try:
            envelope.decrypt_bytes(kms, damaged, encryption_context=context)
        except EnvelopeError:
            continue
        raise AssertionError("a truncated or extended message was accepted")


@PROPERTY
@given(messages(), contexts)
def test_any_other_expected_context_fails(case, other):
    data, chunk, context = case
    assume(other != context)
    kms, key_id = shared()
    message = envelope.encrypt_bytes(kms, key_id, data, encryption_context=context, chunk_size=chunk)
    try:
        envelope.decrypt_bytes(kms, message, encryption_context=other)
    except EnvelopeError as e:
        assert e.reason == "context"
        return
    raise AssertionError("a different encryption context was accepted")
