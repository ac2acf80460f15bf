"""A throw-away JupyterLab on 127.0.0.1 and a headless Chromium page driving it.

Why not Galata: it needs 600 MB of node_modules and a lab extension; the course only needs
"open a notebook, run it, click, read the page, ask the kernel", which Playwright's Python API
does against Debian's chromium (``executable_path``; Playwright's own browser download does
not work on a closed network).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    # The machine's network is closed: without these Chromium retries Google's hosts at every start.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic", "--no-first-run",
]


def find_chromium() -> str | None:
    """``KMS_TEACH_CHROMIUM``, else the first Chromium on PATH (tools/ensure-chromium installs Debian's)."""
    given = os.environ.get("KMS_TEACH_CHROMIUM")
    if given:
        return given if Path(given).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_env(home: Path, settings: Path) -> dict[str, str]:
    return dict(os.environ,
                JUPYTER_CONFIG_DIR=str(home / "config"),
                JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                JUPYTER_DATA_DIR=str(home / "data"),
                JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
                JUPYTERLAB_SETTINGS_DIR=str(settings),
                PYTHONUNBUFFERED="1")


def windowing_off(settings: Path) -> None:
    """JupyterLab 4 renders only the cells near the viewport by default; the tests look for widgets anywhere
    in the notebook, so every cell stays in the page."""
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True, exist_ok=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))


def wait_for_url(url: str, process: subprocess.Popen, timeout: float, tail) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"nothing answered on {url} within {timeout} s:\n{tail()}")


def stop_group(process: subprocess.Popen | None) -> None:
    """Stop a server started with ``start_new_session`` and everything it started (its kernels)."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, 15)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, 9)
        except ProcessLookupError:
            pass
        process.wait(timeout=15)


class Lab:
    """``python -m jupyterlab`` in its own config, runtime and settings folders under ``home``."""

    def __init__(self, home: Path, root: Path):
        self.home, self.root = home, root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "jupyterlab.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        settings = self.home / "settings"
        # The "get notified about Jupyter news?" toast covers the notebook in screenshots.
        notif = settings / "@jupyterlab" / "apputils-extension"
        notif.mkdir(parents=True)
        (notif / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        windowing_off(settings)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               "--ServerApp.port_retries=0", f"--ServerApp.root_dir={self.root}",
               "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.allow_root=True",
               "--ServerApp.disable_check_xsrf=True", "--LabApp.expose_app_in_browser=True",
               "--ContentsManager.allow_hidden=False"]
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                        env=lab_env(self.home, settings), cwd=self.root, start_new_session=True)
        wait_for_url(self.url + "/api/status", self.process, timeout, self.tail)

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        stop_group(self.process)
        if self.process is not None:
            self.log.close()
        self.process = None


# The tab in front must be this notebook (a restored workspace could put another one there).
KERNEL_READY = """(path) => {
  const w = window.jupyterapp?.shell.currentWidget;
  const k = w?.sessionContext?.session?.kernel;
  return w?.context?.path === path && !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""

# Every code cell has run once the kernel is idle and each has an execution count.
ALL_CELLS_RUN = """() => {
  const w = window.jupyterapp?.shell.currentWidget;
  const k = w?.sessionContext?.session?.kernel;
  if (!k || k.status !== 'idle') return false;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return cells.length > 0 && cells.every(c => c.model.executionCount !== null);
}"""

# The committed notebooks carry their outputs and execution counts: clear them first, so that
# ALL_CELLS_RUN can only be satisfied by this run.
CLEAR_ALL = """async () => {
  await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
  const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets.filter(c => c.model.type === 'code' && c.model.executionCount !== null).length;
}"""

RUN_ALL = """() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return true; }"""

IDLE = """() => { const k = window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel;
  return !!k && k.status === 'idle'; }"""

# Index of the first code cell whose source contains the marker (-1 if none).
FIND_CELL = """(marker) => window.jupyterapp.shell.currentWidget.content.widgets
  .findIndex(c => c.model.type === 'code' && c.model.sharedModel.getSource().includes(marker))"""

# Run the cells above ``stop`` (exclusive), or from ``start`` to the end: what a learner does with
# Shift+Enter down to a widget, then on after playing with it.
RUN_ABOVE = """(stop) => { const w = window.jupyterapp.shell.currentWidget; w.content.activeCellIndex = stop;
  window.jupyterapp.commands.execute('notebook:run-all-above'); return true; }"""
RUN_BELOW = """(start) => { const w = window.jupyterapp.shell.currentWidget; w.content.activeCellIndex = start;
  window.jupyterapp.commands.execute('notebook:run-all-below'); return true; }"""
CELLS_RUN = """([lo, hi]) => {
  const w = window.jupyterapp?.shell.currentWidget;
  const k = w?.sessionContext?.session?.kernel;
  if (!k || k.status !== 'idle') return false;
  return w.content.widgets.slice(lo, hi).filter(c => c.model.type === 'code')
    .every(c => c.model.executionCount !== null);
}"""

# page.evaluate has no timeout of its own, so the kernel request races a timer.
KERNEL_EXEC = """async ([code, ms]) => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = '', err = '';
  const future = k.requestExecute({code, silent: false, store_history: false});
  future.onIOPub = msg => {
    const t = msg.header.msg_type;
    if (t === 'stream') { if (msg.content.name === 'stdout') out += msg.content.text; else err += msg.content.text; }
    if (t === 'error') err += msg.content.ename + ': ' + msg.content.evalue;
  };
  const timer = new Promise((_, reject) => setTimeout(() => reject(new Error('kernel did not answer')), ms));
  await Promise.race([future.done, timer]);
  return {out, err};
}"""

ERRORS_SHOWN = """() => Array.from(document.querySelectorAll(
  '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]'
)).map(e => e.innerText.slice(0, 400))"""


WIDGET_MISSING = ("model not found", "error displaying widget")


class Notebook:
    """One open notebook tab: run it, ask its kernel, take screenshots."""

    def __init__(self, page, lab: Lab, name: str, shots: Path):
        self.page, self.lab, self.name, self.shots = page, lab, name, shots
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))

    def goto(self) -> None:
        """Open the notebook as committed (its stored outputs), in a workspace of its own."""
        workspace = self.name.replace("/", "-").split(".")[0]
        self.page.goto(f"{self.lab.url}/lab/workspaces/{workspace}/tree/{self.name}?reset")
        self.page.wait_for_function(KERNEL_READY, arg=self.name, timeout=90_000)

    def widget_errors(self) -> list[str]:
        """What the page says about widgets it cannot show (console, and the text JupyterLab puts instead)."""
        shown = self.page.locator(".jp-OutputArea-output", has_text="Error displaying widget").count()
        logged = [m for m in self.console if any(w in m.lower() for w in WIDGET_MISSING)]
        return logged + (["Error displaying widget (in the page)"] * shown)

    def open(self) -> None:
        self.goto()
        assert self.page.evaluate(CLEAR_ALL) == 0, "clearing the outputs left execution counts behind"

    def open_and_run(self, timeout_ms: int = 180_000) -> None:
        self.open()
        self.page.evaluate(RUN_ALL)
        self.page.wait_for_function(ALL_CELLS_RUN, timeout=timeout_ms, polling=250)

    def open_and_run_current(self, timeout_ms: int = 180_000) -> None:
        """Run every cell of the notebook already open (after edits made in the page)."""
        self.page.evaluate(RUN_ALL)
        self.page.wait_for_function(ALL_CELLS_RUN, timeout=timeout_ms, polling=250)

    def run_through(self, marker: str, timeout_ms: int = 180_000) -> int:
        """Run every cell down to and including the first code cell containing ``marker``; its index."""
        index = self.page.evaluate(FIND_CELL, marker)
        assert index >= 0, f"no code cell of {self.name} contains {marker!r}"
        self.page.evaluate(RUN_ABOVE, index + 1)
        self.page.wait_for_function(CELLS_RUN, arg=[0, index + 1], timeout=timeout_ms, polling=250)
        return index

    def run_from(self, index: int, timeout_ms: int = 180_000) -> None:
        """Run the cells from ``index`` to the end."""
        self.page.evaluate(RUN_BELOW, index)
        self.page.wait_for_function(ALL_CELLS_RUN, timeout=timeout_ms, polling=250)

    def errors(self) -> list[str]:
        return self.page.evaluate(ERRORS_SHOWN)

    def python(self, code: str, timeout_ms: int = 30_000) -> str:
        """Run ``code`` in the notebook's own kernel (the learner's objects) and return its stdout."""
        result = self.page.evaluate(KERNEL_EXEC, [code, timeout_ms])
        if result["err"]:
            raise AssertionError(f"the kernel raised: {result['err']}")
        return result["out"]

    def shot(self, locator, name: str) -> Path:
        path = self.shots / f"{name}.png"
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(path))
        return path

    def wait_idle(self, timeout_ms: int = 30_000) -> None:
        """The kernel has finished what the last click asked of it."""
        self.page.wait_for_function(IDLE, timeout=timeout_ms, polling=100)
