"""Benchmark: kms_teach.envelope against raw AES-GCM and the AWS Encryption SDK for Python.

    .venv/bin/python bench/bench_envelope.py            # full run: 256 MiB file, 1 GiB memory run (~2 min)
    .venv/bin/python bench/bench_envelope.py --quick    # smoke run: 16 MiB file, 64 MiB memory run
    .venv/bin/python bench/bench_envelope.py --json bench/results/envelope.json

Throughput. A file of pseudo-random bytes (256 MiB in full mode) is encrypted
file to file, and its ciphertext decrypted file to file, by each system:

kms_teach
    ``envelope.encrypt_file`` / ``envelope.decrypt_file`` through a genuine
    boto3 client of an in-memory ``kms_teach.Cloud()`` (one GenerateDataKey or
    Decrypt per message, included in the time), 1 MiB chunks, with an
    encryption context.
raw AES-GCM
    the cryptographic floor: the same file read in 1 MiB chunks, each chunk
    AES-256-GCM encrypted (``AESGCM.encrypt``, counter nonce, no AAD) and
    written, or read back and decrypted; no header, no KMS, no key derivation.
ESDK (1 MiB frames)
    the AWS Encryption SDK for Python (``aws-encryption-sdk``), streaming with
    ``EncryptionSDKClient.stream`` and a ``RawMasterKey`` (AES-256-GCM
    wrapping, no AWS needed), configured like kms_teach: 1 MiB frames and the
    committing suite without signatures, ``AES_256_GCM_HKDF_SHA512_COMMIT_KEY``;
    output read in 1 MiB pieces (the SDK's fastest public way to stream).
ESDK (defaults)
    the same SDK with its default frame length (4 KiB) and default algorithm
    suite (``AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384``, which also signs
    the message), as an application that does not tune it gets.

Rounds interleave the systems (who goes first rotates each round); ratios are
taken within each round, and the figure is their median over rounds with the
25th-75th percentile in brackets. Targets: kms_teach's throughput at least
0.8x raw AES-GCM's, and at least 5x the ESDK's.

Memory. In a fresh subprocess, a 1 GiB file (full mode) is encrypted with
``encrypt_file`` and decrypted with ``decrypt_file`` (both stream, 1 MiB
chunks); peak resident memory (VmHWM, reset just before the work where Linux
allows, else ``ru_maxrss``) is compared with the resident memory just before
the work (interpreter, boto3 and kms_teach loaded and warmed up). A second
subprocess measures the peak of Python's own allocations with ``tracemalloc``.
Target: under 64 MiB above the baseline. The round trip is verified (SHA-256
of the decrypted file equals the original's): this is also the 1 GiB streamed
round trip the test suite leaves out to stay fast.

Files are in a temporary directory (page cache; no fsync): this measures the
CPU path of each system, not the disk. The script reports; it exits 0 whether
targets pass or not.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ensure_repo_on_path, environment, load_average, Ratio, Samples, table, write_results  # noqa: E402

ensure_repo_on_path()

import kms_teach  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from kms_teach import envelope  # noqa: E402

MiB = 1 << 20
CHUNK = MiB
REGION = "us-east-1"
CONTEXT = {"purpose": "benchmark", "tenant": "catrobot"}
MODES = {
    "full": dict(size_mib=256, rounds=11, memory_mib=1024),
    "quick": dict(size_mib=16, rounds=3, memory_mib=64),
}
KT, RAW, ESDK, ESDK_DEFAULT = "kms_teach", "raw AES-GCM", "ESDK (1 MiB frames)", "ESDK (defaults)"
TARGET_VS_RAW = 0.8
TARGET_VS_ESDK = 5.0
TARGET_MEMORY_MIB = 64


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def write_pseudorandom(path: Path, size: int, seed: bytes = b"bench") -> str:
    """Write ``size`` pseudo-random bytes (an AES-CTR keystream) to ``path``; return their SHA-256."""
    key = hashlib.sha256(seed).digest()
    enc = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()
    zeros = bytes(MiB)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            block = enc.update(zeros[: min(MiB, left)])
            h.update(block)
            f.write(block)
            left -= len(block)
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(MiB):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------
# The systems
# ---------------------------------------------------------------------------


def raw_system():
    aead = AESGCM(AESGCM.generate_key(256))

    def encrypt(src, dst):
        with open(src, "rb") as f, open(dst, "wb") as out:
            i = 0
            while chunk := f.read(CHUNK):
                out.write(aead.encrypt(i.to_bytes(12, "big"), chunk, None))
                i += 1

    def decrypt(src, dst):
        with open(src, "rb") as f, open(dst, "wb") as out:
            i = 0
            while sealed := f.read(CHUNK + 16):
                out.write(aead.decrypt(i.to_bytes(12, "big"), sealed, None))
                i += 1

    return encrypt, decrypt


def kms_teach_system():
    cloud = kms_teach.Cloud()
    kms = cloud.client("kms", region_name=REGION)
    key_id = kms.create_key(Description="envelope benchmark")["KeyMetadata"]["KeyId"]

    def encrypt(src, dst):
        envelope.encrypt_file(kms, key_id, src, dst, encryption_context=CONTEXT, chunk_size=CHUNK)

    def decrypt(src, dst):
        envelope.decrypt_file(kms, src, dst, encryption_context=CONTEXT, key_id=key_id)

    return encrypt, decrypt


def esdk_systems():
    """The two ESDK configurations, or None if ``aws-encryption-sdk`` is not installed."""
    try:
        import aws_encryption_sdk
        from aws_encryption_sdk.identifiers import (
            Algorithm,
            CommitmentPolicy,
            EncryptionKeyType,
            WrappingAlgorithm,
        )
        from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
        from aws_encryption_sdk.key_providers.raw import RawMasterKey
    except ImportError:
        return None

    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    master_key = RawMasterKey(
        provider_id="bench",
        key_id=b"bench-wrapping-key",
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=os.urandom(32),
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        ),
    )

    def make(**config):
        def encrypt(src, dst):
            with open(src, "rb") as f, open(dst, "wb") as out, client.stream(
                mode="e", source=f, key_provider=master_key, encryption_context=CONTEXT, **config
            ) as stream:
                while block := stream.read(CHUNK):
                    out.write(block)

        def decrypt(src, dst):
            with open(src, "rb") as f, open(dst, "wb") as out, client.stream(
                mode="d", source=f, key_provider=master_key
            ) as stream:
                while block := stream.read(CHUNK):
                    out.write(block)

        return encrypt, decrypt

    return {
        ESDK: make(frame_length=CHUNK, algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY),
        ESDK_DEFAULT: make(),
    }


# ---------------------------------------------------------------------------
# Throughput
# ---------------------------------------------------------------------------


def throughput(workdir: Path, size: int, rounds: int) -> dict:
    src = workdir / "plain.bin"
    digest = write_pseudorandom(src, size)
    systems = {KT: kms_teach_system(), RAW: raw_system()}
    esdk = esdk_systems()
    if esdk is None:
        print("  aws-encryption-sdk is not installed: ESDK comparisons skipped "
              "(.venv/bin/pip install aws-encryption-sdk)", flush=True)
    else:
        systems.update(esdk)
    slug = {name: name.split()[0].lower() + str(i) for i, name in enumerate(systems)}

    # Each system's own ciphertext, made once and checked to decrypt to the original.
    for name, (enc, dec) in systems.items():
        ct, back = workdir / f"{slug[name]}.ct", workdir / f"{slug[name]}.back"
        enc(src, ct)
        dec(ct, back)
        assert sha256_file(back) == digest, f"{name} did not round-trip"
        back.unlink()

    samples = {op: {n: Samples(n) for n in systems} for op in ("encrypt", "decrypt")}
    names = list(systems)
    gc.collect()
    for r in range(rounds):
        k = r % len(names)
        order = names[k:] + names[:k]
        for op in ("encrypt", "decrypt"):
            for name in order:
                enc, dec = systems[name]
                if op == "encrypt":
                    a, b = src, workdir / f"{slug[name]}.ct2"
                    fn = enc
                else:
                    a, b = workdir / f"{slug[name]}.ct", workdir / f"{slug[name]}.back"
                    fn = dec
                if b.exists():
                    b.unlink()  # every system writes a new file (freeing the old one's pages is not timed)
                t0 = time.perf_counter()
                fn(a, b)
                samples[op][name].per_call.append(time.perf_counter() - t0)
                samples[op][name].calls += 1
        print(f"  round {r + 1}/{rounds} done", flush=True)
    return {"samples": samples, "names": names}


# ---------------------------------------------------------------------------
# Memory (runs in a fresh subprocess)
# ---------------------------------------------------------------------------


def _rss_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def memory_child(src: str, workdir: str, how: str) -> dict:
    cloud = kms_teach.Cloud()
    kms = cloud.client("kms", region_name=REGION)
    key_id = kms.create_key(Description="memory benchmark")["KeyMetadata"]["KeyId"]
    enc_path, out_path = os.path.join(workdir, f"mem-{how}.ct"), os.path.join(workdir, f"mem-{how}.out")
    # The baseline: the interpreter with boto3, kms_teach, a client and a key, before any envelope call
    # (first-call costs, such as botocore loading an operation's model, count against the peak).
    gc.collect()
    result = {"how": how}
    if how == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
    else:
        reset = False
        try:
            with open("/proc/self/clear_refs", "w") as f:  # Linux: "5" resets the peak RSS (VmHWM)
                f.write("5")
            reset = True
        except OSError:
            pass
        # KiB, as Linux reports both (ru_maxrss is in bytes on macOS: this part assumes Linux).
        base_kib = _rss_kib("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if reset and _rss_kib("VmHWM"):
            result["peak_source"] = "VmHWM after clear_refs"
        else:
            result["peak_source"] = "ru_maxrss (lifetime peak: an upper bound)"
    t0 = time.perf_counter()
    envelope.encrypt_file(kms, key_id, src, enc_path, encryption_context=CONTEXT)
    t1 = time.perf_counter()
    envelope.decrypt_file(kms, enc_path, out_path, encryption_context=CONTEXT, key_id=key_id)
    t2 = time.perf_counter()
    if how == "tracemalloc":
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result.update(baseline_mib=base / MiB, peak_mib=peak / MiB, above_baseline_mib=(peak - base) / MiB)
    else:
        if result["peak_source"].startswith("VmHWM"):
            peak_kib = _rss_kib("VmHWM")
        else:
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result.update(baseline_mib=base_kib / 1024, peak_mib=peak_kib / 1024,
                      above_baseline_mib=(peak_kib - base_kib) / 1024)
    result["encrypt_s"], result["decrypt_s"] = t1 - t0, t2 - t1
    result["message_bytes"] = os.path.getsize(enc_path)
    result["decrypted_sha256"] = sha256_file(Path(out_path))
    os.unlink(enc_path)
    os.unlink(out_path)
    return result


def memory(workdir: Path, size: int) -> dict:
    src = workdir / "memory-plain.bin"
    digest = write_pseudorandom(src, size, seed=b"memory")
    out = {"size_bytes": size, "plaintext_sha256": digest}
    for how in ("rss", "tracemalloc"):
        proc = subprocess.run([sys.executable, __file__, "--memory-child", str(src), str(workdir), how],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"memory child ({how}) failed:\n{proc.stderr}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["round_trip_ok"] = res.pop("decrypted_sha256") == digest
        out[how] = res
        print(f"  memory ({how}): done", flush=True)
    src.unlink()
    return out


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def mib_s(size: int, seconds: float) -> str:
    return f"{size / MiB / seconds:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--dir", metavar="DIR", help="where to put the temporary files (default: the system's)")
    parser.add_argument("--memory-child", nargs=3, metavar=("SRC", "WORKDIR", "HOW"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(*args.memory_child)))
        return 0

    mode = "quick" if args.quick else "full"
    cfg = MODES[mode]
    size = cfg["size_mib"] * MiB
    started = time.perf_counter()
    env = environment("boto3", "botocore", "cryptography", "aws-encryption-sdk", "kms-teach")
    print(f"kms_teach envelope benchmark ({mode} mode): {cfg['size_mib']} MiB file, {cfg['rounds']} rounds, "
          f"{cfg['memory_mib']} MiB memory run; Python {env['python']}, nproc={env['nproc']}, "
          f"cryptography {env['versions']['cryptography']}, aws-encryption-sdk {env['versions']['aws-encryption-sdk']}",
          flush=True)

    with tempfile.TemporaryDirectory(prefix="kms-teach-bench-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        tp = throughput(workdir, size, cfg["rounds"])
        for p in workdir.iterdir():
            p.unlink()
        mem = memory(workdir, cfg["memory_mib"] * MiB)

    samples, names = tp["samples"], tp["names"]
    results = {"file_bytes": size, "chunk_bytes": CHUNK, "rounds": cfg["rounds"], "operations": {}}
    rows, target_rows = [], []
    for op in ("encrypt", "decrypt"):
        s = samples[op]
        res = {"systems": {n: {**x.summary(), "median_mib_s": size / MiB / x.median} for n, x in s.items()}}
        row = [op] + [mib_s(size, s[n].median) for n in names]
        # Throughput of kms_teach relative to another system = that system's time / kms_teach's time.
        vs_raw = Ratio.of(s[RAW], s[KT])
        res["kms_teach_vs_raw_throughput"] = {**vs_raw.to_dict(), "target": TARGET_VS_RAW,
                                              "pass": vs_raw.value >= TARGET_VS_RAW}
        target_rows.append([f"{op}: kms_teach / raw AES-GCM throughput", str(vs_raw), f">= {TARGET_VS_RAW}x",
                            "PASS" if vs_raw.value >= TARGET_VS_RAW else "MISS"])
        for other in (ESDK, ESDK_DEFAULT):
            if other in s:
                r = Ratio.of(s[other], s[KT])
                key = "kms_teach_vs_" + ("esdk_1mib_frames" if other == ESDK else "esdk_defaults") + "_throughput"
                res[key] = {**r.to_dict(), "target": TARGET_VS_ESDK, "pass": r.value >= TARGET_VS_ESDK}
                target_rows.append([f"{op}: kms_teach / {other} throughput", str(r), f">= {TARGET_VS_ESDK}x",
                                    "PASS" if r.value >= TARGET_VS_ESDK else "MISS"])
        if ESDK in s:
            floor = Ratio.of(s[ESDK], s[RAW])
            res["raw_vs_esdk_1mib_frames_throughput"] = floor.to_dict()
            target_rows.append([f"{op}: raw AES-GCM / {ESDK} throughput (the most any system could gain)",
                                str(floor), "-", "-"])
        results["operations"][op] = res
        rows.append(row)
    print()
    print(f"Throughput, MiB/s (median over {cfg['rounds']} rounds; {cfg['size_mib']} MiB file to file, 1 MiB chunks):")
    print(table(["operation"] + names, rows))
    print()
    print(table(["ratio (median over rounds [p25-p75])", "value", "target", ""], target_rows))

    mem_rows = []
    for how in ("rss", "tracemalloc"):
        m = mem[how]
        ok = m["above_baseline_mib"] < TARGET_MEMORY_MIB
        m["target_mib"], m["pass"] = TARGET_MEMORY_MIB, ok
        if how == "rss":
            label = f"resident memory ({m['peak_source']})"
        else:
            label = "Python allocations (tracemalloc)"
        mem_rows.append([label, f"{m['baseline_mib']:.1f}", f"{m['peak_mib']:.1f}", f"{m['above_baseline_mib']:.1f}",
                         f"< {TARGET_MEMORY_MIB}", "PASS" if ok else "MISS",
                         "yes" if m["round_trip_ok"] else "NO"])
    print()
    print(f"Peak memory, {cfg['memory_mib']} MiB file: encrypt_file then decrypt_file in a fresh process (MiB):")
    print(table(["measure", "baseline", "peak", "above baseline", "target", "", "round trip ok"], mem_rows))
    m = mem["rss"]
    print(f"  (that run: encrypt {mib_s(mem['size_bytes'], m['encrypt_s'])} MiB/s, "
          f"decrypt {mib_s(mem['size_bytes'], m['decrypt_s'])} MiB/s, message {m['message_bytes']:,} bytes)")
    results["memory"] = mem

    wall = time.perf_counter() - started
    env["loadavg_at_end"] = load_average()
    print(f"\nLoad average at end: {env['loadavg_at_end']}. Wall time {wall:.0f} s.")
    write_results(args.json, {"benchmark": "bench/bench_envelope.py", "mode": mode, "environment": env,
                              "results": results, "wall_s": round(wall, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
