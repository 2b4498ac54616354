"""A parameter-server cluster of local processes on 127.0.0.1 (laptops, tests, the notebook).

    python -m workshop_sections.distributed_tensorflow.launcher --num-ps 2 --num-workers 2 --fresh \
        -- --steps 2000
    make distributed-local

Each task (chief, ps 0..N-1, worker 0..M-1) is a separate ``python -m
workshop_sections.distributed_tensorflow.distributed_word2vec`` process with its own ``TF_CONFIG``
and a free port of 127.0.0.1. Their output is merged line by line with a role prefix
(``[ps1] ...``). When the chief ends (success or failure), on Ctrl-C, or when the Python process
that started the cluster dies, every process of the cluster is stopped: no orphans
(``LocalCluster.stop`` plus ``PR_SET_PDEATHSIG`` on Linux).

The launcher is the parent of every task, so it watches them while it waits for the chief: a ps
or worker that exits before the cluster is ready (or a ps at any time, or the last worker) stops
the whole cluster at once, with that task's exit code and the last lines of its log
(:class:`TaskExitedError`), instead of leaving the chief waiting for it. With ``--restarts N``
such a task is restarted instead, up to N times, as Kubernetes restarts a failed pod. Without
restarts, a worker that dies while training runs is only noted: the chief goes on with the others.

``--fresh`` deletes the previous run folder: the chief marks every run folder when it creates
it (:func:`.cluster.mark_run_folder`), so even a run stopped before its first checkpoint is
recognised; a folder no run wrote is refused in one line (exit code 2).

In Python::

    from workshop_sections.distributed_tensorflow import launcher
    result = launcher.run_local_cluster(num_ps=2, num_workers=2, steps=300, out_dir="/tmp/run")

or, to kill and restart tasks (the fault-tolerance tests)::

    with launcher.LocalCluster(num_ps=2, num_workers=2, chief_args=[...]) as cluster:
        cluster.wait_for(r"step \\d+", name="chief")
        cluster.kill("worker1")
        cluster.wait("chief")
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from .. import config
from . import cluster as cluster_lib
from .cluster import RESULT_PREFIX

ENTRY_MODULE = "workshop_sections.distributed_tensorflow.distributed_word2vec"


class LocalClusterError(RuntimeError):
    """A task of the local cluster failed, or it did not finish in time."""


class TaskExitedError(LocalClusterError):
    """A ps or worker exited while the launcher waited for the chief; the cluster was stopped.

    ``task`` is its name (``worker0``), ``returncode`` its Popen return code (negative: killed
    by that signal) and ``exit_status`` the shell-style code (128 + signal number)."""

    def __init__(self, message: str, task: str, returncode: int):
        super().__init__(message)
        self.task, self.returncode = task, returncode
        self.exit_status = exit_status(returncode)


def exit_status(returncode: int) -> int:
    """A Popen return code as a shell reports it: -9 (SIGKILL) -> 137."""
    return 128 - returncode if returncode < 0 else returncode


_OUTPUT_LOCK = threading.Lock()


def say(line: str, stream=None) -> None:
    """Write one whole line of the launcher's merged output (stdout unless ``stream``): the text and
    its newline in one write, under a lock. The tasks' pump threads and the launcher write at once,
    and ``print`` writes a text and its newline separately: two lines could merge into one (a CI
    run once missed ``[worker0] worker 0 serving`` glued behind another task's line)."""
    stream = stream or sys.stdout
    with _OUTPUT_LOCK:
        stream.write(line + "\n")
        stream.flush()


def describe_exit(returncode: int) -> str:
    """'exit code 1' or 'killed by SIGKILL, exit code 137'."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}, exit code {exit_status(returncode)}"
    return f"exit code {returncode}"


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """``n`` distinct free TCP ports of ``host`` (bound together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def cluster_spec(num_ps: int, num_workers: int, host: str = "127.0.0.1", ports=None) -> dict:
    """{'chief': [...], 'ps': [...], 'worker': [...]} on free ports of ``host``."""
    if int(num_ps) < 1 or int(num_workers) < 1:
        raise ValueError(
            "A parameter-server cluster needs at least 1 ps and 1 worker "
            f"(got {num_ps} ps, {num_workers} workers)."
        )
    ports = list(ports) if ports is not None else free_ports(1 + num_ps + num_workers, host)
    addr = [f"{host}:{p}" for p in ports]
    return {"chief": addr[:1], "ps": addr[1 : 1 + num_ps], "worker": addr[1 + num_ps :]}


def task_name(role: str, index: int) -> str:
    """The launcher's name of a task: ``chief``, ``ps0``, ``worker1``."""
    return "chief" if role == "chief" else f"{role}{index}"


def _parse_name(name: str) -> tuple[str, int]:
    m = re.fullmatch(r"(chief|ps|worker)(\d*)", name)
    if not m:
        raise ValueError(f"Unknown task {name!r}: use 'chief', 'psN' or 'workerN'.")
    return m.group(1), int(m.group(2) or 0)


def _die_with_parent():  # runs in the child between fork and exec (Linux only)
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: killed when the starting thread dies
    except Exception:
        pass


class LocalCluster:
    """chief + ``num_ps`` ps + ``num_workers`` workers as processes of this machine."""

    def __init__(
        self,
        num_ps: int = 2,
        num_workers: int = 2,
        chief_args=(),
        host: str = "127.0.0.1",
        env: dict | None = None,
        echo: bool = True,
        threads: int | None = 1,
        restarts: int = 0,
    ):
        """``restarts``: how often :meth:`wait` restarts a task that exited (a worker at any time,
        a ps before the cluster is ready), per task; 0 stops the cluster instead (see :meth:`check_tasks`)."""
        self.spec = cluster_spec(num_ps, num_workers, host)
        self.restarts = max(0, int(restarts))
        self._restarts_done: dict[str, int] = {}
        self._seen_exit: dict[str, subprocess.Popen] = {}
        self._ready_at: float | None = None
        self.chief_args = [str(a) for a in chief_args]
        self.echo = echo
        self.env = dict(os.environ)
        self.env.update({"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"})
        if threads:  # a small machine runs every task: keep each task's thread pools small
            self.env.update(
                {"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(max(2, threads))}
            )
        self.env.update(env or {})
        self.env.pop("TFW_ROLE", None)
        self.procs: dict[str, subprocess.Popen] = {}
        self.lines: list[tuple[float, str, str]] = []  # (time, task, line)
        self._lock = threading.Lock()
        self._new_line = threading.Condition(self._lock)
        self._pumps: list[threading.Thread] = []
        self._pump_of: dict[str, threading.Thread] = {}
        self.started_at: float | None = None

    # ---------------------------------------------------------------- processes
    def tf_config(self, name: str) -> dict:
        role, index = _parse_name(name)
        return {"cluster": self.spec, "task": {"type": role, "index": index}}

    def names(self) -> list[str]:
        return (
            [f"ps{i}" for i in range(len(self.spec["ps"]))]
            + [f"worker{i}" for i in range(len(self.spec["worker"]))]
            + ["chief"]
        )

    def task_command(self, name: str) -> list[str]:
        """The command line of task ``name`` (the same entry point for every task; flags for the chief)."""
        cmd = [sys.executable, "-u", "-m", ENTRY_MODULE]
        return cmd + self.chief_args if name == "chief" else cmd

    def start_task(self, name: str) -> subprocess.Popen:
        """Start (or restart) one task with its TF_CONFIG."""
        old = self.procs.get(name)
        if old is not None and old.poll() is None:
            raise LocalClusterError(f"{name} is still running (pid {old.pid}); kill it first.")
        env = dict(self.env, TF_CONFIG=json.dumps(self.tf_config(name)))
        proc = subprocess.Popen(
            self.task_command(name),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self.procs[name] = proc
        pump = threading.Thread(target=self._pump, args=(name, proc), daemon=True)
        pump.start()
        self._pumps.append(pump)
        self._pump_of[name] = pump
        return proc

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            with self._new_line:
                self.lines.append((time.time(), name, line))
                self._new_line.notify_all()
            if self.echo:
                say(f"[{name}] {line}")
        proc.stdout.close()
        with self._new_line:
            self._new_line.notify_all()

    def start(self) -> LocalCluster:
        """ps and workers first, then the chief."""
        self.started_at = time.time()
        try:
            for name in self.names():
                self.start_task(name)
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one task (default SIGKILL: a crash, not a clean exit) and wait until it is gone."""
        proc = self.procs.get(name)
        if proc is None:
            raise LocalClusterError(f"No task {name!r} in this cluster: {', '.join(self.procs)}")
        if proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(timeout=30)

    def running(self) -> dict[str, bool]:
        return {n: p.poll() is None for n, p in self.procs.items()}

    def stop(self, grace: float = 5.0) -> None:
        """Stop every task: SIGTERM, then SIGKILL after ``grace`` seconds. Safe to call twice."""
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    proc.terminate()
                except ProcessLookupError:
                    pass
        deadline = time.time() + grace
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for pump in self._pumps:
            pump.join(timeout=5)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---------------------------------------------------------------- logs
    def log(self, name: str | None = None) -> list[str]:
        with self._lock:
            return [f"[{n}] {line}" for _, n, line in self.lines if name is None or n == name]

    def tail(self, n: int = 30, name: str | None = None) -> str:
        return "\n".join(self.log(name)[-n:])

    def wait_for(
        self, pattern: str, name: str | None = "chief", timeout: float = 120.0, after: int = 0
    ) -> re.Match:
        """Block until a line of ``name`` (None: any task) matches ``pattern``; return the match.
        ``after`` skips the first lines (an index into ``self.lines``)."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        seen = after
        with self._new_line:
            while True:
                for _, n, line in self.lines[seen:]:
                    if name is None or n == name:
                        m = rx.search(line)
                        if m:
                            return m
                seen = len(self.lines)
                if name is not None and name in self.procs and self.procs[name].poll() is not None:
                    # the task ended; give its pump a moment to deliver the last lines
                    self._new_line.wait(timeout=0.5)
                    if len(self.lines) == seen:
                        raise LocalClusterError(
                            f"{name} exited (code {self.procs[name].returncode}) "
                            f"before printing /{pattern}/.\n" + self.tail(40)
                        )
                    continue
                left = deadline - time.time()
                if left <= 0:
                    raise LocalClusterError(
                        f"No line matching /{pattern}/ from {name or 'any task'} within {timeout:.0f} s.\n"
                        + self.tail(40)
                    )
                self._new_line.wait(timeout=min(left, 1.0))

    def wait(self, name: str = "chief", timeout: float = 600.0, poll: float = 0.2) -> int:
        """Wait until task ``name`` exits; return its exit code (LocalClusterError on timeout).

        While waiting for the chief, the other tasks are watched (:meth:`check_tasks`): a ps or
        worker that exits is restarted or stops the cluster with :class:`TaskExitedError`."""
        proc = self.procs[name]
        deadline = time.time() + timeout
        while True:
            try:
                code = proc.wait(timeout=max(0.01, min(poll, deadline - time.time())))
                break
            except subprocess.TimeoutExpired:
                pass
            if name == "chief":
                self.check_tasks()
            if time.time() >= deadline:
                raise LocalClusterError(f"{name} did not finish within {timeout:.0f} s.\n" + self.tail(40))
        self._pump_of[name].join(timeout=5)  # its last lines are in self.lines now
        return code

    def note(self, msg: str) -> None:
        """A line of the launcher itself, in the merged log (task ``launcher``)."""
        with self._new_line:
            self.lines.append((time.time(), "launcher", msg))
            self._new_line.notify_all()
        if self.echo:
            say(f"[launcher] {msg}")

    def check_tasks(self) -> None:
        """Look at every ps and worker once (the launcher is their parent, it sees them exit).

        A task that exited is restarted while it has restarts left (``restarts``, as Kubernetes
        restarts a failed pod; a ps only before the cluster is ready); a worker that exits after
        the cluster is ready, while another worker still runs, is only noted (the chief carries on
        without it); otherwise every task is stopped and :class:`TaskExitedError` says which task
        exited, how, and its last lines."""
        for name, proc in list(self.procs.items()):
            if name == "chief" or proc.poll() is None or self._seen_exit.get(name) is proc:
                continue
            self._seen_exit[name] = proc
            self._pump_of[name].join(timeout=2)  # its last lines
            role, _ = _parse_name(name)
            how = describe_exit(proc.returncode)
            ready = self.ready_seconds() is not None
            done = self._restarts_done.get(name, 0)
            if done < self.restarts and (role == "worker" or not ready):  # a new ps would hold no variables
                self._restarts_done[name] = done + 1
                self.note(
                    f"{name} exited ({how}); restarting it ({done + 1} of {self.restarts} restarts), "
                    "as Kubernetes restarts a failed pod"
                )
                self.start_task(name)
                continue
            others = [
                n for n, p in self.procs.items() if n.startswith("worker") and n != name and p.poll() is None
            ]
            if role == "worker" and ready and others:
                self.note(
                    f"{name} exited ({how}) while training ran: the chief goes on with {', '.join(others)}"
                )
                continue
            when = "before the cluster was ready" if not ready else "while training ran"
            why = (
                {"ps": "the variables it held are gone", "worker": "no worker is left"}[role]
                if ready
                else "the chief would wait for it"
            )
            last = self.tail(15, name) or f"({name} printed nothing)"
            self.note(f"{name} exited ({how}) {when} ({why}): stopping every task")
            self.stop()
            raise TaskExitedError(
                f"{name} exited ({how}) {when}; the cluster was stopped. Last lines of {name}:\n{last}",
                name,
                proc.returncode,
            )

    def ready_seconds(self) -> float | None:
        """Seconds from start() until the chief reported its first finished steps (None: not yet)."""
        if self._ready_at is not None:
            return self._ready_at
        with self._lock:
            for t, n, line in self.lines:
                if n == "chief" and "cluster ready" in line and self.started_at is not None:
                    self._ready_at = t - self.started_at
                    return self._ready_at
        return None

    def result(self) -> dict:
        """The chief's RESULT line (the last one) as a dict."""
        for line in reversed(self.log("chief")):
            i = line.find(RESULT_PREFIX)
            if i >= 0:
                return json.loads(line[i + len(RESULT_PREFIX) :])
        raise LocalClusterError("The chief printed no result line.\n" + self.tail(40))


def chief_args(steps: int | None = None, corpus: str | None = None, out_dir=None, **flags) -> list[str]:
    """Command-line flags of the chief from keyword arguments (``max_words=2000`` -> ``--max-words 2000``)."""
    args = []
    for key, value in (("steps", steps), ("corpus", corpus), ("out_dir", out_dir), *flags.items()):
        if value is not None:
            args += ["--" + key.replace("_", "-"), str(value)]
    return args


def _remove_run(out_dir: Path) -> None:
    """Delete an earlier run folder (``fresh``): one the chief marked when it created it, or one
    holding only what a run writes, at any stage (even stopped before its first checkpoint).
    Anything else raises LocalClusterError naming the folder (see :func:`.cluster.remove_run_folder`)."""
    cluster_lib.remove_run_folder(out_dir, error=LocalClusterError)


def run_local_cluster(
    num_ps: int = 2,
    num_workers: int = 2,
    steps: int = 2000,
    corpus: str = "movie_reviews",
    out_dir=None,
    timeout: float = 900.0,
    echo: bool = True,
    fresh: bool = False,
    restarts: int = 0,
    **flags,
) -> dict:
    """Start chief + ps + workers on 127.0.0.1, train ``steps`` steps, stop everything; return the result.

    Extra keyword arguments become flags of the chief (``max_words=50_000, batch_size=256``).
    The result dict is the chief's result (losses, shard layout, speed) plus the launcher's
    ``wall_seconds``. Raises LocalClusterError (with the last log lines) when the chief fails.
    ``fresh=True`` deletes an earlier run in ``out_dir`` first (otherwise the chief resumes from
    its checkpoint, which is what a restarted job should do). A ps or worker that exits before
    the cluster is ready raises :class:`TaskExitedError` at once (``restarts=N``: restart it up
    to N times instead).
    """
    if out_dir is None:
        out_dir = config.artifacts_dir() / "distributed_tensorflow" / "local_run"
    out_dir = Path(out_dir)
    if fresh:
        _remove_run(out_dir)
    args = chief_args(steps=steps, corpus=corpus, out_dir=out_dir, **flags)
    t0 = time.time()
    cluster = LocalCluster(
        num_ps=num_ps, num_workers=num_workers, chief_args=args, echo=echo, restarts=restarts
    )
    with cluster:
        code = cluster.wait("chief", timeout=timeout)
        if code != 0:
            raise LocalClusterError(f"The chief exited with code {code}.\n" + cluster.tail(40, "chief"))
        result = cluster.result()
    result["wall_seconds"] = time.time() - t0
    result["seconds_until_ready_from_launch"] = cluster.ready_seconds()
    result["lines"] = cluster.log()
    return result


def main(argv=None) -> int:
    """``python -m ...launcher [--num-ps N --num-workers M --fresh --restarts R] [-- chief flags]``:
    run a local cluster until the chief ends; returns the exit code (the chief's, 130 on Ctrl-C,
    128 + signal of a task that died before the cluster was ready, 2 for a folder --fresh refuses)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1 :]
    a = _argument_parser().parse_args(argv)
    out_dir = _chief_out_dir(rest)
    if a.fresh:
        try:
            _remove_run(out_dir)
        except LocalClusterError as e:  # a folder no run wrote: one line, no traceback
            say(f"[launcher] error: {e}", sys.stderr)
            return 2
    cluster = LocalCluster(num_ps=a.num_ps, num_workers=a.num_workers, chief_args=rest, restarts=a.restarts)
    _stop_on_signals()
    return _run_until_the_chief_ends(cluster, a.timeout)


def _argument_parser() -> argparse.ArgumentParser:
    """The launcher's own flags (those after ``--`` go to the chief)."""
    p = argparse.ArgumentParser(
        prog="python -m workshop_sections.distributed_tensorflow.launcher",
        description="Run chief + ps + workers on 127.0.0.1. Flags after -- go to the chief "
        "(see distributed_word2vec --help).",
    )
    p.add_argument("--num-ps", type=int, default=2)
    p.add_argument("--num-workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=3600.0)
    p.add_argument(
        "--fresh",
        action="store_true",
        help="delete the previous run in the chief's --out-dir first (default: resume from its checkpoint)",
    )
    p.add_argument(
        "--restarts",
        type=int,
        default=0,
        help="restart a worker (or, before the cluster is ready, a ps) that exits, up to N times each, as "
        "Kubernetes restarts a failed pod (default 0: a task that exits before the cluster is ready "
        "stops every task at once, with its exit code and last lines; a worker lost while training "
        "runs is only noted)",
    )
    return p


def _chief_out_dir(rest: list[str]) -> Path:
    """The chief's ``--out-dir`` among its flags; without one, artifacts/distributed_tensorflow/cli_run
    (appended to ``rest``)."""
    out_dir = None
    for i, r in enumerate(rest):
        if r == "--out-dir" and i + 1 < len(rest):
            out_dir = Path(rest[i + 1])
        elif r.startswith("--out-dir="):
            out_dir = Path(r.split("=", 1)[1])
    if out_dir is None:
        out_dir = config.artifacts_dir() / "distributed_tensorflow" / "cli_run"
        rest += ["--out-dir", str(out_dir)]
    return out_dir


def _stop_on_signals() -> None:
    """SIGTERM and SIGINT raise KeyboardInterrupt: every task is stopped as on Ctrl-C."""

    def _terminate(signum, frame):  # `kill`, a CI timeout: stop like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    # Started in the background by a non-interactive shell (`cmd &`, nohup, some CI runners),
    # a process inherits SIGINT *ignored* and Python then never raises KeyboardInterrupt:
    # Ctrl-C (or kill -INT) must still stop every task, so take SIGINT back.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _run_until_the_chief_ends(cluster: LocalCluster, timeout: float) -> int:
    """Start the cluster, wait for the chief, stop every task; the launcher's exit code."""
    try:
        cluster.start()
        pids = ", ".join(f"{n}={p.pid}" for n, p in cluster.procs.items())
        say(f"[launcher] cluster {json.dumps(cluster.spec)}")
        say(f"[launcher] pids {pids}; Ctrl-C stops every task")
        code = cluster.wait("chief", timeout=timeout)
    except KeyboardInterrupt:
        say("[launcher] interrupted: stopping every task")
        code = 130
    except TaskExitedError as e:  # a ps/worker died before the cluster was ready (its lines are above)
        cluster.stop()
        last = str(e).split("\n", 1)[1] if "\n" in str(e) else ""
        say(f"[launcher] last lines of {e.task}:\n{last}")
        say(f"[launcher] {e.task} exited ({describe_exit(e.returncode)}); all tasks stopped")
        return e.exit_status
    except LocalClusterError as e:  # --timeout
        cluster.stop()
        say(f"[launcher] error: {str(e).splitlines()[0]}; all tasks stopped")
        return 1
    finally:
        cluster.stop()
    say(f"[launcher] chief exited with code {code}; all tasks stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
