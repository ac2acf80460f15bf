"""A 1 GiB stream through the envelope recipes: generated, encrypted to disk, decrypted, hashed."""

from __future__ import annotations

from kms_teach import envelope
from tests.unit.test_envelope import HashingWriter, PseudoRandomReader

GiB = 1 << 30


def test_a_1_gib_stream_round_trips_with_bounded_memory(kms, key_id, tmp_path):
    import tracemalloc

    reader = PseudoRandomReader(GiB, seed=b"one gibibyte")
    target = tmp_path / "big.ktev"
    tracemalloc.start()
    try:
        with open(target, "wb") as out:
            header = envelope.encrypt_stream(kms, key_id, reader, out, encryption_context={"size": "1GiB"})
        sink = HashingWriter()
        with open(target, "rb") as src:
            envelope.decrypt_stream(kms, src, sink, encryption_context={"size": "1GiB"})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sink.size == GiB
    assert sink.hash.hexdigest() == reader.digest()
    assert target.stat().st_size > GiB and header.chunk_size == 1 << 20
    assert peak < 64 * (1 << 20), f"peak traced memory {peak / (1 << 20):.1f} MiB"
