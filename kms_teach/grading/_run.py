"""Running one submission: its cells in a sandboxed kernel, each task's hidden checks in the checker.

For each task in order: the task's cells run in the learner's kernel (setup cells first), then the
checker runs the task's hidden checks while the kernel runs the grader's agent cell, which answers
the checker's calls (``_agent``, ``_checker``). A task whose cells or checks crash, hang or kill the
kernel costs that task only: the kernel is thrown away with every process of its sandbox, and the
next task gets a fresh sandboxed kernel, into which the earlier tasks' cells are replayed (except a
cell that killed a kernel).

Everything the kernel sends is capped as it arrives: ZMQ drops any message frame larger than
:data:`MAX_FRAME` (``zmq.MAXMSGSIZE``) and keeps few messages queued, and at most
:data:`MAX_CELL_OUTPUT` characters of output are kept per cell.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ._sandbox import Limits, Sandbox, support

MAX_CELL_OUTPUT = 2_000_000   # characters kept per cell: a print loop must not fill the grader's memory
MAX_FRAME = 1024 * 1024       # bytes per ZMQ message frame from the kernel; larger ones are dropped
QUEUED_MESSAGES = 100         # ZMQ receive high-water mark per socket: at most ~100 MiB queued per socket
CHECK_GRACE = 5.0             # seconds the agent cell has to end once the checker is done


@dataclass
class Cell:
    source: str
    label: str            # e.g. "setup", "t2-answer", "added-after-t2-answer-0"
    task: str | None      # the task whose cells these are (setup cells: the first task)
    killed_kernel: bool = False


@dataclass
class TaskRun:
    """What happened to one task (turned into a TaskResult by the grader)."""

    passed: bool = False
    message: str = ""
    checks: list[dict] = field(default_factory=list)
    cell: str | None = None        # the cell that failed, when a cell did
    answer_error: str | None = None


class KernelBroken(Exception):
    """The kernel cannot be used further (died, or stuck): the next task gets a fresh one."""


# ---------------------------------------------------------------------- the kernel side


@functools.cache
def _classes():
    import ipykernel.kernelspec
    import zmq
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    class Specs(KernelSpecManager):
        """python3 = ipykernel in this interpreter; in a sandbox when given its command."""

        argv: list[str] | None = None

        def get_kernel_spec(self, kernel_name):
            spec = ipykernel.kernelspec.get_kernel_dict()
            if self.argv is not None:
                spec = {**spec, "argv": self.argv, "interrupt_mode": "message"}
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **spec)

    def capped(context):
        context.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME)
        context.setsockopt(zmq.RCVHWM, QUEUED_MESSAGES)
        return context

    class Manager(AsyncKernelManager):
        """Every socket towards the kernel refuses oversized frames and queues little."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            capped(self.context)

        def client(self, **kwargs):
            kc = super().client(**kwargs)
            capped(kc.context)
            return kc

    class Client(NotebookClient):
        """nbclient, keeping at most MAX_CELL_OUTPUT characters of output per cell."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.kept: dict[int, int] = {}
            self.truncated: dict[int, bool] = {}

        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content", {})
            data = content.get("data") if isinstance(content.get("data"), dict) else {}
            size = len(str(content.get("text", ""))) + sum(len(str(v)) for v in data.values())
            if self.kept.get(cell_index, 0) + size > MAX_CELL_OUTPUT:
                self.truncated[cell_index] = True
                return None
            self.kept[cell_index] = self.kept.get(cell_index, 0) + size
            return super().output(outs, msg, display_id, cell_index)

    return Specs, Manager, Client


class Kernel:
    """One kernel: sandboxed (bubblewrap) or, with ``box=None``, a plain process."""

    def __init__(self, box: Sandbox | None, work: Path, chan: Path):
        import nbformat

        Specs, Manager, Client = _classes()
        specs = Specs()
        kwargs = {}
        if box is not None:
            specs.argv = box.command(["-m", "ipykernel_launcher", "-f", "{connection_file}",
                                      "--HistoryManager.enabled=False"])
            kwargs = {"transport": "ipc", "ip": str(chan / f"k{os.urandom(3).hex()}")}
        self.km = Manager(kernel_name="python3", kernel_spec_manager=specs, **kwargs)
        if box is not None:
            self.km.connection_file = str(chan / f"kernel-{os.urandom(3).hex()}.json")
        self.box, self.work = box, work
        self.nb = nbformat.v4.new_notebook()
        self.client = Client(self.nb, km=self.km, timeout=60, allow_errors=True, interrupt_on_timeout=True,
                             record_timing=False, shutdown_kernel="immediate", iopub_timeout=2,
                             error_on_timeout={"ename": "CellTimeoutError", "evalue": "time limit", "traceback": []},
                             resources={"metadata": {"path": str(work)}})
        self.alive = False

    async def start(self, timeout: float) -> None:
        self.client.startup_timeout = max(5, int(timeout))
        await self.client.async_start_new_kernel(cwd=str(self.work), stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL)
        await self.client.async_start_new_kernel_client()
        self.alive = True
        import zmq

        # A frame larger than MAX_FRAME makes ZMQ drop the message and the connection (it reconnects):
        # the monitors tell us it happened, so the notes can say so.
        self.monitors = []
        for channel in (self.client.kc.iopub_channel, self.client.kc.shell_channel):
            try:
                monitor = channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
                # kept, with a blocking view of it, to read it without waiting
                self.monitors.append((monitor, zmq.Socket.shadow(monitor.underlying)))
            except zmq.ZMQError:
                pass

    def dropped(self) -> int:
        """How many times the kernel's connection was cut (an oversized message) since last asked."""
        import zmq

        count = 0
        for _, monitor in getattr(self, "monitors", []):
            while True:
                try:
                    monitor.recv_multipart(flags=zmq.NOBLOCK)
                    count += 1
                except zmq.Again:
                    break
                except zmq.ZMQError:
                    break
        return count

    def new_cell(self, source: str):
        import nbformat

        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)
        return cell, len(self.nb.cells) - 1

    async def close(self) -> None:
        self.alive = False
        try:
            if self.client.km is not None:
                await asyncio.wait_for(self.client._async_cleanup_kernel(), 20)
        except Exception:
            pass
        if self.box is not None:
            self.box.kill_all()


# ---------------------------------------------------------------------- the checker side


class Checker:
    """The checker process of one submission (``python -m kms_teach.grading._checker``)."""

    def __init__(self, source_path: Path, box_root: Path, work: Path, chan: Path, home: Path):
        self.source_path, self.box_root, self.work, self.chan, self.home = source_path, box_root, work, chan, home
        self.proc: asyncio.subprocess.Process | None = None
        self.error: str | None = None
        self.socket = str(chan / "check.sock")

    async def start(self) -> None:
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        log = open(self.home / "checker.log", "ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "kms_teach.grading._checker", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=log, cwd=str(self.home), limit=1 << 20)
        finally:
            log.close()
        tmp = self.box_root / "tmp"  # the sandbox's /tmp, when there is a sandbox
        job = {"source": str(self.source_path), "socket": self.socket, "work": str(self.work), "home": str(self.home),
               "tmp": str(tmp) if tmp.is_dir() else None}
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        await self.proc.stdin.drain()
        ready = await self._line(120)
        if not ready or not ready.get("ready"):
            self.error = (ready or {}).get("error") or "the checker did not start"
            await self.stop()
            raise RuntimeError(self.error)

    async def _line(self, timeout: float) -> dict | None:
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except (asyncio.TimeoutError, ValueError):
            return None
        if not line:
            return None
        try:
            return json.loads(line)
        except ValueError:
            return None

    async def run_task(self, task_id: str, seconds: float) -> dict | None:
        """The checker's verdict, or None if it did not give one in time (it is then stopped)."""
        self.proc.stdin.write((json.dumps({"task": task_id, "seconds": seconds}) + "\n").encode())
        await self.proc.stdin.drain()
        result = await self._line(seconds + 15)
        if result is None or result.get("task") != task_id:
            await self.stop()
            return None
        return result

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                pass
        self.proc = None

    def log_tail(self) -> str:
        try:
            return (self.home / "checker.log").read_text(errors="replace")[-800:]
        except OSError:
            return ""


# ---------------------------------------------------------------------- one submission


def _error_text(outputs) -> str | None:
    for out in outputs:
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"[:400]
    return None


def _interrupted(outputs) -> bool:
    """Did the interrupt stop the code (KeyboardInterrupt reached the top of the cell)?"""
    return any(o.get("output_type") == "error" and o.get("ename") == "KeyboardInterrupt" for o in outputs)


async def _answers(kernel: Kernel, seconds: float = 10.0) -> bool:
    """Is the kernel idle again? (It answers a kernel_info request on its shell channel, which waits
    behind any code still running: a loop that swallowed the interrupt never lets it through.)"""
    from queue import Empty

    kc = kernel.client.kc
    if kc is None:
        return False
    msg_id = kc.kernel_info()
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            msg = await kc.shell_channel.get_msg(timeout=left)
        except Empty:
            return False
        except Exception:
            return False
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return True


def _quiet_about_dead_kernels(loop, context) -> None:
    from nbclient.exceptions import DeadKernelError

    exc = context.get("exception")
    if isinstance(exc, (DeadKernelError, AssertionError, asyncio.CancelledError)) and \
            "never retrieved" in str(context.get("message", "")):
        return
    loop.default_exception_handler(context)


class Run:
    """Grades the cells of one submission task by task. ``problems`` gathers the notes."""

    def __init__(self, source, cells: list[Cell], tasks: list[str], *, sandboxed: bool, cell_timeout: float,
                 total_timeout: float, limits: Limits | None = None):
        self.source, self.cells, self.tasks = source, cells, tasks
        self.sandboxed, self.cell_timeout, self.total_timeout = sandboxed, cell_timeout, total_timeout
        self.limits = limits or Limits(cpu_seconds=int(total_timeout) + 30)
        self.problems: list[str] = []
        self.results: dict[str, TaskRun] = {t: TaskRun() for t in tasks}
        self.stderr_in: list[str] = []
        self.deadline = 0.0
        self.kernels_started = 0
        self.seconds: dict[str, float] = {}  # how long each cell (and each task's checks) ran: sizes time limits

    def note(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def run(self) -> dict[str, TaskRun]:
        asyncio.run(self._run())
        return self.results

    async def _run(self) -> None:
        # A kernel killed mid-cell leaves nbclient's own poller tasks failed: expected, not news.
        asyncio.get_running_loop().set_exception_handler(_quiet_about_dead_kernels)
        self.deadline = time.monotonic() + self.total_timeout
        base = tempfile.gettempdir()
        if len(base) > 60:  # Unix socket paths are short (108 bytes)
            base = "/tmp"
        root = Path(tempfile.mkdtemp(prefix="kms-teach-grade-", dir=base))
        box = None
        try:
            if self.sandboxed:
                box = Sandbox(root, self.limits, support())
                for problem in box.group_problems:
                    self.note(f"a limit could not be set: {problem}")
            else:
                for sub in ("work", "chan", "checker"):
                    (root / sub).mkdir()
            work, chan, home = root / "work", root / "chan", root / "checker"
            checker = Checker(self.source.path, root, work, chan, home)
            # The checker starts while the kernel starts and runs the first cells: its verdicts are
            # wanted only when the first task's checks run.
            self.checker_job = asyncio.ensure_future(checker.start())
            try:
                await self._tasks(box, work, chan, checker)
            finally:
                if not self.checker_job.done():
                    self.checker_job.cancel()
                await checker.stop()
        finally:
            if box is not None:
                box.close()
            shutil.rmtree(root, ignore_errors=True)
        if self.stderr_in:
            self.note("wrote to stderr in: " + ", ".join(dict.fromkeys(self.stderr_in)))

    async def _tasks(self, box, work: Path, chan: Path, checker: Checker) -> None:
        kernel: Kernel | None = None
        failed_starts = 0
        try:
            for i, task in enumerate(self.tasks):
                if self.left() <= 0:
                    self.note(f"the total time limit ({self.total_timeout:g} s) ran out; the checks of task {task} "
                              "and later did not run")
                    for t in self.tasks[i:]:
                        self.results[t].message = self.results[t].message or "the total time limit ran out"
                    break
                if kernel is None:
                    if failed_starts >= 2:
                        self.results[task] = TaskRun(False, "the kernel could not start")
                        continue
                    kernel = Kernel(box, work, chan)
                    try:
                        await kernel.start(min(120, max(5, self.left())))
                        self.kernels_started += 1
                    except Exception as exc:
                        failed_starts += 1
                        self.note(f"the kernel could not start: {type(exc).__name__}: {exc}"[:400])
                        self.results[task] = TaskRun(False, "the kernel could not start")
                        await kernel.close()
                        kernel = None
                        continue
                    replay = [c for c in self.cells if c.task in self.tasks[:i] and not c.killed_kernel]
                    if i > 0:
                        self.note(f"task {task} and later ran in a fresh sandboxed kernel "
                                  "(the earlier tasks' cells were run again first)" if box else
                                  f"task {task} and later ran in a fresh kernel")
                    try:
                        for cell in replay:
                            await self._cell(kernel, cell, quiet=True)
                    except KernelBroken:
                        await kernel.close()
                        kernel = None
                        self.results[task] = TaskRun(False, "the kernel died again while the earlier tasks' cells "
                                                            "were run once more")
                        continue
                try:
                    for cell in (c for c in self.cells if c.task == task):
                        await self._cell(kernel, cell)
                    await self._check(kernel, checker, task)
                except KernelBroken:
                    await kernel.close()
                    kernel = None
                    continue
                if box is not None and kernel is not None and len(box.processes()) > 3:
                    # bwrap, its init and the kernel: anything more is a process the learner's code left behind
                    self.note(f"processes were left running after task {task}; they were stopped, and the next "
                              "task ran in a fresh sandbox")
                    await kernel.close()
                    kernel = None
        finally:
            if kernel is not None:
                await kernel.close()

    async def _cell(self, kernel: Kernel, cell: Cell, *, quiet: bool = False) -> None:
        """Run one of the learner's (or the source's setup) cells; notes what went wrong."""
        from nbclient.exceptions import DeadKernelError

        nbcell, index = kernel.new_cell(cell.source)
        left = self.left()
        if left <= 0:
            raise KernelBroken("time")
        limit = max(1, math.ceil(min(self.cell_timeout, left)))
        kernel.client.timeout = limit
        began = time.monotonic()
        where = f"cell {cell.label} (task {cell.task})" if cell.task else f"cell {cell.label}"
        result = self.results.get(cell.task)
        try:
            await kernel.client.async_execute_cell(nbcell, index)
        except DeadKernelError:
            cell.killed_kernel = True
            if not quiet:
                self.note(f"the kernel died while running {where}; the next task ran in a fresh kernel")
                if result is not None and not result.cell:
                    result.cell = cell.label
                    result.message = f"the kernel died while running {cell.label} (the code exited or crashed it)"
            raise KernelBroken("died") from None
        except Exception as exc:  # the client failed: the kernel is in no known state
            cell.killed_kernel = True
            if not quiet:
                self.note(f"{where} could not be run: {type(exc).__name__}: {exc}"[:400])
            raise KernelBroken("client") from None
        if not quiet:
            self.seconds[cell.label] = round(time.monotonic() - began, 3)
        if quiet:
            if time.monotonic() - began >= limit and not _interrupted(nbcell.outputs) and not await _answers(kernel):
                cell.killed_kernel = True
                raise KernelBroken("stuck")
            return
        if kernel.client.truncated.get(index) or kernel.dropped():
            self.note(f"{where} printed more than the grader keeps ({MAX_CELL_OUTPUT:,} characters a cell, "
                      f"{MAX_FRAME // 1024:,} KiB a message); the rest was dropped")
        if time.monotonic() - began >= limit:
            self.note(f"{where} ran longer than {limit:g} s and was stopped")
            if not _interrupted(nbcell.outputs) and not await _answers(kernel):
                cell.killed_kernel = True
                self.note(f"the code in {where} did not stop when interrupted; its kernel was stopped and the next "
                          "task ran in a fresh kernel")
                if result is not None:
                    result.cell = result.cell or cell.label
                    result.message = result.message or f"{cell.label} never finished (it did not stop when interrupted)"
                raise KernelBroken("stuck")
            return
        error = _error_text(nbcell.outputs)
        if error:
            if result is not None and cell.label.endswith("-answer"):
                result.answer_error = result.answer_error or error
                result.cell = result.cell or cell.label
            self.note(f"{where} raised {error}")
        if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in nbcell.outputs):
            self.stderr_in.append(cell.task or "setup")

    async def _check(self, kernel: Kernel, checker: Checker, task: str) -> None:
        """The task's hidden checks in the checker, the agent cell in the kernel, at the same time."""
        from nbclient.exceptions import DeadKernelError

        result = self.results[task]
        if result.message:  # its cells already failed it (a dead kernel, a stuck cell)
            return
        try:
            await self.checker_job
        except Exception as exc:
            result.passed, result.message = False, f"the grader's checker could not start: {exc}"[:400]
            self.note(result.message)
            return
        seconds = max(1.0, min(self.cell_timeout, self.left()))
        agent = (f'__import__("kms_teach.grading._agent", fromlist=["serve"]).serve({checker.socket!r}, '
                 f"globals(), {task!r})")
        nbcell, index = kernel.new_cell(agent)
        kernel.client.timeout = math.ceil(seconds + 60)  # the checker keeps time; this is a backstop
        began = time.monotonic()
        cell_job = asyncio.ensure_future(kernel.client.async_execute_cell(nbcell, index))
        verdict_job = asyncio.ensure_future(checker.run_task(task, seconds))
        verdict = None
        broken = None
        try:
            done, _ = await asyncio.wait({cell_job, verdict_job}, return_when=asyncio.FIRST_COMPLETED)
            if cell_job in done and not verdict_job.done():
                # The kernel finished (or died) first: the checker's verdict follows from its end.
                exc = cell_job.exception()
                if isinstance(exc, DeadKernelError):
                    broken = "died"
            verdict = await verdict_job
            self.seconds[f"checks of {task}"] = round(time.monotonic() - began, 3)
            if not cell_job.done():
                finished, _ = await asyncio.wait({cell_job}, timeout=CHECK_GRACE)
                if not finished:
                    broken = "busy"
            if cell_job.done() and not cell_job.cancelled():
                exc = cell_job.exception()
                if exc is not None:
                    broken = "died" if isinstance(exc, DeadKernelError) else "client"
        finally:
            for job in (cell_job, verdict_job):
                if not job.done():
                    job.cancel()
        if verdict is None:
            result.passed, result.cell = False, f"hidden checks of {task}"
            result.message = ("the hidden checks did not finish in time (an answer that never returns?)"
                              if checker.proc is None else "the grader's checker failed")
            tail = checker.log_tail()
            if tail and "Traceback" in tail:
                self.note(f"the checker of task {task} failed: {tail.strip().splitlines()[-1][:300]}")
            try:
                await checker.start()  # a fresh checker for the next task
            except Exception as exc:
                self.note(f"the grader's checker could not restart: {exc}"[:300])
        else:
            result.passed = bool(verdict.get("passed"))
            result.message = str(verdict.get("message", ""))[:600]
            result.checks = verdict.get("checks") or []
            if not result.passed:
                result.cell = result.cell or f"hidden checks of {task}"
        if not broken and any(o.get("output_type") == "stream" and o.get("name") == "stderr"
                              for o in nbcell.outputs):
            self.stderr_in.append(f"checks of {task}")
        if kernel.client.truncated.get(index) or kernel.dropped():
            self.note(f"the learner's code printed more than the grader keeps during the checks of task {task}; "
                      "the rest was dropped")
        if broken:
            why = {"died": "the kernel died during the checks of task {t}",
                   "busy": "the kernel was still busy after the checks of task {t} (code that never returns?); "
                           "it was stopped",
                   "client": "the kernel stopped answering during the checks of task {t}"}[broken]
            self.note(why.format(t=task) + "; the next task ran in a fresh kernel")
            raise KernelBroken(broken)
