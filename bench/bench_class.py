"""Benchmark: a class of 600 generated submissions graded into one gradebook, as ``kms-teach grade`` does.

    .venv/bin/python bench/bench_class.py                 # 600 submissions (about 15 minutes on 2 idle cores)
    .venv/bin/python bench/bench_class.py --quick         # 40 submissions
    .venv/bin/python bench/bench_class.py -n 200 --cell-timeout 10 --json bench/results/class.json

The class is tests/grading/_class_mix.py's mix of exercise 02: worked answers (some in per-student
folders), untouched exercises, one or several plausible mistakes, copied answers, broken JSON and
answers that loop forever, with a roster. It is graded by ``grade_class`` (discovery, roster,
sandboxed grading, the gradebook updated as results come in), ``--jobs`` at a time (default: the
CPUs available).

Reported: **submissions per minute** (wall clock), the **share of the kernels' time spent in time
limits** (each cell stopped by its limit costs exactly the limit: stopped cells x the cell limit,
over the sum of every submission's grading time), the mean time of each kind of submission, and
the cost of one regrade's gradebook write (one row replaced in a gradebook of the whole class).
The machine's load average is kept with the results: figures taken while other work runs are noisy.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, load_average, REPO, write_results  # noqa: E402

sys.path.insert(0, str(REPO))
from kms_teach.grading import _batch, _gradebook, _roster  # noqa: E402
from tests.grading._class_mix import make_class  # noqa: E402

STOPPED = re.compile(r"ran longer than [\d.]+ s and was stopped")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=600, help="submissions (default 600)")
    parser.add_argument("--quick", action="store_true", help="40 submissions")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                        else (os.cpu_count() or 2))
    parser.add_argument("--cell-timeout", type=float, default=10.0, help="seconds per cell (default 10)")
    parser.add_argument("--loop-every", type=int, default=1,
                        help="keep 1 in N of the rotation's looping submissions (default 1: 1 in 20 loops)")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    n = 40 if args.quick else args.n
    env = environment("nbclient", "jupyter_client", "ipykernel")
    print(f"{n} submissions, {args.jobs} jobs, cell limit {args.cell_timeout:g} s; load at start {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        work = Path(tmp)
        info = make_class(work / "class", n, loop_every=args.loop_every)
        roster = _roster.load_roster(info["roster"])
        done = [0]
        started = time.monotonic()

        def progress(report):
            done[0] += 1
            if done[0] % 50 == 0:
                print(f"  {done[0]}/{n} after {time.monotonic() - started:.0f} s", flush=True)

        run = _batch.grade_class([work / "class"], work / "gradebook.csv", roster=roster, jobs=args.jobs,
                                 progress=progress, assignment="ex02_data_keys", cell_timeout=args.cell_timeout)
        wall = time.monotonic() - started
        kernel_seconds = sum(r.seconds for r in run.reports)
        stopped = sum(len(STOPPED.findall(" ".join(r.problems))) for r in run.reports)
        in_limits = stopped * args.cell_timeout
        by_kind: dict[str, list[float]] = defaultdict(list)
        kinds = {sid: s["kind"] for sid, s in info["students"].items()}
        for r in run.reports:
            by_kind[kinds.get(r.student, "?")].append(r.seconds)
        statuses = defaultdict(int)
        for e in run.entries:
            statuses[e.row["status"]] += 1
        # One regrade's write: a row replaced in the whole class's gradebook (read, merge, two atomic writes).
        book = _gradebook.Gradebook(work / "gradebook.csv")
        one = next(e for e in run.entries if e.row["status"] == "graded")
        t0 = time.perf_counter()
        for _ in range(5):
            book.update([one])
        regrade_write = (time.perf_counter() - t0) / 5
    per_minute = n / wall * 60
    share = in_limits / kernel_seconds if kernel_seconds else 0.0
    print(f"graded {n} in {wall:.1f} s: {per_minute:.1f} submissions/minute with {args.jobs} jobs")
    print(f"time in limits: {stopped} cells stopped x {args.cell_timeout:g} s = {in_limits:.0f} s of "
          f"{kernel_seconds:.0f} s of grading ({share:.0%})")
    for kind, secs in sorted(by_kind.items()):
        print(f"  {kind:16} {len(secs):4d}  mean {statistics.fmean(secs):6.2f} s  max {max(secs):6.2f} s")
    print(f"statuses: {dict(statuses)}; one regrade's gradebook write: {regrade_write * 1000:.0f} ms; "
          f"load at end {load_average()}")
    write_results(args.json, {
        "environment": env, "submissions": n, "jobs": args.jobs, "cell_timeout_s": args.cell_timeout,
        "wall_s": wall, "submissions_per_minute": per_minute, "kernel_seconds": kernel_seconds,
        "cells_stopped": stopped, "seconds_in_limits": in_limits, "share_in_limits": share,
        "mean_s_by_kind": {k: statistics.fmean(v) for k, v in by_kind.items()}, "statuses": dict(statuses),
        "regrade_write_s": regrade_write, "load_average_end": load_average()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
