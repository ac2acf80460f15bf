"""Benchmark: the kms_teach HTTP endpoint (`kms-teach serve`) against moto's server, through boto3 over HTTP.

    .venv/bin/python bench/bench_server.py            # full run (about 3 minutes on 2 cores)
    .venv/bin/python bench/bench_server.py --quick    # smoke run, about 30 seconds
    .venv/bin/python bench/bench_server.py --json bench/results/server.json
    .venv/bin/python bench/bench_server.py --only multipart    # just the 1 GiB S3 multipart figures

Both servers run as subprocesses on 127.0.0.1 (``python -m kms_teach serve --port 0
--data TMP`` and ``moto_server``); the clients are genuine boto3 KMS clients.

throughput
    Encrypt of 32 bytes under a symmetric key, with 1 and with 4 concurrent
    clients, each client a process of its own with one keep-alive connection
    (clients as threads of one process would share its interpreter lock and
    measure botocore's contention for it, not the servers). Each round runs
    both servers back to back for the same wall time (the one that goes first
    alternates); a sample is calls per second over that time. The ratio
    kms_teach/moto is taken within each round; the figure is its median over
    rounds, the bracket its 25th-75th percentile. The clients' own cost
    (botocore: serialise, sign, parse) is in both figures alike, and on a
    2-CPU machine the client processes and the server share the CPUs.
soak
    8 clients (threads of this process) for 60 s (``--quick``: 8 s) of mixed operations against the
    kms_teach endpoint (Encrypt/Decrypt with encryption contexts, GenerateDataKey
    and Decrypt of the data key, ReEncrypt, DescribeKey, ListKeys, CreateKey,
    CreateAlias/DeleteAlias, GetKeyPolicy, GenerateRandom), every answer checked;
    the figure is the number of errors (the target is zero) and the latency
    percentiles.

multipart
    S3: one file of 1 GiB (``--quick``: 128 MiB) sent to a fresh ``kms-teach serve`` as a multipart
    upload (boto3's ``upload_file``, 5 MiB parts, 4 threads) and the same bytes sent to another fresh
    server as single PutObject calls of 5 MiB (4 threads), both SSE-KMS under a customer managed key;
    then the multipart object downloaded (``download_file``, ranged GETs of 5 MiB, and one streamed
    GetObject of the whole object). Figures: MiB/s of each, the ratio multipart/single PUTs, and the
    server's peak resident memory during each phase (sampled from /proc every 20 ms) and overall
    (VmHWM). The servers keep their data folder on disk, as a learner's does.

Target: kms_teach at least 3x moto's throughput. The script reports; it never
fails on a missed target (exit status 0 unless the benchmark itself breaks).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, load_average, quantile, REPO, table, write_results  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"total_max_attempts": 1, "mode": "standard"},
                max_pool_connections=16)
PLAINTEXT = b"\x5a" * 32
TARGET = 3.0


# ---------------------------------------------------------------------------
# The servers
# ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


class Server:
    def __init__(self, name: str, proc: subprocess.Popen, url: str, key: str, secret: str, data: Path | None = None):
        self.name, self.proc, self.url, self.key, self.secret, self.data = name, proc, url, key, secret, data

    def client(self, service: str = "kms"):
        return boto3.session.Session().client(service, region_name="us-east-1", endpoint_url=self.url,
                                              aws_access_key_id=self.key, aws_secret_access_key=self.secret,
                                              config=CONFIG)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.data is not None:
            shutil.rmtree(self.data, ignore_errors=True)
        return self.proc.returncode


def start_kms_teach() -> Server:
    data = Path(tempfile.mkdtemp(prefix="kms-teach-bench-"))
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-m", "kms_teach", "serve", "--port", "0", "--data", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    url = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("kms-teach serve exited before it was ready")
        m = re.search(r"export AWS_ENDPOINT_URL=(\S+)", line)
        if m:
            url = m.group(1)
        if "to stop" in line:
            break
    if url is None:
        raise RuntimeError("kms-teach serve did not announce its URL")
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain
    import configparser

    creds = configparser.ConfigParser()
    creds.read(data / "credentials")
    return Server("kms_teach", proc, url, creds.get("default", "aws_access_key_id"),
                  creds.get("default", "aws_secret_access_key"), data)


def start_moto() -> Server:
    port = _free_port()
    exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
    cmd = [exe] if exe else [sys.executable, "-c", "from moto.server import main; main()"]
    proc = subprocess.Popen(cmd + ["-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _wait_listening(port, proc)
    return Server("moto", proc, f"http://127.0.0.1:{port}", "AKIAIOSFODNN7EXAMPLE",
                  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


# ---------------------------------------------------------------------------
# Throughput
# ---------------------------------------------------------------------------
#
# Each client is a process of its own, as separate programs (or aws CLI runs) are: clients that
# are threads of one process would share its interpreter lock, and then measure botocore's
# contention for it rather than the server.


def _client_process(conn, servers: dict) -> None:
    """A client: one boto3 KMS client per server; runs Encrypt loops on command."""
    kmss = {}
    for name, (url, key, secret, key_id) in servers.items():
        kms = boto3.session.Session().client("kms", region_name="us-east-1", endpoint_url=url,
                                             aws_access_key_id=key, aws_secret_access_key=secret, config=CONFIG)
        for _ in range(20):  # warm: connection open, codecs compiled
            kms.encrypt(KeyId=key_id, Plaintext=PLAINTEXT)
        kmss[name] = (kms, key_id)
    conn.send("ready")
    while True:
        msg = conn.recv()
        if msg is None:
            return
        name, start_at, seconds = msg
        kms, key_id = kmss[name]
        while time.time() < start_at:
            time.sleep(0.001)
        end = start_at + seconds
        n = 0
        try:
            while time.time() < end:
                kms.encrypt(KeyId=key_id, Plaintext=PLAINTEXT)
                n += 1
        except Exception as exc:  # noqa: BLE001 - reported by the parent
            conn.send(("error", repr(exc)))
            continue
        conn.send(("ok", n))


class ClientPool:
    def __init__(self, size: int, servers: list[Server]):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        spec = {}
        for s in servers:
            key_id = s.client().create_key(Description="bench")["KeyMetadata"]["KeyId"]
            spec[s.name] = (s.url, s.key, s.secret, key_id)
        self.procs, self.conns = [], []
        for _ in range(size):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_client_process, args=(child, spec), daemon=True)
            proc.start()
            self.procs.append(proc)
            self.conns.append(parent)
        for c in self.conns:
            if not c.poll(120) or c.recv() != "ready":
                raise RuntimeError("a client process did not start")

    def run(self, name: str, clients: int, seconds: float) -> float:
        start_at = time.time() + 0.3
        for c in self.conns[:clients]:
            c.send((name, start_at, seconds))
        total = 0
        for c in self.conns[:clients]:
            if not c.poll(seconds + 60):
                raise RuntimeError(f"{name}: a client process did not answer")
            status, value = c.recv()
            if status != "ok":
                raise RuntimeError(f"{name}: {value}")
            total += value
        return total / seconds

    def close(self) -> None:
        for c in self.conns:
            try:
                c.send(None)
            except OSError:
                pass
        for p in self.procs:
            p.join(10)
            if p.is_alive():
                p.kill()


def throughput(pool: ClientPool, servers: list[Server], clients: int, rounds: int, seconds: float) -> dict:
    samples: dict[str, list[float]] = {s.name: [] for s in servers}
    for r in range(rounds):
        order = servers if r % 2 == 0 else servers[::-1]
        for s in order:
            samples[s.name].append(pool.run(s.name, clients, seconds))
    ratios = [a / b for a, b in zip(samples["kms_teach"], samples["moto"])]
    return {"clients": clients, "rounds": rounds, "seconds_per_sample": seconds,
            "calls_per_s": {k: {"median": statistics.median(v), "samples": [round(x, 1) for x in v]}
                            for k, v in samples.items()},
            "ratio": statistics.median(ratios), "ratio_p25": quantile(ratios, 0.25),
            "ratio_p75": quantile(ratios, 0.75)}


# ---------------------------------------------------------------------------
# Soak
# ---------------------------------------------------------------------------


def soak(server: Server, clients: int, seconds: float) -> dict:
    errors: list[str] = []
    latencies: list[float] = []
    counts: dict[str, int] = {}
    lock = threading.Lock()
    setup = server.client()
    shared = setup.create_key(Description="soak shared")["KeyMetadata"]["KeyId"]
    end = time.perf_counter() + seconds

    def check(cond: bool, what: str) -> None:
        if not cond:
            raise AssertionError(what)

    def work(n: int):
        kms = server.client()
        own = kms.create_key(Description=f"soak {n}")["KeyMetadata"]["KeyId"]
        i = 0
        local_lat: list[float] = []
        local_counts: dict[str, int] = {}
        while time.perf_counter() < end:
            op = ("encrypt", "encrypt", "encrypt", "data_key", "reencrypt", "describe", "list", "random",
                  "policy", "alias", "create")[i % 11]
            t0 = time.perf_counter()
            try:
                if op == "encrypt":
                    key = own if i % 2 else shared
                    ctx = {"client": str(n), "i": str(i)}
                    pt = f"{n}:{i}".encode() * 3
                    blob = kms.encrypt(KeyId=key, Plaintext=pt, EncryptionContext=ctx)["CiphertextBlob"]
                    out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
                    check(out["Plaintext"] == pt and out["KeyId"].endswith(key), "decrypt")
                elif op == "data_key":
                    dk = kms.generate_data_key(KeyId=own, KeySpec="AES_256")
                    check(len(dk["Plaintext"]) == 32, "data key length")
                    check(kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"],
                          "data key decrypt")
                elif op == "reencrypt":
                    blob = kms.encrypt(KeyId=own, Plaintext=b"move me")["CiphertextBlob"]
                    moved = kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=shared)["CiphertextBlob"]
                    out = kms.decrypt(CiphertextBlob=moved)
                    check(out["Plaintext"] == b"move me" and out["KeyId"].endswith(shared), "re-encrypt")
                elif op == "describe":
                    check(kms.describe_key(KeyId=own)["KeyMetadata"]["KeyState"] == "Enabled", "describe")
                elif op == "list":
                    check(len(kms.list_keys(Limit=10)["Keys"]) >= 1, "list keys")
                elif op == "random":
                    check(len(kms.generate_random(NumberOfBytes=64)["Plaintext"]) == 64, "random")
                elif op == "policy":
                    check("Enable IAM User Permissions" in kms.get_key_policy(KeyId=own)["Policy"], "policy")
                elif op == "alias":
                    alias = f"alias/soak-{n}-{i}"
                    kms.create_alias(AliasName=alias, TargetKeyId=own)
                    check(kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == own, "alias")
                    kms.delete_alias(AliasName=alias)
                elif op == "create" and i % 55 == 10:
                    made = kms.create_key(Description=f"soak {n} {i}")["KeyMetadata"]
                    check(made["KeyState"] == "Enabled", "create")
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                with lock:
                    errors.append(f"client {n} op {op}: {exc!r}")
            local_lat.append(time.perf_counter() - t0)
            local_counts[op] = local_counts.get(op, 0) + 1
            i += 1
        with lock:
            latencies.extend(local_lat)
            for k, v in local_counts.items():
                counts[k] = counts.get(k, 0) + v

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    elapsed = time.perf_counter() - t0
    return {"clients": clients, "seconds": round(elapsed, 1), "operations": len(latencies),
            "operations_per_s": round(len(latencies) / elapsed, 1), "errors": len(errors),
            "first_errors": errors[:5], "mix": counts,
            "latency_ms": {"p50": round(quantile(latencies, 0.5) * 1e3, 2),
                           "p99": round(quantile(latencies, 0.99) * 1e3, 2),
                           "max": round(max(latencies) * 1e3, 2)} if latencies else {}}


# ---------------------------------------------------------------------------
# S3 multipart upload: 1 GiB against the same bytes as single PUTs, and the server's memory
# ---------------------------------------------------------------------------

MiB = 1024 * 1024


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _PeakRss:
    """The peak resident memory of a process while the block runs (sampled every 20 ms)."""

    def __init__(self, pid: int):
        self.pid, self.peak_kib, self._stop = pid, _rss_kib(pid), threading.Event()
        self.start_kib = self.peak_kib

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak_kib = max(self.peak_kib, _rss_kib(self.pid))

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, _rss_kib(self.pid))


def _s3_client(server: Server):
    from botocore.config import Config as _Config

    config = CONFIG.merge(_Config(read_timeout=300, s3={"addressing_style": "path"}))
    return boto3.session.Session().client("s3", region_name="us-east-1", endpoint_url=server.url,
                                          aws_access_key_id=server.key, aws_secret_access_key=server.secret,
                                          config=config)


def multipart(size_mib: int, part_mib: int = 5, threads: int = 4) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    from boto3.s3.transfer import TransferConfig

    work = Path(tempfile.mkdtemp(prefix="kms-teach-bench-s3-"))
    size, part = size_mib * MiB, part_mib * MiB
    source, back = work / "source.bin", work / "back.bin"
    with open(source, "wb") as fh:  # random bytes: nothing compresses, no part equals another
        for _ in range(size_mib):
            fh.write(os.urandom(MiB))
    transfer = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=threads)
    out: dict = {"size_mib": size_mib, "part_mib": part_mib, "threads": threads,
                 "sse": "aws:kms (customer managed key)"}
    try:
        # -- one multipart upload, then its download ------------------------------------------------
        server = start_kms_teach()
        try:
            kms, s3 = server.client(), _s3_client(server)
            key = kms.create_key(Description="bench multipart")["KeyMetadata"]["Arn"]
            s3.create_bucket(Bucket="bench-multipart")
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}
            with _PeakRss(server.proc.pid) as rss:
                t0 = time.perf_counter()
                s3.upload_file(str(source), "bench-multipart", "one-gib.bin", ExtraArgs=extra, Config=transfer)
                up = time.perf_counter() - t0
            head = s3.head_object(Bucket="bench-multipart", Key="one-gib.bin")
            assert head["ContentLength"] == size and head["ETag"].endswith(f'-{math.ceil(size / part)}"'), head
            out["multipart_upload"] = {"seconds": round(up, 2), "mib_per_s": round(size_mib / up, 1),
                                       "server_rss_start_mib": round(rss.start_kib / 1024),
                                       "server_peak_rss_mib": round(rss.peak_kib / 1024)}
            with _PeakRss(server.proc.pid) as rss:
                t0 = time.perf_counter()
                s3.download_file("bench-multipart", "one-gib.bin", str(back), Config=transfer)
                down = time.perf_counter() - t0
            same = _same_file(source, back)
            out["ranged_download"] = {"seconds": round(down, 2), "mib_per_s": round(size_mib / down, 1),
                                      "server_peak_rss_mib": round(rss.peak_kib / 1024), "identical": same}
            back.unlink()
            with _PeakRss(server.proc.pid) as rss:
                t0 = time.perf_counter()
                body = s3.get_object(Bucket="bench-multipart", Key="one-gib.bin")["Body"]
                digest = __import__("hashlib").sha256()
                for chunk in iter(lambda: body.read(MiB), b""):
                    digest.update(chunk)
                streamed = time.perf_counter() - t0
            out["streamed_get"] = {"seconds": round(streamed, 2), "mib_per_s": round(size_mib / streamed, 1),
                                   "server_peak_rss_mib": round(rss.peak_kib / 1024),
                                   "identical": digest.digest() == _sha256(source)}
            out["multipart_server_vmhwm_mib"] = round(_rss_kib(server.proc.pid, "VmHWM") / 1024)
        finally:
            out["multipart_server_exit"] = server.stop()
        # -- the same bytes as single PUTs of one part each ---------------------------------------------
        server = start_kms_teach()
        try:
            kms, s3 = server.client(), _s3_client(server)
            key = kms.create_key(Description="bench single PUTs")["KeyMetadata"]["Arn"]
            s3.create_bucket(Bucket="bench-single")

            def put(i: int) -> None:
                with open(source, "rb") as fh:
                    fh.seek(i * part)
                    data = fh.read(part)
                s3.put_object(Bucket="bench-single", Key=f"piece-{i:05d}", Body=data, ServerSideEncryption="aws:kms",
                              SSEKMSKeyId=key)

            count = math.ceil(size / part)
            with _PeakRss(server.proc.pid) as rss, ThreadPoolExecutor(threads) as pool:
                t0 = time.perf_counter()
                list(pool.map(put, range(count)))
                single = time.perf_counter() - t0
            out["single_puts"] = {"objects": count, "seconds": round(single, 2),
                                  "mib_per_s": round(size_mib / single, 1),
                                  "server_rss_start_mib": round(rss.start_kib / 1024),
                                  "server_peak_rss_mib": round(rss.peak_kib / 1024)}
        finally:
            out["single_server_exit"] = server.stop()
        out["ratio_multipart_to_single_puts"] = round(
            out["single_puts"]["seconds"] / out["multipart_upload"]["seconds"], 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _sha256(path: Path) -> bytes:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(MiB), b""):
            digest.update(chunk)
    return digest.digest()


def _same_file(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and _sha256(a) == _sha256(b)


def report_multipart(m: dict) -> None:
    mp, sp = m["multipart_upload"], m["single_puts"]
    rows = [
        [f"multipart upload, {m['size_mib']} MiB in {m['part_mib']} MiB parts", f"{mp['mib_per_s']:,.1f}",
         f"{mp['seconds']:.1f}", f"{mp['server_peak_rss_mib']:,} (from {mp['server_rss_start_mib']})"],
        [f"same bytes as {sp['objects']} single PUTs", f"{sp['mib_per_s']:,.1f}", f"{sp['seconds']:.1f}",
         f"{sp['server_peak_rss_mib']:,} (from {sp['server_rss_start_mib']})"],
        ["download_file of the multipart object (ranged GETs)", f"{m['ranged_download']['mib_per_s']:,.1f}",
         f"{m['ranged_download']['seconds']:.1f}", f"{m['ranged_download']['server_peak_rss_mib']:,}"],
        ["one GetObject of it, streamed", f"{m['streamed_get']['mib_per_s']:,.1f}",
         f"{m['streamed_get']['seconds']:.1f}", f"{m['streamed_get']['server_peak_rss_mib']:,}"],
    ]
    print(table(["S3, SSE-KMS, 4 threads", "MiB/s", "s", "server peak RSS MiB"], rows))
    print(f"multipart/single PUTs throughput: {m['ratio_multipart_to_single_puts']:.2f}x; downloads identical: "
          f"{m['ranged_download']['identical'] and m['streamed_get']['identical']}; multipart server VmHWM "
          f"{m['multipart_server_vmhwm_mib']:,} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: short samples, a short soak")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--only", choices=("all", "kms", "multipart"), default="all",
                        help="kms: throughput and soak only; multipart: the S3 multipart figures only")
    parser.add_argument("--multipart-mib", type=int, help="the size of the multipart upload (default 1024, "
                                                          "--quick 128)")
    args = parser.parse_args()
    rounds, seconds, soak_s = (3, 1.0, 8.0) if args.quick else (7, 3.0, 60.0)
    multipart_mib = args.multipart_mib or (128 if args.quick else 1024)

    env = environment("kms-teach", "boto3", "botocore", "moto", "cheroot", "werkzeug")
    print(f"python {env['python']} on {env['platform']}, {env['nproc']} CPUs; load {env['loadavg_at_start']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    results: dict = {"environment": env, "quick": args.quick, "target_ratio": TARGET}
    servers: list[Server] = []
    pool = None
    try:
        if args.only in ("all", "multipart"):
            print(f"multipart: {multipart_mib} MiB to a fresh kms-teach serve, then as single PUTs ...", flush=True)
            results["multipart"] = multipart(multipart_mib)
            report_multipart(results["multipart"])
            print()
        if args.only == "multipart":
            results["loadavg_at_end"] = load_average()
            print(f"load at end {results['loadavg_at_end']}")
            write_results(args.json, results)
            return 0
        servers = [start_kms_teach(), start_moto()]
        pool = ClientPool(4, servers)
        rows = []
        results["throughput"] = []
        for clients in (1, 4):
            r = throughput(pool, servers, clients, rounds, seconds)
            results["throughput"].append(r)
            ours, theirs = r["calls_per_s"]["kms_teach"]["median"], r["calls_per_s"]["moto"]["median"]
            verdict = "ok" if r["ratio"] >= TARGET else "MISS"
            rows.append([f"Encrypt 32 B, {clients} client{'s' if clients > 1 else ''}", f"{ours:,.0f}",
                         f"{theirs:,.0f}", f"{r['ratio']:.2f}x [{r['ratio_p25']:.2f}-{r['ratio_p75']:.2f}]",
                         f">= {TARGET:.0f}x {verdict}"])
        print()
        print(table(["workload (calls/s, medians)", "kms_teach", "moto", "kms_teach/moto", "target"], rows))
        print()
        print(f"soak: 8 clients, {soak_s:.0f} s of mixed operations against kms_teach ...", flush=True)
        s = soak(servers[0], 8, soak_s)
        results["soak"] = s
        print(f"soak: {s['operations']:,} operations in {s['seconds']} s ({s['operations_per_s']:,}/s), "
              f"errors {s['errors']} ({'ok' if s['errors'] == 0 else 'MISS'}), latency p50 "
              f"{s['latency_ms'].get('p50')} ms, p99 {s['latency_ms'].get('p99')} ms, "
              f"max {s['latency_ms'].get('max')} ms")
        for e in s["first_errors"]:
            print(f"  {e}")
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        if pool is not None:
            pool.close()
        codes = {s.name: s.stop() for s in servers}
        results["exit_codes"] = codes
        if "kms_teach" in codes:
            print(f"kms-teach serve exited with {codes['kms_teach']} on SIGTERM")
    results["loadavg_at_end"] = load_average()
    print(f"load at end {results['loadavg_at_end']}")
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
