"""Property tests of the simulated KMS, through genuine boto3 clients.

Each property runs over many generated inputs. The clouds are built here, not
from fixtures (Hypothesis reuses a function-scoped fixture across examples):
one shared cloud for properties that only need a key, and a fresh cloud per
example where the property moves the clock.
"""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from botocore.exceptions import ClientError
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import kms_teach

START = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)

PROPERTY = settings(max_examples=75, deadline=None)
SLOW_PROPERTY = settings(max_examples=30, deadline=None)

# Text that JSON and UTF-8 can carry: any Unicode scalar value (no lone surrogates).
text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=24)
contexts = st.dictionaries(text, text, max_size=5)
non_empty_contexts = st.dictionaries(text, text, min_size=1, max_size=5)
plaintexts = st.binary(min_size=1, max_size=4096)
small_plaintexts = st.binary(min_size=1, max_size=256)


def new_cloud(seed: int = 0) -> kms_teach.Cloud:
    return kms_teach.Cloud(clock=kms_teach.Clock(START, frozen=True), seed=seed)


@functools.lru_cache(maxsize=None)
def shared() -> tuple[kms_teach.Cloud, object, str, str]:
    """One cloud, client and two keys for every property that does not move the clock."""
    cloud = new_cloud(seed=20260101)
    kms = cloud.client("kms", region_name="us-east-1")
    first = kms.create_key(Description="property tests")["KeyMetadata"]["KeyId"]
    second = kms.create_key(Description="property tests, second key")["KeyMetadata"]["KeyId"]
    return cloud, kms, first, second


def _near(context: dict) -> st.SearchStrategy:
    """Contexts one edit away from ``context``: a pair added, removed, or a key or value changed."""
    options = [st.tuples(text, text).map(lambda kv: {**context, kv[0]: kv[1]})]
    if context:
        keys = sorted(context)
        options.append(st.sampled_from(keys).map(lambda k: {x: y for x, y in context.items() if x != k}))
        options.append(st.tuples(st.sampled_from(keys), text).map(lambda kt: {**context, kt[0]: kt[1]}))
        options.append(
            st.tuples(st.sampled_from(keys), text).map(
                lambda kt: {**{x: y for x, y in context.items() if x != kt[0]}, kt[1]: context[kt[0]]}
            )
        )
    return st.one_of(options)


def code_of(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def _current_material(kms, key_id: str) -> str:
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]


# ---------------------------------------------------------------------------
# Encrypt / Decrypt
# ---------------------------------------------------------------------------


@PROPERTY
@given(plaintext=plaintexts, context=contexts)
def test_any_plaintext_round_trips_under_any_encryption_context(plaintext, context):
    _, kms, key_id, _ = shared()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
    reply = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert reply["Plaintext"] == plaintext
    assert reply["KeyId"].endswith(":key/" + key_id)
    assert reply["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"


@PROPERTY
@given(plaintext=small_plaintexts, context=contexts, shuffle=st.randoms(use_true_random=False))
def test_the_order_of_encryption_context_pairs_never_matters(plaintext, context, shuffle):
    _, kms, key_id, _ = shared()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
    items = list(context.items())
    shuffle.shuffle(items)
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(items))["Plaintext"] == plaintext


@PROPERTY
@given(plaintext=small_plaintexts, context=contexts, data=st.data())
def test_flipping_any_byte_of_a_blob_fails_with_invalid_ciphertext(plaintext, context, data):
    _, kms, key_id, _ = shared()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
    position = data.draw(st.integers(min_value=0, max_value=len(blob) - 1), label="position")
    xor = data.draw(st.integers(min_value=1, max_value=255), label="xor")
    name_the_key = data.draw(st.booleans(), label="name_the_key")
    damaged = bytearray(blob)
    damaged[position] ^= xor
    kwargs = {"KeyId": key_id} if name_the_key else {}
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=bytes(damaged), EncryptionContext=context, **kwargs)
    assert code_of(excinfo) == "InvalidCiphertextException"


@PROPERTY
@given(plaintext=small_plaintexts, context=contexts, data=st.data())
def test_truncating_a_blob_fails(plaintext, context, data):
    _, kms, key_id, _ = shared()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
    length = data.draw(st.integers(min_value=0, max_value=len(blob) - 1), label="length")
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blob[:length], EncryptionContext=context)
    assert code_of(excinfo) == ("ValidationException" if length == 0 else "InvalidCiphertextException")


@PROPERTY
@given(plaintext=small_plaintexts, context=contexts, extra=st.binary(min_size=1, max_size=300))
def test_extending_a_blob_fails_with_invalid_ciphertext(plaintext, context, extra):
    _, kms, key_id, _ = shared()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blob + extra, EncryptionContext=context)
    assert code_of(excinfo) == "InvalidCiphertextException"


@PROPERTY
@given(plaintext=small_plaintexts, context=contexts, data=st.data())
def test_removing_any_byte_of_a_blob_fails_with_invalid_ciphertext(plaintext, context, data):
    _, kms, key_id, _ = shared()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
    position = data.draw(st.integers(min_value=0, max_value=len(blob) - 1), label="position")
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blob[:position] + blob[position + 1 :], EncryptionContext=context)
    assert code_of(excinfo) == "InvalidCiphertextException"


def test_an_empty_or_oversized_blob_fails_validation():
    _, kms, key_id, _ = shared()
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x" * 4096)["CiphertextBlob"]
    for bad in (b"", blob + b"\x00" * (6145 - len(blob))):
        with pytest.raises(ClientError) as excinfo:
            kms.decrypt(CiphertextBlob=bad)
        assert code_of(excinfo) == "ValidationException"


@PROPERTY
@given(plaintext=small_plaintexts, a=contexts, data=st.data())
def test_a_blob_made_under_one_encryption_context_never_decrypts_under_another(plaintext, a, data):
    b = data.draw(st.one_of(_near(a), contexts).filter(lambda b: b != a), label="b")
    _, kms, key_id, _ = shared()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=a)["CiphertextBlob"]
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=b)
    assert code_of(excinfo) == "InvalidCiphertextException"


@PROPERTY
@given(plaintext=small_plaintexts, context=non_empty_contexts)
def test_a_blob_made_with_an_encryption_context_never_decrypts_without_one(plaintext, context):
    _, kms, key_id, _ = shared()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blob)
    assert code_of(excinfo) == "InvalidCiphertextException"


@PROPERTY
@given(plaintext=small_plaintexts, a=non_empty_contexts, data=st.data())
def test_encryption_contexts_that_differ_only_in_how_pairs_split_never_collide(plaintext, a, data):
    # {"ab": "c"} vs {"a": "bc"}: move characters between a key and its value.
    key = data.draw(st.sampled_from(sorted(a)), label="key")
    joined = key + a[key]
    cut = data.draw(st.integers(min_value=1, max_value=len(joined) - 1), label="cut")  # key and value are non-empty
    other = dict(a)
    del other[key]
    other[joined[:cut]] = joined[cut:]
    assume(other != a and all(other.values()) and all(other))
    _, kms, key_id, _ = shared()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=a)["CiphertextBlob"]
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=other)
    assert code_of(excinfo) == "InvalidCiphertextException"


# ---------------------------------------------------------------------------
# Rotation
# ---------------------------------------------------------------------------


@PROPERTY
@given(rotations=st.integers(min_value=0, max_value=25), plaintext=small_plaintexts, context=contexts)
def test_old_ciphertexts_decrypt_after_any_number_of_on_demand_rotations(rotations, plaintext, context):
    _, kms, _, _ = shared()
    key_id = kms.create_key(Description="rotated on demand")["KeyMetadata"]["KeyId"]
    made = []  # (blob, key material that encrypted it)
    for i in range(rotations + 1):
        material = _current_material(kms, key_id)
        blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext + bytes([i]), EncryptionContext=context)["CiphertextBlob"]
        made.append((blob, material))
        if i < rotations:
            kms.rotate_key_on_demand(KeyId=key_id)
    assert len({material for _, material in made}) == rotations + 1, "every rotation makes new key material"
    for i, (blob, material) in enumerate(made):
        reply = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        assert reply["Plaintext"] == plaintext + bytes([i])
        assert reply["KeyMaterialId"] == material
    listed = kms.list_key_rotations(KeyId=key_id, Limit=1000)["Rotations"]
    assert [r["KeyMaterialId"] for r in listed] == [m for _, m in made[1:]]
    assert all(r["RotationType"] == "ON_DEMAND" for r in listed)
    # Everything still encrypts under the newest material.
    new_blob = kms.encrypt(KeyId=key_id, Plaintext=b"after")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=new_blob)["KeyMaterialId"] == made[-1][1]


@SLOW_PROPERTY
@given(
    period=st.integers(min_value=90, max_value=2560),
    steps=st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=8),
    plaintext=small_plaintexts,
    context=contexts,
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_old_ciphertexts_decrypt_after_automatic_rotations(period, steps, plaintext, context, seed):
    cloud = new_cloud(seed)
    kms = cloud.client("kms", region_name="us-east-1")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=period)
    made = []
    for i, days in enumerate([0, *steps]):
        cloud.clock.advance(days=days)
        material = _current_material(kms, key_id)
        blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext + bytes([i]), EncryptionContext=context)["CiphertextBlob"]
        made.append((blob, material))
    elapsed = sum(steps)
    listed = kms.list_key_rotations(KeyId=key_id, Limit=1000)["Rotations"]
    assert len(listed) == elapsed // period
    assert all(r["RotationType"] == "AUTOMATIC" for r in listed)
    assert len({r["KeyMaterialId"] for r in listed}) == len(listed)
    for n, r in enumerate(listed, start=1):
        assert r["RotationDate"] == START + dt.timedelta(days=n * period)
    for i, (blob, material) in enumerate(made):
        reply = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        assert reply["Plaintext"] == plaintext + bytes([i])
        assert reply["KeyMaterialId"] == material
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == period
    assert status["NextRotationDate"] == START + dt.timedelta(days=(elapsed // period + 1) * period)


@SLOW_PROPERTY
@given(
    schedule=st.lists(
        st.one_of(st.just("on-demand"), st.integers(min_value=1, max_value=400)), min_size=1, max_size=12
    ),
    plaintext=small_plaintexts,
)
def test_old_ciphertexts_decrypt_after_mixed_automatic_and_on_demand_rotations(schedule, plaintext):
    cloud = new_cloud(7)
    kms = cloud.client("kms", region_name="us-east-1")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    made = [(kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"], _current_material(kms, key_id))]
    for step in schedule:
        if step == "on-demand":
            # Whole-day steps never leave an automatic rotation due within 20 minutes.
            kms.rotate_key_on_demand(KeyId=key_id)
        else:
            cloud.clock.advance(days=step)
        made.append((kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"], _current_material(kms, key_id)))
    for blob, material in made:
        reply = kms.decrypt(CiphertextBlob=blob)
        assert reply["Plaintext"] == plaintext
        assert reply["KeyMaterialId"] == material


# ---------------------------------------------------------------------------
# ReEncrypt
# ---------------------------------------------------------------------------


@PROPERTY
@given(
    plaintext=plaintexts,
    source_context=contexts,
    destination_context=contexts,
    to_other_key=st.booleans(),
    rotate_between=st.booleans(),
)
def test_reencrypt_preserves_the_plaintext(plaintext, source_context, destination_context, to_other_key,
                                           rotate_between):
    _, kms, first, second = shared()
    source = kms.create_key(Description="reencrypt source")["KeyMetadata"]["KeyId"] if rotate_between else first
    destination = second if to_other_key else source
    blob = kms.encrypt(KeyId=source, Plaintext=plaintext, EncryptionContext=source_context)["CiphertextBlob"]
    source_material = _current_material(kms, source)
    if rotate_between:
        kms.rotate_key_on_demand(KeyId=source)
    reply = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext=source_context,
        DestinationKeyId=destination,
        DestinationEncryptionContext=destination_context,
    )
    assert reply["SourceKeyId"].endswith(":key/" + source)
    assert reply["KeyId"].endswith(":key/" + destination)
    assert reply["SourceKeyMaterialId"] == source_material
    assert reply["DestinationKeyMaterialId"] == _current_material(kms, destination)
    new_blob = reply["CiphertextBlob"]
    assert new_blob != blob
    decrypted = kms.decrypt(CiphertextBlob=new_blob, EncryptionContext=destination_context)
    assert decrypted["Plaintext"] == plaintext
    assert decrypted["KeyId"] == reply["KeyId"]
    assert decrypted["KeyMaterialId"] == reply["DestinationKeyMaterialId"]
    if source_context != destination_context:
        with pytest.raises(ClientError) as excinfo:
            kms.decrypt(CiphertextBlob=new_blob, EncryptionContext=source_context)
        assert code_of(excinfo) == "InvalidCiphertextException"


@PROPERTY
@given(plaintext=small_plaintexts, source_context=contexts, data=st.data())
def test_reencrypt_with_the_wrong_source_context_fails(plaintext, source_context, data):
    wrong = data.draw(st.one_of(_near(source_context), contexts).filter(lambda c: c != source_context), label="wrong")
    _, kms, first, second = shared()
    blob = kms.encrypt(KeyId=first, Plaintext=plaintext, EncryptionContext=source_context)["CiphertextBlob"]
    with pytest.raises(ClientError) as excinfo:
        kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=wrong, DestinationKeyId=second)
    assert code_of(excinfo) == "InvalidCiphertextException"
