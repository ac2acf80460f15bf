"""The ``kms-teach`` command: ``course``, ``serve``, ``assign``, ``grade``, ``feedback``, ``report``, ``export``,
``release`` and ``export-nbgrader``."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

# What a learner's copy of the course holds: the lessons and the exercises, side by side, so that the
# notebooks' relative links (../exercises/...) work in it as they do in the repository.
COURSE_FOLDERS = ("notebooks", "exercises")
FIRST_NOTEBOOK = "notebooks/00_start_here.ipynb"
# JupyterLab's "get notified about Jupyter news?" toast, and its update checks: off in the course.
LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def _source_root() -> Path:
    """The checkout the package runs from (the course's files are not in the wheel)."""
    return Path(__file__).resolve().parent.parent


def _course_dir() -> Path:
    return _source_root() / "notebooks"


def default_course_home() -> Path:
    """Where ``kms-teach course`` keeps the learner's copy: $KMS_TEACH_COURSE_DIR, else ~/kms-teach-course."""
    given = os.environ.get("KMS_TEACH_COURSE_DIR")
    return Path(given).expanduser() if given else Path.home() / "kms-teach-course"


def prepare_course(home: Path, source: Path | None = None) -> tuple[list[str], int]:
    """Make (or complete) the learner's copy of the course in ``home``; never overwrite their files.

    Returns (the files copied, the number of files already there and left alone).
    """
    source = (source or _source_root()).resolve()
    home = home.expanduser().resolve()
    for folder in COURSE_FOLDERS:
        tracked = (source / folder).resolve()
        if home == source or home == tracked or tracked in home.parents:
            raise ValueError(f"{home} is part of the course's own files ({source}); choose a folder of your own, "
                             f"for example {Path.home() / 'kms-teach-course'}")
    copied, kept = [], 0
    for folder in COURSE_FOLDERS:
        for item in sorted((source / folder).rglob("*")):
            rel = item.relative_to(source)
            if item.is_dir() or any(part.startswith(".") for part in rel.parts) or "__pycache__" in rel.parts:
                continue
            target = home / rel
            if target.exists():
                kept += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(item, target)
            copied.append(str(rel))
    settings = home / ".jupyter" / "app-settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2) + "\n", encoding="utf-8")
    return copied, kept


def _free_port(preferred: int = 8888) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 20)]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _given(jupyter_args: list[str], *names: str) -> str | None:
    """The value of ``--Name=value`` among the arguments passed on to jupyter lab, if any."""
    for arg in jupyter_args:
        for name in names:
            if arg.startswith(f"--{name}="):
                return arg.split("=", 1)[1]
    return None


def course(home: Path, *, no_browser: bool, port: int | None, jupyter_args: list[str]) -> int:
    """``kms-teach course``: the learner's copy, then JupyterLab on notebook 00 (its direct URL printed)."""
    if not all((_source_root() / folder).is_dir() for folder in COURSE_FOLDERS):
        print(f"kms-teach: the course notebooks are not at {_course_dir()}; run this from a source checkout.",
              file=sys.stderr)
        return 2
    try:
        copied, kept = prepare_course(home)
    except (ValueError, OSError) as exc:
        print(f"kms-teach course: {exc}", file=sys.stderr)
        return 2
    home = home.expanduser().resolve()
    if copied and not kept:
        print(f"kms-teach: your copy of the course is in {home} ({len(copied)} files).")
    elif copied:
        print(f"kms-teach: your copy of the course is in {home}; {len(copied)} new file(s) added, "
              f"your {kept} file(s) left as they are.")
    else:
        print(f"kms-teach: your copy of the course is in {home} (your work is kept as it is).")
    given_port = _given(jupyter_args, "ServerApp.port", "port")
    chosen_port = int(given_port) if given_port and given_port.isdigit() else (port or _free_port())
    token = _given(jupyter_args, "IdentityProvider.token", "ServerApp.token")
    if token is None:
        token = secrets.token_hex(24)
    url = f"http://127.0.0.1:{chosen_port}/lab/tree/{FIRST_NOTEBOOK}" + (f"?token={token}" if token else "")
    cmd = [sys.executable, "-m", "jupyter", "lab", str(home / FIRST_NOTEBOOK),
           f"--ServerApp.root_dir={home}", "--ServerApp.ip=127.0.0.1",
           f"--LabApp.app_settings_dir={home / '.jupyter' / 'app-settings'}",
           f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}"]
    if given_port is None:
        cmd += [f"--ServerApp.port={chosen_port}", "--ServerApp.port_retries=0"]
    if _given(jupyter_args, "IdentityProvider.token", "ServerApp.token") is None:
        cmd.append(f"--IdentityProvider.token={token}")
    if no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Containers often run as root; JupyterLab refuses that unless told.
        cmd.append("--allow-root")
    cmd += jupyter_args
    print("kms-teach: open the course at this address (notebook 00 opens directly):")
    print(f"\n    {url}\n", flush=True)
    return subprocess.call(cmd, env=os.environ.copy())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kms-teach", description="Learn AWS KMS hands-on, locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    course_cmd = sub.add_parser(
        "course", help="open the course in JupyterLab, in a copy of your own",
        description="Copy the course (notebooks/ and exercises/) into a folder of your own, once, and open "
                    "notebook 00 in JupyterLab there. Your edits stay in your copy; running the command again "
                    "adds new course files and never overwrites yours. Other --Name=value options go to "
                    "JupyterLab.")
    course_cmd.add_argument("--dir", metavar="DIR", default=None,
                            help="your copy of the course (default $KMS_TEACH_COURSE_DIR, else ~/kms-teach-course)")
    course_cmd.add_argument("--port", type=int, default=None, help="the port (default 8888, or the next free one)")
    course_cmd.add_argument("--no-browser", action="store_true",
                            help="start JupyterLab without opening a browser (the address to open is printed)")
    serve_cmd = sub.add_parser(
        "serve", help="serve the simulated AWS over HTTP for the aws CLI and SDKs",
        description="Serve the simulated AWS (KMS, IAM, STS, CloudTrail) on a local HTTP endpoint. Requests must "
                    "be signed (SigV4) with access keys of the simulated IAM: the first start writes root keys to "
                    "DIR/credentials and prints the lines to export.")
    serve_cmd.add_argument("--port", type=int, default=None,
                       help="the port to listen on (default 8555; 0 picks a free one)")
    serve_cmd.add_argument("--host", default="127.0.0.1",
                       help="a loopback address to listen on (default 127.0.0.1; also ::1 or localhost)")
    serve_cmd.add_argument("--data", metavar="DIR", default=None,
                       help="the directory the cloud is kept in (default $XDG_DATA_HOME/kms-teach, "
                            "else ~/.local/share/kms-teach)")
    serve_cmd.add_argument("--verbose", action="store_true", help="log one line per request to stderr")
    assign = sub.add_parser("assign", help="make exercises/ and solutions/ from the sources in assignments/",
                            description="Generate the student notebooks (exercises/) and worked answers "
                                        "(solutions/) from the instructor sources (assignments/exNN_*.py), then "
                                        "validate them: each worked solution must get full marks, each untouched "
                                        "exercise zero, and each wrong answer in exNN_*.wrong.py must lose its "
                                        "task. The solution's run sizes the per-cell time limit (10x its slowest "
                                        "cell, at least 10 s), recorded in cell-limits.json beside the sources.")
    assign.add_argument("--assignments", metavar="DIR", default=None, help="the sources (default: assignments/)")
    assign.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if anything is out of date (no validation unless --validate)")
    assign.add_argument("--validate", action="store_true",
                        help="only validate (grade the solutions, exercises and wrong answers); write no notebooks")
    assign.add_argument("--no-validate", action="store_true", help="generate the notebooks without validating")
    assign.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="notebooks graded at once")
    assign.add_argument("--no-sandbox", action="store_true",
                        help="validate without the bubblewrap sandbox (default: sandboxed where it can run)")
    grade_cmd = sub.add_parser(
        "grade", help="grade submissions with the hidden checks",
        description="Run each submission's cells in a fresh kernel inside a bubblewrap sandbox (no network, none "
                    "of your files, limits on memory, processes and time), and each task's hidden checks in a "
                    "separate process outside it, against clouds the checks own. One submission: a per-task "
                    "report (and --json). Several, or a folder: graded in parallel into a CSV gradebook.")
    grade_cmd.add_argument("submissions", nargs="+", metavar="SUBMISSION", help="notebooks, or folders of them")
    grade_cmd.add_argument("--assignment", default=None,
                           help="the assignment (default: read from each notebook's metadata)")
    grade_cmd.add_argument("--assignments", metavar="DIR", default=None, help="the sources (default: assignments/)")
    grade_cmd.add_argument("--json", metavar="FILE", default=None, help="write the report(s) as JSON")
    grade_cmd.add_argument("--gradebook", "--csv", dest="csv", metavar="FILE", default=None,
                           help="the gradebook to update in place (default for a folder or several submissions: "
                                "gradebook.csv); regrading a student replaces that student's row only")
    grade_cmd.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="submissions graded at once")
    grade_cmd.add_argument("--cell-timeout", type=float, default=None,
                           help="seconds allowed per cell (default: the limit `kms-teach assign` measured for the "
                                "assignment, 10x its solution's slowest cell and at least 10 s; else 60)")
    grade_cmd.add_argument("--total-timeout", type=float, default=600,
                           help="seconds allowed per submission (default 600)")
    grade_cmd.add_argument("--no-sandbox", action="store_true",
                           help="run the learners' code without a sandbox where bubblewrap cannot run (it can then "
                                "read your files and tamper with the grading; the reports say so)")
    _class_arguments(grade_cmd)
    _class_commands(sub)
    release_cmd = sub.add_parser(
        "release", help="write what learners get: the course, exercises and practice quizzes, no answers",
        description="Write OUT/ for learners: the course notebooks, the exercises (made afresh from the sources), "
                    "the practice quizzes and a README. Never a worked solution, a hidden test or an exam key.")
    release_cmd.add_argument("out", metavar="OUT", help="the folder to write (new or empty)")
    release_cmd.add_argument("--assignments", metavar="DIR", default=None, help="the sources (default: assignments/)")
    release_cmd.add_argument("--exam", action="append", default=[], metavar="NAME",
                             help="also release this exam's notebook (questions only), e.g. --exam kms-final")
    release_cmd.add_argument("--wheel", action="store_true", help="also build the package's wheel into OUT/")
    release_cmd.add_argument("--force", action="store_true", help="write into OUT/ even if it is not empty")
    export = sub.add_parser("export-nbgrader", help="write an assignment in nbgrader's source format",
                            description="Write COURSE_DIR/source/NAME/NAME.ipynb with nbgrader cell metadata "
                                        "(grade_id, points, solution, locked).")
    export.add_argument("source", help="an assignment source, e.g. assignments/ex02_data_keys.py")
    export.add_argument("course_dir", help="the nbgrader course folder")
    # Anything else (e.g. --ServerApp.port=8899) goes to jupyter lab unchanged.
    args, jupyter_args = parser.parse_known_args(argv)
    if args.command != "course" and jupyter_args:
        parser.error(f"unrecognized arguments: {' '.join(jupyter_args)}")
    if args.command in ("assign", "grade", "release", "export-nbgrader"):
        return _grading_command(args, parser)
    if args.command in ("feedback", "report", "export"):
        return _class_command(args)
    if args.command == "serve":
        if jupyter_args:
            parser.error(f"unrecognized arguments: {' '.join(jupyter_args)}")
        from ._http.server import DEFAULT_PORT

        port = DEFAULT_PORT if args.port is None else args.port
        if not 0 <= port <= 65535:
            parser.error(f"--port must be between 0 and 65535, not {port}")
        return serve(args.data, host=args.host, port=port, verbose=args.verbose)
    if args.command == "course":
        if args.port is not None and not 1 <= args.port <= 65535:
            parser.error(f"--port must be between 1 and 65535, not {args.port}")
        home = Path(args.dir) if args.dir else default_course_home()
        return course(home, no_browser=args.no_browser, port=args.port, jupyter_args=jupyter_args)
    return 2  # pragma: no cover - argparse enforces a command


def _grading_command(args, parser) -> int:
    import json

    from . import grading

    if args.command == "assign":
        return _assign(args, parser, grading)
    if args.command == "release":
        try:
            written = grading.release(args.out, assignments_dir=args.assignments, exams=args.exam, wheel=args.wheel,
                                      force=args.force)
        except (grading.ReleaseError, grading.SourceError, grading.QuizError) as exc:
            print(f"kms-teach release: {exc}", file=sys.stderr)
            return 2
        print(f"released {len(written)} files to {args.out} (no solutions, hidden tests or exam keys)")
        return 0
    if args.command == "export-nbgrader":
        try:
            print(f"written: {grading.export_nbgrader(args.source, args.course_dir)}")
        except grading.SourceError as exc:
            print(f"kms-teach export-nbgrader: {exc}", file=sys.stderr)
            return 2
        return 0
    import math

    if args.jobs < 1 or not (args.cell_timeout is None or (math.isfinite(args.cell_timeout) and args.cell_timeout > 0)) \
            or not (math.isfinite(args.total_timeout) and args.total_timeout > 0):
        parser.error("--jobs, --cell-timeout and --total-timeout must be positive numbers")
    return _grade(args, parser)


def _class_arguments(grade_cmd) -> None:
    """``kms-teach grade``'s options for a class: roster, late policy."""
    grade_cmd.add_argument("--roster", metavar="CSV", default=None,
                           help="the class list (columns student_id, name, email; optional section, submitted_at, "
                                "folder): names whose each submission is; files of nobody on it are not graded")
    grade_cmd.add_argument("--due", metavar="WHEN", default=None,
                           help="the due date and time, ISO 8601 (e.g. 2026-12-04T23:59; local time unless an "
                                "offset is given)")
    grade_cmd.add_argument("--late-penalty", metavar="PER_DAY", default=None,
                           help="taken off for each day or part of a day late: points (2) or a share of the "
                                "maximum (10%%); with --due")
    grade_cmd.add_argument("--submitted-from", choices=("auto", "mtime", "roster"), default="auto",
                           help="when a submission was handed in: the roster's submitted_at column, the file's "
                                "modification time, or auto (the roster's where it has one, else the file's)")


def _class_commands(sub) -> None:
    feedback = sub.add_parser(
        "feedback", help="write one feedback page per student (HTML and Markdown) from a gradebook",
        description="For each graded student of GRADEBOOK, write OUT/STUDENT-ASSIGNMENT.html and .md: each task's "
                    "points, each check's reason and the learner's cell that failed, ready to hand back.")
    feedback.add_argument("gradebook", metavar="GRADEBOOK", help="the gradebook kms-teach grade wrote")
    feedback.add_argument("out", metavar="OUT", help="the folder to write the files into")
    feedback.add_argument("--assignment", default=None, help="only this assignment's rows")
    feedback.add_argument("--student", action="append", default=[], metavar="ID", help="only this student (repeatable)")
    report = sub.add_parser(
        "report", help="write the class report (one HTML page) from a gradebook",
        description="One HTML page for the class: score distribution, each task's and quiz question's pass rate, "
                    "the misconceptions most often hit, and identical or near-identical submissions.")
    report.add_argument("gradebook", metavar="GRADEBOOK", help="the gradebook kms-teach grade wrote")
    report.add_argument("out", metavar="OUT.html", help="the page to write")
    report.add_argument("--assignment", default=None, help="the assignment (default: each one in the gradebook)")
    report.add_argument("--assignments", metavar="DIR", default=None,
                        help="the sources, to tell unanswered cells and the worked solution (default: assignments/)")
    export = sub.add_parser(
        "export", help="write a gradebook as an LMS's import CSV (Canvas or Moodle)",
        description="Write the final scores of one assignment in Canvas's or Moodle's gradebook import format.")
    export.add_argument("gradebook", metavar="GRADEBOOK", help="the gradebook kms-teach grade wrote")
    export.add_argument("--lms", choices=("canvas", "moodle"), required=True, help="the format")
    export.add_argument("--out", metavar="FILE", default=None, help="the file to write (default: GRADEBOOK-LMS.csv)")
    export.add_argument("--assignment", default=None, help="the assignment (needed when the gradebook has several)")
    export.add_argument("--column", default=None, metavar="NAME",
                        help="the LMS's name for the assignment's column (default: the assignment's name); for "
                             "Canvas, the column header of an exported gradebook, e.g. 'Data keys (12345)'")
    export.add_argument("--raw", action="store_true", help="export the score before the late penalty")


def _say(*parts, file=None) -> None:
    """``print`` for what ``kms-teach grade`` shows: a learner's text never drives the terminal."""
    from .grading._batch import printable

    print(*(printable(p) for p in parts), file=file)


def _grade(args, parser) -> int:
    """``kms-teach grade``: one submission, or a class into its gradebook."""
    import json

    from . import grading
    from .grading import _batch, _gradebook, _roster
    from .grading._batch import printable

    for option, value in (("--json", args.json), ("--gradebook", args.csv)):
        # Checked before grading: a class's results must not be lost to a typo in a path.
        if value and not Path(value).resolve().parent.is_dir():
            parser.error(f"{option}: the folder {Path(value).resolve().parent} does not exist")
    problem = _config_problem(args)
    if problem:
        _say(f"kms-teach grade: {problem}", file=sys.stderr)
        return 2
    roster = late = None
    try:
        if args.roster:
            roster = _roster.load_roster(args.roster)
        if bool(args.due) != bool(args.late_penalty):
            raise _gradebook.GradebookError("--due and --late-penalty go together: give both, or neither")
        if args.due:
            late = _gradebook.LatePolicy.parse(_roster.parse_time(args.due, "--due"), args.late_penalty,
                                               args.submitted_from)
        elif args.submitted_from != "auto":
            raise _gradebook.GradebookError("--submitted-from needs --due and --late-penalty")
        if late and late.source == "roster" and (roster is None or not any(s.submitted_at for s in roster.students)):
            raise _gradebook.GradebookError("--submitted-from roster: the roster has no submitted_at column")
    except (_roster.RosterError, _gradebook.GradebookError) as exc:
        _say(f"kms-teach grade: {exc}", file=sys.stderr)
        return 2
    options = dict(assignment=args.assignment, assignments_dir=args.assignments,
                   cell_timeout=args.cell_timeout, total_timeout=args.total_timeout, sandbox=not args.no_sandbox)
    missing = [str(p) for p in args.submissions if not Path(p).exists()]
    if missing:
        _say(f"kms-teach grade: no such submission: {', '.join(missing)}", file=sys.stderr)
        return 2
    single = len(args.submissions) == 1 and not Path(args.submissions[0]).is_dir()
    csv_path = args.csv or (None if single else "gradebook.csv")
    try:
        run = _batch.grade_class(args.submissions, csv_path, roster=roster, late=late, jobs=args.jobs,
                                 progress=not single, **options)
    except grading.SandboxUnavailable as exc:
        _say(f"kms-teach grade: {exc}", file=sys.stderr)
        return 2
    except _gradebook.GradebookError as exc:
        _say(f"kms-teach grade: {exc}", file=sys.stderr)
        return 2
    for s in run.skipped:
        _say(f"kms-teach grade: skipped {printable(s.path, lines=False)}: {printable(s.reason, lines=False)}",
             file=sys.stderr)
    for w in run.warnings:
        _say(f"kms-teach grade: warning: {w}", file=sys.stderr)
    if not run.reports:
        if any(s.blocking for s in run.skipped):  # found, but not to be graded as they are (exit 1)
            _say(f"kms-teach grade: nothing graded: {' and '.join(_left_out(run.skipped))} (listed above); exit "
                 "status 1", file=sys.stderr)
            return 1
        _say(f"kms-teach grade: no notebooks (*.ipynb) to grade in {' '.join(args.submissions)}", file=sys.stderr)
        return 2
    reports = run.reports
    if args.no_sandbox:
        _say("kms-teach grade: warning: graded WITHOUT a sandbox (--no-sandbox); the reports and the gradebook "
              "record it", file=sys.stderr)
    assignments = sorted({r.assignment for r in reports if r.assignment})
    if len(assignments) > 1:
        _say(f"kms-teach grade: warning: these submissions answer different assignments ({', '.join(assignments)}); "
              "give --assignment NAME to grade them all against one", file=sys.stderr)
    if single:
        _say(reports[0].text())
    else:
        for e in run.entries:
            r = e.row
            shown = f"{r['final_score'] or '-':>5}/{r['max_score'] or '?':<4}"
            who = printable(f"{r['student']} {r['name']}" if r.get("name") else r["student"], lines=False)
            notes = printable(r["notes"], lines=False)[:70]
            _say(f"{who[:30]:30} {shown} {r['status'] if r['status'] != 'graded' else '':10} {notes}")
    if args.json:
        data = reports[0].to_dict() if single else [r.to_dict() for r in reports]
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if csv_path:
        _say(f"gradebook: {csv_path} (updated in place; details in {_gradebook.Gradebook(csv_path).details_path})")
    for e in run.failed:
        _say(f"kms-teach grade: could not grade {printable(e.row['submission'], lines=False)} ({e.row['status']}): "
             f"{printable(e.row['notes'], lines=False)[:200]}",
              file=sys.stderr)
    if run.exit_status:
        said = ([f"{len(run.failed)} submission(s) could not be graded"] if run.failed else []) + \
               _left_out(run.skipped)
        _say(f"kms-teach grade: {' and '.join(said)} (listed above); exit status 1", file=sys.stderr)
    return run.exit_status


def _left_out(skipped) -> list[str]:
    """The files left out that the instructor must deal with, counted by why."""
    linked = sum(s.blocking and s.reason.startswith("a symbolic link") for s in skipped)
    special = sum(s.blocking and s.reason.startswith("not a regular file") for s in skipped)
    unmatched = sum(s.blocking for s in skipped) - linked - special
    return ([f"{unmatched} file(s) could not be matched to a student"] if unmatched else []) + \
           ([f"{linked} file(s) are symbolic links"] if linked else []) + \
           ([f"{special} file(s) are not regular files"] if special else [])


def _config_problem(args) -> str | None:
    """A configuration that would give every row a meaningless score, found before grading."""
    from . import grading

    folder = Path(args.assignments) if args.assignments else grading.default_assignments_dir()
    if not folder.is_dir():
        return f"--assignments: no such folder {folder}"
    sources = sorted(folder.glob("ex[0-9][0-9]_*.py")) + sorted(folder.glob("quiz_*.json"))
    if args.assignments and not sources:
        return f"--assignments: {folder} holds no assignment sources (exNN_*.py) or exams (quiz_*.json)"
    if args.assignment and not args.assignment.startswith("quiz_") and not (folder / f"{args.assignment}.py").exists():
        known = ", ".join(p.stem for p in sources if p.suffix == ".py") or "none"
        return f"--assignment: no source {args.assignment}.py in {folder} (there are: {known})"
    return None


def _class_command(args) -> int:
    """``kms-teach feedback``, ``report`` and ``export``: read a gradebook, write for people."""
    from .grading import _gradebook

    book = _gradebook.Gradebook(args.gradebook)
    if not book.path.exists():
        print(f"kms-teach {args.command}: no such gradebook {book.path}", file=sys.stderr)
        return 2
    try:
        if args.command == "export":
            from .grading import _export

            out = args.out or str(book.path.with_name(f"{book.path.stem}-{args.lms}.csv"))
            written = _export.export(book, args.lms, out, assignment=args.assignment, column=args.column,
                                     final=not args.raw)
            print(f"written: {out} ({written.rows} students; {written.blank} without a score left blank)")
            for w in written.warnings:
                print(f"kms-teach export: warning: {w}", file=sys.stderr)
            return 0
        if args.command == "feedback":
            from .grading import _feedback

            paths = _feedback.write_feedback(book, args.out, assignment=args.assignment, students=args.student)
            count = len(paths) // 2
            print(f"written: {len(paths)} feedback files ({count} student{'s' if count != 1 else ''}, HTML and "
                  f"Markdown) in {args.out}")
            return 0 if paths else 1
        from .grading import _report
        from .widgets import _class_charts

        data = _report.analyse(book, assignment=args.assignment, assignments_dir=args.assignments)
        _report.write_report(data, args.out, _class_charts.class_charts(data))
        print(f"written: {args.out}")
        return 0
    except (_gradebook.GradebookError, ValueError, OSError) as exc:
        print(f"kms-teach {args.command}: {exc}", file=sys.stderr)
        return 2


def _assign(args, parser, grading) -> int:
    """``kms-teach assign``: generate (unless --validate), then validate (unless --no-validate, or --check)."""
    from .grading import _validate

    if args.validate and args.no_validate:
        parser.error("--validate and --no-validate contradict each other")
    if args.jobs < 1:
        parser.error("--jobs must be a positive number")
    folder = Path(args.assignments) if args.assignments else grading.default_assignments_dir()
    if not folder.is_dir():
        print(f"kms-teach assign: {folder}: no such folder of assignment sources", file=sys.stderr)
        return 2
    status = 0
    validating = not (args.no_validate or (args.check and not args.validate))
    if not args.validate:
        for warning in [] if validating else grading.discover(folder)[1]:  # else the validation's text has them
            print(f"kms-teach assign: warning: {warning}", file=sys.stderr)
        try:
            changed = grading.generate(args.assignments, check=args.check)
        except grading.SourceError as exc:
            print(f"kms-teach assign: {exc}", file=sys.stderr)
            return 2
        for path in changed:
            print(("out of date: " if args.check else "written: ") + path)
        if not changed:
            print("exercises/ and solutions/ are up to date")
        status = 1 if (args.check and changed) else 0
    if not validating:
        return status
    print("validating: grading each solution, untouched exercise and wrong answer (kms-teach assign "
          "--no-validate skips this)", flush=True)
    found = _validate.validate(folder, jobs=args.jobs, sandbox=False if args.no_sandbox else None,
                               record=not args.check, progress=sys.stderr.isatty())
    print(found.text())
    if not found.ok:
        return 1
    return status


def serve(data: str | os.PathLike | None, host: str = "127.0.0.1", port: int | None = None, *,
          verbose: bool = False) -> int:
    """``kms-teach serve``: serve a persistent cloud until SIGTERM or SIGINT, then close it and exit 0."""
    from ._http import server as _server
    from ._cloud import Cloud
    from ._errors import DataDirInUse

    def say(text: str = "", stream=None) -> None:
        print(text, file=stream or sys.stdout, flush=True)

    port = _server.DEFAULT_PORT if port is None else port
    if not _server.is_loopback(host):
        say(f"kms-teach serve: --host must be a loopback address (127.0.0.1, ::1 or localhost), not {host!r}: "
            f"the endpoint has no TLS and hands out root access keys.", sys.stderr)
        return 2
    directory = Path(data).expanduser().resolve() if data is not None else _server.default_data_dir()
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda signum, frame: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    cloud = server = thread = None
    try:
        try:
            # The cloud takes the folder's lock: the same lock Cloud(path=DIR) takes in a notebook.
            cloud = Cloud(path=directory)
        except DataDirInUse as exc:
            say(f"kms-teach serve: already in use: {exc}", sys.stderr)
            return 1
        except Exception as exc:
            say(f"kms-teach serve: cannot open the cloud in {directory}: {exc}", sys.stderr)
            return 1
        try:
            akid, secret = _server.root_credentials(cloud, _server.read_credentials_key(directory / "credentials"))
            credentials, config = _server.write_aws_files(directory, akid, secret, cloud.region)
        except Exception as exc:  # e.g. LimitExceeded: the root user already has two (inactive) keys
            say(f"kms-teach serve: cannot provide root access keys in {directory}: {exc}", sys.stderr)
            return 1
        log = (lambda line: print(line, file=sys.stderr, flush=True)) if verbose else None
        try:
            server = _server.make_server(_server.EndpointApp(cloud, log=log), host, port)
        except OSError as exc:
            say(f"kms-teach serve: cannot listen on {host}:{port}: {exc}. Choose another port with --port.",
                sys.stderr)
            return 1
        url = _server.endpoint_url(host, server.bind_addr[1])
        cloud.store.folder_lock.note(f"url {url}")  # a second opener is told to connect here
        cloud.store.folder_lock.note(f"credentials {credentials}")
        thread = threading.Thread(target=server.serve, name="kms-teach-endpoint", daemon=True)
        thread.start()
        say(f"kms-teach: serving {', '.join(cloud.services())} for account {cloud.account_id} at {url}")
        say(f"kms-teach: data in {directory}")
        say("kms-teach: to use it from the aws CLI or boto3, run in your shell:")
        say()
        for line in _server.export_lines(_server.endpoint_env(url, credentials, config, cloud.region)):
            say(f"    {line}")
        say()
        say("kms-teach: press Ctrl-C (or send SIGTERM) to stop.")
        while not stop.wait(0.5):
            if not thread.is_alive():
                say("kms-teach serve: the HTTP server stopped unexpectedly.", sys.stderr)
                return 1
        say("kms-teach: stopping.")
        return 0
    finally:
        if server is not None:
            server.stop()  # requests in progress finish first
        if thread is not None:
            thread.join(15)
        if cloud is not None:
            cloud.close()
        for s, handler in previous.items():
            signal.signal(s, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
