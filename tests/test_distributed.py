"""distributed_tensorflow: the sharded word2vec step, the local cluster launcher, and a real
parameter-server cluster of processes on 127.0.0.1 (chief + 2 ps + 2 workers): it learns,
the embedding is split across both ps, a worker can die, the chief can die and resume.
The chief's code is the notebook's (exported cells: resolver, strategy, model, dataset_fn,
schedule/join loop); its loop runs here without a cluster too, and every exercise check says
"Correct!" on a right answer and a plain "Not yet: ..." on the usual wrong ones.

The cluster tests are @slow (each starts 5 TensorFlow processes) but run in `make test`:
they use a small slice of movie_reviews and a few hundred steps."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from proc_helpers import alive, interrupt_launcher, local_cluster_command

from workshop_sections.distributed_tensorflow import distributed_word2vec as dw
from workshop_sections.distributed_tensorflow import launcher

ROOT = Path(__file__).resolve().parents[1]
# a lean run: 50k words of movie_reviews, a 2,000-word vocabulary
SMALL = dict(
    corpus="movie_reviews",
    max_words=50_000,
    max_vocab=2000,
    batch_size=256,
    log_every=50,
    checkpoint_every=100,
)


# --------------------------------------------------------------------------- fast unit tests
def test_loss_gradients_match_autodiff():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    t = tf.constant(rng.normal(size=(6, 4)), tf.float32)
    c = tf.constant(rng.normal(size=(6, 3, 4)), tf.float32)
    loss, gt, gc = dw.sgns_loss_and_grads(t, c)
    with tf.GradientTape() as tape:
        tape.watch([t, c])
        logits = tf.einsum("bd,bkd->bk", t, c)
        summed = -tf.reduce_sum(tf.math.log_sigmoid(logits[:, 0])) - tf.reduce_sum(
            tf.math.log_sigmoid(-logits[:, 1:])
        )
    at, ac = tape.gradient(summed, [t, c])
    np.testing.assert_allclose(gt.numpy(), at.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gc.numpy(), ac.numpy(), rtol=1e-5, atol=1e-5)
    assert float(loss) == pytest.approx(float(summed) / 6, rel=1e-5)


def test_model_learns_in_one_process():
    """The same model and step function without a cluster (plain variables): the loss falls."""
    from workshop_sections.word2vec_optimized import word2vec_fast as w2v

    rng = np.random.default_rng(1)
    # a toy language: words come in fixed pairs, so contexts are predictable
    words = [f"w{i}" for i in rng.integers(0, 20, 3000) for _ in range(1)]
    words = [w for a in words for w in (a, a + "x")]
    vocab, ids = w2v.build_vocab(words, min_count=1)
    model = dw.ShardedWord2Vec(
        len(vocab), 16, 3, w2v.unigram_table(vocab.counts, size=10_000), 0.1, 400, seed=0
    )
    assert model.embedding.shape == (len(vocab), 16)
    ds = w2v.make_dataset(ids, vocab.counts, window=1, batch_size=64, subsample=None, seed=3, epochs=100)
    it = iter(ds)
    fn = model.make_train_fn(steps_per_call=20)
    losses = [float(fn(it)) for _ in range(20)]
    assert int(model.step.numpy()) == 400
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:2]), losses
    emb = np.asarray(model.embedding.numpy())
    assert np.isfinite(emb).all()


def test_shard_layout_of_plain_variable():
    import tensorflow as tf

    v = tf.Variable(tf.zeros([7, 2]))
    layout = dw.shard_layout(v)
    assert len(layout) == 1 and layout[0]["rows"] == [0, 7]


def test_cluster_spec_ports_and_args():
    spec = launcher.cluster_spec(2, 3)
    addrs = spec["chief"] + spec["ps"] + spec["worker"]
    assert len(spec["ps"]) == 2 and len(spec["worker"]) == 3 and len(spec["chief"]) == 1
    assert len(set(addrs)) == 6 and all(a.startswith("127.0.0.1:") for a in addrs)
    dw.validate_tf_config({"cluster": spec, "task": {"type": "worker", "index": 2}})
    with pytest.raises(ValueError, match="at least 1 ps"):
        launcher.cluster_spec(0, 1)
    assert launcher.chief_args(steps=5, corpus=None, max_words=10) == ["--steps", "5", "--max-words", "10"]
    c = launcher.LocalCluster(1, 1, echo=False)
    assert c.names() == ["ps0", "worker0", "chief"]
    assert c.tf_config("worker0")["task"] == {"type": "worker", "index": 0}
    with pytest.raises(ValueError, match="Unknown task"):
        c.tf_config("master")
    with pytest.raises(launcher.LocalClusterError, match="No task"):
        c.kill("ps0")


def test_settings_are_checked():
    s = dw.parse_args(["--steps", "10", "--max-words", "0", "--out-dir", "/tmp/x"])
    assert s.steps == 10 and s.max_words is None and s.out_dir == "/tmp/x"
    with pytest.raises(ValueError, match="--steps must be at least 1"):
        dw.parse_args(["--steps", "0"])


def test_entry_point_without_role_says_what_to_do():
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "TFW_ROLE")}
    proc = subprocess.run(
        [sys.executable, "-m", launcher.ENTRY_MODULE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "Neither TF_CONFIG nor TFW_ROLE is set" in proc.stderr and "make distributed-local" in proc.stderr


def test_load_run_explains_missing_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="no finished run"):
        dw.load_run(tmp_path)


def test_sync_run_is_reproducible_and_learns():
    s = dw.TrainSettings(max_words=20_000, max_vocab=500, steps=60, batch_size=128)
    a, b = dw.run_sync(s), dw.run_sync(s)
    assert a["strategy"] == "MultiWorkerMirroredStrategy" and a["replicas"] >= 1
    assert a["losses"] == b["losses"], "synchronous training with a fixed seed must repeat exactly"
    assert np.array_equal(a["vectors"], b["vectors"])
    assert np.mean(a["losses"][-5:]) < a["losses"][0]
    c = dw.run_sync(dw.TrainSettings(max_words=20_000, max_vocab=500, steps=60, batch_size=128, seed=7))
    assert c["losses"] != a["losses"], "another seed, another run"


def test_simulated_stragglers_favour_async():
    r = dw.simulate_sync_vs_async(num_workers=4, steps=300, straggler_every=10, slowdown=4.0, seed=0)
    assert r["async_updates_per_unit"] > 1.3 * r["sync_updates_per_unit"]
    calm = dw.simulate_sync_vs_async(num_workers=4, steps=300, straggler_every=10**9, slowdown=1.0, seed=0)
    assert calm["async_updates_per_unit"] == pytest.approx(calm["sync_updates_per_unit"], rel=0.1)


def test_shard_table(capsys):
    run = {
        "shards": [{"task": "ps:0", "rows": [0, 2]}, {"task": "ps:1", "rows": [2, 4]}],
        "words": ["the", "a", "cat", "dog"],
        "counts": np.array([6, 2, 1, 1]),
    }
    table = dw.shard_table(run)
    assert [r["token share"] for r in table] == pytest.approx([0.8, 0.2])
    assert dw.token_shares(run) == pytest.approx([0.8, 0.2])
    assert table[0]["first words"] == "the a" and table[1]["rows"] == "2-3"


def _said(capsys, ok, expect_ok, *words):
    out = capsys.readouterr().out
    assert ok is expect_ok, out
    assert out.startswith("Correct!" if expect_ok else "Not yet:"), out
    assert out.count("\n") == 1, "one line"
    for w in words:
        assert w in out, (w, out)


def test_check_tf_config(capsys):
    import os

    before = os.environ.get("TF_CONFIG")
    good = {"cluster": dict(dw.EXERCISE_CLUSTER), "task": {"type": "worker", "index": 1}}
    _said(capsys, dw.check_tf_config(good), True, "worker:1")
    _said(capsys, dw.check_tf_config(json.loads(json.dumps(good))), True)
    _said(capsys, dw.check_tf_config(None), False, "still None")
    _said(
        capsys,
        dw.check_tf_config(dict(good, task={"type": "worker", "index": 0})),
        False,
        "indices start at 0",
    )
    _said(capsys, dw.check_tf_config(dict(good, task={"type": "ps", "index": 1})), False, "'ps'")
    _said(capsys, dw.check_tf_config({"task": good["task"]}), False, "'cluster'")
    _said(
        capsys,
        dw.check_tf_config(
            dict(good, cluster={**dw.EXERCISE_CLUSTER, "worker": ["10.0.0.4:2222", "10.0.0.9:2222"]})
        ),
        False,
        "whole cluster",
    )
    _said(capsys, dw.check_tf_config({"cluster": {1, 2}, "task": good["task"]}), False)
    assert os.environ.get("TF_CONFIG") == before, "the check leaves the environment as it was"


def test_check_partitioner(capsys):
    import tensorflow as tf

    parts = tf.distribute.experimental.partitioners
    _said(capsys, dw.check_partitioner(parts.FixedShardsPartitioner(3), [4, 3, 3]), True, "4, 3 and 3")
    _said(capsys, dw.check_partitioner(None, None), False, "still None")
    _said(capsys, dw.check_partitioner(parts.FixedShardsPartitioner(2), [4, 3, 3]), False, "wants 3")
    _said(capsys, dw.check_partitioner(parts.FixedShardsPartitioner(3), None), False, "rows_per_shard")
    _said(capsys, dw.check_partitioner(parts.FixedShardsPartitioner(3), [3, 3, 4]), False, "first shard")
    _said(capsys, dw.check_partitioner(parts.FixedShardsPartitioner(3), [3, 3, 3]), False, "adds up to 9")
    _said(capsys, dw.check_partitioner(lambda shape: [3, 1], [4, 3, 3]), False, "TypeError")


def test_check_pairs_dataset_fn(capsys):
    import tensorflow as tf

    def good(t, c, b):
        return lambda: (
            tf.data.Dataset.from_tensor_slices((t, c)).shuffle(len(t)).repeat().batch(b, drop_remainder=True)
        )

    _said(capsys, dw.check_pairs_dataset_fn(good), True, "batches of exactly 4")
    _said(capsys, dw.check_pairs_dataset_fn(None), False, "still None")
    _said(capsys, dw.check_pairs_dataset_fn(lambda t, c, b: None), False, "returned None")
    _said(
        capsys,
        dw.check_pairs_dataset_fn(
            lambda t, c, b: (
                lambda: tf.data.Dataset.from_tensor_slices((t, c)).repeat().batch(b, drop_remainder=True)
            )
        ),
        False,
        "original order",
    )
    _said(
        capsys,
        dw.check_pairs_dataset_fn(
            lambda t, c, b: lambda: tf.data.Dataset.from_tensor_slices((t, c)).shuffle(10).batch(b)
        ),
        False,
        ".repeat()",
    )
    _said(
        capsys,
        dw.check_pairs_dataset_fn(
            lambda t, c, b: lambda: tf.data.Dataset.from_tensor_slices((t, c)).shuffle(10).batch(b).repeat()
        ),
        False,
        "drop_remainder",
    )
    _said(capsys, dw.check_pairs_dataset_fn(lambda t, c, b: lambda ctx: None), False, "must take none")
    zipped = lambda t, c, b: (
        lambda: (
            tf.data.Dataset.zip(
                (
                    tf.data.Dataset.from_tensor_slices(t).shuffle(10),  # noqa: E731
                    tf.data.Dataset.from_tensor_slices(c).shuffle(10),
                )
            )
            .repeat()
            .batch(b, drop_remainder=True)
        )
    )
    _said(capsys, dw.check_pairs_dataset_fn(zipped), False, "together")


def test_check_shard_token_shares(capsys):
    def good(counts, num_ps):
        counts = np.asarray(counts, dtype=float)
        return [float(b.sum() / counts.sum()) for b in np.array_split(counts, num_ps)]

    _said(capsys, dw.check_shard_token_shares(good), True, "[0.8, 0.2]")
    _said(capsys, dw.check_shard_token_shares(None), False, "still None")
    _said(
        capsys,
        dw.check_shard_token_shares(lambda c, n: [float(b.sum()) for b in np.array_split(c, n)]),
        False,
        "divide by the total",
    )
    _said(capsys, dw.check_shard_token_shares(lambda c, n: good(c[::-1], n)[::-1]), False, "extra rows")
    _said(capsys, dw.check_shard_token_shares(lambda c, n: [1.0]), False, "one per ps")
    _said(capsys, dw.check_shard_token_shares(lambda c, n: 1 / 0), False, "ZeroDivisionError")


EXPORTED_CHIEF_CODE = {
    "cluster_resolver",
    "make_strategy",
    "ShardedWord2Vec",
    "make_dataset_fn",
    "train_loop",
    "checkpoint_manager",
}


def _called_from(module, name: str) -> set[str]:
    """The names a module-level function calls, with those of the module's functions it calls
    (the named steps of train_chief), transitively."""
    import ast
    import inspect

    seen, todo, called = set(), [name], set()
    while todo:
        fn = todo.pop()
        seen.add(fn)
        for n in ast.walk(ast.parse(inspect.getsource(getattr(module, fn)))):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
                called.add(n.func.id)
                target = getattr(module, n.func.id, None)
                if inspect.isfunction(target) and target.__module__ == module.__name__:
                    todo += [] if n.func.id in seen else [n.func.id]
    return called


def test_chief_runs_the_exported_notebook_code():
    """train_chief (and its named steps) call the functions exported from the notebook's cells
    (one source), not copies."""
    import ast

    from workshop_sections.tools import export

    nb = ROOT / "workshop_sections/distributed_tensorflow/distributed_tensorflow.ipynb"
    block = export.blocks_of(nb)[0]
    exported = {n.name for n in ast.parse(block.text).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert EXPORTED_CHIEF_CODE | {"sgns_loss_and_grads"} <= exported
    called = _called_from(dw, "train_chief")
    assert EXPORTED_CHIEF_CODE | {"checkpoint_options", "finish_run"} <= called
    assert "sgns_loss_and_grads" in _called_from(dw, "run_sync")  # the synchronous run: the same loss


def test_importing_the_section_keeps_tensorflow_out():
    """The launcher, the Kubernetes helpers and the entry point (before it knows its role) import
    the section without TensorFlow: distributed_word2vec's tf and word2vec_fast are lazy."""
    code = (
        "import sys\n"
        "from workshop_sections.distributed_tensorflow import distributed_word2vec, k8s_client, launcher\n"
        "assert distributed_word2vec.parse_args(['--steps', '5']).steps == 5\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    # the first attribute read imports the real module
    from workshop_sections.word2vec_optimized import word2vec_fast

    assert dw.word2vec_fast.unigram_table is word2vec_fast.unigram_table


def test_resolver_from_a_tf_config_dict():
    spec = {"chief": ["h0:1"], "ps": ["h1:1", "h2:1"], "worker": ["h3:1"]}
    r = dw.cluster_resolver({"cluster": spec, "task": {"type": "ps", "index": 1}})
    assert (r.task_type, r.task_id, r.rpc_layer) == ("ps", 1, "grpc")
    assert r.cluster_spec().as_dict() == spec


class _InlineCoordinator:
    """schedule() runs the function at once, here: the loop's logic without a cluster."""

    def __init__(self):
        self.scheduled = 0

    def schedule(self, fn, args=()):
        self.scheduled += 1
        value = fn(*args)
        return type("RemoteValue", (), {"fetch": lambda self: value.numpy()})()

    def join(self):
        pass


def test_train_loop_logs_checkpoints_and_saves_the_run(tmp_path, monkeypatch):
    """The exported loop and finish_run on plain variables: steps, TensorBoard, checkpoints, files."""
    import tensorflow as tf

    monkeypatch.setattr(dw, "CHIEF_DEVICE", "/job:localhost/replica:0/task:0/device:CPU:0")  # no cluster here

    from workshop_sections.word2vec_optimized import word2vec_fast as w2v

    rng = np.random.default_rng(2)
    words = [w for a in rng.integers(0, 20, 2000) for w in (f"w{a}", f"w{a}x")]
    vocab, ids = w2v.build_vocab(words, min_count=1)
    s = dw.TrainSettings(
        steps=60,
        steps_per_call=10,
        log_every=20,
        checkpoint_every=40,
        batch_size=64,
        dim=8,
        window=1,
        subsample=0.0,
        out_dir=str(tmp_path / "run"),
    )
    model = dw.ShardedWord2Vec(
        len(vocab), s.dim, 3, w2v.unigram_table(vocab.counts, size=10_000), 0.1, s.steps
    )
    iterator = iter(dw.make_dataset_fn(ids, vocab.counts, s)())
    writer = tf.summary.create_file_writer(str(tmp_path / "run" / "logs"))
    manager = dw.checkpoint_manager(model, tmp_path / "run" / "checkpoints")
    lines, coordinator = [], _InlineCoordinator()
    history = dw.train_loop(coordinator, model, iterator, s, writer, manager, log=lines.append)
    writer.flush()
    assert [h[0] for h in history] == [20, 40, 60] and coordinator.scheduled == 6
    assert int(model.step.numpy()) == 60
    assert any("step 40/60 loss" in ln for ln in lines)
    assert [ln.split("ckpt-")[1] for ln in lines if "checkpoint" in ln] == ["40", "60"]
    assert list((tmp_path / "run" / "logs").glob("events.out.tfevents.*"))
    again = dw.train_loop(coordinator, model, iterator, s, writer, manager, log=lines.append)
    assert again == [], "a finished run does not train again"
    res = dw.finish_run(
        s,
        model,
        list(vocab.words),
        ids,
        vocab.counts,
        history,
        started=history[0][2] - 1.0,
        num_workers=1,
    )
    assert (
        res["steps"] == 60 and res["losses"][-1][0] == 60 and res["seconds_until_ready"] == pytest.approx(1.0)
    )
    assert res["steps_per_second"] > 0 and res["num_ps"] == 1
    run = dw.load_run(tmp_path / "run")
    assert run["vectors"].shape == (len(vocab), 8) and run["words"] == list(vocab.words)


# --------------------------------------------------------------------------- the real cluster
@pytest.mark.slow
def test_local_cluster_learns_and_shards_the_embedding(tmp_path):
    out = tmp_path / "run"
    result = launcher.run_local_cluster(num_ps=2, num_workers=2, steps=300, out_dir=out, echo=False, **SMALL)
    # it learns
    losses = [loss for _, loss in result["losses"]]
    assert result["steps"] == 300 and result["resumed_from"] == 0
    assert losses[-1] < 0.9 * losses[0], losses
    # the embedding really is split across both parameter servers, row blocks covering the vocabulary
    shards = result["shards"]
    assert [s["task"] for s in shards] == ["ps:0", "ps:1"]
    assert shards[0]["rows"][0] == 0 and shards[0]["rows"][1] == shards[1]["rows"][0]
    assert shards[1]["rows"][1] == result["vocab_size"]
    assert all(s["rows"][1] - s["rows"][0] > 0.4 * result["vocab_size"] for s in shards)
    # the chief logged the layout, the workers and ps their own lines, each with its prefix
    lines = result["lines"]
    assert any(line.startswith("[chief] chief: embedding shards ps:0 rows 0-") for line in lines)
    for name in ("ps0", "ps1", "worker0", "worker1"):
        assert any(line.startswith(f"[{name}] ") and "serving on 127.0.0.1:" in line for line in lines), name
    # what the run leaves behind: checkpoints, TensorBoard events, vocabulary and vectors
    assert (out / "checkpoints" / "checkpoint").exists()
    assert list((out / "logs").glob("events.out.tfevents.*"))
    run = dw.load_run(out)
    assert run["vectors"].shape == (result["vocab_size"], 64) and np.isfinite(run["vectors"]).all()
    emb = dw.embeddings_of(out)
    near = emb.nearby("good", k=5)["good"]
    assert len(near) == 5 and "good" not in [w for w, _ in near]
    assert (
        result["seconds_until_ready"] > 0
        and result["seconds_until_ready_from_launch"] >= result["seconds_until_ready"]
    )


@pytest.mark.slow
def test_training_finishes_when_a_worker_dies(tmp_path):
    args = launcher.chief_args(steps=400, out_dir=tmp_path / "run", **SMALL)
    with launcher.LocalCluster(num_ps=1, num_workers=2, chief_args=args, echo=False) as cluster:
        cluster.wait_for(r"step (1\d\d|[2-9]\d\d)/400", timeout=300)
        cluster.kill("worker1")
        killed_at = len(cluster.lines)
        assert cluster.running()["worker1"] is False
        assert cluster.wait("chief", timeout=300) == 0, cluster.tail(40)
        result = cluster.result()
        assert cluster.running()["worker1"] is False  # nobody restarted it: worker0 did the rest
    assert result["steps"] == 400
    after = [line for _, n, line in cluster.lines[killed_at:] if n == "chief" and "loss" in line]
    assert len(after) >= 3, "the chief kept reporting steps after the worker died"
    assert result["last_loss"] < result["first_loss"]
    assert not any(cluster.running().values())


@pytest.mark.slow
def test_restarted_chief_resumes_from_the_checkpoint(tmp_path):
    args = launcher.chief_args(steps=300, out_dir=tmp_path / "run", **SMALL)
    with launcher.LocalCluster(num_ps=1, num_workers=1, chief_args=args, echo=False) as cluster:
        m = cluster.wait_for(r"checkpoint .*ckpt-(\d+)", timeout=300)
        saved = int(m.group(1))
        first_losses = [
            float(x)
            for x in [
                line.split("loss ")[1].split()[0]
                for _, n, line in cluster.lines
                if n == "chief" and " loss " in line
            ]
        ]
        cluster.kill("chief")  # a crash: no clean shutdown
        mark = len(cluster.lines)
        cluster.start_task("chief")  # ps and workers keep running, as on Kubernetes
        m = cluster.wait_for(r"resumed from .*ckpt-(\d+) at step (\d+)", timeout=300, after=mark)
        assert int(m.group(1)) >= saved and int(m.group(2)) == int(m.group(1))
        assert cluster.wait("chief", timeout=300) == 0, cluster.tail(40)
        result = cluster.result()
    assert result["resumed_from"] >= saved > 0
    assert result["steps"] == 300
    # the step counter continued: the first log line after the restart is past the checkpoint
    assert result["losses"][0][0] > result["resumed_from"]
    # and the model did not start over: its first loss is below the very first loss of run one
    assert result["first_loss"] < first_losses[0]


@pytest.mark.slow
def test_launcher_stops_every_task_on_ctrl_c(tmp_path):
    # started with SIGINT ignored, as a background job of a non-interactive shell is: the
    # launcher must take Ctrl-C back (this failed in a CI run started with `... &`); Ctrl-C once
    # the tasks are up (the chief may still start)
    code, rest, pids = interrupt_launcher(
        local_cluster_command(tmp_path / "run", steps=100000),
        ready=lambda line: line.startswith("[worker0] worker 0 serving"),
        interrupt=lambda proc, pids: proc.send_signal(signal.SIGINT),
        cwd=ROOT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert code == 130, rest
    assert "all tasks stopped" in rest
    time.sleep(0.5)
    assert not [n for n, pid in pids.items() if alive(int(pid))], "orphaned tasks after Ctrl-C"


def test_chief_with_a_bad_corpus_fails_clearly(tmp_path, monkeypatch, capsys):
    """The chief checks its corpus before it connects to the cluster: exit code 2 and a message."""
    spec = launcher.cluster_spec(1, 1)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": spec, "task": {"type": "chief", "index": 0}}))
    code = dw.main(["--corpus", str(tmp_path / "nope.txt"), "--out-dir", str(tmp_path / "run")])
    assert code == 2
    assert "neither a known corpus" in capsys.readouterr().err


def test_run_local_cluster_raises_with_the_chief_log(monkeypatch):
    """A failing chief becomes a LocalClusterError with the chief's last lines (no real processes)."""

    class FakeCluster:
        def __init__(self, **kw):
            self.spec = {}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stopped = True

        def wait(self, name, timeout):
            return 2

        def tail(self, n, name=None):
            return "[chief] error: Corpus 'x' is neither a known corpus"

    monkeypatch.setattr(launcher, "LocalCluster", FakeCluster)
    with pytest.raises(launcher.LocalClusterError, match="(?s)exited with code 2.*neither a known corpus"):
        launcher.run_local_cluster(steps=1, out_dir="/tmp/unused", echo=False)


def test_all_but_the_top_removes_the_common_directions():
    rng = np.random.default_rng(0)
    common = rng.normal(size=8)
    v = rng.normal(size=(300, 8)) * 0.1 + 5 * common  # every row dominated by one direction
    out = dw.word2vec_fast.all_but_the_top(v, components=1, fit_rows=300)  # shared with the cnn section
    assert abs(np.mean(out, axis=0)).max() < 1e-5
    n = out / np.linalg.norm(out, axis=1, keepdims=True)
    assert abs(float((n @ n.T).mean())) < 0.1
    raw = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert float((raw @ raw.T).mean()) > 0.9


def test_fresh_only_deletes_run_folders(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    launcher._remove_run(run)
    assert not run.exists()
    other = tmp_path / "notes"
    other.mkdir()
    (other / "important.txt").write_text("keep me")
    with pytest.raises(launcher.LocalClusterError, match="not a run folder"):
        launcher._remove_run(other)
    assert (other / "important.txt").exists()


class _SlowPipe:
    """A stream whose writes let other threads run, as a write into a full pipe does."""

    def __init__(self):
        self.parts = []

    def write(self, text):
        time.sleep(0)
        self.parts.append(text)
        return len(text)

    def flush(self):
        time.sleep(0)


def _merged_lines(write_line) -> list[str]:
    """4 threads x 100 lines through ``write_line(line, stream)``: the lines that came out broken."""
    stream = _SlowPipe()
    threads = [
        threading.Thread(target=lambda n=n: [write_line(f"[task{n}] line {k}", stream) for k in range(100)])
        for n in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = "".join(stream.parts).splitlines()
    return [ln for ln in lines if not re.fullmatch(r"\[task\d\] line \d+", ln)]


def test_launcher_lines_never_merge_across_threads():
    """The launcher's merged output is written a whole line at a time (``launcher.say``): the tasks'
    pump threads print at once, and print() writes a text and its newline apart, so with a slow
    pipe two lines could merge (the control below shows print() doing it)."""
    assert _merged_lines(lambda line, stream: print(line, file=stream, flush=True))  # the old way
    assert _merged_lines(launcher.say) == []
