"""Process helpers shared by the tests."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def mirror_url(proc, timeout: float) -> tuple[str | None, list[str]]:
    """(the http://127.0.0.1:PORT that `serve_data` printed in its WORKSHOP_DATA_MIRROR line, or
    None; the lines it printed until then), reading ``proc.stdout`` for at most ``timeout`` seconds."""
    url, printed = None, []
    deadline = time.monotonic() + timeout
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        printed.append(line)
        m = re.search(r"WORKSHOP_DATA_MIRROR=(http://127\.0\.0\.1:\d+)\s*$", line)
        url = m.group(1) if m else None
    return url, printed


def stop(proc) -> None:
    """Terminate a server process (kill it after 10 s), reap it, close its stdout."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()


def local_cluster_command(out_dir, steps: int) -> list[str]:
    """The launcher's command line for chief + 1 ps + 1 worker training ``steps`` steps on a small
    slice of movie_reviews (20,000 words, 500-word vocabulary) into ``out_dir``."""
    return [
        sys.executable,
        "-u",
        "-m",
        "workshop_sections.distributed_tensorflow.launcher",
        "--num-ps",
        "1",
        "--num-workers",
        "1",
        "--",
        "--steps",
        str(steps),
        "--out-dir",
        str(out_dir),
        "--corpus",
        "movie_reviews",
        "--max-words",
        "20000",
        "--max-vocab",
        "500",
    ]


def launcher_pids(line: str) -> dict[str, str] | None:
    """{task: pid} from the launcher's ``[launcher] pids ps0=1, worker0=2, chief=3; ...`` line
    (None for any other line)."""
    if not line.startswith("[launcher] pids "):
        return None
    return dict(p.split("=") for p in line.split("pids ")[1].split(";")[0].split(", "))


def launcher_output_until(proc, stop, timeout: float = 240.0) -> tuple[dict[str, str], list[str]]:
    """Read a launcher's merged output (``proc.stdout``) line by line until ``stop(line)`` is true:
    ({task: pid} from its pids line, the lines read). AssertionError (with the last lines) when
    ``timeout`` seconds pass first."""
    pids, lines = {}, []
    deadline = time.time() + timeout
    for line in proc.stdout:
        lines.append(line)
        pids = launcher_pids(line) or pids
        if stop(line):
            break
        assert time.time() < deadline, "".join(lines[-20:])
    return pids, lines


def interrupt_launcher(cmd, ready, interrupt, timeout: float = 240.0, **popen) -> tuple[int, str, dict]:
    """Start the launcher command ``cmd``, read its output until ``ready(line)``, then call
    ``interrupt(proc, pids)`` (a signal to it or to one of its tasks) and read the rest:
    (its return code, the rest of its output, {task: pid}). The launcher is killed if it is still
    running at the end (a failed assertion included)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)
    try:
        pids, lines = launcher_output_until(proc, ready, timeout)
        assert set(pids) == {"ps0", "worker0", "chief"}, "".join(lines[-20:])
        interrupt(proc, pids)
        rest = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, rest, pids
