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
``unigram_table``). The TensorFlow the section teaches (the cluster resolver, the strategy and
its partitioner, the sharded model and its step, the ``dataset_fn``, the ``schedule``/``join``
loop, the checkpoints) is written in ``distributed_tensorflow.ipynb`` and exported into the block
below (``make export``): :func:`train_chief` runs exactly the notebook's code. The rest of this
module is plumbing: TF_CONFIG, settings, the ps/worker server, saving and reading a run, the
exercise checks, the synchronous comparison run.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import json
import logging
import os
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import data
from ..tools import checks
from . import cluster as cluster_lib
from . import launcher

# TF_CONFIG parsing, the chief's wait for its peers and the run-folder marker: plumbing in .cluster
from .cluster import (  # noqa: F401  (re-exported: dw.validate_tf_config, dw.PeersNotReadyError)
    RESULT_PREFIX,
    ClusterConfigError,
    PeersNotReadyError,
    validate_tf_config,
)

SECTION = "distributed_tensorflow"
DEFAULT_PORT = 2222
ROLES = ("chief", "ps", "worker")


class _LazyModule:
    """A module imported on first use. The exported notebook code below uses ``tf`` and
    ``word2vec_fast`` as the notebook does, but importing this module must stay free of
    TensorFlow: the launcher, the Kubernetes helpers and the tests of TF_CONFIG import it, a ps or
    worker reads its TF_CONFIG first, and ``main()`` sets TensorFlow's log level before
    TensorFlow is imported. The first attribute read imports the module and puts the real module
    in its place (in this module's globals)."""

    def __init__(self, name: str, alias: str):
        self._name, self._alias = name, alias

    def __getattr__(self, attr):
        module = importlib.import_module(self._name)
        globals()[self._alias] = module
        return getattr(module, attr)


tf = _LazyModule("tensorflow", "tf")
word2vec_fast = _LazyModule("workshop_sections.word2vec_optimized.word2vec_fast", "word2vec_fast")


# >>> BEGIN EXPORT from distributed_tensorflow.ipynb (`make export` writes this block: edit the notebook)
def cluster_resolver(tf_config):
    """This task's cluster resolver from a TF_CONFIG dict ``{"cluster": {...}, "task": {...}}``.

    The same as ``TFConfigClusterResolver`` reading ``TF_CONFIG`` from the environment, for a dict
    that was parsed and checked (``cluster.validate_tf_config``)."""
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(tf_config["cluster"]),
        task_type=tf_config["task"]["type"],
        task_id=int(tf_config["task"]["index"]),
        rpc_layer="grpc",
    )


def make_strategy(resolver, num_ps):
    """A ParameterServerStrategy whose variables are cut row-wise into ``num_ps`` shards, one per ps.

    Creating it connects this process (the coordinator) to every ps and worker of the cluster."""
    partitioner = tf.distribute.experimental.partitioners.FixedShardsPartitioner(num_shards=num_ps)
    return tf.distribute.ParameterServerStrategy(resolver, variable_partitioner=partitioner)


def sgns_loss_and_grads(t, c):
    """Skip-gram negative-sampling loss of a batch and its gradients, by hand (Mikolov et al. 2013).

    ``t``: [B, D] float32 target (input) vectors; ``c``: [B, 1+k, D] output vectors of the true
    context (column 0) and of k negatives. Loss per example: ``-log s(t.c0) - sum_j log s(-t.cj)``.
    Returns (mean loss over the batch, dL/dt [B, D], dL/dc [B, 1+k, D]) where L is the *summed*
    loss: plain word2vec SGD gives every example its full update.
    """
    batch, cols = tf.shape(c)[0], tf.shape(c)[1]
    logits = tf.einsum("bd,bkd->bk", t, c)
    labels = tf.concat([tf.ones([batch, 1]), tf.zeros([batch, cols - 1])], axis=1)
    loss = tf.reduce_mean(
        tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), axis=1)
    )
    g = tf.sigmoid(logits) - labels  # d loss / d logits
    grad_t = tf.einsum("bk,bkd->bd", g, c)
    grad_c = tf.einsum("bk,bd->bkd", g, t)
    return loss, grad_t, grad_c


class ShardedWord2Vec:
    """Skip-gram with negative sampling whose two tables are sharded across the parameter servers.

    ``embedding`` and ``output_weights`` have ``vocab_size`` rows; created under a
    ParameterServerStrategy with a ``variable_partitioner`` they become ``ShardedVariable`` s, one
    row block per ps (each ps initialises its own rows: no full copy on the chief). ``table`` is
    the unigram^0.75 table of negative samples (int32 word ids). Created without a strategy they
    are plain variables (the tests train it in one process).
    """

    def __init__(
        self, vocab_size, dim, negatives, table, learning_rate, total_steps, seed=42, clip_count=10.0
    ):
        self.vocab_size, self.dim, self.negatives = int(vocab_size), int(dim), int(negatives)
        shape = [self.vocab_size, self.dim]
        self.embedding = tf.Variable(
            functools.partial(
                uniform_shard_init, shape=shape, dtype=tf.float32, scale=0.5 / self.dim, seed=seed
            ),
            shape=shape,
            dtype=tf.float32,
            name="embedding",
        )
        self.output_weights = tf.Variable(
            functools.partial(zeros_shard_init, shape=shape, dtype=tf.float32),
            shape=shape,
            dtype=tf.float32,
            name="output_weights",
        )
        self.step = tf.Variable(0, dtype=tf.int64, name="step", trainable=False)
        self.table = tf.constant(table, dtype=tf.int32)
        self.learning_rate, self.total_steps = float(learning_rate), int(total_steps)
        self.clip_count = float(clip_count)

    def _one_step(self, targets, contexts):
        targets = tf.cast(tf.reshape(targets, [-1]), tf.int32)
        contexts = tf.cast(tf.reshape(contexts, [-1]), tf.int32)
        batch = tf.shape(targets)[0]
        pick = tf.random.uniform([batch, self.negatives], maxval=tf.shape(self.table)[0], dtype=tf.int32)
        ids = tf.concat(
            [contexts[:, None], tf.gather(self.table, pick)], axis=1
        )  # [B, 1+k]: context, negatives
        t = tf.nn.embedding_lookup(self.embedding, targets)  # [B, D] rows fetched from the ps
        c = tf.nn.embedding_lookup(self.output_weights, ids)  # [B, 1+k, D]
        loss, grad_t, grad_c = sgns_loss_and_grads(t, c)
        progress = tf.cast(self.step.read_value(), tf.float32) / float(self.total_steps)
        lr = self.learning_rate * tf.maximum(1e-4, 1.0 - progress)
        # a frequent word appears many times in a batch: its summed update is scaled down
        flat_ids = tf.reshape(ids, [-1])
        scale_t, scale_c = row_scale(targets, self.clip_count), row_scale(flat_ids, self.clip_count)
        self.embedding.scatter_sub(tf.IndexedSlices(lr * scale_t[:, None] * grad_t, targets))
        self.output_weights.scatter_sub(
            tf.IndexedSlices(lr * scale_c[:, None] * tf.reshape(grad_c, [-1, self.dim]), flat_ids)
        )
        self.step.assign_add(1)
        return loss

    def make_train_fn(self, steps_per_call):
        """A tf.function the coordinator schedules on a worker: ``steps_per_call`` batches; the mean loss."""
        n = int(steps_per_call)

        @tf.function
        def train_steps(iterator):
            total = tf.constant(0.0)
            for _ in tf.range(n):
                targets, contexts = next(iterator)
                total += self._one_step(targets, contexts)
            return total / n

        return train_steps


def make_dataset_fn(ids, counts, s, seed=None):
    """The ``dataset_fn`` of the job: no argument, run once on every worker by
    ``ClusterCoordinator.create_per_worker_dataset``; an endless stream of (targets, contexts) int32
    batches of ``s.batch_size`` skip-gram pairs (``word2vec_fast.make_dataset``: subsampling, window).
    ``seed=None`` draws a seed on each worker; a number gives the same order every time (the
    synchronous run, ``run_sync``)."""
    ids = np.asarray(ids, dtype=np.int32)

    def dataset_fn():
        # the seed is drawn on the worker (an unseeded op: a fresh seed per worker), so each worker
        # reads the corpus in its own order: asynchronous SGD on different data, not the same work twice
        worker_seed = tf.random.uniform([], maxval=2**31 - 1, dtype=tf.int64) if seed is None else seed
        return word2vec_fast.make_dataset(
            ids,
            counts,
            window=s.window,
            batch_size=s.batch_size,
            subsample=s.subsample,
            seed=worker_seed,
            epochs=1_000_000,
        )

    return dataset_fn


CHIEF_DEVICE = "/job:chief/replica:0/task:0/device:CPU:0"


def checkpoint_manager(model, directory, max_to_keep=3):
    """A CheckpointManager of the model's step and both tables (every shard) in ``directory``."""
    ckpt = tf.train.Checkpoint(
        step=model.step, embedding=model.embedding, output_weights=model.output_weights
    )
    return tf.train.CheckpointManager(ckpt, str(directory), max_to_keep=max_to_keep)


def checkpoint_options():
    """All checkpoint IO through the chief: only the chief needs the volume, not every ps."""
    return tf.train.CheckpointOptions(experimental_io_device=CHIEF_DEVICE)


def train_loop(coordinator, model, per_worker_iter, s, writer, manager, log=print):
    """Schedule ``s.steps_per_call`` steps at a time on the workers until ``model.step`` reaches
    ``s.steps``. Returns [(step, mean loss, wall-clock time in s)], one entry per ``s.log_every`` steps."""
    train_fn = model.make_train_fn(s.steps_per_call)
    history, step = [], int(model.step.numpy())
    next_ckpt = (step // s.checkpoint_every + 1) * s.checkpoint_every
    while step < s.steps:
        calls = max(1, -(-min(s.log_every, s.steps - step) // s.steps_per_call))
        t0 = time.time()
        results = [coordinator.schedule(train_fn, args=(per_worker_iter,)) for _ in range(calls)]
        coordinator.join()  # every scheduled call has run (on whichever worker was free)
        loss = float(np.mean([r.fetch() for r in results]))
        step = int(model.step.numpy())
        speed = calls * s.steps_per_call / max(time.time() - t0, 1e-9)
        history.append((step, loss, time.time()))
        with writer.as_default():
            tf.summary.scalar("loss", loss, step=step)
            tf.summary.scalar("steps_per_second", speed, step=step)
        log(f"chief: step {step}/{s.steps} loss {loss:.4f} ({speed:.1f} steps/s)")
        if step >= next_ckpt or step >= s.steps:
            log(f"chief: checkpoint {manager.save(checkpoint_number=step, options=checkpoint_options())}")
            next_ckpt = (step // s.checkpoint_every + 1) * s.checkpoint_every
    return history


# <<< END EXPORT


# --------------------------------------------------------------------------- TF_CONFIG
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
        raise ClusterConfigError(
            f"Need at least 1 ps and 1 worker, got TFW_NUM_PS={num_ps}, TFW_NUM_WORKERS={num_workers}."
        )
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
            raise ClusterConfigError(
                f"TFW_ROLE is set but {', '.join(missing)} is missing: the pod cannot build TF_CONFIG."
            )
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
    startup_deadline: float = (
        cluster_lib.DEFAULT_STARTUP_DEADLINE
    )  # s the chief waits for every ps/worker (0: no limit)

    def validate(self) -> TrainSettings:
        checks = [
            (self.steps >= 1, f"--steps must be at least 1, got {self.steps}"),
            (self.batch_size >= 1, f"--batch-size must be at least 1, got {self.batch_size}"),
            (self.dim >= 1, f"--dim must be at least 1, got {self.dim}"),
            (self.negatives >= 1, f"--negatives must be at least 1, got {self.negatives}"),
            (self.steps_per_call >= 1, f"--steps-per-call must be at least 1, got {self.steps_per_call}"),
            (self.log_every >= 1, f"--log-every must be at least 1, got {self.log_every}"),
            (
                self.checkpoint_every >= 1,
                f"--checkpoint-every must be at least 1, got {self.checkpoint_every}",
            ),
            (self.learning_rate > 0, f"--learning-rate must be positive, got {self.learning_rate}"),
            (
                self.startup_deadline >= 0,
                f"--startup-deadline must be 0 (no limit) or more seconds, got {self.startup_deadline}",
            ),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg + ".")
        return self


def parse_args(argv=None) -> TrainSettings:
    """The chief's flags (``argv``: a list of strings, default ``sys.argv[1:]``) as checked
    TrainSettings; ``--help`` and argparse errors exit, a bad value raises ValueError."""
    a = _argument_parser(TrainSettings()).parse_args(argv)
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


def _argument_parser(d: TrainSettings) -> argparse.ArgumentParser:
    """The entry point's flags, with the defaults of ``d`` (TFW_CORPUS and TFW_OUT_DIR win)."""
    p = argparse.ArgumentParser(
        prog="python -m workshop_sections.distributed_tensorflow.distributed_word2vec",
        description="word2vec on a parameter-server cluster "
        "(role from TF_CONFIG; ps/worker ignore the flags).",
    )
    p.add_argument(
        "--corpus", default=os.environ.get("TFW_CORPUS", d.corpus), help="corpus name or text file path"
    )
    p.add_argument("--max-words", type=int, default=d.max_words, help="use the first N words (0 = all)")
    p.add_argument("--min-count", type=int, default=d.min_count)
    p.add_argument(
        "--max-vocab", type=int, default=d.max_vocab, help="keep the N most frequent words (0 = all)"
    )
    p.add_argument("--dim", type=int, default=d.dim)
    p.add_argument("--window", type=int, default=d.window)
    p.add_argument("--negatives", type=int, default=d.negatives)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--subsample", type=float, default=d.subsample)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument(
        "--steps",
        type=int,
        default=d.steps,
        help="total training steps (batches) across restarts, rounded up to whole --steps-per-call",
    )
    p.add_argument(
        "--steps-per-call", type=int, default=d.steps_per_call, help="steps per function sent to a worker"
    )
    p.add_argument("--log-every", type=int, default=d.log_every)
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--out-dir", default=os.environ.get("TFW_OUT_DIR", d.out_dir), help="checkpoints, logs, embeddings"
    )
    p.add_argument(
        "--startup-deadline",
        type=float,
        default=cluster_lib.deadline_from_env(default=d.startup_deadline),
        help="seconds the chief waits for every ps and worker to answer before it gives up "
        f"naming the missing ones (0 = wait forever; default {d.startup_deadline:g})",
    )
    return p


def log(msg: str) -> None:
    """Print one line of this task's log at once (the launcher merges the tasks' output)."""
    print(msg, flush=True)


# --------------------------------------------------------------------------- ps / worker
def run_server(conf: dict) -> None:
    """Start this task's gRPC server and serve forever (ps and worker tasks)."""
    task = conf["task"]
    cluster = tf.train.ClusterSpec(conf["cluster"])
    # a worker may run several functions at once (one per closure thread); ps only serve variables
    server = tf.distribute.Server(
        cluster, job_name=task["type"], task_index=task["index"], protocol="grpc", start=True
    )
    address = conf["cluster"][task["type"]][task["index"]]
    log(f"{task['type']} {task['index']} serving on {address} ({server.target})")
    server.join()


# --------------------------------------------------------------------------- data
def prepare_corpus(s: TrainSettings):
    """Words -> ``(vocab, ids, counts)`` with the workshop's one ``build_vocab`` (intro_word2vec's
    ``word2vec_basic``, which word2vec_fast re-exports): ids int32 [n], counts int64 [vocab_size]."""
    words = data.read_words(s.corpus, max_words=s.max_words)
    vocab, ids = word2vec_fast.build_vocab(words, min_count=s.min_count, max_size=s.max_vocab)
    return vocab, ids, vocab.counts


# --------------------------------------------------------------------------- model
def row_scale(ids, clip: float = 10.0):
    """Per-example factor min(1, clip / how often its row occurs in the batch): the summed update
    of a very frequent word stays bounded (large-batch word2vec diverges without it)."""
    _, idx, cnt = tf.unique_with_counts(ids)
    return tf.minimum(1.0, clip / tf.cast(tf.gather(cnt, idx), tf.float32))


def uniform_shard_init(shape, dtype, scale, seed, partition_shape=None, partition_offset=None, **_):
    """Uniform(-scale, scale) rows, per shard: under a ParameterServerStrategy with a partitioner
    each parameter server creates only its own rows (``partition_shape`` rows from row
    ``partition_offset[0]``; no full copy on the chief), seeded by the shard's first row, so the
    values do not depend on who creates them."""
    shape = partition_shape if partition_shape is not None else shape
    offset = 0 if partition_offset is None else int(partition_offset[0])
    return tf.random.stateless_uniform(shape, seed=[seed, offset], minval=-scale, maxval=scale, dtype=dtype)


def zeros_shard_init(shape, dtype, partition_shape=None, **_):
    """Zero rows, per shard (see :func:`uniform_shard_init`)."""
    return tf.zeros(partition_shape if partition_shape is not None else shape, dtype)


# sgns_loss_and_grads and ShardedWord2Vec: exported from the notebook (the block above)


def shard_layout(var) -> list[dict]:
    """[{'device', 'task', 'rows': [start, stop]}] for a ShardedVariable (one entry for a plain
    Variable)."""
    shards = getattr(var, "variables", None) or [var]
    out, start = [], 0
    for v in shards:
        n = int(v.shape[0])
        dev = v.device
        m = re.search(r"/job:(\w+)/replica:\d+/task:(\d+)", dev)
        out.append(
            {"device": dev, "task": f"{m.group(1)}:{m.group(2)}" if m else dev, "rows": [start, start + n]}
        )
        start += n
    return out


# --------------------------------------------------------------------------- chief
def train_chief(conf: dict, s: TrainSettings) -> dict:
    """The coordinator of the job (the ``chief`` task): the notebook's exported code, run from the CLI.

    Builds the vocabulary, waits for every ps and worker, creates the strategy
    (:func:`cluster_resolver`, :func:`make_strategy`), the sharded :class:`ShardedWord2Vec` under
    ``strategy.scope()``, restores the last checkpoint of ``s.out_dir`` if there is one, runs
    :func:`train_loop` on per-worker datasets (:func:`make_dataset_fn`) and saves the run
    (:func:`finish_run`). Raises ClusterConfigError when ``s.out_dir`` holds a checkpoint of
    another vocabulary, PeersNotReadyError when a ps or worker never answers.
    """
    tf.get_logger().setLevel(logging.ERROR)  # retracing notes of the checkpoint saver
    t_start = time.time()
    out = cluster_lib.mark_run_folder(s.out_dir)  # `--fresh` may clear it at every stage of the run
    words, ids, counts = _chief_vocabulary(out, s)
    # resolve the cluster, build the strategy (connects to every ps and worker) and its coordinator
    startup = _wait_for_the_cluster(conf, s)
    strategy = make_strategy(cluster_resolver(conf), num_ps=len(conf["cluster"]["ps"]))
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    with strategy.scope():  # the variables: one block of rows per parameter server
        model = new_model(len(words), counts, s)
    _log_shards(model)
    manager, resumed_from = _restore_last_checkpoint(model, out / "checkpoints")
    # every worker builds its own dataset; schedule/join steps on them, checkpoints on the way
    per_worker_iter = iter(coordinator.create_per_worker_dataset(make_dataset_fn(ids, counts, s)))
    writer = tf.summary.create_file_writer(str(out / "logs"))
    ready_log = _log_until_ready(startup, t_start)
    history = train_loop(coordinator, model, per_worker_iter, s, writer, manager, log=ready_log)
    writer.flush()
    num_workers = len(conf["cluster"]["worker"])
    result = finish_run(
        s,
        model,
        words,
        ids,
        counts,
        history,
        started=t_start,
        resumed_from=resumed_from,
        num_workers=num_workers,
    )
    log(RESULT_PREFIX + json.dumps(result))
    return result


def _chief_vocabulary(out: Path, s: TrainSettings):
    """The corpus and its vocabulary, saved in the run folder: (words, ids, counts). Raises
    ClusterConfigError when the folder holds a checkpoint of another vocabulary."""
    vocab, ids, counts = prepare_corpus(s)
    words = list(vocab.words)
    vocab_file = out / "vocab.txt"
    if vocab_file.exists() and tf.train.latest_checkpoint(str(out / "checkpoints")):
        saved = vocab_file.read_text(encoding="utf-8").split("\n")[:-1]
        if saved != words:
            raise ClusterConfigError(
                f"{out} holds a checkpoint for a different vocabulary ({len(saved)} words, now "
                f"{len(words)}). Use the same --corpus/--max-words/--min-count/--max-vocab to resume, "
                "or a new --out-dir."
            )
    save_vocab(out, words, counts)
    log(f"chief: corpus {s.corpus}: {len(ids):,} words, vocabulary {len(words):,}")
    return words, ids, counts


def _wait_for_the_cluster(conf: dict, s: TrainSettings) -> cluster_lib.StartupWatchdog:
    """Wait until every ps and worker answers, then bound the set-up that follows (the watchdog)."""
    # every ps and worker must accept a connection first: TensorFlow would otherwise wait
    # silently for a missing peer (progress lines, then PeersNotReadyError at the deadline)
    cluster_lib.wait_for_peers(conf["cluster"], deadline=s.startup_deadline, log=log)
    # ... and the set-up that follows is bounded too (a peer that dies now, an address that is not
    # a TensorFlow server): stopped by the first steps, an error line and exit 2 at the deadline
    return cluster_lib.StartupWatchdog(conf["cluster"], deadline=s.startup_deadline, log=log).start()


def new_model(vocab_size: int, counts, s: TrainSettings, total_steps: int | None = None) -> ShardedWord2Vec:
    """A new :class:`ShardedWord2Vec` of the settings (negatives from the unigram^0.75 table of
    ``counts``); sharded when created under a ParameterServerStrategy's scope."""
    return ShardedWord2Vec(
        vocab_size,
        s.dim,
        s.negatives,
        word2vec_fast.unigram_table(counts),
        s.learning_rate,
        total_steps or s.steps,
        seed=s.seed,
    )


def _log_shards(model) -> None:
    """Log which task holds which rows of the embedding."""
    layout = shard_layout(model.embedding)
    log(
        "chief: embedding shards "
        + ", ".join(f"{d['task']} rows {d['rows'][0]}-{d['rows'][1]}" for d in layout)
    )


def _restore_last_checkpoint(model, ckpt_dir: Path):
    """The run's CheckpointManager, after restoring its last checkpoint if there is one (every
    shard, through the chief): (manager, the step resumed from, 0 for a new run)."""
    manager = checkpoint_manager(model, ckpt_dir)
    if not manager.latest_checkpoint:
        return manager, 0
    manager.checkpoint.restore(
        manager.latest_checkpoint, options=checkpoint_options()
    ).assert_existing_objects_matched()
    resumed_from = int(model.step.numpy())
    log(f"chief: resumed from {manager.latest_checkpoint} at step {resumed_from}")
    return manager, resumed_from


def _log_until_ready(startup: cluster_lib.StartupWatchdog, t_start: float):
    """The chief's log function: its first step line disarms the start-up watchdog and says when
    the cluster was ready."""
    first_step_logged = []

    def log_with_ready(msg: str) -> None:
        log(msg)
        if not first_step_logged and msg.startswith("chief: step "):  # the first steps include start-up
            first_step_logged.append(True)
            startup.stop()
            log(f"chief: cluster ready, first steps done {time.time() - t_start:.1f} s after start")

    return log_with_ready


def save_vocab(out_dir, words, counts) -> None:
    """vocab.txt (one word a line, row order) and counts.npy (int64 counts) of a run folder."""
    out = Path(out_dir)
    (out / "vocab.txt").write_text("".join(w + "\n" for w in words), encoding="utf-8")
    np.save(out / "counts.npy", np.asarray(counts, dtype=np.int64))


def finish_run(
    s: TrainSettings,
    model,
    words,
    ids,
    counts,
    history,
    started: float,
    resumed_from: int = 0,
    num_workers: int | None = None,
) -> dict:
    """Save a finished run into ``s.out_dir`` and return its summary (also written as result.json).

    ``history``: :func:`train_loop`'s [(step, loss, wall-clock time)]; ``started``: the
    ``time.time()`` the job (or its tasks) started, for ``seconds_until_ready`` (start to the first
    finished steps). Speed (steps and pairs per second) is measured after the first logged chunk,
    which includes the start-up. Writes vocab.txt, counts.npy, embeddings.npy (all shards,
    concatenated: [vocab_size, dim] float32) and result.json."""
    out = Path(s.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_vocab(out, words, counts)
    shards = getattr(model.embedding, "variables", None) or [model.embedding]
    np.save(out / "embeddings.npy", np.concatenate([v.numpy() for v in shards], axis=0))
    first, last = (history[0], history[-1]) if history else (None, None)
    steps_done = last[0] - first[0] if history else 0
    elapsed = max(last[2] - first[2], 1e-9) if history else 0.0
    step = int(model.step.numpy())
    result = {
        "steps": step,
        "resumed_from": int(resumed_from),
        "num_ps": len(shards),
        "num_workers": num_workers,
        "vocab_size": len(words),
        "corpus_words": int(len(ids)),
        "batch_size": s.batch_size,
        "losses": [(st, loss) for st, loss, _ in history],
        "first_loss": first[1] if history else None,
        "last_loss": last[1] if history else None,
        "seconds_until_ready": first[2] - started if history else None,
        "train_seconds": elapsed,
        "steps_per_second": steps_done / elapsed if steps_done > 0 else None,
        "pairs_per_second": steps_done * s.batch_size / elapsed if steps_done > 0 else None,
        "shards": shard_layout(model.embedding),
        "out_dir": str(out),
        "settings": asdict(s),
    }
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


# --------------------------------------------------------------------------- reading a run
def load_run(out_dir) -> dict:
    """result.json + vocabulary + embeddings of a finished run (for the notebook)."""
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
    vectors = word2vec_fast.all_but_the_top(run["vectors"], components) if center else run["vectors"]
    return word2vec_fast.Embeddings(run["words"], vectors, run.get("counts"))


def mean_cosine(emb, n: int = 500) -> float:
    """Mean cosine similarity among the ``n`` most frequent words (near 1: one common direction)."""
    m = emb.normalized[:n]
    return float((m @ m.T).mean())


# --------------------------------------------------------------------------- for the notebook
def shard_table(run: dict) -> list[dict]:
    """Per parameter server: its rows, how many words, the first words, and the share of the
    corpus' tokens whose rows it holds (rows are sorted by frequency: ps 0 gets the hot words)."""
    counts = run.get("counts")
    total = float(np.sum(counts)) if counts is not None else None
    out = []
    for sh in run["shards"]:
        a, b = sh["rows"]
        out.append(
            {
                "task": sh["task"],
                "rows": f"{a}-{b - 1}",
                "words": b - a,
                "first words": " ".join(run["words"][a : min(b, a + 5)]) if "words" in run else "",
                "token share": float(np.sum(counts[a:b]) / total) if total else None,
            }
        )
    return out


def token_shares(run: dict) -> list[float]:
    """The share of the corpus' tokens whose embedding rows each ps holds (the reference answer)."""
    return [row["token share"] for row in shard_table(run)]


# --------------------------------------------------------------------------- local tasks for the notebook
_LOCAL_TASKS: dict = {}


def start_local_tasks(num_ps: int = 2, num_workers: int = 2, echo: bool = False):
    """Start the ps and worker tasks of a local cluster whose chief is the caller (a notebook kernel).

    Returns the :class:`.launcher.LocalCluster` (``.spec`` is the cluster for ``TF_CONFIG``,
    ``.started_at`` the start time, ``.stop()`` stops them, ``.tail()`` shows their log). Calling it
    again returns the same tasks while they all run, or restarts them on the same ports (the
    kernel's chief is bound to its address once it connected). Each task is a
    ``python -m ...distributed_word2vec`` process with its own ``TF_CONFIG``; the tasks die with the
    kernel. ``echo=True`` prints their output (prefixed ``[ps0] ...``)."""
    key = (int(num_ps), int(num_workers))
    tasks = _LOCAL_TASKS.get(key)
    if tasks is None:
        tasks = launcher.LocalCluster(num_ps=num_ps, num_workers=num_workers, echo=echo)
        _LOCAL_TASKS[key] = tasks
    names = [n for n in tasks.names() if n != "chief"]
    running = tasks.running()
    if names and all(running.get(n) for n in names):
        return tasks
    tasks.stop()
    tasks.started_at = time.time()
    try:
        for name in names:
            tasks.start_task(name)
    except BaseException:
        tasks.stop()
        raise
    return tasks


# --------------------------------------------------------------------------- exercise checks
# Each check takes only the attendee's answer, tries it on fixed inputs, prints one line
# ("Correct! ..." or "Not yet: ...") and returns True/False; it never raises.
EXERCISE_CLUSTER = {
    "chief": ["10.0.0.1:2222"],
    "ps": ["10.0.0.2:2222", "10.0.0.3:2222"],
    "worker": ["10.0.0.4:2222", "10.0.0.5:2222"],
}


def check_tf_config(config_dict) -> bool:
    """Exercise 1: ``config_dict`` is the TF_CONFIG of worker 1 (the second worker) of EXERCISE_CLUSTER.

    It is serialised to JSON, put into the environment and read back with
    ``tf.distribute.cluster_resolver.TFConfigClusterResolver`` (the environment is restored)."""
    if msg := checks.placeholder("worker1_config", config_dict):
        return checks.not_yet(msg)
    if not isinstance(config_dict, dict):
        return checks.not_yet(f"TF_CONFIG is a dict (JSON object), got a {type(config_dict).__name__}.")
    missing = [k for k in ("cluster", "task") if k not in config_dict]
    if missing:
        return checks.not_yet(
            f"the dict needs the keys 'cluster' and 'task'; {' and '.join(map(repr, missing))} "
            f"missing (it has {sorted(map(str, config_dict))})."
        )
    try:
        raw = json.dumps(config_dict)
    except (TypeError, ValueError) as e:
        return checks.not_yet(f"TF_CONFIG must be JSON (an environment variable holds text): {e}.")
    try:
        cluster_lib.validate_tf_config(json.loads(raw))
    except ClusterConfigError as e:
        return checks.not_yet(str(e))
    saved = os.environ.get("TF_CONFIG")
    os.environ["TF_CONFIG"] = raw
    try:
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        task_type, task_id = resolver.task_type, resolver.task_id
        spec = resolver.cluster_spec().as_dict()
    except Exception as e:  # the resolver's own complaint, in plain words
        return checks.not_yet(f"TFConfigClusterResolver could not read it: {type(e).__name__}: {e}.")
    finally:
        if saved is None:
            os.environ.pop("TF_CONFIG", None)
        else:
            os.environ["TF_CONFIG"] = saved
    expected = tf.train.ClusterSpec(EXERCISE_CLUSTER).as_dict()
    if spec != expected:
        return checks.not_yet(
            f"the resolver sees the cluster {spec}, but the cluster of the exercise is {expected}: "
            "every task gets the whole cluster, the same for all."
        )
    if task_type != "worker":
        return checks.not_yet(f"the resolver says this task is a {task_type!r}; it should be a 'worker'.")
    if task_id != 1:
        hint = " (indices start at 0: the second worker is index 1)" if task_id in (0, 2) else ""
        return checks.not_yet(f"the resolver says worker {task_id}; worker 1 is wanted{hint}.")
    return checks.correct(
        "TFConfigClusterResolver reads task worker:1 and the whole cluster (1 chief, 2 ps, "
        "2 workers) from your TF_CONFIG."
    )


def check_partitioner(partitioner, rows_per_shard) -> bool:
    """Exercise 2: ``partitioner`` cuts variables into 3 shards along axis 0 (tried on the shapes
    [10, 4] and [7, 3]); ``rows_per_shard`` is how many rows of a [10, 4] variable each shard gets."""
    if msg := checks.placeholder("partitioner", partitioner):
        return checks.not_yet(msg)
    got, err = checks.call(partitioner, tf.TensorShape([10, 4]), tf.float32)
    if err:
        return checks.not_yet(err + " (a partitioner is called with a shape and a dtype).")
    got = [int(x) for x in got]
    if got != [3, 1]:
        if len(got) == 2 and got[1] == 1:
            return checks.not_yet(
                f"your partitioner cuts a [10, 4] variable into {got[0]} shard(s) along the rows; "
                "a cluster with 3 parameter servers wants 3."
            )
        return checks.not_yet(
            f"your partitioner returns {got} for a [10, 4] variable; expected [3, 1]: 3 shards of "
            "rows, the columns stay together."
        )
    other, err = checks.call(partitioner, tf.TensorShape([7, 3]), tf.float32)
    if err or [int(x) for x in other] != [3, 1]:
        return checks.not_yet(
            f"on a [7, 3] variable your partitioner returns {other}: it should cut every variable "
            "into 3 shards, whatever its size (FixedShardsPartitioner)."
        )
    if msg := checks.placeholder("rows_per_shard", rows_per_shard):
        return checks.not_yet("the partitioner is right; " + msg)
    try:
        rows = [int(r) for r in rows_per_shard]
    except (TypeError, ValueError):
        return checks.not_yet(f"rows_per_shard should be a list of 3 numbers, got {rows_per_shard!r}.")
    if len(rows) != 3:
        return checks.not_yet(f"rows_per_shard should hold 3 numbers (one per shard), got {len(rows)}.")
    if sum(rows) != 10:
        return checks.not_yet(f"the shards hold every row once: {rows} adds up to {sum(rows)}, not 10.")
    if rows != [4, 3, 3]:
        return checks.not_yet(
            f"{rows} adds up to 10, but the extra row goes to the first shard: "
            "TensorFlow cuts 10 rows into [4, 3, 3]."
        )
    return checks.correct(
        "FixedShardsPartitioner(3) gives [3, 1] (3 blocks of rows) and a [10, 4] variable "
        "becomes shards of 4, 3 and 3 rows."
    )


def check_pairs_dataset_fn(pairs_dataset_fn) -> bool:
    """Exercise 3: ``pairs_dataset_fn(targets, contexts, batch_size)`` returns a dataset_fn (no
    argument) building an endless, shuffled tf.data.Dataset of (targets, contexts) batches of
    exactly ``batch_size``. Tried on 10 fixed pairs (context = 10 x target + 1), batches of 4."""
    if msg := checks.placeholder("pairs_dataset_fn", pairs_dataset_fn):
        return checks.not_yet(msg)
    targets = list(range(10))
    contexts = [10 * t + 1 for t in targets]
    dataset_fn, err = checks.call(pairs_dataset_fn, targets, contexts, 4)
    if problem := err or _dataset_fn_problem(dataset_fn):
        return checks.not_yet(problem)
    ds, err = checks.call(dataset_fn)
    if err:
        return checks.not_yet(err)
    batches, problem = _first_batches(ds, 8)
    if problem := problem or _pair_batches_problem(batches, targets):
        return checks.not_yet(problem)
    return checks.correct(
        "dataset_fn() takes no argument and gives an endless stream of shuffled "
        "(target, context) pairs in batches of exactly 4."
    )


def _dataset_fn_problem(dataset_fn) -> str | None:
    """What is wrong with the returned dataset_fn itself (not a function, or one with arguments)."""
    if not callable(dataset_fn):
        return (
            f"pairs_dataset_fn should return a function (the dataset_fn), got a {type(dataset_fn).__name__}."
        )
    try:
        required = [
            p
            for p in inspect.signature(dataset_fn).parameters.values()
            if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        required = []
    if required:
        return (
            f"the dataset_fn takes {len(required)} argument(s); it must take none: "
            "create_per_worker_dataset calls dataset_fn() on every worker."
        )
    return None


def _first_batches(ds, n: int) -> tuple[list, str | None]:
    """Up to ``n`` elements of ``ds``, or what keeps them from being read."""
    if not isinstance(ds, tf.data.Dataset):
        return [], f"the dataset_fn should return a tf.data.Dataset, got a {type(ds).__name__}."
    batches = []
    try:
        for batch in ds.take(n):
            batches.append(batch)
    except Exception as e:
        return [], f"reading the dataset failed: {type(e).__name__}: {e}".replace("\n", " ")
    return batches, None if batches else "the dataset is empty."


def _pair_batches_problem(batches: list, targets: list) -> str | None:
    """What is wrong with 8 batches read from the pairs (target, 10 x target + 1), if anything."""
    first = batches[0]
    if not isinstance(first, tuple) or len(first) != 2:
        return (
            "each element should be a pair (targets, contexts): "
            "from_tensor_slices((targets, contexts)) keeps them together."
        )
    shapes = [tuple(b[0].shape) for b in batches]
    if any(len(sh) != 1 for sh in shapes):
        return (
            f"the targets of a batch should be a vector, got shape {shapes[0]}: "
            "did you forget .batch(batch_size)?"
        )
    if len(batches) < 8:
        return f"the dataset ends after {len(batches)} batch(es): a worker must never run out. Add .repeat()."
    if any(sh != (4,) for sh in shapes):
        return (
            f"batch sizes {sorted(set(s[0] for s in shapes))}: every batch should hold exactly 4 "
            "pairs (batch(batch_size, drop_remainder=True) after repeat())."
        )
    t = np.concatenate([np.asarray(b[0]) for b in batches])
    c = np.concatenate([np.asarray(b[1]) for b in batches])
    if not np.array_equal(c, 10 * t + 1):
        return (
            "a target no longer sits with its context: shuffle the pairs together "
            "(one dataset of pairs), not each list on its own."
        )
    if set(t.tolist()) != set(targets):
        return (
            f"8 batches of 4 from 10 pairs should show every pair; missing "
            f"{sorted(set(targets) - set(t.tolist()))}."
        )
    if t[:10].tolist() == targets:
        return "the pairs come in their original order: shuffle them (.shuffle(buffer_size))."
    return None


def check_shard_token_shares(shard_token_shares) -> bool:
    """Exercise 4: ``shard_token_shares(counts, num_ps)`` -> the share of the tokens whose rows each
    of ``num_ps`` row blocks holds (blocks cut as FixedShardsPartitioner cuts: the first blocks get
    the extra rows). Tried on two fixed count vectors."""
    if msg := checks.placeholder("shard_token_shares", shard_token_shares):
        return checks.not_yet(msg)
    cases = [([6, 2, 1, 1], 2, [0.8, 0.2]), ([5, 4, 3, 2, 1, 1, 1, 1, 1, 1], 3, [0.7, 0.15, 0.15])]
    for counts, num_ps, expected in cases:
        got, err = checks.call(shard_token_shares, np.asarray(counts, dtype=np.int64), num_ps)
        if err:
            return checks.not_yet(err)
        arr = checks.to_numpy(got)
        if arr is None or arr.ndim != 1:
            return checks.not_yet(f"expected a list of {num_ps} numbers, got {got!r}.")
        arr = arr.astype(np.float64)
        case = f"counts {counts} on {num_ps} ps"
        if arr.shape != (num_ps,):
            return checks.not_yet(f"{case}: expected {num_ps} numbers (one per ps), got {arr.shape[0]}.")
        if not np.all(np.isfinite(arr)):
            return checks.not_yet(f"{case}: the result holds nan or inf.")
        if abs(arr.sum() - 1.0) > 1e-6:
            total = float(np.sum(counts))
            if np.allclose(arr / total, expected, atol=1e-6):
                return checks.not_yet(
                    f"{case}: you return token counts {arr.tolist()}; divide by the total ({total:g})."
                )
            return checks.not_yet(f"{case}: the shares add up to {arr.sum():.3g}, not 1.")
        if not np.allclose(arr, expected, atol=1e-6):
            return checks.not_yet(
                f"{case}: expected {expected}, got {np.round(arr, 4).tolist()} "
                "(the blocks are consecutive rows; the first blocks get the extra rows)."
            )
    return checks.correct(
        "[6, 2, 1, 1] on 2 ps gives [0.8, 0.2]: half the rows, 80% of the traffic "
        "on ps:0, because the rows are sorted by frequency."
    )


def simulate_sync_vs_async(
    num_workers: int = 4, steps: int = 200, straggler_every: int = 10, slowdown: float = 4.0, seed: int = 0
) -> dict:
    """Steps per second of synchronous vs asynchronous training when a worker is sometimes slow.

    Each worker step takes 1 time unit (times a little noise); now and then a worker straggles
    (``slowdown`` x). Synchronous: every step waits for the slowest worker. Asynchronous: each
    worker goes at its own pace. A pure-Python model of the trade-off, no TensorFlow.
    """
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.9, 1.1, size=(steps, num_workers))
    slow = rng.random((steps, num_workers)) < 1.0 / straggler_every
    t = np.where(slow, t * slowdown, t)
    sync_time = float(t.max(axis=1).sum())  # a barrier per step
    async_time = float(t.sum(axis=0).max())  # every worker runs its own steps; the job ends with the last
    return {
        "sync_updates_per_unit": steps * num_workers / sync_time,
        "async_updates_per_unit": steps * num_workers / async_time,
        "sync_time": sync_time,
        "async_time": async_time,
        "per_step_sync": t.max(axis=1),
        "worker_times": t,
    }


def run_sync(s: TrainSettings, steps: int | None = None) -> dict:
    """Synchronous data-parallel word2vec with MultiWorkerMirroredStrategy and a custom loop.

    Without TF_CONFIG the strategy has one worker (this process) and its local devices; with
    TF_CONFIG it would all-reduce across machines. Every replica computes the gradient of its
    part of the global batch, the gradients are summed (``all_reduce``) and every copy of the
    variables applies the same update: deterministic given the seed (same data order, stateless
    negatives), so two runs give the same numbers. Returns losses, speed and the vectors.
    """
    steps = int(steps or s.steps)
    vocab, ids, counts = prepare_corpus(s)
    words = list(vocab.words)
    table = tf.constant(word2vec_fast.unigram_table(counts), tf.int32)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        emb, out_w = _mirrored_tables(len(words), s.dim, s.seed)
    dist_ds = strategy.experimental_distribute_dataset(make_dataset_fn(ids, counts, s, seed=s.seed)())
    step = _sync_step_fn(strategy, emb, out_w, table, s, steps)
    losses, seconds = _run_sync_steps(step, iter(dist_ds), steps)
    return {
        "strategy": "MultiWorkerMirroredStrategy",
        "replicas": strategy.num_replicas_in_sync,
        "steps": steps,
        "losses": losses,
        "seconds": seconds,
        "steps_per_second": (steps - 1) / seconds,
        "pairs_per_second": (steps - 1) * s.batch_size / seconds,
        "words": words,
        "vectors": emb.numpy(),
    }


def _mirrored_tables(vocab_size: int, dim: int, seed: int):
    """The embedding and the output weights (created under the strategy's scope: one copy per
    replica); every replica applies the same, already reduced, update."""
    agg = tf.VariableAggregation.ONLY_FIRST_REPLICA  # all replicas apply the same reduced update
    emb = tf.Variable(
        uniform_shard_init([vocab_size, dim], tf.float32, 0.5 / dim, seed), aggregation=agg, name="embedding"
    )
    out_w = tf.Variable(tf.zeros([vocab_size, dim]), aggregation=agg, name="output_weights")
    return emb, out_w


def _replica_grads(emb, out_w, table, targets, contexts, seed, negatives):
    """One replica's batch: (loss, dense [V, D] gradients of the embedding and of the output
    weights), with negatives drawn from ``table`` by a stateless op seeded with ``seed``."""
    targets, contexts = tf.cast(targets, tf.int32), tf.cast(contexts, tf.int32)
    pick = tf.random.stateless_uniform(
        [tf.shape(targets)[0], negatives], seed=seed, maxval=tf.shape(table)[0], dtype=tf.int32
    )
    cid = tf.concat([contexts[:, None], tf.gather(table, pick)], axis=1)
    t, c = tf.gather(emb, targets), tf.gather(out_w, cid)
    loss, gt, gc = sgns_loss_and_grads(t, c)
    flat = tf.reshape(cid, [-1])
    shape = emb.shape  # [V, D]
    g_emb = tf.tensor_scatter_nd_add(tf.zeros(shape), targets[:, None], gt * row_scale(targets)[:, None])
    g_out = tf.tensor_scatter_nd_add(
        tf.zeros(shape), flat[:, None], tf.reshape(gc, [-1, shape[1]]) * row_scale(flat)[:, None]
    )
    return loss, g_emb, g_out


def _sync_step_fn(strategy, emb, out_w, table, s: TrainSettings, steps: int):
    """The synchronous step ``step(batch, i) -> mean loss``: every replica's gradients are summed
    (a barrier), then every copy applies the same update (learning rate decayed over ``steps``)."""
    replicas = strategy.num_replicas_in_sync

    @tf.function
    def step(batch, i):
        def replica_fn(targets, contexts):
            ctx = tf.distribute.get_replica_context()
            rid = tf.cast(ctx.replica_id_in_sync_group, tf.int64)
            loss, g_emb, g_out = _replica_grads(
                emb, out_w, table, targets, contexts, tf.stack([i, rid]), s.negatives
            )
            # synchronous: sum the gradients of all replicas (a barrier), then the same update everywhere
            g_emb, g_out, loss = ctx.all_reduce(tf.distribute.ReduceOp.SUM, [g_emb, g_out, loss])
            lr = s.learning_rate * tf.maximum(1e-4, 1.0 - tf.cast(i, tf.float32) / steps)
            emb.assign_sub(lr * g_emb)
            out_w.assign_sub(lr * g_out)
            return loss / replicas

        per_replica = strategy.run(replica_fn, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica, axis=None)

    return step


def _run_sync_steps(step, it, steps: int):
    """Run ``steps`` steps (the first one traces the function and is not timed): (losses, seconds)."""
    losses = [float(step(next(it), tf.constant(0, tf.int64)))]  # traces the function
    t0 = time.time()
    for i in range(1, steps):
        losses.append(float(step(next(it), tf.constant(i, tf.int64))))
    return losses, max(time.time() - t0, 1e-9)


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        settings = parse_args(argv)  # first: `--help` works without TF_CONFIG
        conf = tf_config_from_env()
    except (ClusterConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    role = conf["task"]["type"]
    if role in ("ps", "worker"):
        run_server(conf)
        return 0
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
