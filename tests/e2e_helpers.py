"""Helpers for the end-to-end tests: servers in their own process groups, headless Chromium
driven by Playwright, and the checks an attendee does by eye.

What the attendee does, and what the helpers check:

* JupyterLab: log in with the token, open a notebook, Run > Run All Cells, wait until the
  kernel is idle, read what the page shows (:func:`lab_login`, :func:`open_notebook`,
  :func:`run_all_cells`, :func:`check_notebook`).
* TensorBoard: the Scalars tab lists the loss chart, the Projector tab shows the embedding
  and finds a word of its metadata (:func:`tensorboard_scalars`, :func:`tensorboard_projector`).

Servers are started with :class:`Server` (a new session, so the whole process tree is one
process group), stopped with SIGTERM, then SIGKILL after a timeout, and :meth:`Server.stop`
raises when a process of the tree or the port survives. The browser is Debian's Chromium
(``/usr/bin/chromium``, or ``WORKSHOP_CHROMIUM``); nothing is downloaded at test time.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "e2e"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
INSTALL_HINT = (
    "install Debian's Chromium (as root: apt-get update && apt-get install -y chromium) "
    "and the Python driver (pip install -r requirements.txt, which pins playwright); "
    "never `playwright install`: the tests use the system browser"
)


class E2EError(AssertionError):
    """An end-to-end check failed; the message says what the page showed."""


class LoginError(E2EError):
    """JupyterLab did not accept the token."""


class NotebookError(E2EError):
    """A notebook cell failed (the message holds the cell's source and its error)."""


# ----------------------------------------------------------------------------- browser
def chromium_path() -> str | None:
    """The Chromium binary: WORKSHOP_CHROMIUM, else /usr/bin/chromium, else on the PATH."""
    env = os.environ.get("WORKSHOP_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def missing_browser_reason() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    if chromium_path() is None:
        return f"Chromium not found (/usr/bin/chromium or WORKSHOP_CHROMIUM): {INSTALL_HINT}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"the Python package playwright is not installed: {INSTALL_HINT}"
    return None


def chromium_or_skip():
    """A generator for a module fixture: Debian's Chromium driven by playwright, closed at the end;
    the test is skipped when the browser is missing (failed when WORKSHOP_E2E=require)."""
    import pytest

    reason = missing_browser_reason()
    if reason:
        if os.environ.get("WORKSHOP_E2E", "").lower() == "require":
            pytest.fail(f"WORKSHOP_E2E=require but {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = launch_browser(pw)
        try:
            yield chromium
        finally:
            chromium.close()


def launch_browser(playwright, user_data_dir: Path | None = None):
    """Headless Chromium from the system (never a downloaded one), a fresh profile.

    Playwright launches with a temporary profile of its own; ``user_data_dir`` pins it to a
    given folder instead (a persistent context: then the context is returned)."""
    exe = chromium_path()
    if exe is None:
        raise E2EError(f"Chromium not found: {INSTALL_HINT}")
    if user_data_dir is not None:
        return playwright.chromium.launch_persistent_context(
            str(user_data_dir), executable_path=exe, headless=True, args=CHROMIUM_FLAGS
        )
    return playwright.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_FLAGS)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot to build/e2e/<name>.png (the build artifact)."""
    BUILD.mkdir(parents=True, exist_ok=True)
    path = BUILD / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ----------------------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _cmdline(proc) -> str:
    try:
        return " ".join(proc.cmdline()[:3])
    except Exception:
        return "?"


class Server:
    """A server process in its own session (process group), its output in a log file.

    ``with Server(cmd, port, ready_url) as srv:`` starts it, waits until ``ready_url``
    answers, and always stops the whole process tree at the end (SIGTERM, then SIGKILL
    after ``kill_timeout``); :meth:`stop` raises when a process or the port survives.
    """

    def __init__(
        self,
        cmd,
        port: int,
        ready_url: str,
        log_path: Path,
        env=None,
        cwd=None,
        start_timeout: float = 60.0,
        kill_timeout: float = 10.0,
        name: str = "server",
    ):
        self.cmd = [str(c) for c in cmd]
        self.port = port
        self.ready_url = ready_url
        self.log_path = Path(log_path)
        self.env = env
        self.cwd = cwd
        self.start_timeout = start_timeout
        self.kill_timeout = kill_timeout
        self.name = name
        self.proc: subprocess.Popen | None = None
        self._log = None
        self._tree: set = set()

    # -- start
    def start(self) -> Server:
        if port_in_use(self.port):
            raise E2EError(f"{self.name}: port {self.port} is already in use")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.cmd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise E2EError(
                    f"{self.name} exited with code {self.proc.returncode} before it was "
                    f"ready:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as resp:
                    if resp.status < 500:
                        return
            except urllib.error.HTTPError as err:  # 4xx still means the server answers
                if err.code < 500:
                    return
                last = f"HTTP {err.code}"
            except (urllib.error.URLError, OSError) as err:
                last = str(err)
            time.sleep(0.25)
        raise E2EError(
            f"{self.name} was not ready after {self.start_timeout:.0f} s ({last}):\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- stop
    def _snapshot_tree(self) -> None:
        """Remember every descendant (kernels start in sessions of their own)."""
        try:
            import psutil
        except ImportError:
            return
        try:
            parent = psutil.Process(self.proc.pid)
            self._tree |= {(p.pid, p.create_time()) for p in [parent, *parent.children(recursive=True)]}
        except psutil.Error:
            pass

    def _survivors(self) -> list:
        try:
            import psutil
        except ImportError:
            return []
        alive = []
        for pid, created in self._tree:
            try:
                p = psutil.Process(pid)
                if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.Error:
                pass
        return alive

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop(self, check: bool = True) -> None:
        """SIGTERM to the process group, SIGKILL to what is left after ``kill_timeout``;
        with ``check``, raise if a process of the tree or the port is still there."""
        if self.proc is None:
            return
        self._snapshot_tree()
        # one deadline for the graceful part: the server, its group, descendants elsewhere
        deadline = time.monotonic() + self.kill_timeout
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=self.kill_timeout)
            except subprocess.TimeoutExpired:
                pass
        while (self._group_alive() or self._survivors()) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._group_alive():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        survivors = self._survivors()
        for p in survivors:
            try:
                p.kill()
            except Exception:
                pass
        if survivors:
            import psutil

            psutil.wait_procs(survivors, timeout=self.kill_timeout)
        try:
            self.proc.wait(timeout=self.kill_timeout)
        except subprocess.TimeoutExpired:
            pass
        if self._log:
            self._log.close()
            self._log = None
        if not check:
            return
        problems = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            problems = [f"pid {p.pid} ({_cmdline(p)})" for p in self._survivors()]
            if self.proc.poll() is None:
                problems.append(f"pid {self.proc.pid} (the server)")
            if port_in_use(self.port):
                problems.append(f"port {self.port} still in use")
            if not problems:
                return
            time.sleep(0.2)
        raise E2EError(f"{self.name} did not stop cleanly: " + ", ".join(problems))

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        # a failing test must not be hidden by a failing stop: only check when it passed
        self.stop(check=exc[0] is None)


class Background(threading.Thread):
    """Run ``fn`` in a thread (e.g. prepare TensorBoard while JupyterLab is tested);
    :meth:`get` returns its result or raises its exception."""

    def __init__(self, fn, name: str = "background"):
        super().__init__(name=name, daemon=True)
        self.fn = fn
        self.result = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as err:  # handed to the test by get()
            self.error = err

    def get(self, timeout: float):
        self.join(timeout)
        if self.is_alive():
            raise E2EError(f"{self.name} did not finish in {timeout:.0f} s")
        if self.error is not None:
            raise self.error
        return self.result


# ----------------------------------------------------------------------------- JupyterLab
LAB_SETTINGS = {
    # every cell stays in the DOM (the default windowing renders off-screen cells lazily)
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # the run never writes the notebook (the dirty copy would be autosaved after 2 minutes)
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # no news or update toasts over the notebook (there is no internet anyway)
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def jupyter_lab(
    root_dir: Path,
    workdir: Path,
    python: str | None = None,
    token: str | None = None,
    env: dict | None = None,
) -> tuple[Server, str]:
    """A JupyterLab server (not started yet) from the project's Python on 127.0.0.1, a free
    port and a random token; settings and workspaces in ``workdir`` (the attendee's own
    settings and open tabs stay out of the test). Returns (server, token)."""
    python = python or str(ROOT / ".venv" / "bin" / "python")
    if not Path(python).exists():
        python = sys.executable
    token = token or secrets.token_hex(24)
    port = free_port()
    settings = workdir / "lab-settings"
    for rel, value in LAB_SETTINGS.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    run_env = dict(os.environ if env is None else env)
    run_env.setdefault("WORKSHOP_QUICK", "1")
    run_env["JUPYTER_RUNTIME_DIR"] = str(workdir / "runtime")
    run_env.setdefault("PYTHONUNBUFFERED", "1")
    cmd = [
        python,
        "-m",
        "jupyter",
        "lab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--no-browser",
        f"--ServerApp.root_dir={root_dir}",
        f"--LabServerApp.user_settings_dir={settings}",
        f"--LabServerApp.workspaces_dir={workdir / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI and containers run as root; attendees do not
    server = Server(
        cmd,
        port,
        f"http://127.0.0.1:{port}/api/status",
        workdir / "jupyterlab.log",
        env=run_env,
        cwd=str(root_dir),
        name="JupyterLab",
    )
    return server, token


def lab_login(page, base_url: str, token: str, next_path: str = "/lab", timeout: float = 30.0) -> None:
    """Log in as an attendee does: the login page, paste the token, Log in; JupyterLab
    then goes on to ``next_path``. Raises LoginError when it refuses the token."""
    from urllib.parse import quote

    page.goto(
        f"{base_url}/login?next={quote(next_path)}", wait_until="domcontentloaded", timeout=timeout * 1000
    )
    page.fill("input[name=password]", token)
    with page.expect_navigation(wait_until="domcontentloaded", timeout=timeout * 1000):
        page.click("#login_submit")
    if "/login" in page.url:
        shown = ""
        try:
            shown = " ".join(page.inner_text("body").split())[:200]
        except Exception:
            pass
        raise LoginError(f"JupyterLab refused the token at {page.url}: the page says {shown!r}")


_CELL_STATE_JS = """
() => {
  const panel = '.jp-NotebookPanel:not(.lm-mod-hidden)';
  const cells = [...document.querySelectorAll(panel + ' .jp-Notebook .jp-CodeCell')];
  const indicator = document.querySelector(panel + ' .jp-Notebook-ExecutionIndicator');
  return {
    prompts: cells.map(c => (c.querySelector('.jp-InputPrompt') || {}).textContent || ''),
    empty: cells.map(c => !((c.querySelector('.jp-InputArea-editor') || {}).innerText || '').trim()),
    status: indicator ? indicator.getAttribute('data-status') : null,
    kernel: (() => { const k = document.querySelector(panel + ' .jp-Toolbar-kernelName');
                     return k ? (k.getAttribute('aria-label') || k.textContent || '').trim() : null; })(),
    dialog: (document.querySelector('.jp-Dialog') || {}).innerText || null,
  };
}
"""


def _notebook_state(page) -> dict:
    return page.evaluate(_CELL_STATE_JS)


def open_notebook(page, base_url: str, relpath: str, timeout: float = 90.0, navigate: bool = True) -> None:
    """Open a notebook in JupyterLab (already logged in; ``navigate=False`` when the login
    already went to it) and wait until its kernel is idle. A kernel dialog (e.g. 'Select
    Kernel' for a missing kernel spec) is a failure."""
    if navigate:
        page.goto(f"{base_url}/lab/tree/{relpath}", wait_until="domcontentloaded")
    page.wait_for_selector(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell", timeout=timeout * 1000
    )
    deadline = time.monotonic() + timeout
    state = {}
    while time.monotonic() < deadline:
        state = _notebook_state(page)
        if state["dialog"]:
            raise E2EError(f"JupyterLab shows a dialog instead of a running kernel: {state['dialog']!r}")
        if state["status"] == "idle" and state["kernel"] and state["kernel"] != "No Kernel":
            return
        time.sleep(0.25)
    raise E2EError(
        f"the kernel of {relpath} was not idle after {timeout:.0f} s "
        f"(kernel {state.get('kernel')!r}, status {state.get('status')!r})"
    )


def open_from_file_browser(page, relpath: str, timeout: float = 90.0) -> None:
    """Open a notebook as an attendee does: the file browser on the left, from its root,
    double-click each folder, then the notebook; wait until its kernel is idle."""
    page.locator(".jp-FileBrowser .jp-BreadCrumbs-home").first.click()
    parts = relpath.strip("/").split("/")
    for part in parts:
        item = page.locator(".jp-FileBrowser .jp-DirListing-item").filter(
            has=page.locator(".jp-DirListing-itemText", has_text=re.compile(rf"^\s*{re.escape(part)}\s*$"))
        )
        try:
            item.first.wait_for(timeout=timeout * 1000 / 3)
        except Exception:
            listed = page.locator(".jp-FileBrowser .jp-DirListing-itemText").all_inner_texts()
            raise E2EError(f"the file browser does not list {part!r} (it lists {listed})") from None
        item.first.dblclick()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    deadline = time.monotonic() + timeout / 3
    while time.monotonic() < deadline:
        if tab.count() and tab.first.inner_text().strip() == parts[-1]:
            break
        time.sleep(0.2)
    else:
        raise E2EError(f"double-clicking {relpath} in the file browser opened no tab of that name")
    open_notebook(page, "", relpath, timeout=timeout, navigate=False)


def run_all_cells(page, timeout: float = 120.0) -> dict:
    """Run > Run All Cells from the menu bar, then wait until nothing is queued or running
    and the kernel is idle. Returns the final cell state (prompts, kernel status)."""
    initial = _notebook_state(page)["prompts"]  # checked cells keep stored counts: [3]:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    deadline = time.monotonic() + timeout
    started = False
    quiet_since = None
    state = {}
    while time.monotonic() < deadline:
        state = _notebook_state(page)
        if state["dialog"]:
            raise E2EError(f"JupyterLab shows a dialog while running the notebook: {state['dialog']!r}")
        prompts = state["prompts"]
        running = any("*" in p for p in prompts)
        started = started or running or state["status"] == "busy" or prompts != initial
        if started and not running and state["status"] == "idle":
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.0:  # idle and nothing queued for a second
                return state
        else:
            quiet_since = None
        time.sleep(0.25)
    raise E2EError(
        f"the notebook did not finish in {timeout:.0f} s: prompts {state.get('prompts')}, "
        f"kernel {state.get('status')!r}"
    )


_ERRORS_JS = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')];
  const found = [];
  cells.forEach((cell, index) => {
    if (!cell.classList.contains('jp-CodeCell')) return;
    const outs = [...cell.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')];
    for (const out of outs) {
      const text = out.innerText || '';
      if (/Traceback|Error\\b|Exception\\b/.test(text) && /Traceback|^\\w*(Error|Exception)\\b/m.test(text)) {
        const source = (cell.querySelector('.jp-InputArea-editor') || {}).innerText || '';
        const prompt = (cell.querySelector('.jp-InputPrompt') || {}).textContent || '';
        found.push({index, prompt: prompt.trim(), source, error: text});
      }
    }
  });
  return found;
}
"""


def cell_errors(page) -> list[dict]:
    """The error outputs the open notebook shows: a stderr output with a traceback or an
    ``XxxError: ...`` line (warnings on stderr do not count). One dict per error:
    index (cell number, 0-based), prompt, source, error (the text shown)."""
    return page.evaluate(_ERRORS_JS)


def output_text(page) -> str:
    """The text of every output area of the open notebook (not the code)."""
    return page.evaluate(
        "() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
        ".jp-OutputArea-output')].map(o => o.innerText).join('\\n')"
    )


def check_notebook(page, expect: list[str] = ()) -> str:
    """Raise NotebookError naming the failing cell, its source and its error (or the cells
    that did not run), or E2EError when an expected text is not in the outputs; returns the
    output text."""
    errors = cell_errors(page)
    if errors:
        parts = []
        for e in errors:
            err = "\n".join(line for line in e["error"].splitlines() if line.strip())
            last = [line for line in err.splitlines() if re.match(r"^\w*(Error|Exception)\b", line)]
            parts.append(
                f"cell {e['index']} {e['prompt']} failed: {last[-1] if last else err.splitlines()[-1]}\n"
                f"--- source ---\n{e['source'].strip()}\n--- output ---\n{err[-2000:]}"
            )
        raise NotebookError(f"{len(errors)} cell(s) show an error:\n" + "\n\n".join(parts))
    state = _notebook_state(page)
    not_run = [
        i
        for i, (p, empty) in enumerate(zip(state["prompts"], state["empty"]))
        if not empty and not re.search(r"\d", p)
    ]
    if not_run:
        raise NotebookError(
            f"code cells {not_run} did not run (prompts {state['prompts']}): Run All stopped "
            "early, though no cell shows an error"
        )
    text = output_text(page)
    missing = [s for s in expect if s not in text]
    if missing:
        raise E2EError(f"the notebook outputs do not show {missing}; they show:\n{text[-3000:]}")
    return text


# ----------------------------------------------------------------------------- TensorBoard
def tensorboard(logdir: Path, workdir: Path, python: str | None = None) -> Server:
    """A TensorBoard server (not started yet) on 127.0.0.1 and a free port."""
    exe = Path(python).parent / "tensorboard" if python else ROOT / ".venv" / "bin" / "tensorboard"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tensorboard.main"]
    port = free_port()
    cmd += ["--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)]
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # kill_timeout: TensorBoard keeps nothing worth a graceful exit, which takes 5-10 s
    return Server(
        cmd,
        port,
        f"http://127.0.0.1:{port}/data/runs",
        workdir / "tensorboard.log",
        env=env,
        name="TensorBoard",
        kill_timeout=3,
    )


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)


def wait_tensorboard_data(server: Server, timeout: float = 60.0) -> dict:
    """Wait until TensorBoard has loaded a run and its projector plugin is active (the
    projector tab only shows then). Returns the plugins listing."""
    base = f"http://127.0.0.1:{server.port}"
    deadline = time.monotonic() + timeout
    runs, listing = [], {}
    while time.monotonic() < deadline:
        try:
            runs = _get_json(f"{base}/data/runs")
            listing = _get_json(f"{base}/data/plugins_listing")
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if runs and listing.get("scalars", {}).get("enabled") and listing.get("projector", {}).get("enabled"):
            return listing
        time.sleep(0.25)
    active = sorted(k for k, v in listing.items() if v.get("enabled"))
    raise E2EError(
        f"TensorBoard did not find the run with scalars and a projector in {timeout:.0f} s: "
        f"runs {runs}, active plugins {active}\n{server.log_tail()}"
    )


def tensorboard_scalars(page, base_url: str, tag: str, timeout: float = 60.0) -> None:
    """Open the Scalars tab and wait for the chart card of ``tag``; E2EError if it is not listed."""
    page.goto(f"{base_url}/#scalars", wait_until="domcontentloaded")
    try:
        page.get_by_text(f"tag: {tag}", exact=True).first.wait_for(timeout=timeout * 1000)
    except Exception:
        shown = [t.strip() for t in page.locator("tf-scalar-card").all_inner_texts()]
        raise E2EError(
            f"TensorBoard's Scalars tab lists no chart for the tag {tag!r} (cards: {shown or 'none'})"
        ) from None


def projector_frame(page):
    """The projector lives two iframes deep (TensorBoard's plugin frame, then the projector)."""
    return page.frame_locator("iframe").first.frame_locator("iframe").first


def tensorboard_projector(page, search: str, timeout: float = 90.0) -> dict:
    """Click the Projector tab, wait until it has loaded the embedding, search the metadata for
    ``search``. Returns what the page shows: tensor name, points, dimension, the labels found."""
    page.get_by_role("tab", name="projector").click(timeout=timeout * 1000)
    frame = projector_frame(page)
    points = frame.get_by_text(re.compile(r"^\s*Points:\s*[1-9]\d*\s*$")).first
    try:
        points.wait_for(timeout=timeout * 1000)
    except Exception:
        raise E2EError(
            "TensorBoard's projector loaded no points (no embedding, or the checkpoint could not be read)"
        ) from None
    n_points = int(re.search(r"\d+", points.inner_text()).group())
    dim_text = frame.get_by_text(re.compile(r"^\s*Dimension:\s*\d+\s*$")).first.inner_text()
    tensor = frame.locator("vz-projector-data-panel paper-dropdown-menu input").first.input_value()
    box = frame.locator("vz-projector-inspector-panel input").first
    box.fill(search)
    count = frame.get_by_text(re.compile(r"^\s*\d+ match(es)?\.\s*$")).first
    try:
        count.wait_for(timeout=timeout * 1000 / 3)
        n_matches = int(re.search(r"\d+", count.inner_text()).group())
    except Exception:
        n_matches = 0
    # several matches are listed; a single one is selected and shown in the metadata card
    labels = [
        t.strip() for t in frame.locator("vz-projector-inspector-panel .matches-list .row").all_inner_texts()
    ]
    card = frame.locator("vz-projector-metadata-card").get_by_text(search, exact=True)
    labels += [t.strip() for t in card.all_inner_texts()]
    return {
        "tensor": tensor,
        "points": n_points,
        "dimension": int(re.search(r"\d+", dim_text).group()),
        "matches": n_matches,
        "labels": labels,
    }


# ----------------------------------------------------------------------------- RISE slideshow
RISE_BUTTON = '.jp-NotebookPanel:not(.lm-mod-hidden) [data-jp-item-name="RISE-button"] jp-button'
RISE_FRAME = 'iframe[src*="/rise/"]'

_RISE_STATE_JS = """
() => {
  const slide = document.querySelector('.reveal .slides section.present');
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const top = [...document.querySelectorAll('.reveal .slides > section')];
  const h = top.findIndex(s => s.classList.contains('present'));
  const v = h < 0 ? -1 : [...top[h].querySelectorAll(':scope > section')]
    .findIndex(s => s.classList.contains('present'));
  return {
    id: h < 0 ? null : `${h}/${Math.max(v, 0)}`,
    heading: slide ? ((slide.querySelector('h1, h2') || {}).innerText || '').trim() : null,
    text: slide ? slide.innerText : '',
    outputs: slide ? [...slide.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText) : [],
    prompts: cells.map(c => ((c.querySelector('.jp-InputPrompt') || {}).textContent || '').trim()),
  };
}
"""


def start_rise_slideshow(page, timeout: float = 90.0):
    """Start the RISE slideshow of the open notebook as an instructor does: the toolbar's
    'Render the current notebook as Reveal Slideshow' button (RISE:preview, Alt+R). JupyterLab
    shows the slideshow in a panel beside the notebook (an iframe on /rise/<path>); returns
    that frame once reveal.js shows its first slide."""
    button = page.locator(RISE_BUTTON).first
    try:
        button.wait_for(timeout=timeout * 1000 / 3)
    except Exception:
        items = page.locator(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar > [data-jp-item-name]"
        ).evaluate_all("els => els.map(e => e.getAttribute('data-jp-item-name'))")
        raise E2EError(
            f"the notebook toolbar has no RISE button (jupyterlab-rise not installed or not "
            f"enabled?); toolbar items: {items}"
        ) from None
    button.click()
    page.locator(RISE_FRAME).first.wait_for(timeout=timeout * 1000)
    frame = page.frame_locator(RISE_FRAME).first
    try:
        frame.locator(".reveal .slides section.present").first.wait_for(timeout=timeout * 1000)
    except Exception:
        raise E2EError(
            f"RISE opened {page.locator(RISE_FRAME).first.get_attribute('src')} but reveal.js "
            f"showed no slide in {timeout:.0f} s"
        ) from None
    return frame


def rise_state(frame) -> dict:
    """What the slideshow shows: the current slide's id ('h/v', reveal.js's indices), heading,
    text and outputs, and the
    prompts of every code cell of the notebook ('[*]:' while a cell runs)."""
    return frame.locator("body").evaluate(_RISE_STATE_JS.replace("() =>", "(body) =>", 1))


def rise_run_until(page, frame, expect: str, max_cells: int = 8, timeout: float = 120.0) -> dict:
    """Run code cells inside the slideshow as a presenter does, Shift+Enter (RISE's smart
    exec: run the selected cell, select the next one, go on to the next slide when it is
    there), one cell at a time, waiting for each to finish, until the current slide shows an
    output containing ``expect``. Returns the slideshow state; E2EError after ``max_cells``
    cells or ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    state = rise_state(frame)
    for _ in range(max_cells):
        page.keyboard.press("Shift+Enter")
        time.sleep(0.3)
        while time.monotonic() < deadline:
            state = rise_state(frame)
            if not any("*" in p for p in state["prompts"]):
                break
            time.sleep(0.25)
        else:
            raise E2EError(
                f"a cell of the slideshow was still running after {timeout:.0f} s "
                f"(prompts {state['prompts']})"
            )
        if any(expect in out for out in state["outputs"]):
            return state
    raise E2EError(
        f"after running {max_cells} cells in the slideshow, the current slide "
        f"({state['id']!r}, {state['heading']!r}) shows no output with {expect!r}: "
        f"outputs {state['outputs']}, prompts {state['prompts']}"
    )
