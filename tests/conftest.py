"""Shared test set-up: quiet TensorFlow, quick mode, the data mirror when one is beside us, and
fixtures for the tests that run `make -n` or a `serve_data` mirror."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from proc_helpers import mirror_url, stop

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("WORKSHOP_QUICK", "1")
_shared = ROOT.parent / "shared" / "workshop-data"
if not os.environ.get("WORKSHOP_DATA_MIRROR") and _shared.is_dir():
    os.environ["WORKSHOP_DATA_MIRROR"] = str(_shared)


@pytest.fixture()
def make_dry_run():
    """``make_dry_run(*args)``: the commands ``make -n ARGS`` prints in the repository (nothing runs)."""

    def run(*args: str) -> str:
        return subprocess.run(
            ["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout

    return run


@pytest.fixture()
def mirror_server():
    """``mirror_server(data_dir, stderr=PIPE, timeout=30)`` starts ``python -m
    workshop_sections.tools.serve_data`` on 127.0.0.1 (a free port) serving ``data_dir`` and returns
    (process, the http://127.0.0.1:PORT of its mirror line or None, the lines it printed until then).
    A server the test has not stopped is stopped at teardown."""
    started = []

    def start(data_dir, stderr=subprocess.PIPE, timeout: float = 30):
        proc = subprocess.Popen(
            [sys.executable, "-m", "workshop_sections.tools.serve_data"]
            + ["--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir)],
            cwd=ROOT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        started.append(proc)
        url, printed = mirror_url(proc, timeout)
        return proc, url, printed

    yield start
    for proc in started:
        if proc.returncode is None:
            stop(proc)
