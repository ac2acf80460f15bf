"""Benchmark: how long each course notebook takes to run, against a floor notebook.

    .venv/bin/python bench/bench_notebooks.py            # full run, 3 rounds (about 1 minute on 2 cores)
    .venv/bin/python bench/bench_notebooks.py --quick    # 1 round
    .venv/bin/python bench/bench_notebooks.py --json bench/results/notebooks.json

Every system is one notebook executed top to bottom in a fresh kernel, exactly
as ``tools/build_notebooks.py`` executes the course (kernel start-up included,
nothing written to disk). The floor is the least a kms_teach notebook can
cost: a fresh kernel that imports kms_teach, ipywidgets and matplotlib and
draws one figure. Rounds interleave the floor and every notebook, so machine
drift affects them alike; the ratio is taken within each round.

Target: no notebook above 3x the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, load_average, Ratio, REPO, Samples, table, write_results  # noqa: E402

sys.path.insert(0, str(REPO / "tools"))
from build_notebooks import KERNELSPEC, NOTEBOOK_DIR, execute  # noqa: E402

TARGET = 3.0
FLOOR_SOURCE = """\
import kms_teach
import ipywidgets
import matplotlib.pyplot as plt

cloud = kms_teach.Cloud()
fig, ax = plt.subplots(figsize=(4, 2))
ax.plot([0, 1, 2], [0, 1, 4])
plt.show()
"""


def floor_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = nbformat.NotebookNode(KERNELSPEC)
    nb.cells = [nbformat.v4.new_code_cell("%matplotlib inline"), nbformat.v4.new_code_cell(FLOOR_SOURCE)]
    return nb


def run_once(nb: nbformat.NotebookNode, timeout: int) -> float:
    copy = nbformat.from_dict(json.loads(json.dumps(nb)))  # executing fills outputs in: start from the clean one
    started = time.perf_counter()
    execute(copy, timeout=timeout)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round (figures are not the reference figures)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3, or 1 with --quick)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)

    env = environment("kms-teach", "ipykernel", "nbclient", "ipywidgets", "matplotlib", "jupyterlab")
    print(f"bench_notebooks: {rounds} round(s); load average {env['loadavg_at_start']}; "
          f"python {env['python']} on {env['nproc']} CPU(s)")
    paths = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    systems: dict[str, nbformat.NotebookNode] = {"floor": floor_notebook()}
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        systems[p.name] = nb
    samples = {name: Samples(name) for name in systems}

    run_once(systems["floor"], args.timeout)  # warm the disk cache and the bytecode, not measured
    for r in range(rounds):
        for name, nb in systems.items():
            seconds = run_once(nb, args.timeout)
            samples[name].per_call.append(seconds)
            samples[name].calls += 1
            print(f"  round {r + 1}: {name:40} {seconds:6.2f} s", flush=True)

    floor = samples["floor"]
    rows, results, worst = [], {}, 0.0
    for name in systems:
        if name == "floor":
            continue
        ratio = Ratio.of(samples[name], floor)
        worst = max(worst, ratio.value)
        verdict = "met" if ratio.value <= TARGET else "MISS"
        rows.append([name, f"{samples[name].median:.2f}", str(ratio), verdict])
        results[name] = {"seconds": samples[name].summary(), "vs_floor": ratio.to_dict(), "verdict": verdict}
    print()
    print(f"floor (fresh kernel, import kms_teach + ipywidgets + matplotlib, one figure): {floor.median:.2f} s")
    print(table(["notebook", "median s", "x floor [p25-p75]", f"target <= {TARGET:g}x"], rows))
    print(f"\nworst notebook: {worst:.2f}x the floor; load average at the end {load_average()}")
    write_results(args.json, {"environment": env, "rounds": rounds, "target": TARGET,
                              "floor": floor.summary(), "notebooks": results})
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    sys.exit(main())
