"""The ``kms-teach`` command: ``course``, ``serve``, ``assign``, ``grade``, ``release`` and ``export-nbgrader``."""

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
                                        "(solutions/) from the instructor sources (assignments/exNN_*.py).")
    assign.add_argument("--assignments", metavar="DIR", default=None, help="the sources (default: assignments/)")
    assign.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is out of date")
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
    grade_cmd.add_argument("--csv", metavar="FILE", default=None,
                           help="write a gradebook (default for several submissions: gradebook.csv)")
    grade_cmd.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="submissions graded at once")
    grade_cmd.add_argument("--cell-timeout", type=float, default=60, help="seconds allowed per cell (default 60)")
    grade_cmd.add_argument("--total-timeout", type=float, default=600,
                           help="seconds allowed per submission (default 600)")
    grade_cmd.add_argument("--no-sandbox", action="store_true",
                           help="run the learners' code without a sandbox where bubblewrap cannot run (it can then "
                                "read your files and tamper with the grading; the reports say so)")
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
        try:
            changed = grading.generate(args.assignments, check=args.check)
        except grading.SourceError as exc:
            print(f"kms-teach assign: {exc}", file=sys.stderr)
            return 2
        for path in changed:
            print(("out of date: " if args.check else "written: ") + path)
        if not changed:
            print("exercises/ and solutions/ are up to date")
        return 1 if (args.check and changed) else 0
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

    if args.jobs < 1 or not (math.isfinite(args.cell_timeout) and args.cell_timeout > 0) \
            or not (math.isfinite(args.total_timeout) and args.total_timeout > 0):
        parser.error("--jobs, --cell-timeout and --total-timeout must be positive numbers")
    for option, value in (("--json", args.json), ("--csv", args.csv)):
        # Checked before grading: a class's results must not be lost to a typo in a path.
        if value and not Path(value).resolve().parent.is_dir():
            parser.error(f"{option}: the folder {Path(value).resolve().parent} does not exist")
    options = dict(assignment=args.assignment, assignments_dir=args.assignments,
                   cell_timeout=args.cell_timeout, total_timeout=args.total_timeout, sandbox=not args.no_sandbox)
    files = grading._batch.submissions_in(args.submissions)
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        print(f"kms-teach grade: no such submission: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not files:
        print(f"kms-teach grade: no notebooks (*.ipynb) in {' '.join(args.submissions)}", file=sys.stderr)
        return 2
    single = len(files) == 1 and not Path(args.submissions[0]).is_dir()
    try:
        reports = grading.grade_many(files, jobs=args.jobs, progress=not single, **options)
    except grading.SandboxUnavailable as exc:
        print(f"kms-teach grade: {exc}", file=sys.stderr)
        return 2
    if args.no_sandbox:
        print("kms-teach grade: warning: graded WITHOUT a sandbox (--no-sandbox); the reports and the gradebook "
              "record it", file=sys.stderr)
    assignments = sorted({r.assignment for r in reports if r.assignment})
    if len(assignments) > 1:
        print(f"kms-teach grade: warning: these submissions answer different assignments ({', '.join(assignments)}); "
              "give --assignment NAME to grade them all against one", file=sys.stderr)
    if single:
        print(reports[0].text())
    else:
        for r in reports:
            print(f"{r.student:30} {r.score:>4}/{r.max_score:<4} {'; '.join(r.problems)[:80]}")
    if args.json:
        data = reports[0].to_dict() if single else [r.to_dict() for r in reports]
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    csv_path = args.csv or (None if single else "gradebook.csv")
    if csv_path:
        grading.write_csv(reports, csv_path)
        print(f"gradebook: {csv_path}")
    return 0


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
