"""Benchmark: kms_teach's in-process KMS against the protocol floor and against moto.

    .venv/bin/python bench/bench_kms.py            # full run (about a minute on 2 cores)
    .venv/bin/python bench/bench_kms.py --quick    # smoke run: few iterations, 40 keys
    .venv/bin/python bench/bench_kms.py --json bench/results/kms.json

Three systems answer the same boto3 calls:

floor
    A client made by ``cloud.client("kms")`` whose ``before-send`` handler is
    replaced by one returning a canned ``AWSResponse`` (a body captured from
    kms_teach for the same operation). It costs what botocore costs
    (validate, serialise, parse; in-process clients are unsigned) and nothing else: no simulator can be
    faster through a genuine boto3 client.
kms_teach
    ``cloud.client("kms")`` as a learner gets it.
moto
    ``moto.mock_aws`` with a ``boto3`` KMS client (us-east-1, dummy credentials).

Rounds interleave the three (the first to run rotates each round); each system
runs a batch calibrated to last about the same time; a sample is the mean time
per call over one batch. A ratio between two systems is taken within each
round; the figure is its median over rounds, the bracket its 25th-75th
percentile. Times per call (medians over rounds) are printed for orientation.
The script reports; it never fails on a missed target (exit status 0 unless
the benchmark itself breaks). Method and recorded figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    Ratio,
    Samples,
    ensure_repo_on_path,
    environment,
    interleaved,
    load_average,
    table,
    us,
    write_results,
)

ensure_repo_on_path()

# kms_teach is imported, and its shared botocore session made, BEFORE moto: moto
# appends its request stubber to botocore's BUILTIN_HANDLERS at import, and every
# botocore session made afterwards would run it ahead of kms_teach's transport.
import kms_teach  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402

try:
    from kms_teach._cloud import _RawBody  # noqa: E402  the body object kms_teach's transport answers with
except ImportError:  # pragma: no cover - kms_teach moved it; an equivalent

    import io

    class _RawBody(io.BytesIO):
        def stream(self, amt: int = 65536, decode_content: bool = False):
            while chunk := self.read(amt):
                yield chunk


kms_teach.Cloud().client("kms")  # makes kms_teach's process-wide botocore session now, before moto is imported

import boto3  # noqa: E402

try:
    from moto import mock_aws  # noqa: E402
    from moto.core.models import botocore_stubber  # noqa: E402
except ImportError as exc:  # pragma: no cover - the bench extra is not installed
    sys.exit(f"bench_kms.py needs moto ({exc}): .venv/bin/pip install -e '.[bench]'")

REGION = "us-east-1"
WARM_REGION = "us-west-2"  # CreateKey warm-up keys go here, so that the listed Region holds exactly N keys
PLAINTEXT = os.urandom(4096)

FLOOR, KT, MOTO = "floor", "kms_teach", "moto"

MODES = {
    # rounds per operation, seconds per batch, warm-up calls, keys to create and list, ListKeys Limit, keys per CreateKey batch
    "full": dict(rounds=31, batch_s=0.05, warmup=50, keys=1000, limit=100, key_batch=50),
    "quick": dict(rounds=5, batch_s=0.01, warmup=5, keys=40, limit=10, key_batch=10),
}

TARGETS = [
    # (operation, metric, comparison, threshold)
    ("Encrypt", "vs_floor", "<=", 1.3),
    ("Encrypt", "vs_moto", ">=", 2.5),
    ("Decrypt", "vs_floor", "<=", 1.3),
    ("Decrypt", "vs_moto", ">=", 2.5),
    ("CreateKey", "vs_moto", ">=", 20.0),
]


# ---------------------------------------------------------------------------
# The three systems
# ---------------------------------------------------------------------------


def _handlers(client) -> list:
    """The client's before-send handlers, in the order botocore calls them (botocore internals, for a sanity check)."""
    try:
        return list(client.meta.events._emitter._handlers.prefix_search("before-send.kms.Encrypt"))
    except Exception:  # pragma: no cover - a botocore that changed its internals
        return []


def capture(cloud: kms_teach.Cloud, call) -> tuple[int, dict, bytes]:
    """The exact HTTP response kms_teach gives to ``call(client)``: status, headers, body."""
    client = cloud.client("kms", region_name=REGION)
    real = client._kms_teach_transport
    seen = {}

    def spy(request, **kwargs):
        response = real(request, **kwargs)
        body = response.raw.getvalue()
        seen["reply"] = (response.status_code, dict(response.headers), body)
        return AWSResponse(request.url, response.status_code, response.headers, _RawBody(body))

    client.meta.events.unregister("before-send", real)
    client.meta.events.register("before-send", spy)
    call(client)
    status, headers, body = seen["reply"]
    if status != 200:
        raise RuntimeError(f"capturing a canned response failed: HTTP {status} {body[:200]!r}")
    return seen["reply"]


def floor_client(cloud: kms_teach.Cloud, reply: tuple[int, dict, bytes]):
    """A ``cloud.client("kms")`` whose transport answers every request with one canned response."""
    status, headers, body = reply
    client = cloud.client("kms", region_name=REGION)
    client.meta.events.unregister("before-send", client._kms_teach_transport)

    def canned(request, **kwargs):
        return AWSResponse(request.url, status, headers, _RawBody(body))

    client.meta.events.register("before-send", canned)
    client._bench_canned = canned  # keep the handler alive with the client (events hold weak references)
    handlers = _handlers(client)
    if handlers and handlers != [canned]:
        raise RuntimeError(f"floor client has unexpected before-send handlers: {handlers}")
    return client


def moto_client(region: str = REGION):
    """A plain boto3 client made while moto's mock is active (moto answers it)."""
    client = boto3.session.Session().client(
        "kms", region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    if botocore_stubber not in _handlers(client):
        raise RuntimeError("moto's stubber is not on the moto client: moto would not answer it")
    return client


def check_kms_teach_client(client) -> None:
    handlers = _handlers(client)
    if botocore_stubber in handlers:
        raise RuntimeError("moto's stubber sits on a kms_teach client; kms_teach figures would include moto's cost")
    if handlers and handlers != [client._kms_teach_transport]:
        raise RuntimeError(f"kms_teach client has unexpected before-send handlers: {handlers}")


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


def crypto_section(cfg: dict, log) -> dict:
    """Encrypt, Decrypt (4 KiB) and GenerateDataKey (AES_256): floor, kms_teach, moto, interleaved."""
    cloud = kms_teach.Cloud()
    kt = cloud.client("kms", region_name=REGION)
    check_kms_teach_client(kt)
    kid = kt.create_key(Description="bench")["KeyMetadata"]["KeyId"]
    blob = kt.encrypt(KeyId=kid, Plaintext=PLAINTEXT)["CiphertextBlob"]
    assert kt.decrypt(CiphertextBlob=blob)["Plaintext"] == PLAINTEXT

    canned = {
        "Encrypt": capture(cloud, lambda c: c.encrypt(KeyId=kid, Plaintext=PLAINTEXT)),
        "Decrypt": capture(cloud, lambda c: c.decrypt(CiphertextBlob=blob)),
        "GenerateDataKey": capture(cloud, lambda c: c.generate_data_key(KeyId=kid, KeySpec="AES_256")),
    }
    fl = {op: floor_client(cloud, reply) for op, reply in canned.items()}
    # The floor parses the same bytes kms_teach sends, and never reaches the simulator.
    before = len(cloud.audit)
    assert fl["Decrypt"].decrypt(CiphertextBlob=blob)["Plaintext"] == PLAINTEXT
    assert len(fl["Encrypt"].encrypt(KeyId=kid, Plaintext=PLAINTEXT)["CiphertextBlob"]) == len(blob)
    assert len(fl["GenerateDataKey"].generate_data_key(KeyId=kid, KeySpec="AES_256")["Plaintext"]) == 32
    assert len(cloud.audit) == before, "a floor call reached kms_teach"

    results = {}
    with mock_aws():
        mk = moto_client()
        mkid = mk.create_key(Description="bench")["KeyMetadata"]["KeyId"]
        mblob = mk.encrypt(KeyId=mkid, Plaintext=PLAINTEXT)["CiphertextBlob"]
        assert mk.decrypt(CiphertextBlob=mblob)["Plaintext"] == PLAINTEXT
        assert len(mk.generate_data_key(KeyId=mkid, KeySpec="AES_256")["Plaintext"]) == 32

        ops = {
            "Encrypt": {
                FLOOR: lambda: fl["Encrypt"].encrypt(KeyId=kid, Plaintext=PLAINTEXT),
                KT: lambda: kt.encrypt(KeyId=kid, Plaintext=PLAINTEXT),
                MOTO: lambda: mk.encrypt(KeyId=mkid, Plaintext=PLAINTEXT),
            },
            "Decrypt": {
                FLOOR: lambda: fl["Decrypt"].decrypt(CiphertextBlob=blob),
                KT: lambda: kt.decrypt(CiphertextBlob=blob),
                MOTO: lambda: mk.decrypt(CiphertextBlob=mblob),
            },
            "GenerateDataKey": {
                FLOOR: lambda: fl["GenerateDataKey"].generate_data_key(KeyId=kid, KeySpec="AES_256"),
                KT: lambda: kt.generate_data_key(KeyId=kid, KeySpec="AES_256"),
                MOTO: lambda: mk.generate_data_key(KeyId=mkid, KeySpec="AES_256"),
            },
        }
        for op, contestants in ops.items():
            t0 = time.perf_counter()
            results[op] = interleaved(
                contestants, rounds=cfg["rounds"], target_batch_s=cfg["batch_s"], warmup=cfg["warmup"]
            )
            log(f"  {op}: {time.perf_counter() - t0:.1f} s")
    return results


def list_all(client, limit: int) -> tuple[list[str], int, int]:
    """Page through ListKeys with Limit/Marker: (key IDs in order, pages, pages requested with a Marker)."""
    ids: list[str] = []
    pages = with_marker = 0
    marker = None
    while True:
        kwargs = {"Limit": limit}
        if marker is not None:
            kwargs["Marker"] = marker
            with_marker += 1
        page = client.list_keys(**kwargs)
        pages += 1
        ids.extend(k["KeyId"] for k in page["Keys"])
        if not page.get("Truncated"):
            return ids, pages, with_marker
        marker = page["NextMarker"]
        if pages > 100_000:  # pragma: no cover - a server that never stops
            raise RuntimeError("ListKeys never stopped paging")


def check_listing(name: str, client, created: list[str], limit: int) -> dict:
    ids, pages, with_marker = list_all(client, limit)
    n = len(created)
    expected_pages = math.ceil(n / limit)
    return {
        "system": name,
        "keys_created": n,
        "keys_listed": len(ids),
        "each_key_once": len(ids) == len(set(ids)) == n and set(ids) == set(created),
        "pages": pages,
        "pages_with_marker": with_marker,
        "paginated": pages == expected_pages and with_marker == pages - 1,
        "expected_pages": expected_pages,
    }


def keys_section(cfg: dict, log) -> tuple[dict, dict, dict]:
    """CreateKey (N keys per system, interleaved batches), then full ListKeys listings of those N keys."""
    n, batch, limit = cfg["keys"], cfg["key_batch"], cfg["limit"]
    cloud = kms_teach.Cloud()
    kt = cloud.client("kms", region_name=REGION)
    kt_warm = cloud.client("kms", region_name=WARM_REGION)
    check_kms_teach_client(kt)
    scratch = kms_teach.Cloud()
    fl_create = floor_client(scratch, capture(scratch, lambda c: c.create_key(Description="bench")))

    created: dict[str, list[str]] = {KT: [], MOTO: []}
    with mock_aws():
        mk = moto_client()
        mk_warm = moto_client(WARM_REGION)
        warm = max(2, min(cfg["warmup"], 10))
        for _ in range(warm):
            kt_warm.create_key(Description="bench")
            mk_warm.create_key(Description="bench")
            fl_create.create_key(Description="bench")

        def creator(client, into):
            return lambda: into.append(client.create_key(Description="bench")["KeyMetadata"]["KeyId"])

        t0 = time.perf_counter()
        create = interleaved(
            {
                FLOOR: lambda: fl_create.create_key(Description="bench"),
                KT: creator(kt, created[KT]),
                MOTO: creator(mk, created[MOTO]),
            },
            rounds=n // batch,
            target_batch_s=0,
            warmup=0,
            batches={FLOOR: batch, KT: batch, MOTO: batch},
        )
        log(f"  CreateKey ({n} keys each): {time.perf_counter() - t0:.1f} s")

        checks = {
            KT: check_listing(KT, kt, created[KT], limit),
            MOTO: check_listing(MOTO, mk, created[MOTO], limit),
        }
        # The floor pages through the same number of pages with kms_teach's own first page,
        # sending a Marker from the second page on, as kms_teach's listing does.
        first = kt.list_keys(Limit=limit)
        reply = capture(cloud, lambda c: c.list_keys(Limit=limit))
        fl_list = floor_client(cloud, reply)
        pages = checks[KT]["pages"]
        marker = first.get("NextMarker")

        def floor_listing():
            fl_list.list_keys(Limit=limit)
            for _ in range(pages - 1):
                fl_list.list_keys(Limit=limit, Marker=marker)

        t0 = time.perf_counter()
        listing = interleaved(
            {
                FLOOR: floor_listing,
                KT: lambda: list_all(kt, limit),
                MOTO: lambda: list_all(mk, limit),
            },
            rounds=cfg["rounds"],
            target_batch_s=cfg["batch_s"] * 2,
            warmup=max(2, cfg["warmup"] // 10),
        )
        log(f"  ListKeys full listing: {time.perf_counter() - t0:.1f} s")
    return create, listing, checks


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def figures(samples: dict[str, Samples]) -> dict:
    out = {
        "systems": {name: s.summary() for name, s in samples.items()},
        "vs_floor": Ratio.of(samples[KT], samples[FLOOR]),  # time per call, kms_teach / floor (lower is better)
        "vs_moto": Ratio.of(samples[MOTO], samples[KT]),  # throughput, kms_teach / moto (higher is better)
        "moto_vs_floor": Ratio.of(samples[MOTO], samples[FLOOR]),  # time per call, moto / floor: the most any
        # simulator behind a botocore client can gain over moto is this figure
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (few iterations, fewer keys)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    cfg = MODES[mode]
    started = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, flush=True)

    env = environment("boto3", "botocore", "cryptography", "moto", "kms-teach")
    v = env["versions"]
    log(f"kms_teach benchmark ({mode} mode)")
    log(f"  Python {env['python']} ({env['implementation']}) on {env['platform']}, nproc={env['nproc']}")
    log(f"  boto3 {v['boto3']}, botocore {v['botocore']}, cryptography {v['cryptography']}, "
        f"moto {v['moto']}, kms-teach {v['kms-teach']}")
    log(f"  load average at start: {env['loadavg_at_start']}")
    log(f"  {cfg['rounds']} interleaved rounds per operation, ~{cfg['batch_s'] * 1000:.0f} ms per batch, "
        f"{cfg['keys']} keys per system, ListKeys Limit={cfg['limit']}")
    if mode == "quick":
        log("  (quick mode: a smoke run; its figures are not the reference figures)")
    log("")

    log("Encrypt / Decrypt (4 KiB) and GenerateDataKey (AES_256):")
    crypto = crypto_section(cfg, log)
    log("CreateKey and ListKeys:")
    create, listing, checks = keys_section(cfg, log)

    n, limit = cfg["keys"], cfg["limit"]
    list_label = f"ListKeys, all {n:,} keys (Limit={limit})"
    ops = {
        "Encrypt": figures(crypto["Encrypt"]),
        "Decrypt": figures(crypto["Decrypt"]),
        "GenerateDataKey": figures(crypto["GenerateDataKey"]),
        "CreateKey": figures(create),
        "ListKeys": figures(listing),
    }
    labels = {
        "Encrypt": "Encrypt 4 KiB",
        "Decrypt": "Decrypt 4 KiB",
        "GenerateDataKey": "GenerateDataKey AES_256",
        "CreateKey": "CreateKey",
        "ListKeys": list_label,
    }

    rows = []
    for op, f in ops.items():
        s = f["systems"]
        rows.append([
            labels[op],
            us(s[FLOOR]["median_us"] / 1e6),
            us(s[KT]["median_us"] / 1e6),
            us(s[MOTO]["median_us"] / 1e6),
            str(f["vs_floor"]),
            str(f["vs_moto"]),
            str(f["moto_vs_floor"]),
        ])
    log("")
    log("Results: us = median time per call over rounds (orientation only); ratio = median over rounds of the\n"
        "within-round ratio [25th-75th percentile of those ratios]")
    log(table(
        ["operation", "floor us", "kms_teach us", "moto us", "kms_teach/floor time", "kms_teach/moto throughput",
         "moto/floor time"],
        rows,
    ))

    log("")
    log("ListKeys pagination check:")
    for name in (KT, MOTO):
        c = checks[name]
        log(f"  {name}: {c['keys_listed']} keys listed of {c['keys_created']} created, each exactly once: "
            f"{c['each_key_once']}; {c['pages']} page(s), {c['pages_with_marker']} requested with a Marker "
            f"(expected {c['expected_pages']} pages)")
    if not checks[MOTO]["paginated"]:
        log(f"  note: moto {v['moto']} ignores Limit/Marker on ListKeys and returns every key in one response, "
            "so its listing is one call against kms_teach's paged calls.")

    targets = []
    for op, metric, cmp, threshold in TARGETS:
        r: Ratio = ops[op][metric]
        ok = r.value <= threshold if cmp == "<=" else r.value >= threshold
        what = "time per call vs floor" if metric == "vs_floor" else "throughput vs moto"
        targets.append({"operation": op, "metric": metric, "description": what, "comparison": cmp,
                        "threshold": threshold, "value": round(r.value, 4), "pass": ok})
    targets.append({"operation": "ListKeys", "metric": "pagination", "description": "pages with Limit/Marker, each key once",
                    "comparison": "==", "threshold": True,
                    "value": checks[KT]["paginated"] and checks[KT]["each_key_once"],
                    "pass": checks[KT]["paginated"] and checks[KT]["each_key_once"]})

    log("")
    log("Targets:")
    trows = []
    for t in targets:
        if t["metric"] == "pagination":
            trows.append([f"{t['operation']} {t['description']}", "yes", "yes" if t["value"] else "no",
                          "PASS" if t["pass"] else "MISS"])
        else:
            trows.append([f"{t['operation']} {t['description']}", f"{t['comparison']} {t['threshold']:g}x",
                          f"{t['value']:.3f}x", "PASS" if t["pass"] else "MISS"])
    log(table(["target", "wanted", "measured", "result"], trows))
    for op in ("Encrypt", "Decrypt"):
        bound = ops[op]["moto_vs_floor"].value / 2.5
        log(f"  {op}: moto costs {ops[op]['moto_vs_floor'].value:.2f}x the floor, so >= 2.5x moto means "
            f"kms_teach/floor <= {bound:.2f}x (measured {ops[op]['vs_floor'].value:.2f}x)")
    passed = sum(t["pass"] for t in targets)
    wall = time.perf_counter() - started
    env["loadavg_at_end"] = load_average()
    log(f"Load average at end: {env['loadavg_at_end']} (nproc={env['nproc']}; above ~0.5 other work shared the CPUs)")
    log(f"\n{passed}/{len(targets)} targets pass. Wall time {wall:.0f} s.")

    if args.json:
        doc = {
            "benchmark": "bench/bench_kms.py",
            "mode": mode,
            "config": cfg,
            "environment": env,
            "operations": {
                op: {
                    "label": labels[op],
                    "systems": f["systems"],
                    "kms_teach_vs_floor_time": f["vs_floor"].to_dict(),
                    "kms_teach_vs_moto_throughput": f["vs_moto"].to_dict(),
                    "moto_vs_floor_time": f["moto_vs_floor"].to_dict(),
                }
                for op, f in ops.items()
            },
            "listing_checks": checks,
            "targets": targets,
            "wall_s": round(wall, 1),
        }
        write_results(args.json, doc, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
