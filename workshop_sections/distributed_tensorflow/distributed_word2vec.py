"""word2vec on a parameter-server cluster: one entry point for every task of the job.

    python -m workshop_sections.distributed_tensorflow.distributed_word2vec [--steps N ...]

Every process of the job runs this same command; its role comes from ``TF_CONFIG``::

    {"cluster": {"chief": ["host:port"], "ps": [...], "worker": [...]},
     "task": {"type": "worker", "index": 1}}

- ``ps`` and ``worker`` tasks start a :class:`tf.distribute.Server` and wait (``join``):
  they hold variables (ps) or run the functions the chief sends them (worker).
- the ``chief`` builds the vocabulary, creates a :class:`tf.distribute.ParameterServerStrategy`
  whose ``variable_partitioner`` splits the embedding and the output weights row-wise across the
  parameter servers, and drives the training with a :class:`ClusterCoordinator`: every worker
  reads its own dataset and runs skip-gram negative-sampling steps asynchronously; the updates
  go straight to the rows on the parameter servers. The chief writes TensorBoard logs, saves a
  checkpoint regularly, and resumes from the last one when it is restarted.

On Kubernetes the plain manifests do not set ``TF_CONFIG``: the pod builds it at start-up from
its ordinal (``tfw-worker-3`` is worker 3), see :func:`tf_config_from_pod`. A Kubeflow TFJob sets
``TF_CONFIG`` itself. Locally, :mod:`.launcher` starts the processes on free 127.0.0.1 ports.

The vocabulary and the input pipeline come from
:mod:`workshop_sections.word2vec_optimized.word2vec_fast` (``build_vocab``, ``make_dataset``,
``unigram_table``); the sharded model, the loss and the step function live here.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SECTION = "distributed_tensorflow"
DEFAULT_PORT = 2222
ROLES = ("chief", "ps", "worker")
CHIEF_DEVICE = "/job:chief/replica:0/task:0/device:CPU:0"
RESULT_PREFIX = "RESULT "


# TF_CONFIG parsing, the chief's wait for its peers and the run-folder marker: plumbing in .cluster
from . import cluster as cluster_lib
from .cluster import ClusterConfigError, PeersNotReadyError  # noqa: F401  (raised by the functions below)


# --------------------------------------------------------------------------- TF_CONFIG
def validate_tf_config(conf: dict) -> dict:
    """Check a TF_CONFIG dict for a parameter-server job; return it (normalised) or raise
    ClusterConfigError (one line quoting the offending part). Every form TensorFlow's
    TFConfigClusterResolver accepts works: see :func:`.cluster.validate_tf_config`."""
    return cluster_lib.validate_tf_config(conf)


def pod_ordinal(pod_name: str) -> int:
    """The ordinal of a StatefulSet pod (``tfw-worker-3`` -> 3)."""
    m = re.fullmatch(r".*-(\d+)", pod_name or "")
    if not m:
        raise ClusterConfigError(
            f"Cannot read a StatefulSet ordinal from the pod name {pod_name!r} (expected NAME-<number>). "
            "Set POD_NAME from the downward API (fieldRef metadata.name)."
        )
    return int(m.group(1))


def tf_config_from_pod(
    role: str,
    pod_name: str,
    num_ps: int,
    num_workers: int,
    port: int = DEFAULT_PORT,
    ps_service: str = "tfw-ps",
    worker_service: str = "tfw-worker",
    chief_service: str = "tfw-chief",
) -> dict:
    """The TF_CONFIG of a pod of the plain Kubernetes variant.

    ps and workers are StatefulSets whose name equals their headless Service, so pod ``i`` is
    reachable as ``<name>-<i>.<name>:<port>``; the chief is a Job behind the headless Service
    ``chief_service``. The task index is the pod's ordinal (0 for the chief).
    """
    role = (role or "").lower()
    if role not in ROLES:
        raise ClusterConfigError(f"TFW_ROLE={role!r} is not one of {', '.join(ROLES)}.")
    num_ps, num_workers, port = int(num_ps), int(num_workers), int(port)
    if num_ps < 1 or num_workers < 1:
        raise ClusterConfigError(f"Need at least 1 ps and 1 worker, got TFW_NUM_PS={num_ps}, TFW_NUM_WORKERS={num_workers}.")
    cluster = {
        "chief": [f"{chief_service}:{port}"],
        "ps": [f"{ps_service}-{i}.{ps_service}:{port}" for i in range(num_ps)],
        "worker": [f"{worker_service}-{i}.{worker_service}:{port}" for i in range(num_workers)],
    }
    index = 0 if role == "chief" else pod_ordinal(pod_name)
    return validate_tf_config({"cluster": cluster, "task": {"type": role, "index": index}})


def tf_config_from_env(environ=None) -> dict:
    """TF_CONFIG from the environment, or built from the pod (TFW_ROLE, POD_NAME, TFW_NUM_PS, ...)."""
    env = os.environ if environ is None else environ
    raw = env.get("TF_CONFIG", "").strip()
    if raw:
        return cluster_lib.parse_tf_config(raw)
    if env.get("TFW_ROLE"):
        missing = [k for k in ("TFW_NUM_PS", "TFW_NUM_WORKERS") if not env.get(k)]
        if env["TFW_ROLE"].lower() != "chief" and not env.get("POD_NAME"):
            missing.append("POD_NAME")
        if missing:
            raise ClusterConfigError(f"TFW_ROLE is set but {', '.join(missing)} is missing: the pod cannot build TF_CONFIG.")
        return tf_config_from_pod(
            env["TFW_ROLE"],
            env.get("POD_NAME", ""),
            env["TFW_NUM_PS"],
            env["TFW_NUM_WORKERS"],
            port=env.get("TFW_PORT", DEFAULT_PORT),
            ps_service=env.get("TFW_PS_SERVICE", "tfw-ps"),
            worker_service=env.get("TFW_WORKER_SERVICE", "tfw-worker"),
            chief_service=env.get("TFW_CHIEF_SERVICE", "tfw-chief"),
        )
    raise ClusterConfigError(
        "Neither TF_CONFIG nor TFW_ROLE is set, so this process does not know its role. "
        "Run a local cluster with `make distributed-local` (or launcher.run_local_cluster()), "
        "or set TF_CONFIG as in the module docstring."
    )


# --------------------------------------------------------------------------- settings
@dataclass
class TrainSettings:
    """What the chief trains (command-line flags of the entry point)."""

    corpus: str = "movie_reviews"
    max_words: int | None = 300_000
    min_count: int = 5
    max_vocab: int | None = 20_000
    dim: int = 64
    window: int = 5
    negatives: int = 5
    batch_size: int = 1024
    subsample: float = 1e-3
    learning_rate: float = 0.05
    steps: int = 2000
    steps_per_call: int = 10
    log_every: int = 100
    checkpoint_every: int = 500
    seed: int = 42
    out_dir: str = "artifacts/distributed_tensorflow/run"
    startup_deadline: float = cluster_lib.DEFAULT_STARTUP_DEADLINE  # s the chief waits for every ps/worker (0: no limit)

    def validate(self) -> "TrainSettings":
        checks = [
            (self.steps >= 1, f"--steps must be at least 1, got {self.steps}"),
            (self.batch_size >= 1, f"--batch-size must be at least 1, got {self.batch_size}"),
            (self.dim >= 1, f"--dim must be at least 1, got {self.dim}"),
            (self.negatives >= 1, f"--negatives must be at least 1, got {self.negatives}"),
            (self.steps_per_call >= 1, f"--steps-per-call must be at least 1, got {self.steps_per_call}"),
            (self.log_every >= 1, f"--log-every must be at least 1, got {self.log_every}"),
            (self.checkpoint_every >= 1, f"--checkpoint-every must be at least 1, got {self.checkpoint_every}"),
            (self.learning_rate > 0, f"--learning-rate must be positive, got {self.learning_rate}"),
            (self.startup_deadline >= 0, f"--startup-deadline must be 0 (no limit) or more seconds, got {self.startup_deadline}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg + ".")
        return self


def parse_args(argv=None) -> TrainSettings:
    d = TrainSettings()
    p = argparse.ArgumentParser(
        prog="python -m workshop_sections.distributed_tensorflow.distributed_word2vec",
        description="word2vec on a parameter-server cluster (role from TF_CONFIG; ps/worker ignore the flags).",
    )
    p.add_argument("--corpus", default=os.environ.get("TFW_CORPUS", d.corpus), help="corpus name or text file path")
    p.add_argument("--max-words", type=int, default=d.max_words, help="use the first N words (0 = all)")
    p.add_argument("--min-count", type=int, default=d.min_count)
    p.add_argument("--max-vocab", type=int, default=d.max_vocab, help="keep the N most frequent words (0 = all)")
    p.add_argument("--dim", type=int, default=d.dim)
    p.add_argument("--window", type=int, default=d.window)
    p.add_argument("--negatives", type=int, default=d.negatives)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--subsample", type=float, default=d.subsample)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--steps", type=int, default=d.steps,
                   help="total training steps (batches) across restarts, rounded up to whole --steps-per-call")
    p.add_argument("--steps-per-call", type=int, default=d.steps_per_call, help="steps per function sent to a worker")
    p.add_argument("--log-every", type=int, default=d.log_every)
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out-dir", default=os.environ.get("TFW_OUT_DIR", d.out_dir), help="checkpoints, logs, embeddings")
    p.add_argument("--startup-deadline", type=float,
                   default=float(os.environ.get("TFW_STARTUP_DEADLINE") or d.startup_deadline),
                   help="seconds the chief waits for every ps and worker to answer before it gives up "
                        f"naming the missing ones (0 = wait forever; default {d.startup_deadline:g})")
    a = p.parse_args(argv)
    return TrainSettings(
        corpus=a.corpus,
        max_words=a.max_words or None,
        min_count=a.min_count,
        max_vocab=a.max_vocab or None,
        dim=a.dim,
        window=a.window,
        negatives=a.negatives,
        batch_size=a.batch_size,
        subsample=a.subsample,
        learning_rate=a.learning_rate,
        steps=a.steps,
        steps_per_call=a.steps_per_call,
        log_every=a.log_every,
        checkpoint_every=a.checkpoint_every,
        seed=a.seed,
        out_dir=a.out_dir,
        startup_deadline=a.startup_deadline,
    ).validate()


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- ps / worker
def run_server(conf: dict) -> None:
    """Start this task's gRPC server and serve forever (ps and worker tasks)."""
    import tensorflow as tf

    task = conf["task"]
    cluster = tf.train.ClusterSpec(conf["cluster"])
    # a worker may run several functions at once (one per closure thread); ps only serve variables
    server = tf.distribute.Server(
        cluster, job_name=task["type"], task_index=task["index"], protocol="grpc", start=True
    )
    log(f"{task['type']} {task['index']} serving on {conf['cluster'][task['type']][task['index']]} ({server.target})")
    server.join()


# --------------------------------------------------------------------------- data
def _w2v():
    try:
        from workshop_sections.word2vec_optimized import word2vec_fast
    except ImportError as e:  # pragma: no cover - only when the section is missing
        raise ImportError(
            "The distributed job uses the word2vec_optimized section's pipeline "
            f"(workshop_sections.word2vec_optimized.word2vec_fast), which failed to import: {e}"
        ) from e
    return word2vec_fast


def vocab_words(vocab) -> list[str]:
    """The words of a word2vec_fast Vocab, in id order."""
    for attr in ("words", "itos", "index_to_word"):
        if hasattr(vocab, attr):
            return list(getattr(vocab, attr))
    return list(vocab)


def vocab_counts(vocab):
    import numpy as np

    return np.asarray(vocab.counts, dtype=np.int64)


def prepare_corpus(s: TrainSettings):
    """Words -> (vocab, ids, counts) with word2vec_optimized's ``build_vocab``."""
    from workshop_sections import data

    w2v = _w2v()
    words = data.read_words(s.corpus, max_words=s.max_words)
    vocab, ids = w2v.build_vocab(words, min_count=s.min_count, max_size=s.max_vocab)
    return vocab, ids, vocab_counts(vocab)


# --------------------------------------------------------------------------- model
def row_scale(ids, clip: float = 10.0):
    """Per-example factor min(1, clip / how often its row occurs in the batch): the summed update
    of a very frequent word stays bounded (large-batch word2vec diverges without it)."""
    import tensorflow as tf

    _, idx, cnt = tf.unique_with_counts(ids)
    return tf.minimum(1.0, clip / tf.cast(tf.gather(cnt, idx), tf.float32))


def _uniform_init(shape, dtype, scale, seed, partition_shape=None, partition_offset=None, **_):
    """Per-shard initialiser: each parameter server creates its own rows (no full copy on the chief)."""
    import tensorflow as tf

    shape = partition_shape if partition_shape is not None else shape
    offset = 0 if partition_offset is None else int(partition_offset[0])
    return tf.random.stateless_uniform(shape, seed=[seed, offset], minval=-scale, maxval=scale, dtype=dtype)


def _zeros_init(shape, dtype, partition_shape=None, **_):
    import tensorflow as tf

    return tf.zeros(partition_shape if partition_shape is not None else shape, dtype)


def sgns_loss_and_grads(t, c):
    """Skip-gram negative-sampling loss of a batch and its gradients, by hand.

    ``t``: [B, D] target (input) vectors; ``c``: [B, 1+k, D] output vectors of the true context
    (column 0) and of k negatives. Loss per example: ``-log s(t.c0) - sum_j log s(-t.cj)``.
    Returns (mean loss over the batch, dL/dt [B, D], dL/dc [B, 1+k, D]) where L is the *summed*
    loss: plain word2vec SGD gives every example its full update.
    """
    import tensorflow as tf

    batch, cols = tf.shape(c)[0], tf.shape(c)[1]
    logits = tf.einsum("bd,bkd->bk", t, c)
    labels = tf.concat([tf.ones([batch, 1]), tf.zeros([batch, cols - 1])], axis=1)
    loss = tf.reduce_mean(tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), axis=1))
    g = tf.sigmoid(logits) - labels  # d loss / d logits
    grad_t = tf.einsum("bk,bkd->bd", g, c)
    grad_c = tf.einsum("bk,bd->bkd", g, t)
    return loss, grad_t, grad_c


class ShardedWord2Vec:
    """Skip-gram with negative sampling whose two tables are sharded across the parameter servers.

    ``embedding`` (the input vectors, the ones we keep) and ``output_weights`` (the context
    vectors) have ``vocab_size`` rows; created under a ParameterServerStrategy with a
    ``variable_partitioner`` they become :class:`ShardedVariable` s, one row block per ps.
    ``train_steps`` runs on a worker: it gathers only the rows a batch needs, computes the
    gradient of the sampled logistic loss by hand and sends sparse row updates
    (``scatter_sub``) back to the shards: plain asynchronous SGD, as in the original word2vec.
    """

    def __init__(self, vocab_size: int, dim: int, negatives: int, table, learning_rate: float,
                 total_steps: int, seed: int = 42, clip_count: float = 10.0):
        import tensorflow as tf

        self.vocab_size, self.dim, self.negatives = int(vocab_size), int(dim), int(negatives)
        self.embedding = tf.Variable(
            functools.partial(_uniform_init, shape=[self.vocab_size, self.dim], dtype=tf.float32,
                              scale=0.5 / self.dim, seed=seed),
            shape=[self.vocab_size, self.dim], dtype=tf.float32, name="embedding",
        )
        self.output_weights = tf.Variable(
            functools.partial(_zeros_init, shape=[self.vocab_size, self.dim], dtype=tf.float32),
            shape=[self.vocab_size, self.dim], dtype=tf.float32, name="output_weights",
        )
        self.step = tf.Variable(0, dtype=tf.int64, name="step", trainable=False)
        self.table = tf.constant(table, dtype=tf.int32)
        self.learning_rate = float(learning_rate)
        self.total_steps = int(total_steps)
        self.clip_count = float(clip_count)

    def _one_step(self, targets, contexts):
        import tensorflow as tf

        targets = tf.cast(tf.reshape(targets, [-1]), tf.int32)
        contexts = tf.cast(tf.reshape(contexts, [-1]), tf.int32)
        batch = tf.shape(targets)[0]
        k = self.negatives
        # per-example negatives drawn from the unigram^0.75 table
        pick = tf.random.uniform([batch, k], maxval=tf.shape(self.table)[0], dtype=tf.int32)
        negs = tf.gather(self.table, pick)
        ids = tf.concat([contexts[:, None], negs], axis=1)  # [B, 1+k]
        t = tf.nn.embedding_lookup(self.embedding, targets)  # [B, D] rows fetched from the ps
        c = tf.nn.embedding_lookup(self.output_weights, ids)  # [B, 1+k, D]
        loss, grad_t, grad_c = sgns_loss_and_grads(t, c)
        progress = tf.cast(self.step.read_value(), tf.float32) / float(self.total_steps)
        lr = self.learning_rate * tf.maximum(1e-4, 1.0 - progress)
        # a frequent word appears many times in a batch: its summed update is scaled down
        scale_t = row_scale(targets, self.clip_count)
        flat_ids = tf.reshape(ids, [-1])
        scale_c = row_scale(flat_ids, self.clip_count)
        self.embedding.scatter_sub(tf.IndexedSlices(lr * scale_t[:, None] * grad_t, targets))
        self.output_weights.scatter_sub(
            tf.IndexedSlices(lr * scale_c[:, None] * tf.reshape(grad_c, [-1, self.dim]), flat_ids)
        )
        self.step.assign_add(1)
        return loss

    def make_train_fn(self, steps_per_call: int):
        """A tf.function the coordinator schedules on a worker: ``steps_per_call`` batches."""
        import tensorflow as tf

        n = int(steps_per_call)

        @tf.function
        def train_steps(iterator):
            total = tf.constant(0.0)
            for _ in tf.range(n):
                targets, contexts = next(iterator)
                total += self._one_step(targets, contexts)
            return total / n

        return train_steps

    def shard_layout(self) -> list[dict]:
        """Which parameter server holds which rows of the embedding."""
        return shard_layout(self.embedding)


def shard_layout(var) -> list[dict]:
    """[{'device', 'task', 'rows': [start, stop]}] for a ShardedVariable (one entry for a plain Variable)."""
    shards = getattr(var, "variables", None) or [var]
    out, start = [], 0
    for v in shards:
        n = int(v.shape[0])
        dev = v.device
        m = re.search(r"/job:(\w+)/replica:\d+/task:(\d+)", dev)
        out.append({"device": dev, "task": f"{m.group(1)}:{m.group(2)}" if m else dev, "rows": [start, start + n]})
        start += n
    return out


# --------------------------------------------------------------------------- chief
def _checkpoint_options():
    import tensorflow as tf

    # all checkpoint IO on the chief: only the chief needs the volume (not every ps)
    return tf.train.CheckpointOptions(experimental_io_device=CHIEF_DEVICE)


def train_chief(conf: dict, s: TrainSettings) -> dict:
    """The coordinator: sharded variables, per-worker datasets, async steps, checkpoints, logs."""
    import logging

    import numpy as np
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)  # retracing notes of the checkpoint saver
    t_start = time.time()
    out = Path(s.out_dir)
    ckpt_dir, log_dir = out / "checkpoints", out / "logs"
    cluster_lib.mark_run_folder(out)  # mkdir + marker: `--fresh` may clear it at every stage of the run
    w2v = _w2v()

    vocab, ids, counts = prepare_corpus(s)
    words = vocab_words(vocab)
    vocab_file = out / "vocab.txt"
    if vocab_file.exists() and tf.train.latest_checkpoint(str(ckpt_dir)):
        saved = vocab_file.read_text(encoding="utf-8").split("\n")[:-1]
        if saved != words:
            raise ClusterConfigError(
                f"{out} holds a checkpoint for a different vocabulary ({len(saved)} words, now {len(words)}). "
                "Use the same --corpus/--max-words/--min-count/--max-vocab to resume, or a new --out-dir."
            )
    vocab_file.write_text("".join(w + "\n" for w in words), encoding="utf-8")
    np.save(out / "counts.npy", np.asarray(counts, dtype=np.int64))
    table = np.asarray(w2v.unigram_table(counts), dtype=np.int32)
    log(f"chief: corpus {s.corpus}: {len(ids):,} words, vocabulary {len(words):,}")

    # every ps and worker must accept a connection first: TensorFlow would otherwise wait
    # silently for a missing peer (progress lines, then PeersNotReadyError at the deadline)
    cluster_lib.wait_for_peers(conf["cluster"], deadline=s.startup_deadline, log=log)
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(conf["cluster"]), task_type="chief", task_id=0, rpc_layer="grpc"
    )
    num_ps = len(conf["cluster"]["ps"])
    strategy = tf.distribute.ParameterServerStrategy(
        resolver, variable_partitioner=tf.distribute.experimental.partitioners.FixedShardsPartitioner(num_ps)
    )
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    with strategy.scope():
        model = ShardedWord2Vec(len(words), s.dim, s.negatives, table, s.learning_rate, s.steps, seed=s.seed)
    layout = model.shard_layout()
    log("chief: embedding shards " + ", ".join(f"{d['task']} rows {d['rows'][0]}-{d['rows'][1]}" for d in layout))

    ckpt = tf.train.Checkpoint(step=model.step, embedding=model.embedding, output_weights=model.output_weights)
    manager = tf.train.CheckpointManager(ckpt, str(ckpt_dir), max_to_keep=3)
    resumed_from = 0
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint, options=_checkpoint_options()).assert_existing_objects_matched()
        resumed_from = int(model.step.numpy())
        log(f"chief: resumed from {manager.latest_checkpoint} at step {resumed_from}")

    ids_arr = np.asarray(ids, dtype=np.int32)

    def dataset_fn():  # no argument: ParameterServerStrategy runs it once on every worker
        # the seed is drawn on the worker (unseeded op: a fresh seed per kernel instance), so
        # each worker reads the corpus in its own order: asynchronous SGD, not duplicated work
        seed = tf.random.uniform([], maxval=2**31 - 1, dtype=tf.int64)
        ds = w2v.make_dataset(ids_arr, counts, window=s.window, batch_size=s.batch_size,
                              subsample=s.subsample, seed=seed, epochs=1_000_000)
        return ds

    per_worker_ds = coordinator.create_per_worker_dataset(dataset_fn)
    per_worker_iter = iter(per_worker_ds)
    train_fn = model.make_train_fn(s.steps_per_call)
    writer = tf.summary.create_file_writer(str(log_dir))

    history: list[tuple[int, float]] = []
    step = resumed_from
    t_ready = None
    t_train, measure_from = time.time(), step
    next_ckpt = (step // s.checkpoint_every + 1) * s.checkpoint_every
    while step < s.steps:
        chunk_steps = min(s.log_every, s.steps - step)
        calls = max(1, -(-chunk_steps // s.steps_per_call))
        t0 = time.time()
        results = [coordinator.schedule(train_fn, args=(per_worker_iter,)) for _ in range(calls)]
        coordinator.join()
        losses = [float(r.fetch()) for r in results]
        step = int(model.step.numpy())
        if t_ready is None:  # the first chunk includes start-up: speed is measured after it
            t_ready = time.time() - t_start
            log(f"chief: cluster ready, first steps done {t_ready:.1f} s after start")
            t_train, measure_from = time.time(), step
        dt = max(time.time() - t0, 1e-9)
        loss = float(np.mean(losses))
        history.append((step, loss))
        with writer.as_default():
            tf.summary.scalar("loss", loss, step=step)
            tf.summary.scalar("steps_per_second", (calls * s.steps_per_call) / dt, step=step)
        log(f"chief: step {step}/{s.steps} loss {loss:.4f} ({calls * s.steps_per_call / dt:.1f} steps/s)")
        if step >= next_ckpt or step >= s.steps:
            path = manager.save(checkpoint_number=step, options=_checkpoint_options())
            log(f"chief: checkpoint {path}")
            next_ckpt = (step // s.checkpoint_every + 1) * s.checkpoint_every
    writer.flush()
    elapsed = max(time.time() - t_train, 1e-9)
    steps_done = step - measure_from

    vectors = model.embedding.numpy() if not hasattr(model.embedding, "variables") else np.concatenate(
        [v.numpy() for v in model.embedding.variables], axis=0
    )
    np.save(out / "embeddings.npy", vectors)
    result = {
        "steps": step,
        "resumed_from": resumed_from,
        "num_ps": num_ps,
        "num_workers": len(conf["cluster"]["worker"]),
        "vocab_size": len(words),
        "corpus_words": int(len(ids)),
        "batch_size": s.batch_size,
        "losses": history,
        "first_loss": history[0][1] if history else None,
        "last_loss": history[-1][1] if history else None,
        "seconds_until_ready": t_ready,
        "train_seconds": elapsed,
        "steps_per_second": steps_done / elapsed if steps_done > 0 else None,
        "pairs_per_second": steps_done * s.batch_size / elapsed if steps_done > 0 else None,
        "shards": layout,
        "out_dir": str(out),
        "settings": asdict(s),
    }
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    log(RESULT_PREFIX + json.dumps(result))
    return result


# --------------------------------------------------------------------------- reading a run
def load_run(out_dir) -> dict:
    """result.json + vocabulary + embeddings of a finished run (for the notebook)."""
    import numpy as np

    out = Path(out_dir)
    if not (out / "result.json").exists():
        raise FileNotFoundError(f"{out} holds no finished run (no result.json): run the cluster first.")
    res = json.loads((out / "result.json").read_text())
    res["words"] = (out / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    res["vectors"] = np.load(out / "embeddings.npy")
    res["counts"] = np.load(out / "counts.npy") if (out / "counts.npy").exists() else None
    return res


def embeddings_of(out_dir, center: bool = False, components: int = 2):
    """word2vec_fast.Embeddings of a finished run (``.nearby(...)`` for nearest neighbours).

    ``center=True`` post-processes the vectors with ``word2vec_fast.all_but_the_top``. After a short run
    every vector still shares a few large common directions (all cosine similarities near 1);
    removing them shows the neighbourhoods more clearly."""
    run = load_run(out_dir)
    vectors = _w2v().all_but_the_top(run["vectors"], components) if center else run["vectors"]
    return _w2v().Embeddings(run["words"], vectors, run.get("counts"))


def mean_cosine(emb, n: int = 500) -> float:
    """Mean cosine similarity among the ``n`` most frequent words (near 1: one common direction)."""
    m = emb.normalized[:n]
    return float((m @ m.T).mean())


# --------------------------------------------------------------------------- for the notebook
def shard_table(run: dict) -> list[dict]:
    """Per parameter server: its rows, how many words, the first words, and the share of the
    corpus' tokens whose rows it holds (rows are sorted by frequency: ps 0 gets the hot words)."""
    import numpy as np

    counts = run.get("counts")
    total = float(np.sum(counts)) if counts is not None else None
    out = []
    for sh in run["shards"]:
        a, b = sh["rows"]
        out.append({
            "task": sh["task"], "rows": f"{a}-{b - 1}", "words": b - a,
            "first words": " ".join(run["words"][a:min(b, a + 5)]) if "words" in run else "",
            "token share": float(np.sum(counts[a:b]) / total) if total else None,
        })
    return out


def token_shares(run: dict) -> list[float]:
    """The share of the corpus' tokens whose embedding rows each ps holds (the reference answer)."""
    return [row["token share"] for row in shard_table(run)]


def check_shard_load(answer, run: dict) -> bool:
    """Exercise check: ``answer`` is a list of one token share per parameter server."""
    import numpy as np

    expected = token_shares(run)
    if answer is None:
        print("Not yet: `shares` is None. Build a list with one number per parameter server.")
        return False
    try:
        got = np.asarray(list(answer), dtype=float)
    except (TypeError, ValueError):
        print(f"Not yet: expected a list of {len(expected)} numbers, got {type(answer).__name__}.")
        return False
    if got.shape != (len(expected),):
        print(f"Not yet: expected {len(expected)} numbers (one per ps), got shape {got.shape}.")
        return False
    if not np.allclose(got, expected, atol=1e-3):
        hint = " (they should add up to 1)" if abs(got.sum() - 1) > 1e-3 else ""
        print(f"Not yet: expected {np.round(expected, 3).tolist()}, got {np.round(got, 3).tolist()}{hint}.")
        return False
    print(f"Correct! ps:0 holds {expected[0]:.0%} of the corpus' tokens: the most frequent words "
          "share one server, so it serves most of the row reads and updates.")
    return True


def simulate_sync_vs_async(num_workers: int = 4, steps: int = 200, straggler_every: int = 10,
                           slowdown: float = 4.0, seed: int = 0) -> dict:
    """Steps per second of synchronous vs asynchronous training when a worker is sometimes slow.

    Each worker step takes 1 time unit (times a little noise); now and then a worker straggles
    (``slowdown`` x). Synchronous: every step waits for the slowest worker. Asynchronous: each
    worker goes at its own pace. A pure-Python model of the trade-off, no TensorFlow.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    t = rng.uniform(0.9, 1.1, size=(steps, num_workers))
    slow = rng.random((steps, num_workers)) < 1.0 / straggler_every
    t = np.where(slow, t * slowdown, t)
    sync_time = float(t.max(axis=1).sum())  # a barrier per step
    async_time = float(t.sum(axis=0).max())  # every worker runs its own steps; the job ends with the last
    return {
        "sync_updates_per_unit": steps * num_workers / sync_time,
        "async_updates_per_unit": steps * num_workers / async_time,
        "sync_time": sync_time, "async_time": async_time,
        "per_step_sync": t.max(axis=1), "worker_times": t,
    }


def run_sync(s: TrainSettings, steps: int | None = None) -> dict:
    """Synchronous data-parallel word2vec with MultiWorkerMirroredStrategy and a custom loop.

    Without TF_CONFIG the strategy has one worker (this process) and its local devices; with
    TF_CONFIG it would all-reduce across machines. Every replica computes the gradient of its
    part of the global batch, the gradients are summed (``all_reduce``) and every copy of the
    variables applies the same update: deterministic given the seed (same data order, stateless
    negatives), so two runs give the same numbers. Returns losses, speed and the vectors.
    """
    import tensorflow as tf

    w2v = _w2v()
    steps = int(steps or s.steps)
    vocab, ids, counts = prepare_corpus(s)
    words = vocab_words(vocab)
    table = tf.constant(w2v.unigram_table(counts), tf.int32)
    V, D, K = len(words), s.dim, s.negatives
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    replicas = strategy.num_replicas_in_sync
    with strategy.scope():
        agg = tf.VariableAggregation.ONLY_FIRST_REPLICA  # all replicas apply the same reduced update
        emb = tf.Variable(_uniform_init([V, D], tf.float32, 0.5 / D, s.seed), aggregation=agg, name="embedding")
        out_w = tf.Variable(tf.zeros([V, D]), aggregation=agg, name="output_weights")
    ds = w2v.make_dataset(ids, counts, window=s.window, batch_size=s.batch_size, subsample=s.subsample,
                          seed=s.seed, epochs=1_000_000)
    dist_ds = strategy.experimental_distribute_dataset(ds)

    @tf.function
    def step(batch, i):
        def replica_fn(targets, contexts):
            ctx = tf.distribute.get_replica_context()
            targets = tf.cast(targets, tf.int32)
            contexts = tf.cast(contexts, tf.int32)
            B = tf.shape(targets)[0]
            rid = tf.cast(ctx.replica_id_in_sync_group, tf.int64)
            pick = tf.random.stateless_uniform([B, K], seed=tf.stack([i, rid]), maxval=tf.shape(table)[0],
                                               dtype=tf.int32)
            cid = tf.concat([contexts[:, None], tf.gather(table, pick)], axis=1)
            t, c = tf.gather(emb, targets), tf.gather(out_w, cid)
            loss, gt, gc = sgns_loss_and_grads(t, c)
            flat = tf.reshape(cid, [-1])
            g_emb = tf.tensor_scatter_nd_add(tf.zeros([V, D]), targets[:, None], gt * row_scale(targets)[:, None])
            g_out = tf.tensor_scatter_nd_add(tf.zeros([V, D]), flat[:, None],
                                             tf.reshape(gc, [-1, D]) * row_scale(flat)[:, None])
            # synchronous: sum the gradients of all replicas (a barrier), then the same update everywhere
            g_emb, g_out, loss = ctx.all_reduce(tf.distribute.ReduceOp.SUM, [g_emb, g_out, loss])
            lr = s.learning_rate * tf.maximum(1e-4, 1.0 - tf.cast(i, tf.float32) / steps)
            emb.assign_sub(lr * g_emb)
            out_w.assign_sub(lr * g_out)
            return loss / replicas

        per_replica = strategy.run(replica_fn, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica, axis=None)

    it = iter(dist_ds)
    losses = []
    first = float(step(next(it), tf.constant(0, tf.int64)))  # traces the function
    losses.append(first)
    t0 = time.time()
    for i in range(1, steps):
        losses.append(float(step(next(it), tf.constant(i, tf.int64))))
    seconds = max(time.time() - t0, 1e-9)
    return {
        "strategy": "MultiWorkerMirroredStrategy", "replicas": replicas, "steps": steps, "losses": losses,
        "seconds": seconds, "steps_per_second": (steps - 1) / seconds,
        "pairs_per_second": (steps - 1) * s.batch_size / seconds,
        "words": words, "vectors": emb.numpy(),
    }


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        conf = tf_config_from_env()
        settings = parse_args(argv)
    except (ClusterConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    role = conf["task"]["type"]
    if role in ("ps", "worker"):
        run_server(conf)
        return 0
    from workshop_sections import data

    try:
        train_chief(conf, settings)
    except (ClusterConfigError, data.DataError, ValueError) as e:  # bad corpus, settings, vocabulary
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 2
    # everything is saved and flushed: leave at once instead of waiting seconds for the
    # coordinator's worker threads to wind down
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
