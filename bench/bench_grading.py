"""Benchmark: auto-grading 40 submissions on this machine.

    .venv/bin/python bench/bench_grading.py             # 40 submissions (about 3 minutes on 2 cores)
    .venv/bin/python bench/bench_grading.py --quick     # 8 submissions
    .venv/bin/python bench/bench_grading.py --json bench/results/grading.json

Submissions are generated from exercise 02 (envelope encryption): worked answers, untouched
exercises and three kinds of wrong answers, in rotation. Four measurements, in one run:

* **reference**: each submission executed alone with nbclient in a fresh, unsandboxed kernel (what
  running the notebook costs, self-checks included), one after the other;
* **graded, 1 job**: ``grade_many(jobs=1)``: rebuild from the source, a kernel in a bubblewrap
  sandbox (namespaces, control groups, limits), a checker process running the hidden checks from
  outside over the channel, report;
* **graded, N jobs**: the same with ``jobs=N``, N = the CPUs available;
* **graded, 1 job, no sandbox**: ``sandbox=False``, to show what the sandbox itself costs.

Targets: per-submission overhead (graded 1 job / reference) at most 1.5x; parallel speedup
(1 job / N jobs) at least 1.6x on 2 cores. The machine's load average is printed and kept with
the results: figures taken while other work runs are noisy (compare ratios of the same run).
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, load_average, REPO, write_results  # noqa: E402

sys.path.insert(0, str(REPO))
from kms_teach import grading  # noqa: E402


OVERHEAD_TARGET, SPEEDUP_TARGET = 1.5, 1.6
NAME = "ex02_data_keys"

WRONG = {  # the answer cell of one task replaced: plausible mistakes, as a class would hand in
    "t1": '''def seal(kms, key_id, data):
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    nonce = os.urandom(12)
    return {"encrypted_key": dk["Plaintext"], "nonce": nonce,
            "ciphertext": AESGCM(dk["Plaintext"]).encrypt(nonce, data, None)}''',
    "t2": '''def unseal(kms, record):
    return kms.decrypt(CiphertextBlob=record["ciphertext"])["Plaintext"]''',
    "t3": '''def seal_file(kms, key_id, src, dst):
    Path(dst).write_bytes(kms.encrypt(KeyId=key_id, Plaintext=Path(src).read_bytes())["CiphertextBlob"])


def open_file(kms, path):
    return kms.decrypt(CiphertextBlob=Path(path).read_bytes())["Plaintext"]''',
}


def submissions(folder: Path, n: int) -> list[Path]:
    sol = nbformat.read(REPO / "solutions" / f"{NAME}.ipynb", as_version=4)
    student = nbformat.read(REPO / "exercises" / f"{NAME}.ipynb", as_version=4)
    kinds = ["solution", "student", "t1", "t2", "t3"]
    paths = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        nb = copy.deepcopy(student if kind == "student" else sol)
        if kind in WRONG:
            cell = next(c for c in nb.cells if c.metadata["kms_teach"].get("cell") == f"{kind}-answer")
            cell.source = WRONG[kind]
        path = folder / f"student{i:02d}_{kind}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def run_alone(path: Path) -> float:
    """The reference: the notebook as handed in, executed top to bottom in a fresh kernel."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        client = NotebookClient(nb, km=grading.kernel_manager(), timeout=120, allow_errors=True,
                                shutdown_kernel="immediate", resources={"metadata": {"path": work}})
        client.execute(stderr=subprocess.DEVNULL, cleanup_kc=True)  # stderr: kernel start-up noise
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="8 submissions instead of 40")
    parser.add_argument("-n", type=int, default=None, help="this many submissions")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    n = args.n or (8 if args.quick else 40)
    jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    env = environment("nbclient", "jupyter_client", "ipykernel")
    print(f"kms_teach grading benchmark: {n} submissions of {NAME}, {jobs} CPUs, load {env['loadavg_at_start']}")

    with tempfile.TemporaryDirectory() as folder:
        paths = submissions(Path(folder), n)
        started = time.perf_counter()
        alone = [run_alone(p) for p in paths]
        reference = time.perf_counter() - started

        started = time.perf_counter()
        serial = grading.grade_many(paths, jobs=1, progress=False)
        graded_1 = time.perf_counter() - started

        started = time.perf_counter()
        parallel = grading.grade_many(paths, jobs=jobs, progress=False)
        graded_n = time.perf_counter() - started

        started = time.perf_counter()
        unsandboxed = grading.grade_many(paths, jobs=1, progress=False, sandbox=False)
        graded_plain = time.perf_counter() - started

    scores_1 = [r.score for r in serial]
    assert scores_1 == [r.score for r in parallel], "parallel grading changed a score"
    assert scores_1 == [r.score for r in unsandboxed], "the sandbox changed a score"
    overhead = graded_1 / reference
    speedup = graded_1 / graded_n
    rows = [
        ("reference: nbclient, one at a time", reference, reference / n),
        ("graded, 1 job", graded_1, graded_1 / n),
        (f"graded, {jobs} jobs", graded_n, graded_n / n),
        ("graded, 1 job, no sandbox", graded_plain, graded_plain / n),
    ]
    print(f"\n{'':38} {'total s':>9} {'per submission s':>17}")
    for label, total, each in rows:
        print(f"{label:38} {total:9.1f} {each:17.2f}")
    verdict = lambda ok: "ok" if ok else "MISS"  # noqa: E731
    print(f"\nper-submission overhead (graded 1 job / reference): {overhead:.2f}x  "
          f"(target <= {OVERHEAD_TARGET}) {verdict(overhead <= OVERHEAD_TARGET)}")
    print(f"parallel speedup ({jobs} jobs vs 1):                 {speedup:.2f}x  "
          f"(target >= {SPEEDUP_TARGET}) {verdict(speedup >= SPEEDUP_TARGET)}")
    print(f"the sandbox itself (1 job / 1 job without it):      {graded_1 / graded_plain:.2f}x")
    print(f"scores: {sorted(set(scores_1))} out of {serial[0].max_score}; "
          f"slowest single reference run {max(alone):.2f} s; load at end {load_average()}")
    write_results(args.json, {
        "environment": env, "submissions": n, "jobs": jobs, "reference_s": reference, "graded_1_s": graded_1,
        "graded_n_s": graded_n, "graded_1_no_sandbox_s": graded_plain, "overhead": overhead, "speedup": speedup,
        "sandbox_cost": graded_1 / graded_plain, "sandbox": serial[0].sandbox, "scores": scores_1,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
