"""distributed_tensorflow under faults (issue 12, items 4-6): TF_CONFIG in every form TensorFlow
accepts and one-line errors for the rest; a chief whose peers are not there says what it waits
for and gives up at its start-up deadline; the launcher notices a task of its own that exits
before the cluster is ready; an interrupted run does not poison the next ``--fresh`` run.

Fast: fake tasks (plain Python) for the launcher's policy, one real chief subprocess pointed at
closed ports, one real launcher whose worker is SIGKILLed at once."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from proc_helpers import alive, interrupt_launcher, launcher_pids, local_cluster_command

from workshop_sections.distributed_tensorflow import cluster as cl
from workshop_sections.distributed_tensorflow import distributed_word2vec as dw
from workshop_sections.distributed_tensorflow import launcher

ROOT = Path(__file__).resolve().parents[1]
BASE = {"chief": ["h:1"], "ps": ["h:2"], "worker": ["h:3"]}


# --------------------------------------------------------------------------- 4. TF_CONFIG
ACCEPTED = {
    "lists": {"cluster": BASE, "task": {"type": "worker", "index": 0}},
    "sparse worker (a task that knows only some peers)": {
        "cluster": dict(BASE, worker={"0": "h:3", "2": "h:5"}),
        "task": {"type": "worker", "index": 2},
    },
    "a worker that lists only itself": {
        "cluster": {"worker": {"1": "10.0.0.7:2222"}},
        "task": {"type": "worker", "index": 1},
    },
    "sparse, complete": {
        "cluster": dict(BASE, ps={"1": "h:7", "0": "h:2"}),
        "task": {"type": "chief", "index": 0},
    },
    "bracketed IPv6": {
        "cluster": {"chief": ["[::1]:2222"], "ps": ["[::1]:2223"], "worker": ["[::1]:2224"]},
        "task": {"type": "ps", "index": 0},
    },
    "index as a string, rpc_layer": {
        "cluster": BASE,
        "task": {"type": "worker", "index": "0"},
        "rpc_layer": "grpc",
    },
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_tf_config_forms_tensorflow_accepts_work(name, monkeypatch):
    """Each form is first checked against TensorFlow's own TFConfigClusterResolver, then ours."""
    import tensorflow as tf

    conf = ACCEPTED[name]
    monkeypatch.setenv("TF_CONFIG", json.dumps(conf))
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    ours = dw.tf_config_from_env()
    assert tf.train.ClusterSpec(ours["cluster"]).as_dict() == resolver.cluster_spec().as_dict()
    assert (ours["task"]["type"], ours["task"]["index"]) == (resolver.task_type, resolver.task_id)
    # the address of this task, as the ps/worker server looks it up
    addr = ours["cluster"][ours["task"]["type"]][ours["task"]["index"]]
    assert addr == resolver.cluster_spec().task_address(resolver.task_type, resolver.task_id)


REFUSED = [  # (TF_CONFIG, part of the one-line message that quotes the offending part)
    (
        {"cluster": BASE, "task": "worker"},
        'TF_CONFIG "task" must be an object such as {"type": "worker", "index": 0}; got the string "worker"',
    ),
    (
        {"cluster": dict(BASE, worker="127.0.0.1:3"), "task": {"type": "chief"}},
        'cluster "worker" must be a list of "host:port" addresses or an object {"0": "host:port", ...}, '
        'got the string "127.0.0.1:3" (write "worker": ["127.0.0.1:3"])',
    ),
    (
        {"cluster": dict(BASE, worker={"0": "h:3", "2": "h:5"}), "task": {"type": "chief"}},
        'cluster "worker" lists tasks [0, 2] but not [1]',
    ),
    (
        {"cluster": dict(BASE, worker=["::1:2224"]), "task": {"type": "chief"}},
        'address "::1:2224" is not "host:port" (an IPv6 address goes in brackets',
    ),
    (
        {"cluster": dict(BASE, worker=["h"]), "task": {"type": "chief"}},
        'worker 0 address "h" is not "host:port" (the port is missing)',
    ),
    (
        {"cluster": dict(BASE, worker={"a": "h:3"}), "task": {"type": "chief"}},
        'the task index "a" is not a task number',
    ),
    (
        {"cluster": dict(BASE, worker=["h:99999"]), "task": {"type": "chief"}},
        "has port 99999, outside 1-65535",
    ),
    (
        {"cluster": dict(BASE, worker=[3]), "task": {"type": "chief"}},
        'worker 0 address 3 is not a "host:port" string',
    ),
    ({"cluster": [BASE], "task": {"type": "chief"}}, 'TF_CONFIG "cluster" must be an object'),
    ({"cluster": BASE, "task": {"type": "worker", "index": 1}}, "task worker:1 does not exist"),
    (
        {"cluster": dict(BASE, master=["h:9"]), "task": {"type": "chief"}},
        '"master" job, the TensorFlow 1 name',
    ),
    ({"cluster": BASE}, 'TF_CONFIG has no "task"'),
]


@pytest.mark.parametrize("conf,message", REFUSED, ids=[m[:30] for _, m in REFUSED])
def test_tf_config_errors_are_one_line_quoting_the_part(conf, message):
    with pytest.raises(dw.ClusterConfigError) as err:
        dw.tf_config_from_env({"TF_CONFIG": json.dumps(conf)})
    text = str(err.value)
    assert message in text and "\n" not in text


def test_entry_point_with_a_bad_tf_config_prints_one_line(monkeypatch, capsys):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": BASE, "task": "worker"}))
    assert dw.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: TF_CONFIG "task" must be an object') and err.count("\n") == 1
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"chief": ["h:1"],}')
    assert dw.main([]) == 2
    assert "is not valid JSON" in capsys.readouterr().err


# --------------------------------------------------------------------------- 5. waiting for peers
def test_wait_for_peers_reports_then_proceeds_when_the_peer_comes():
    ps_port, worker_port = launcher.free_ports(2)
    ps = socket.create_server(("127.0.0.1", ps_port))
    lines = []
    late = {}

    def start_worker_later():
        time.sleep(0.8)
        late["sock"] = socket.create_server(("127.0.0.1", worker_port))

    t = threading.Thread(target=start_worker_later)
    t.start()
    try:
        spec = {
            "chief": ["127.0.0.1:1"],
            "ps": [f"127.0.0.1:{ps_port}"],
            "worker": {"0": f"127.0.0.1:{worker_port}"},
        }
        waited = cl.wait_for_peers(
            spec, deadline=20, log=lines.append, first_report=0.2, report_every=0.2, interval=0.05
        )
    finally:
        t.join()
        ps.close()
        late["sock"].close()
    assert 0.5 < waited < 10
    assert lines[0].startswith(
        f"chief: waiting for worker 0 at 127.0.0.1:{worker_port} (connection refused) ..."
    )
    assert "of the 20 s start-up deadline" in lines[0] and "ps 0" not in lines[0]
    assert re.fullmatch(r"chief: all 2 ps/worker tasks answered after \d+ s", lines[-1]), lines


def test_wait_for_peers_names_the_missing_ones_at_the_deadline():
    open_port, closed_port = launcher.free_ports(2)
    srv = socket.create_server(("127.0.0.1", open_port))
    spec = {
        "ps": [f"127.0.0.1:{open_port}", f"127.0.0.1:{closed_port}"],
        "worker": ["no-such-host.invalid:2222"],
    }
    t0 = time.monotonic()
    try:
        with pytest.raises(cl.PeersNotReadyError) as err:
            cl.wait_for_peers(spec, deadline=0.6, log=lambda _: None, interval=0.1)
    finally:
        srv.close()
    assert time.monotonic() - t0 < 5
    msg = str(err.value)
    assert msg.startswith(
        "the cluster did not start: no answer within the 0.6 s start-up deadline from "
        f"ps 1 at 127.0.0.1:{closed_port} (connection refused), "
        "worker 0 at no-such-host.invalid:2222 (name does not resolve)."
    )
    assert "--startup-deadline" in msg and "\n" not in msg
    assert [m[:2] for m in err.value.missing] == [("ps", 1), ("worker", 0)]


def _run_chief(tmp_path, conf: dict, deadline: float) -> subprocess.CompletedProcess:
    """Run the entry point as the chief of ``conf`` on a tiny corpus, into tmp_path/run, with a
    ``deadline`` s start-up deadline (its output captured, at most 180 s)."""
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("the cat sat on the mat and the dog sat on the log\n" * 40, encoding="utf-8")
    env = dict(os.environ, TF_CONFIG=json.dumps(conf), TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    flags = ["--corpus", str(corpus), "--min-count", "1", "--out-dir", str(tmp_path / "run")]
    return subprocess.run(
        [sys.executable, "-m", launcher.ENTRY_MODULE, *flags, "--startup-deadline", f"{deadline:g}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )


def test_chief_at_closed_ports_gives_up_and_its_run_folder_can_be_cleared(tmp_path):
    """The issue's example: a chief pointed at ps/worker addresses where nothing listens. It says
    what it waits for, gives up at --startup-deadline with one line naming them (exit 2, no
    traceback), and the folder it leaves (vocabulary, no checkpoint: the same as a run stopped by
    Ctrl-C before its first checkpoint) is cleared by --fresh."""
    chief, ps, worker = launcher.free_ports(3)
    cluster = {"chief": [f"127.0.0.1:{chief}"], "ps": [f"127.0.0.1:{ps}"], "worker": [f"127.0.0.1:{worker}"]}
    run = tmp_path / "run"
    t0 = time.time()
    proc = _run_chief(tmp_path, {"cluster": cluster, "task": {"type": "chief", "index": 0}}, deadline=3)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert re.search(
        f"chief: waiting for ps 0 at 127.0.0.1:{ps} \\(connection refused\\), worker 0 at "
        f"127.0.0.1:{worker} \\(connection refused\\) \\.\\.\\. [23] s of the 3 s start-up deadline",
        proc.stdout,
    ), proc.stdout
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    assert err == [
        f"error: the cluster did not start: no answer within the 3 s start-up deadline from ps 0 at "
        f"127.0.0.1:{ps} (connection refused), worker 0 at 127.0.0.1:{worker} (connection refused). "
        "Check that these tasks run and that TF_CONFIG gives their right addresses (or allow more time "
        "with --startup-deadline)."
    ], proc.stderr
    assert time.time() - t0 < 120
    # 6. the folder of a run that stopped before its first checkpoint is a run folder: --fresh clears it
    assert sorted(p.name for p in run.iterdir()) == [cl.RUN_MARKER, "counts.npy", "vocab.txt"]
    launcher._remove_run(run)
    assert not run.exists()


def test_chief_bounds_the_set_up_after_its_peers_answered(tmp_path):
    """Addresses that accept TCP but are no TensorFlow servers (another service on the port; the
    same silent wait as a peer dying right after the first contact): TensorFlow's connection
    set-up would wait forever; the start-up watchdog ends the chief with one error line."""
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    held = []

    def accept(srv):  # hold every connection open, as a service that is not TensorFlow would
        try:
            while True:
                held.append(srv.accept())
        except OSError:  # closed at the end of the test
            pass

    for srv in listeners:
        threading.Thread(target=accept, args=(srv,), daemon=True).start()
    ps, worker = (f"127.0.0.1:{srv.getsockname()[1]}" for srv in listeners)
    conf = {
        "cluster": {"chief": [f"127.0.0.1:{launcher.free_ports(1)[0]}"], "ps": [ps], "worker": [worker]},
        "task": {"type": "chief"},
    }
    try:
        proc = _run_chief(tmp_path, conf, deadline=2)
    finally:
        for srv in listeners:
            srv.close()
        for conn, _ in held:
            conn.close()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "waiting for" not in proc.stdout  # they answered at once
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [
        "error: the cluster did not become ready within the 2 s start-up deadline although every ps and "
        "worker address accepts connections: check that each address in TF_CONFIG is a task of this job "
        "(a TensorFlow server started with the same cluster), not another service."
    ], proc.stderr


def test_startup_watchdog_names_a_peer_that_stopped_answering_and_is_disarmed_by_stop():
    up, gone = launcher.free_ports(2)
    srv = socket.create_server(("127.0.0.1", up))
    spec = {"ps": [f"127.0.0.1:{up}"], "worker": [f"127.0.0.1:{gone}"]}
    try:
        assert (
            f"worker 0 at 127.0.0.1:{gone} (connection refused) stopped answering"
            in cl.StartupWatchdog(spec, deadline=5).message()
        )
        exits, lines = [], []
        stopped = cl.StartupWatchdog(spec, deadline=0.5, exit=exits.append).start()
        stopped.stop()  # the first steps were done in time
        fired = cl.StartupWatchdog(
            spec, deadline=0.5, log=lines.append, report_every=0.2, exit=exits.append
        ).start()
        fired._thread.join(timeout=10)
        stopped._thread.join(timeout=10)
        assert exits == [2] and lines and lines[0].startswith("chief: setting up the cluster (")

        def start_and_fail():  # the function that armed it raised: the watchdog goes with it
            watchdog = cl.StartupWatchdog(spec, deadline=0.5, exit=exits.append).start()
            threads.append(watchdog._thread)
            raise RuntimeError("corpus broke")

        threads = []
        try:
            start_and_fail()
        except RuntimeError:
            pass
        threads[0].join(timeout=10)
        assert exits == [2] and not threads[0].is_alive()
    finally:
        srv.close()


def test_startup_deadline_flag():
    assert dw.parse_args([]).startup_deadline == cl.DEFAULT_STARTUP_DEADLINE
    assert 60 <= cl.DEFAULT_STARTUP_DEADLINE <= 120
    assert dw.parse_args(["--startup-deadline", "0"]).startup_deadline == 0  # no limit
    with pytest.raises(ValueError, match="--startup-deadline must be 0"):
        dw.parse_args(["--startup-deadline", "-1"])
    assert cl.deadline_from_env({"TFW_STARTUP_DEADLINE": "300"}) == 300  # e.g. from a Kubernetes ConfigMap
    with pytest.raises(
        cl.ClusterConfigError, match="TFW_STARTUP_DEADLINE='2 min' is not a number of seconds"
    ):
        cl.deadline_from_env({"TFW_STARTUP_DEADLINE": "2 min"})


def test_wait_for_peers_speaks_ipv6():
    try:
        srv = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        port = srv.getsockname()[1]
        assert cl.wait_for_peers({"ps": [f"[::1]:{port}"], "worker": {"0": f"[::1]:{port}"}}, deadline=5) < 2
    finally:
        srv.close()


# ---------------------------------------------------------------------- 5. the launcher watches its tasks
FAKE_TASK = textwrap.dedent("""
    import json, os, sys, time

    def wait_for_file(path):  # the fake tasks take turns through files: no timing races
        t0 = time.time()
        while not os.path.exists(path) and time.time() - t0 < 60:
            time.sleep(0.02)

    conf = json.loads(os.environ["TF_CONFIG"])
    name = conf["task"]["type"] + ("" if conf["task"]["type"] == "chief" else str(conf["task"]["index"]))
    plan = json.loads(sys.argv[1]).get(name, {})
    print(name, "up", flush=True)
    if plan.get("crash_once"):  # the first start crashes, the restart follows plan["then"]
        if not os.path.exists(plan["crash_once"]):
            open(plan["crash_once"], "w").close()
            sys.exit(1)
        plan = plan["then"]
    if plan.get("await"):
        wait_for_file(plan["await"])
    for line in plan.get("say", []):
        print(line, flush=True)
    if plan.get("touch"):
        open(plan["touch"], "w").close()
    if plan.get("await_after"):
        wait_for_file(plan["await_after"])
    time.sleep(plan.get("life", 60))
    sys.exit(plan.get("code", 0))
""")


class FakeCluster(launcher.LocalCluster):
    """The launcher's real process handling around tasks that are plain Python scripts."""

    def __init__(self, plan, **kw):
        super().__init__(echo=False, **kw)
        self.plan = plan

    def task_command(self, name):
        return [sys.executable, "-c", FAKE_TASK, json.dumps(self.plan)]


def test_launcher_stops_the_cluster_when_a_task_exits_before_ready():
    plan = {"worker1": {"say": ["loading", "Traceback: boom"], "life": 0, "code": 3}, "chief": {"life": 60}}
    cluster = FakeCluster(plan, num_ps=1, num_workers=2)
    t0 = time.time()
    with cluster:
        with pytest.raises(launcher.TaskExitedError) as err:
            cluster.wait("chief", timeout=60)
        assert not any(cluster.running().values()), "every task is stopped at once"
    assert time.time() - t0 < 15
    e = err.value
    assert (e.task, e.returncode, e.exit_status) == ("worker1", 3, 3)
    assert str(e).startswith(
        "worker1 exited (exit code 3) before the cluster was ready; the cluster was stopped. "
        "Last lines of worker1:\n[worker1] worker1 up\n[worker1] loading\n[worker1] Traceback: boom"
    )
    assert (
        "[launcher] worker1 exited (exit code 3) before the cluster was ready (the chief would wait for it): "
        "stopping every task" in cluster.log()
    )


READY = "chief: cluster ready, first steps done 1.0 s after start"


def test_launcher_restarts_a_crashed_task_when_asked(tmp_path):
    # worker0 crashes at once; restarts=1: it is started again (same address); the chief finishes
    restarted = str(tmp_path / "restarted")
    plan = {
        "worker0": {"crash_once": str(tmp_path / "crashed"), "then": {"touch": restarted}},
        "chief": {"await": restarted, "say": [READY], "life": 0, "code": 0},
    }
    cluster = FakeCluster(plan, num_ps=1, num_workers=1, restarts=1)
    with cluster:
        assert cluster.wait("chief", timeout=60) == 0
        assert cluster.running()["worker0"]
    assert cluster.log("launcher") == [
        "[launcher] worker0 exited (exit code 1); restarting it (1 of 1 restarts), "
        "as Kubernetes restarts a failed pod"
    ]
    assert cluster.log("worker0").count("[worker0] worker0 up") == 2


def test_launcher_lets_training_lose_a_worker_but_not_a_ps(tmp_path):
    # after the chief is ready, worker1 exits: worker0 still runs, so the chief goes on and finishes
    ready, gone = str(tmp_path / "ready"), str(tmp_path / "gone")
    plan = {
        "worker1": {"await": ready, "touch": gone, "life": 0, "code": 1},
        "chief": {"say": [READY], "touch": ready, "await_after": gone, "life": 1.0, "code": 0},
    }
    cluster = FakeCluster(plan, num_ps=1, num_workers=2)
    with cluster:
        assert cluster.wait("chief", timeout=60) == 0
    assert cluster.log("launcher") == [
        "[launcher] worker1 exited (exit code 1) while training ran: the chief goes on with worker0"
    ]
    # a ps that exits takes its variables with it: the cluster stops even after it was ready
    ready = str(tmp_path / "ready2")
    plan = {
        "ps0": {"await": ready, "life": 0, "code": 0},
        "chief": {"say": [READY], "touch": ready, "life": 60},
    }
    cluster = FakeCluster(plan, num_ps=1, num_workers=1)
    with (
        cluster,
        pytest.raises(launcher.TaskExitedError, match="ps0 exited \\(exit code 0\\) while training ran"),
    ):
        cluster.wait("chief", timeout=60)
    assert "the variables it held are gone" in cluster.tail(1, "launcher")


def test_launcher_stops_at_once_when_a_worker_is_killed_before_the_cluster_is_ready(tmp_path):
    """The issue's example, with the real launcher and tasks: SIGKILL a worker while the cluster starts."""
    code, rest, pids = interrupt_launcher(
        local_cluster_command(tmp_path / "run", steps=100),
        ready=lambda line: launcher_pids(line) is not None,
        interrupt=lambda proc, pids: os.kill(int(pids["worker0"]), signal.SIGKILL),
        cwd=ROOT,
    )
    assert code == 137, rest
    assert "[launcher] worker0 exited (killed by SIGKILL, exit code 137) before the cluster was ready" in rest
    assert "[launcher] last lines of worker0:" in rest
    assert rest.rstrip().endswith(
        "[launcher] worker0 exited (killed by SIGKILL, exit code 137); all tasks stopped"
    )
    assert "Traceback" not in rest
    time.sleep(0.3)
    assert not [n for n, pid in pids.items() if alive(int(pid))], "orphaned tasks"


# --------------------------------------------------------------------------- 6. run folders
def test_run_folder_is_marked_from_the_start_and_fresh_clears_it_at_every_stage(tmp_path):
    stages = {
        "created": [],
        "corpus read (Ctrl-C before the first checkpoint)": ["vocab.txt", "counts.npy"],
        "logs written": ["vocab.txt", "counts.npy", "logs/events.out.tfevents.1"],
        "checkpointed": ["vocab.txt", "counts.npy", "logs/e", "checkpoints/ckpt-1.index"],
        "finished": ["vocab.txt", "counts.npy", "embeddings.npy", "result.json", "checkpoints/checkpoint"],
        "a user's notes added later": ["vocab.txt", "notes.txt"],  # marked: the folder is the workshop's
    }
    for stage, files in stages.items():
        run = tmp_path / "a" / "run"
        assert cl.mark_run_folder(run) == run and (run / cl.RUN_MARKER).exists()
        for f in files:
            (run / f).parent.mkdir(parents=True, exist_ok=True)
            (run / f).write_bytes(b"x")
        assert cl.is_run_folder(run), stage
        launcher._remove_run(run)
        assert not run.exists(), stage
    # a folder an earlier version left after Ctrl-C (no marker, only the chief's files) is one too
    old = tmp_path / "old"
    old.mkdir()
    (old / "vocab.txt").write_text("the\n")
    np.save(old / "counts.npy", np.array([3]))
    launcher._remove_run(old)
    assert not old.exists()
    launcher._remove_run(tmp_path / "never-there")  # nothing to do


def test_fresh_refuses_a_folder_no_run_wrote_in_one_line(tmp_path, capsys):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("keep me")
    (mine / "vocab.txt").write_text("also mine")
    assert cl.mark_run_folder(mine) == mine and not (mine / cl.RUN_MARKER).exists(), (
        "never marks a foreign folder"
    )
    code = launcher.main(["--fresh", "--", "--out-dir", str(mine)])
    assert code == 2
    err = capsys.readouterr().err
    assert err == (
        f"[launcher] error: {mine} exists but is not a run folder (it holds chapter1.tex, which no run "
        "wrote); refusing to delete it (fresh): choose another --out-dir or delete it yourself.\n"
    )
    assert (mine / "chapter1.tex").read_text() == "keep me"
    a_file = tmp_path / "run.txt"
    a_file.write_text("x")
    with pytest.raises(launcher.LocalClusterError, match="is not a run folder \\(it is a file\\)"):
        launcher._remove_run(a_file)
