"""Process helpers shared by the tests."""

import os
import re
import subprocess
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
