"""One bubblewrap sandbox per submission: what the learner's kernel may see, use and outlive.

The kernel runs as ``bwrap ... python _sandbox_init.py ... -- -m ipykernel_launcher -f CONN`` with:

* its own user, PID, mount, IPC, UTS, cgroup and network namespaces (``--unshare-all
  --unshare-user``; no network at all: only the sandbox's own loopback), no capabilities
  (``--cap-drop ALL``), no further user namespaces (``--disable-userns``), ``--new-session`` (no
  terminal injection) and ``--die-with-parent``;
* a read-only system: ``/usr`` and the ``/bin``, ``/lib``... links, a few files of ``/etc``
  (``passwd``, ``group`` and ``hosts`` made up for the sandbox), the Python installation, the
  virtual environment's ``pyvenv.cfg``, ``bin`` and ``lib`` (its site-packages), and the
  ``kms_teach`` package folder alone (an editable install points at the checkout, whose
  ``assignments/`` and ``solutions/`` must stay out of sight); the root itself is read-only;
* a private ``/proc`` (only the sandbox's processes), a minimal ``/dev``, and three writable
  folders of the submission's own: the work folder (the kernel's current folder and HOME) and the
  channel folder (the kernel's ZMQ sockets and the checker's socket), bound at the same path inside
  and out, and ``/tmp``, bound from the submission's ``tmp/``: everything the learner's code can
  write, the checker can read from outside;
* resource limits (:class:`Limits`): address space, CPU time, open files, file size and number
  of processes as rlimits set inside (``_sandbox_init``), and where the machine offers writable
  control groups, a pids, memory and cpu group per sandbox (``_sandbox_launch`` joins them before
  exec'ing bwrap), whose members are all killed when the sandbox ends.

Nothing of the instructor's is mounted: not the assignments, solutions or exam keys, not other
submissions, not the grader's files or environment (``--clearenv``).
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import site
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use (defaults sized for the course's exercises)."""

    memory: int = 1536 * 1024 * 1024         # bytes of RAM for all its processes (memory cgroup)
    processes: int = 256                     # tasks (processes and threads) at once (pids cgroup, RLIMIT_NPROC)
    cpus: float = 1.0                        # CPU cores' worth of time (cpu cgroup quota)
    address_space: int = 6 * 1024 ** 3       # RLIMIT_AS per process
    cpu_seconds: int = 900                   # RLIMIT_CPU per process
    open_files: int = 512                    # RLIMIT_NOFILE
    file_size: int = 64 * 1024 * 1024        # RLIMIT_FSIZE: the largest file it can write


@dataclass
class Support:
    """Can this machine sandbox kernels, and with which limits."""

    ok: bool
    reason: str = ""
    bwrap: str | None = None
    cgroups: dict[str, str] = field(default_factory=dict)   # controller -> folder to make groups in
    missing: list[str] = field(default_factory=list)       # limits that cannot be set, in words

    def describe(self) -> str:
        if not self.ok:
            return f"no sandbox: {self.reason}"
        text = f"bubblewrap sandbox ({self.bwrap})"
        if self.missing:
            text += "; not enforced here: " + "; ".join(self.missing)
        return text


# ---------------------------------------------------------------------- what the machine offers


def _cgroup_parents() -> tuple[dict[str, str], list[str]]:
    """For each of pids, memory, cpu: a folder where this process may make a child group (v1)."""
    found: dict[str, str] = {}
    problems: list[str] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return found, ["no /proc/self/cgroup"]
    mine = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(","):
            mine[c] = path
    for controller in ("pids", "memory", "cpu"):
        base = Path("/sys/fs/cgroup") / controller
        if controller not in mine or not base.is_dir():
            continue
        parent = base / mine[controller].lstrip("/")
        probe = parent / f"kms-teach-probe-{os.getpid()}-{secrets.token_hex(3)}"
        try:
            probe.mkdir()
            probe.rmdir()
            found[controller] = str(parent)
        except OSError as exc:
            problems.append(f"{controller} ({exc.strerror})")
    return found, problems


@functools.cache
def support() -> Support:
    """Probe once per process: bubblewrap runs a Python in the very sandbox kernels get."""
    if not sys.platform.startswith("linux"):
        return Support(False, f"bubblewrap sandboxes need Linux; this is {sys.platform}")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Support(False, "bubblewrap (bwrap) is not installed: run tools/ensure-bubblewrap "
                              "(apt-get install bubblewrap)")
    groups, problems = _cgroup_parents()
    missing = []
    if "pids" not in groups:
        missing.append("the pids control group (RLIMIT_NPROC still applies to a non-root user; "
                       "root is exempt from it)" if os.geteuid() else
                       "a limit on the number of processes (no writable pids control group, and RLIMIT_NPROC "
                       "does not bind root)")
    if "memory" not in groups:
        missing.append("the memory control group (RLIMIT_AS still bounds each process)")
    if "cpu" not in groups:
        missing.append("the cpu control group's share (RLIMIT_CPU still bounds each process)")
    for parent in groups.values():
        _remove_stale_groups(Path(parent))
    result = Support(True, bwrap=bwrap, cgroups=groups, missing=missing)
    folder = Path(_mkdtemp("kms-teach-probe-"))
    try:
        box = Sandbox(folder, Limits(), result, cgroups=False)
        proc = subprocess.run(box.command([sys.executable, "-c", "print('sandboxed')"], python=False),
                              capture_output=True, text=True, timeout=60, cwd=box.work)
        if proc.returncode != 0 or "sandboxed" not in proc.stdout:
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            return Support(False, f"bubblewrap cannot make a sandbox here ({detail[0][:200]}); a container "
                                  "without user namespaces, or a kernel that forbids them?")
    except (OSError, subprocess.SubprocessError) as exc:
        return Support(False, f"bubblewrap failed to start: {exc}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def _remove_stale_groups(parent: Path, age: float = 3600) -> None:
    """Empty groups of sandboxes whose grader was killed before it could remove them."""
    for group in parent.glob("kms-teach-*"):
        try:
            if time.time() - group.stat().st_mtime > age and not (group / "cgroup.procs").read_text().strip():
                group.rmdir()
        except OSError:
            pass


def _mkdtemp(prefix: str) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix=prefix)


@functools.cache
def _bwrap_has(option: str) -> bool:
    try:
        return option in subprocess.run([shutil.which("bwrap") or "bwrap", "--help"], capture_output=True,
                                        text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False


# ---------------------------------------------------------------------- one sandbox


class Sandbox:
    """The folders, groups and command line of one submission's sandbox.

    ``root`` (private to the grader) holds ``work/`` (the learner's writable folder), ``tmp/`` (its
    ``/tmp``), ``chan/`` (sockets), ``etc/`` (made-up system files) and ``checker/`` (the checker's
    own folder).
    """

    def __init__(self, root: Path, limits: Limits, support: Support, *, cgroups: bool = True):
        self.root, self.limits, self.support = Path(root), limits, support
        self.token = secrets.token_hex(8)
        self.work, self.tmp, self.chan, self.etc, self.checker_home = (
            self.root / n for n in ("work", "tmp", "chan", "etc", "checker"))
        for d in (self.work, self.tmp, self.chan, self.etc, self.checker_home):
            d.mkdir(mode=0o700, exist_ok=True)
        for d in (self.work, self.tmp, self.chan):
            os.chmod(d, 0o777)
        (self.etc / "passwd").write_text("learner:x:%d:%d:learner:%s:/bin/sh\n" % (os.getuid(), os.getgid(), self.work))
        (self.etc / "group").write_text("learner:x:%d:\n" % os.getgid())
        (self.etc / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")
        self.groups: list[Path] = []
        self.group_problems: list[str] = []
        if cgroups:
            self._make_groups()

    # ------------------------------------------------------------------ control groups

    def _make_groups(self) -> None:
        limits = self.limits
        values = {"pids": [("pids.max", str(limits.processes))],
                  "memory": [("memory.limit_in_bytes", str(limits.memory)),
                             ("memory.memsw.limit_in_bytes", str(limits.memory))],
                  "cpu": [("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", str(int(100000 * limits.cpus)))]}
        for controller, parent in self.support.cgroups.items():
            group = Path(parent) / f"kms-teach-{self.token}"
            try:
                group.mkdir()
            except OSError as exc:
                self.group_problems.append(f"{controller}: {exc.strerror}")
                continue
            self.groups.append(group)
            for name, value in values[controller]:
                target = group / name
                if not target.exists():
                    continue  # memsw without swap accounting
                try:
                    target.write_text(value)
                except OSError as exc:
                    self.group_problems.append(f"{name}: {exc.strerror}")

    def processes(self) -> list[int]:
        """PIDs in the sandbox's groups (outside numbering); empty without groups."""
        pids: set[int] = set()
        for group in self.groups:
            try:
                pids |= {int(p) for p in (group / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return sorted(pids)

    def kill_all(self, *, remove: bool = False) -> None:
        """Kill every process of the sandbox (several rounds: a fork in flight joins the group)."""
        for _ in range(100):
            pids = self.processes()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        if remove:
            for group in self.groups:
                for _ in range(50):
                    try:
                        group.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.05)
            self.groups = []

    # ------------------------------------------------------------------ the command line

    def _system_mounts(self) -> list[str]:
        args = ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "ssl",
                     "ca-certificates", "mime.types", "alternatives"):
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        for name in ("passwd", "group", "hosts"):
            args += ["--ro-bind", str(self.etc / name), f"/etc/{name}"]
        return args

    @staticmethod
    def python_mounts() -> list[str]:
        """The Python installation, the virtual environment's interpreter and packages, kms_teach."""
        args: list[str] = []
        seen: list[str] = []

        def ro(path: str) -> None:
            path = os.path.abspath(path)
            if os.path.exists(path) and not any(path == s or path.startswith(s + os.sep) for s in seen):
                seen.append(path)
                args.extend(["--ro-bind", path, path])

        if not sys.base_prefix.startswith("/usr/"):
            ro(sys.base_prefix)
        if sys.prefix != sys.base_prefix:  # a virtual environment
            ro(os.path.join(sys.prefix, "pyvenv.cfg"))
            ro(os.path.join(sys.prefix, "bin"))
            for folder in site.getsitepackages([sys.prefix]):
                ro(folder)
        ro(str(PACKAGE))  # an editable install: the package folder of the checkout, and nothing else of it
        return args

    def command(self, inner: list[str], *, python: bool = True) -> list[str]:
        """The full command line: [launcher,] bwrap with every option, then ``inner`` inside."""
        lim = self.limits
        args = [self.support.bwrap or "bwrap", "--unshare-all", "--unshare-user", "--die-with-parent",
                "--new-session", "--cap-drop", "ALL", "--hostname", "kms-teach-sandbox"]
        if _bwrap_has("--disable-userns"):
            args.append("--disable-userns")
        args += ["--clearenv"]
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(self.work),
               "LANG": "C.UTF-8", "TMPDIR": "/tmp", "IPYTHONDIR": "/tmp/ipython", "MPLCONFIGDIR": "/tmp/matplotlib",
               "PYTHONDONTWRITEBYTECODE": "1", "KMS_TEACH_SANDBOX": self.token}
        for k, v in env.items():
            args += ["--setenv", k, v]
        # /tmp before the rest: the Python installation, the checkout and the work and channel folders
        # may all be under the host's /tmp, and are then bound over the sandbox's own.
        args += self._system_mounts() + ["--bind", str(self.tmp), "/tmp"] + self.python_mounts()
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--bind", str(self.work), str(self.work), "--bind", str(self.chan), str(self.chan),
                 "--remount-ro", "/", "--chdir", str(self.work)]
        if python:
            limits = [("as", lim.address_space), ("cpu", lim.cpu_seconds), ("nofile", lim.open_files),
                      ("fsize", lim.file_size), ("nproc", lim.processes), ("core", 0)]
            cpu_hard = f"{lim.cpu_seconds}:{lim.cpu_seconds + 5}"
            inner = [sys.executable, str(HERE / "_sandbox_init.py"),
                     *[x for name, value in limits
                       for x in ("--limit", f"{name}={cpu_hard if name == 'cpu' else value}")], "--", *inner]
        command = args + ["--", *inner]
        if self.groups:
            launch = [sys.executable, "-I", "-S", str(HERE / "_sandbox_launch.py")]
            for group in self.groups:
                launch += ["--cgroup", str(group)]
            command = launch + ["--", *command]
        return command

    def close(self) -> None:
        self.kill_all(remove=True)
