"""The sandbox itself, probed from inside: what a learner's kernel can see, reach, write and outlive.

Each test runs a small Python program in the very sandbox kernels get (``Sandbox.command``) and
reads what it reports. ``tools/ensure-bubblewrap`` installs bubblewrap; without it these tests fail
(they are the proof that grading is safe, and must not be skipped silently).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from kms_teach.grading import _sandbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def support():
    found = _sandbox.support()
    assert found.ok, f"the grading sandbox does not work here: {found.reason} (run tools/ensure-bubblewrap)"
    return found


@pytest.fixture
def box(support, tmp_path):
    sandbox = _sandbox.Sandbox(tmp_path, _sandbox.Limits(processes=64, memory=512 * 1024 ** 2), support)
    yield sandbox
    sandbox.close()


def inside(box, code: str, timeout: float = 60) -> dict:
    """Run ``code`` in the sandbox; it reports by printing one JSON object as its last line."""
    script = box.work / "probe.py"
    script.write_text(textwrap.dedent(code))
    proc = subprocess.run(box.command([str(script)]), cwd=box.work, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.stdout.strip(), proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_nothing_of_the_instructor_is_visible(box):
    seen = inside(box, f'''
        import json, os, kms_teach
        root = {str(ROOT)!r}
        print(json.dumps({{
            "checkout": sorted(os.listdir(root)),
            "package": os.path.dirname(kms_teach.__file__),
            "assignments": os.path.exists(root + "/assignments"),
            "solutions": os.path.exists(root + "/solutions"),
            "tests": os.path.exists(root + "/tests"),
            "work_parent": os.path.exists({str(box.root / "checker")!r}),
            "home": os.path.exists(os.path.expanduser("~/.ssh")) or os.path.exists("/root/.ssh"),
            "etc": sorted(os.listdir("/etc")),
            "env": sorted(os.environ),
        }}))
    ''')
    assert seen["package"] == str(ROOT / "kms_teach")
    assert not (seen["assignments"] or seen["solutions"] or seen["tests"] or seen["work_parent"] or seen["home"])
    assert set(seen["checkout"]) <= {"kms_teach", ".venv"}
    assert "shadow" not in seen["etc"]
    assert set(seen["env"]) <= {"PATH", "HOME", "LANG", "TMPDIR", "IPYTHONDIR", "MPLCONFIGDIR",
                                "PYTHONDONTWRITEBYTECODE", "KMS_TEACH_SANDBOX", "PWD", "LC_CTYPE"}


def test_only_its_own_processes_and_no_way_to_signal_the_grader(box):
    seen = inside(box, '''
        import json, os, signal
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        cmdlines = [open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace") for p in pids]
        killed = []
        for target in (os.getppid(), 1):
            try:
                os.kill(target, signal.SIGKILL)
                killed.append(target)
            except OSError:
                pass
        print(json.dumps({"pids": pids, "cmdlines": cmdlines, "ppid": os.getppid(), "killed": killed}))
    ''')
    assert len(seen["pids"]) <= 3 and seen["ppid"] == 1
    # pid 1 is bubblewrap (its arguments are the mounts above); the grader's own command line, with
    # its --assignments folder, is nowhere.
    assert not any("\x00pytest" in c or "assignments" in c for c in seen["cmdlines"]), seen["cmdlines"]
    assert seen["killed"] == [] or set(seen["killed"]) == {1}  # signals to the namespace's init do nothing


def test_no_network_not_even_the_grader_s_loopback(box):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    arrived = []

    def accept():
        try:
            arrived.append(server.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    seen = inside(box, f'''
        import json, socket
        out = {{}}
        for host, port in (("127.0.0.1", {port}), ("1.1.1.1", 443), ("10.0.0.1", 80)):
            try:
                socket.create_connection((host, port), timeout=2).close()
                out[host] = "connected"
            except OSError as exc:
                out[host] = type(exc).__name__
        try:
            socket.getaddrinfo("pypi.org", 443)
            out["dns"] = "resolved"
        except OSError as exc:
            out["dns"] = type(exc).__name__
        print(json.dumps(out))
    ''')
    thread.join()
    server.close()
    assert not arrived, "the sandbox reached a server on the grader's loopback"
    assert "connected" not in seen.values() and seen["dns"] != "resolved"


def test_the_system_and_the_package_are_read_only(box):
    seen = inside(box, f'''
        import json, os, kms_teach, sys, sysconfig
        # (Above the mounted pieces of a checkout or a venv that lies under the host's /tmp, the
        # folders are the sandbox's own /tmp: writable, and seen by nothing else. The pieces are not.)
        targets = ["/usr/kms-teach-test", "/kms-teach-test", os.path.dirname(kms_teach.__file__) + "/x.py",
                   sysconfig.get_paths()["purelib"] + "/evil.pth", sys.prefix + "/bin/evil",
                   sys.prefix + "/pyvenv.cfg", {str(ROOT / "assignments" / "x.py")!r}, "/etc/x"]
        out = {{}}
        for t in targets:
            try:
                open(t, "w").write("x")
                out[t] = "written"
            except OSError as exc:
                out[t] = exc.strerror
        open("mine.txt", "w").write("ok")
        open("/tmp/scratch", "w").write("ok")
        print(json.dumps(out))
    ''')
    assert "written" not in seen.values(), seen
    assert (box.work / "mine.txt").read_text() == "ok"  # its own folder is writable, and the checker sees it
    assert (box.tmp / "scratch").read_text() == "ok"  # so is its /tmp


def test_limits_hold_inside(box):
    seen = inside(box, '''
        import json, os, resource, time
        limits = {n: resource.getrlimit(getattr(resource, "RLIMIT_" + n.upper()))[0]
                  for n in ("as", "cpu", "nofile", "fsize", "nproc", "core")}
        children, error = 0, None
        try:
            for _ in range(200):
                pid = os.fork()
                if pid == 0:
                    time.sleep(5)
                    os._exit(0)
                children += 1
        except OSError as exc:
            error = type(exc).__name__
        big = None
        try:
            with open("big.bin", "wb") as f:
                f.write(b"x" * (80 * 1024 * 1024))
        except OSError as exc:
            big = exc.strerror
        print(json.dumps({"limits": limits, "children": children, "fork_error": error, "big": big}))
    ''', timeout=120)
    assert seen["big"] and "large" in seen["big"].lower(), seen  # RLIMIT_FSIZE: 64 MiB
    if "pids" in box.support.cgroups or os.geteuid() != 0:
        assert seen["children"] < 64 and seen["fork_error"], seen
    # Memory: the python_mounts'd interpreter allocating past the group's limit dies (OOM) or gets MemoryError.
    memory_hog = box.work / "hog.py"
    memory_hog.write_text("b = bytearray(1024 ** 3)\nprint('survived')\n")
    proc = subprocess.run(box.command([str(memory_hog)]), cwd=box.work, capture_output=True, text=True,
                          timeout=120)
    if "memory" in box.support.cgroups:
        assert "survived" not in proc.stdout


def test_no_process_outlives_its_sandbox(box):
    """A detached grandchild (new session, double fork) dies when the sandbox is killed."""
    script = box.work / "daemon.py"
    script.write_text(textwrap.dedent('''
        import os, subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(600)
            os._exit(0)
        print("started", flush=True)
        time.sleep(600)
    '''))
    proc = subprocess.Popen(box.command([str(script)]), cwd=box.work, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    token = box.token

    def members():
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if f"KMS_TEACH_SANDBOX={token}".encode() in Path(f"/proc/{pid}/environ").read_bytes():
                    found.append(pid)
            except OSError:
                pass
        return found

    # "started" is printed while the double fork may still be under way (and a process in the middle of
    # exec has no readable environ yet): wait for the three of them, a bounded while.
    deadline = time.monotonic() + 10
    while len(members()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(members()) >= 3
    proc.kill()  # bwrap itself: --die-with-parent and the PID namespace take everything with it
    proc.wait()
    deadline = time.monotonic() + 10
    while members() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert members() == []
