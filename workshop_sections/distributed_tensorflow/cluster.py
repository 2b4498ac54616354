"""Cluster plumbing of the parameter-server job: TF_CONFIG, waiting for peers, run folders.

- :func:`validate_tf_config` / :func:`parse_tf_config` accept ``TF_CONFIG`` in every form
  :class:`tf.distribute.cluster_resolver.TFConfigClusterResolver` accepts (``task`` as an object,
  jobs as lists or as the sparse ``{"0": "host:port"}`` object, bracketed IPv6 ``[::1]:2222``,
  the index as a number or a numeric string, extra keys such as ``rpc_layer``) and refuse anything
  else with one :class:`ClusterConfigError` line that quotes the offending part.
- :func:`wait_for_peers` is the chief's start-up check: a TCP connection to every ps and worker
  until all of them answer, a progress line every few seconds, and a :class:`PeersNotReadyError`
  naming the peers that never answered when the start-up deadline passes (without it the chief
  hangs silently inside TensorFlow's connection set-up).
- :func:`mark_run_folder` / :func:`is_run_folder` / :func:`remove_run_folder`: a run folder the
  workshop created carries a marker file from its first moment, so ``--fresh`` can clear it at
  every stage (even after a Ctrl-C before the first checkpoint), and never deletes a folder the
  workshop did not write.

No TensorFlow import here: the module is cheap to import in the launcher and in tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import threading
import time
import weakref
from pathlib import Path

ROLES = ("chief", "ps", "worker")
OPTIONAL_JOBS = ("evaluator",)
EXAMPLE = (
    '{"cluster": {"chief": ["host:2222"], "ps": ["host:2223"], "worker": ["host:2224"]}, '
    '"task": {"type": "worker", "index": 0}}'
)
DEFAULT_STARTUP_DEADLINE = 120.0  # seconds; the chief's --startup-deadline
RESULT_PREFIX = "RESULT "  # the chief prints its result as one line `RESULT {json}` (read by the launcher)

RUN_MARKER = ".workshop-run"
# what the chief writes into its run folder (a folder holding only these is a run folder too,
# e.g. one left by an interrupted run of a version that wrote no marker)
RUN_ENTRIES = frozenset(
    {RUN_MARKER, "checkpoints", "logs", "vocab.txt", "counts.npy", "embeddings.npy", "result.json"}
)


class ClusterConfigError(ValueError):
    """TF_CONFIG (or the pod environment it is built from) is missing or inconsistent."""


class PeersNotReadyError(ClusterConfigError):
    """Some ps/worker tasks did not accept a connection before the start-up deadline.

    ``missing`` lists them as ``(job, index, address, reason)``."""

    def __init__(self, message: str, missing=()):
        super().__init__(message)
        self.missing = list(missing)


# --------------------------------------------------------------------------- TF_CONFIG
def _quote(value, limit: int = 120) -> str:
    """The offending part as the user wrote it (JSON), shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value) -> str:
    return {str: "the string", list: "the list", dict: "the object", bool: "the boolean", type(None): ""}.get(
        type(value), "the number" if isinstance(value, (int, float)) else type(value).__name__
    )


def parse_address(addr, where: str = "address") -> tuple[str, int]:
    """``"host:port"`` or ``"[ipv6]:port"`` -> (host, port); ClusterConfigError otherwise.

    ``where`` names the address in the message (``TF_CONFIG worker 1 address``)."""
    if not isinstance(addr, str):
        raise ClusterConfigError(f'{where} {_quote(addr)} is not a "host:port" string.')
    m = re.fullmatch(r"\[([0-9A-Fa-f:.%\w]+)\]:(\d{1,5})", addr) or re.fullmatch(
        r"([^:\s\[\]/]+):(\d{1,5})", addr
    )
    if not m:
        if "://" in addr:
            hint = " (no scheme: write just host:port)"
        elif addr.count(":") > 1 and not addr.startswith("["):
            hint = ' (an IPv6 address goes in brackets: "[::1]:2222")'
        elif ":" not in addr:
            hint = " (the port is missing)"
        else:
            hint = ""
        raise ClusterConfigError(f'{where} {_quote(addr)} is not "host:port"{hint}.')
    port = int(m.group(2))
    if not 0 < port < 65536:
        raise ClusterConfigError(f"{where} {_quote(addr)} has port {port}, outside 1-65535.")
    return m.group(1), port


def _index(value, message: str) -> int:
    """A task index (a number or a numeric string); ``message`` has a ``{}`` for the quoted value."""
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"\d+", value.strip()))
    ):
        raise ClusterConfigError(message.format(_quote(value)) + " is not a task number (0, 1, ...).")
    return int(value)


def normalise_tasks(job: str, tasks) -> list[str] | dict[int, str]:
    """The addresses of one job: a list stays a list; the sparse form ``{"0": "h:p", "2": "h:p"}``
    becomes ``{0: "h:p", 2: "h:p"}`` (a list when its indices are exactly 0..n-1).

    Every address is checked with :func:`parse_address`."""
    if isinstance(tasks, (list, tuple)):
        pairs = list(enumerate(tasks))
    elif isinstance(tasks, dict):
        pairs = [
            (_index(k, f"TF_CONFIG cluster {_quote(job)}: the task index {{}}"), v) for k, v in tasks.items()
        ]
        pairs.sort()
    else:
        example = f" (write {_quote(job)}: [{_quote(tasks)}])" if isinstance(tasks, str) else ""
        raise ClusterConfigError(
            f'TF_CONFIG cluster {_quote(job)} must be a list of "host:port" addresses or an object '
            f'{{"0": "host:port", ...}}, got {_kind(tasks)} {_quote(tasks)}{example}.'.replace("  ", " ")
        )
    for i, addr in pairs:
        parse_address(addr, f"TF_CONFIG {job} {i} address")
    if [i for i, _ in pairs] == list(range(len(pairs))):
        return [a for _, a in pairs]
    return dict(pairs)


def task_addresses(tasks) -> list[tuple[int, str]]:
    """[(index, address)] of a job given as a list or as the sparse {index: address} form."""
    if isinstance(tasks, dict):
        return sorted((int(k), v) for k, v in tasks.items())
    return list(enumerate(tasks))


def validate_tf_config(conf) -> dict:
    """Check a TF_CONFIG dict for a parameter-server job; return it normalised or raise.

    Accepts what ``TFConfigClusterResolver`` accepts: ``cluster`` maps job names (chief, ps,
    worker, optionally evaluator) to a list of addresses or to the sparse ``{"<index>":
    "host:port"}`` object; ``task`` is ``{"type": ..., "index": ...}`` (index a number or a
    numeric string, 0 when missing; the type case-insensitive); other top-level keys
    (``rpc_layer``, ``environment``) are kept. The parameter-server job needs exactly one chief
    and at least one ps and one worker; the chief, which connects to all of them, needs every ps
    and worker index 0..n-1. A ps or worker task only serves: its TF_CONFIG may list only some
    tasks (a sparse job with gaps, or just its own job), as TensorFlow allows. Returns
    ``{"cluster": {job: list or {int: address}}, "task": {"type": str, "index": int}, ...}``.
    Raises :class:`ClusterConfigError` (one line quoting the offending part) otherwise.
    """
    _check_layout(conf)
    cluster, task = conf["cluster"], conf["task"]
    jobs = {job: normalise_tasks(job, tasks) for job, tasks in cluster.items()}
    ttype, index = _task_type_and_index(task)
    _check_job_sizes(jobs, ttype, cluster)
    _check_task_exists(jobs, ttype, index)
    if ttype == "chief":
        _check_chief_sees_every_task(jobs, cluster)
    out = {k: v for k, v in conf.items() if k not in ("cluster", "task")}
    out.update({"cluster": jobs, "task": {"type": ttype, "index": index}})
    return out


def _check_layout(conf) -> None:
    """TF_CONFIG is an object with a "cluster" object of known job names and a "task" object."""
    if not isinstance(conf, dict):
        raise ClusterConfigError(
            f"TF_CONFIG must be a JSON object such as {EXAMPLE}; got {_kind(conf)} {_quote(conf)}."
        )
    for key in ("cluster", "task"):
        if key not in conf:
            raise ClusterConfigError(
                f'TF_CONFIG has no {_quote(key)}: it needs "cluster" and "task", e.g. {EXAMPLE}.'
            )
    cluster, task = conf["cluster"], conf["task"]
    if not isinstance(cluster, dict):
        raise ClusterConfigError(
            f'TF_CONFIG "cluster" must be an object of job names to addresses, e.g. '
            f'{{"chief": ["host:2222"], "ps": [...], "worker": [...]}}; '
            f"got {_kind(cluster)} {_quote(cluster)}."
        )
    if not isinstance(task, dict):
        raise ClusterConfigError(
            f'TF_CONFIG "task" must be an object such as {{"type": "worker", "index": 0}}; '
            f"got {_kind(task)} {_quote(task)}."
        )
    unknown = [j for j in cluster if j not in ROLES + OPTIONAL_JOBS]
    if "master" in unknown:
        raise ClusterConfigError(
            'TF_CONFIG cluster has a "master" job, the TensorFlow 1 name of the chief: '
            'rename it "chief" (ParameterServerStrategy needs a chief).'
        )
    if unknown:
        raise ClusterConfigError(
            f"TF_CONFIG cluster has unknown job(s) {_quote(unknown)}; "
            "a parameter-server job uses chief, ps and worker."
        )


def _task_type_and_index(task: dict) -> tuple[str, int]:
    """The task's type (lower case, one of ROLES) and index (0 when missing)."""
    if "type" not in task:
        raise ClusterConfigError(f'TF_CONFIG task {_quote(task)} has no "type" (one of {", ".join(ROLES)}).')
    ttype = task["type"].lower() if isinstance(task["type"], str) else task["type"]
    if ttype not in ROLES:
        raise ClusterConfigError(
            f"TF_CONFIG task type {_quote(task['type'])} is not one of {', '.join(ROLES)}."
        )
    return ttype, _index(task.get("index", 0), "TF_CONFIG task index {}")


def _check_job_sizes(jobs: dict, ttype: str, cluster: dict) -> None:
    """The chief needs one chief and 1+ ps and workers; a ps or worker only its own job."""
    # the chief connects to everybody; a ps or worker only serves (it may list just its own job)
    for job in ROLES if ttype == "chief" else (ttype,):
        n = len(jobs.get(job) or [])
        if n < 1:
            raise ClusterConfigError(
                f"TF_CONFIG cluster needs at least 1 {job} address(es), got {n}: "
                "a parameter-server job has one chief, one or more ps and one or more workers."
            )
    if len(jobs.get("chief") or [None]) != 1:
        raise ClusterConfigError(
            f"TF_CONFIG must have exactly one chief, got {len(jobs['chief'])}: {_quote(cluster['chief'])}."
        )


def _check_task_exists(jobs: dict, ttype: str, index: int) -> None:
    """This task's index is one of its job's."""
    own = dict(task_addresses(jobs[ttype]))
    if index not in own:
        listed = ", ".join(str(i) for i in own)
        raise ClusterConfigError(
            f"TF_CONFIG task {ttype}:{index} does not exist: the cluster has {len(own)} {ttype} task(s) "
            f"(index {listed})."
        )


def _check_chief_sees_every_task(jobs: dict, cluster: dict) -> None:
    """The chief connects to every ps and worker: no gaps in their indices."""
    for job in ("ps", "worker"):
        if isinstance(jobs[job], dict):
            have = sorted(jobs[job])
            gaps = sorted(set(range(max(have) + 1)) - set(have))
            raise ClusterConfigError(
                f"TF_CONFIG cluster {_quote(job)} lists tasks {have} but not {gaps}: the chief connects "
                f"to every {job} task, so it needs all of them, numbered from 0 ({_quote(cluster[job])})."
            )


def parse_tf_config(raw: str) -> dict:
    """The TF_CONFIG environment variable (JSON text) -> :func:`validate_tf_config` of it."""
    try:
        conf = json.loads(raw)
    except json.JSONDecodeError as e:
        near = raw[max(0, e.pos - 20) : e.pos + 20].replace("\n", " ")
        raise ClusterConfigError(
            f"TF_CONFIG is not valid JSON ({e.msg} at character {e.pos}, near {near!r})."
        ) from None
    return validate_tf_config(conf)


# --------------------------------------------------------------------------- waiting for peers
def deadline_from_env(environ=None, default: float = DEFAULT_STARTUP_DEADLINE) -> float:
    """The chief's default start-up deadline: ``TFW_STARTUP_DEADLINE`` (seconds; set it in a
    Kubernetes ConfigMap when pods take long to schedule) or ``default``. ClusterConfigError
    when it is not a number >= 0."""
    raw = (os.environ if environ is None else environ).get("TFW_STARTUP_DEADLINE", "").strip()
    if not raw:
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ClusterConfigError(f"TFW_STARTUP_DEADLINE={raw!r} is not a number of seconds (0 = no limit).")
    return value


def _probe(host: str, port: int, timeout: float) -> str | None:
    """None when ``host:port`` accepts a TCP connection, else why not (a few words)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return "name does not resolve"
    reason = "no answer"
    for family, kind, proto, _, sockaddr in infos:
        s = socket.socket(family, kind, proto)
        s.settimeout(timeout)
        try:
            s.connect(sockaddr)
            return None
        except ConnectionRefusedError:
            reason = "connection refused"
        except TimeoutError:
            reason = "no answer"
        except OSError as e:
            reason = (e.strerror or str(e)).lower()
        finally:
            s.close()
    return reason


def peers_of(cluster_spec, jobs=("ps", "worker")) -> list[tuple[str, int, str]]:
    """[(job, index, address)] of the given jobs of a cluster (dict or ``tf.train.ClusterSpec``)."""
    spec = cluster_spec.as_dict() if hasattr(cluster_spec, "as_dict") else cluster_spec
    return [(job, i, addr) for job in jobs for i, addr in task_addresses(spec.get(job) or [])]


def wait_for_peers(
    cluster_spec,
    deadline: float | None = DEFAULT_STARTUP_DEADLINE,
    log=print,
    jobs=("ps", "worker"),
    report_every: float = 5.0,
    first_report: float = 2.0,
    interval: float = 0.5,
    who: str = "chief",
) -> float:
    """Block until every ``jobs`` task of ``cluster_spec`` accepts a TCP connection; return the
    seconds waited.

    A TCP connection is what gRPC needs first: a task that refuses it (not started yet, crashed,
    wrong address) would make TensorFlow's connection set-up wait silently. While waiting, ``log``
    gets a line after ``first_report`` seconds and then every ``report_every`` seconds::

        chief: waiting for ps 0 at 10.0.0.5:2222 (connection refused), worker 1 at ... ... 4 s of
        the 120 s start-up deadline

    ``deadline`` (seconds; None or <= 0: wait forever) -> :class:`PeersNotReadyError` naming each
    peer that never answered, and why (connection refused, name does not resolve, no answer).
    """
    peers = peers_of(cluster_spec, jobs)
    pending = {
        (job, i): (addr, parse_address(addr, f"{job} {i} address"), "not tried") for job, i, addr in peers
    }
    t0 = time.monotonic()
    limit = float(deadline) if deadline and deadline > 0 else None
    next_report = t0 + first_report
    reported = False
    while True:
        _probe_pending(pending)
        now = time.monotonic()
        waited = now - t0
        if not pending:
            if reported:
                log(f"{who}: all {len(peers)} ps/worker tasks answered after {waited:.0f} s")
            return waited
        described = ", ".join(
            f"{job} {i} at {addr} ({reason})" for (job, i), (addr, _, reason) in sorted(pending.items())
        )
        if limit is not None and waited >= limit:
            raise _peers_not_ready(pending, described, limit)
        if now >= next_report:
            of = f" of the {limit:g} s start-up deadline" if limit is not None else " (no deadline)"
            log(f"{who}: waiting for {described} ... {waited:.0f} s{of}")
            reported = True
            next_report = now + report_every
        sleep = interval if limit is None else min(interval, max(0.0, limit - waited))
        time.sleep(sleep)


def _probe_pending(pending: dict) -> None:
    """Probe every pending peer once: drop those that answer, note why the others do not."""
    for key in list(pending):
        addr, (host, port), _ = pending[key]
        reason = _probe(host, port, timeout=1.0)
        if reason is None:
            del pending[key]
        else:
            pending[key] = (addr, (host, port), reason)


def _peers_not_ready(pending: dict, described: str, limit: float) -> PeersNotReadyError:
    """The error of a start-up deadline that passed, naming the peers that never answered."""
    return PeersNotReadyError(
        f"the cluster did not start: no answer within the {limit:g} s start-up deadline from "
        f"{described}. Check that these tasks run and that TF_CONFIG gives their right addresses "
        "(or allow more time with --startup-deadline).",
        [(job, i, addr, reason) for (job, i), (addr, _, reason) in sorted(pending.items())],
    )


# --------------------------------------------------------------------------- run folders
def mark_run_folder(out_dir) -> Path:
    """Create ``out_dir`` (parents too) and mark it as a run folder the workshop wrote.

    The marker is written only into a folder that is new, empty or already a run folder
    (:func:`is_run_folder`): a folder holding other files is left unmarked, so ``--fresh`` will
    never delete it. Returns the folder."""
    out = Path(out_dir)
    existed = out.exists()
    out.mkdir(parents=True, exist_ok=True)
    marker = out / RUN_MARKER
    if not marker.exists() and (not existed or is_run_folder(out)):
        marker.write_text("A run folder of the workshop's distributed word2vec: `--fresh` may delete it.\n")
    return out


def foreign_entries(out_dir) -> list[str]:
    """The names in ``out_dir`` the chief does not write (empty for a run folder)."""
    return sorted(p.name for p in Path(out_dir).iterdir() if p.name not in RUN_ENTRIES)


def is_run_folder(out_dir) -> bool:
    """True when ``out_dir`` carries the run marker, or holds only what the chief writes
    (checkpoints/, logs/, vocab.txt, counts.npy, embeddings.npy, result.json), or is empty."""
    out = Path(out_dir)
    if not out.is_dir():
        return False
    return (out / RUN_MARKER).exists() or not foreign_entries(out)


def remove_run_folder(out_dir, error=ClusterConfigError) -> bool:
    """Delete an earlier run folder (``--fresh``); False when there was none.

    Raises ``error`` (one line naming the folder) for a path that is not a run folder."""
    out = Path(out_dir)
    if not out.exists() and not out.is_symlink():
        return False
    if not is_run_folder(out):
        if not out.is_dir():
            raise error(
                f"{out} exists but is not a run folder (it is a file); refusing to delete it (fresh): "
                "choose another --out-dir."
            )
        names = foreign_entries(out)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise error(
            f"{out} exists but is not a run folder (it holds {shown}, which no run wrote); refusing to "
            "delete it (fresh): choose another --out-dir or delete it yourself."
        )
    if out.is_symlink():
        out.unlink()
    else:
        shutil.rmtree(out)
    return True


# --------------------------------------------------------------------------- after the peers answered
class StartupWatchdog:
    """Bounds the chief's connection set-up after :func:`wait_for_peers`: TensorFlow's strategy
    creation and first steps wait silently, without a limit, for a peer that stops answering or
    an address that is not a TensorFlow server of this job.

    ``start()`` it right after ``wait_for_peers``, ``stop()`` it once the first steps are done.
    Until then a thread logs ``chief: setting up the cluster (N s) ...`` every ``report_every``
    seconds; at ``deadline`` (None or <= 0: never) it prints one ``error:`` line naming the peers
    that no longer answer (or, if all answer, saying that TensorFlow could not connect to them) and
    ends the process with ``exit_code`` (``os._exit``: the main thread is stuck inside TensorFlow).
    The thread holds the watchdog only weakly: when the function that started it is gone (it
    returned or raised), the watchdog is disarmed with it.
    """

    def __init__(
        self,
        cluster_spec,
        deadline: float | None = DEFAULT_STARTUP_DEADLINE,
        log=print,
        report_every: float = 15.0,
        exit_code: int = 2,
        who: str = "chief",
        exit=None,
    ):
        self.peers = peers_of(cluster_spec)
        self.deadline = float(deadline) if deadline and deadline > 0 else None
        self.log, self.report_every, self.exit_code, self.who = log, report_every, exit_code, who
        self._exit = exit
        self._stopped = False
        self._thread = None

    def start(self) -> StartupWatchdog:
        """Start the watching thread; returns the watchdog."""
        ref = weakref.ref(self)
        self._thread = threading.Thread(
            target=StartupWatchdog._watch, args=(ref, time.monotonic()), name="startup-watchdog", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True

    def message(self) -> str:
        """Why the cluster is not ready (probes every peer once more)."""
        gone = [(job, i, addr, _probe(*parse_address(addr), timeout=1.0)) for job, i, addr in self.peers]
        gone = [g for g in gone if g[3] is not None]
        if gone:
            named = ", ".join(f"{job} {i} at {addr} ({why})" for job, i, addr, why in gone)
            return (
                f"the cluster did not become ready within the {self.deadline:g} s start-up deadline: "
                f"{named} stopped answering after the first contact."
            )
        return (
            f"the cluster did not become ready within the {self.deadline:g} s start-up deadline although "
            "every ps and worker address accepts connections: check that each address in TF_CONFIG is a "
            "task of this job (a TensorFlow server started with the same cluster), not another service."
        )

    @staticmethod
    def _watch(ref, t0: float) -> None:
        next_report = 0.0  # seconds since t0 of the last progress line
        while True:
            time.sleep(0.2)
            self = ref()
            if self is None or self._stopped:
                return
            waited = time.monotonic() - t0
            if self.deadline is not None and waited >= self.deadline:
                msg = self.message()
                if self._stopped:
                    return
                print(f"error: {msg}", file=sys.stderr, flush=True)
                sys.stdout.flush()
                (self._exit or os._exit)(self.exit_code)
                return
            if waited >= next_report + self.report_every:
                next_report += self.report_every
                of = f" of the {self.deadline:g} s start-up deadline" if self.deadline else ""
                self.log(f"{self.who}: setting up the cluster ({waited:.0f} s{of}) ...")
            del self
