"""Shared helpers for the kms_teach benchmarks: interleaved timing, statistics, reporting.

Benchmarks here report ratios against references measured in the same run,
on the same machine, interleaved round by round, so that drift (CPU frequency,
other load) affects every system alike. Timing belongs here, never in tests/.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent


def ensure_repo_on_path() -> None:
    """Make ``import kms_teach`` find this checkout even without an editable install."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment(*dists: str) -> dict:
    """The machine and the versions of everything that takes part in the measurement."""
    info = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_at_start": load_average(),
    }
    info["versions"] = {d: _version(d) for d in dists}
    return info


def write_results(path: str | Path | None, doc: dict, say: Callable[[str], object] = print) -> None:
    """Write a benchmark's results as JSON to ``path`` (its folder made as needed), and say where."""
    if not path:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    say(f"Results written to {path}")


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (other work on the machine disturbs the figures)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile (q in [0, 1]) of a non-empty list."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class Samples:
    """Per-call times (seconds) of one system, one value per round (the mean over that round's batch)."""

    name: str
    per_call: list[float] = field(default_factory=list)
    calls: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.per_call)

    @property
    def best(self) -> float:
        return min(self.per_call)

    def summary(self) -> dict:
        v = self.per_call
        return {
            "rounds": len(v),
            "calls": self.calls,
            "median_us": self.median * 1e6,
            "best_us": self.best * 1e6,
            "p25_us": quantile(v, 0.25) * 1e6,
            "p75_us": quantile(v, 0.75) * 1e6,
        }


def paired_ratios(num: Samples, den: Samples) -> list[float]:
    """num/den round by round (both measured in the same round, back to back)."""
    return [a / b for a, b in zip(num.per_call, den.per_call)]


@dataclass
class Ratio:
    """num/den: the median over rounds of the ratio taken within each round, and its spread.

    Both systems run back to back in every round, so a round's ratio cancels
    slow drift of the machine; the median over rounds discards rounds that
    another process disturbed. ``of_medians`` and ``of_best`` (ratio of the
    per-system medians, and of the per-system best rounds) are kept as cross-checks.
    """

    value: float
    p25: float
    p75: float
    of_medians: float
    of_best: float

    @classmethod
    def of(cls, num: Samples, den: Samples) -> "Ratio":
        pr = paired_ratios(num, den)
        return cls(statistics.median(pr), quantile(pr, 0.25), quantile(pr, 0.75),
                   num.median / den.median, num.best / den.best)

    def __str__(self) -> str:
        return f"{self.value:.2f}x [{self.p25:.2f}-{self.p75:.2f}]"

    def to_dict(self) -> dict:
        return {
            "ratio": round(self.value, 4),
            "paired_p25": round(self.p25, 4),
            "paired_p75": round(self.p75, 4),
            "ratio_of_medians": round(self.of_medians, 4),
            "ratio_of_best": round(self.of_best, 4),
        }


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


def time_batch(fn: Callable[[], object], n: int) -> float:
    """Seconds per call over ``n`` back-to-back calls of ``fn`` (the garbage collector stays on, as in real use)."""
    clock = time.perf_counter
    t0 = clock()
    for _ in range(n):
        fn()
    return (clock() - t0) / n


def calibrate(fn: Callable[[], object], target_s: float, warmup: int, cap: int = 100_000) -> int:
    """Warm ``fn`` up, then choose how many calls make one batch of about ``target_s`` seconds."""
    for _ in range(warmup):
        fn()
    n = 1
    while True:
        per_call = time_batch(fn, n)
        if per_call * n >= target_s / 4 or n >= cap:
            return max(1, min(cap, round(target_s / max(per_call, 1e-9))))
        n *= 4


def interleaved(
    contestants: dict[str, Callable[[], object]],
    *,
    rounds: int,
    target_batch_s: float,
    warmup: int,
    batches: dict[str, int] | None = None,
) -> dict[str, Samples]:
    """Measure every contestant in each round, rotating who goes first; one sample per round each.

    Batch sizes are calibrated per contestant so that each batch lasts about
    ``target_batch_s``: a slow reference does fewer calls, not a longer round.
    """
    names = list(contestants)
    if batches is None:
        batches = {n: calibrate(contestants[n], target_batch_s, warmup) for n in names}
    out = {n: Samples(n) for n in names}
    gc.collect()  # start every measurement from the same state; not per batch (a full collection of
    # botocore's and moto's heaps takes tens of milliseconds)
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            out[name].per_call.append(time_batch(contestants[name], batches[name]))
            out[name].calls += batches[name]
    return out


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table, first column left-aligned, the rest right-aligned."""
    cells = [headers] + rows
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep] + [line(r) for r in rows])


def us(seconds: float) -> str:
    """Seconds as microseconds, for the reader's orientation (figures that matter are the ratios)."""
    return f"{seconds * 1e6:,.1f}"
