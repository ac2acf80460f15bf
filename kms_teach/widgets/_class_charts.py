"""The class report's pictures (``kms-teach report``), drawn with matplotlib.

They live here because only the widgets layer may import matplotlib (the import-linter contract
"Only the widgets draw" in pyproject.toml); ``kms_teach.grading._report`` computes the numbers and
lays out the page, and ``kms-teach report`` hands these pictures from one to the other. Each is a
PNG in a ``data:`` URI, so the page is one file that opens anywhere, offline.
"""

from __future__ import annotations

import base64
import io
import textwrap

BLUE, GREEN, RED, GREY = "#2f6fde", "#19753a", "#b3261e", "#5b6475"


def _figure(width: float, height: float):
    # The object-oriented API with the Agg canvas (as _rotation does): no pyplot, no global backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", pad_inches=0.1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _plain(text: str) -> str:
    """Text as matplotlib draws it, never as mathtext: a reason or a self-check complaint a learner
    saved in their notebook (``[x] $\\frac{$``) would otherwise stop the class's report with a parse
    error, or draw what the learner typed as formulas."""
    return str(text).replace("$", r"\$")


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8.5)


def scores_chart(stats) -> str:
    """How many students got each final score (bins of one point, or twenty bins for large maxima)."""
    fig = _figure(5.2, 3.0)
    ax = fig.add_subplot()
    top = max(stats.max_score, max(stats.scores, default=0), 1)
    width = 1 if top <= 20 else top / 20
    edges = [i * width - width / 2 for i in range(int(top / width) + 2)]
    ax.hist(stats.scores, bins=edges, color=BLUE, edgecolor="white")
    summary = stats.summary
    if summary:
        ax.axvline(summary["mean"], color=RED, linewidth=1.2, linestyle="--")
        ax.text(summary["mean"], ax.get_ylim()[1] * 0.95, f" mean {summary['mean']:.1f}", color=RED, fontsize=8.5,
                va="top")
    ax.set_xlim(-width, top + width)
    ax.set_xlabel(f"final score (of {stats.max_score:g})", fontsize=9)
    ax.set_ylabel("students", fontsize=9)
    ax.set_title(_plain(f"{stats.assignment}: score distribution ({len(stats.scores)} graded)"), fontsize=10)
    ax.yaxis.get_major_locator().set_params(integer=True)
    _style(ax)
    return _uri(fig)


def tasks_chart(stats) -> str:
    """Each task's (or question's) pass rate, as horizontal bars."""
    tasks = stats.tasks[:40]
    fig = _figure(5.2, max(3.0, 0.32 * len(tasks) + 0.9))  # as tall as the score chart beside it
    ax = fig.add_subplot()
    labels = [_plain(t.task if stats.quiz else f"{t.task}: {textwrap.shorten(t.title, 24, placeholder='…')}")
              for t in tasks]
    rates = [t.pass_rate * 100 for t in tasks]
    colours = [GREEN if r >= 75 else (BLUE if r >= 40 else RED) for r in rates]
    ax.barh(range(len(tasks)), rates, color=colours)
    ax.set_yticks(range(len(tasks)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    for i, r in enumerate(rates):
        ax.text(min(r + 1.5, 88), i, f"{r:.0f}%", va="center", fontsize=8, color=GREY)
    ax.set_xlabel("students who passed (%)", fontsize=9)
    ax.set_title(_plain(f"{stats.assignment}: pass rate per {'question' if stats.quiz else 'task'}"), fontsize=10)
    _style(ax)
    return _uri(fig)


def misconceptions_chart(stats, top: int = 10) -> str:
    found = stats.misconceptions[:top]
    fig = _figure(8.6, max(1.6, 0.42 * len(found) + 0.9))
    ax = fig.add_subplot()
    labels = [_plain(f"{m.task} · " + textwrap.shorten(m.text, 80, placeholder="…")) for m in found]
    ax.barh(range(len(found)), [m.students for m in found],
            color=[BLUE if m.source == "hidden check" else "#8a63d2" for m in found])
    ax.set_yticks(range(len(found)), labels)
    ax.invert_yaxis()
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("students (blue: hidden checks' reasons; purple: self-checks' complaints)", fontsize=9)
    ax.set_title(_plain(f"{stats.assignment}: misconceptions most often hit"), fontsize=10)
    _style(ax)
    return _uri(fig)


def class_charts(stats: list) -> dict[str, str]:
    """Every picture of the report, by ``ASSIGNMENT:scores``, ``:tasks`` and ``:misconceptions``."""
    out: dict[str, str] = {}
    for s in stats:
        if s.scores:
            out[f"{s.assignment}:scores"] = scores_chart(s)
        if s.tasks:
            out[f"{s.assignment}:tasks"] = tasks_chart(s)
        if s.misconceptions:
            out[f"{s.assignment}:misconceptions"] = misconceptions_chart(s)
    return out
