"""Benchmark (not a test): the local parameter-server cluster against single-process word2vec.

    .venv/bin/python benchmarks/bench_distributed.py [--max-words 300000] [--steps 2000] [--clusters 1x1,2x2]

On the same corpus slice it measures
- word2vec_optimized's single-process trainer (word2vec_fast.train_embeddings, 1 epoch, XLA),
- this section's step function in one process, without a cluster (same math, no RPC),
- the local cluster (chief + P ps + W workers on 127.0.0.1) for each --clusters entry,
and prints steps/s, (target, context) pairs/s, corpus words/s and, for the clusters, the
seconds from launch until the first steps are done. Words/s of the step-function runs are
pairs/s divided by the pairs one epoch of this corpus yields (counted once). Results also go
to artifacts/distributed_tensorflow/bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT  # noqa: F401  (first: the repository on sys.path, quiet TensorFlow, data mirror)

from workshop_sections import config
from workshop_sections.distributed_tensorflow import distributed_word2vec as dw
from workshop_sections.distributed_tensorflow import launcher
from workshop_sections.word2vec_optimized import word2vec_fast as w2v


def pairs_per_word(ids, counts, window, subsample, seed=0) -> float:
    """(target, context) pairs one epoch of ``ids`` yields per corpus word (subsampling included)."""
    total = 0
    for t, _ in w2v.make_dataset(
        ids, counts, window=window, batch_size=65536, subsample=subsample, seed=seed
    ):
        total += int(t.shape[0])
    return total / len(ids)


def bench_single_step_fn(s, steps: int) -> dict:
    """ShardedWord2Vec's step in this process (plain variables, no cluster)."""
    vocab, ids, counts = dw.prepare_corpus(s)
    model = dw.new_model(len(vocab), counts, s, total_steps=steps)
    it = iter(dw.make_dataset_fn(ids, counts, s, seed=s.seed)())  # one process: a fixed order
    fn = model.make_train_fn(s.steps_per_call)
    fn(it)  # trace
    calls = max(1, steps // s.steps_per_call)
    t0 = time.perf_counter()
    for _ in range(calls):
        loss = float(fn(it))
    sec = time.perf_counter() - t0
    n = calls * s.steps_per_call
    return {"steps_per_sec": n / sec, "pairs_per_sec": n * s.batch_size / sec, "final_loss": loss}


def bench_cluster(num_ps: int, num_workers: int, s, steps: int) -> dict:
    """The local cluster (chief + ``num_ps`` ps + ``num_workers`` workers) training ``steps`` steps."""
    with tempfile.TemporaryDirectory() as tmp:
        r = launcher.run_local_cluster(
            num_ps=num_ps,
            num_workers=num_workers,
            steps=steps,
            out_dir=Path(tmp) / "run",
            echo=False,
            corpus=s.corpus,
            max_words=s.max_words,
            max_vocab=s.max_vocab,
            dim=s.dim,
            batch_size=s.batch_size,
            log_every=max(steps // 10, s.steps_per_call),
            checkpoint_every=steps,
            steps_per_call=s.steps_per_call,
        )
    return {
        "steps_per_sec": r["steps_per_second"],
        "pairs_per_sec": r["pairs_per_second"],
        "final_loss": r["last_loss"],
        "ready_sec": r["seconds_until_ready_from_launch"],
        "chief_ready_sec": r["seconds_until_ready"],
        "wall_sec": r["wall_seconds"],
    }


def bench_reference(vocab, ids, s, ppw: float) -> dict:
    """word2vec_optimized's own single-process trainer (2 epochs after a warm-up epoch)."""
    model = w2v.Word2Vec(vocab, dim=s.dim, window=s.window, negatives=s.negatives, seed=s.seed)
    model.train(ids, epochs=1, subsample=s.subsample, progress=False)  # warm-up: XLA compilation
    res = model.train(ids, epochs=2, subsample=s.subsample, progress=False)
    return {
        "run": "word2vec_optimized, 1 process (XLA, its own batching)",
        "steps_per_sec": None,
        "pairs_per_sec": res["words_per_sec"] * ppw,
        "words_per_sec": res["words_per_sec"],
        "final_loss": res["loss"][-1] if res["loss"] else None,
    }


def parse_args(argv=None) -> argparse.Namespace:
    """The benchmark's flags."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default="movie_reviews")
    p.add_argument("--max-words", type=int, default=300_000)
    p.add_argument("--max-vocab", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--clusters", default="1x1,2x2", help="comma-separated PSxWORKERS, e.g. 1x1,2x2")
    p.add_argument("--skip-reference", action="store_true", help="skip word2vec_optimized's own trainer")
    return p.parse_args(argv)


def print_table(rows: list[dict]) -> None:
    """One line per run: steps/s, pairs/s, words/s and (clusters) seconds until ready."""

    def fmt(v, spec):
        return format(v, spec) if isinstance(v, (int, float)) else "-"

    print()
    print(f"{'run':55s} {'steps/s':>8s} {'pairs/s':>10s} {'words/s':>9s} {'ready s':>8s}")
    for row in rows:
        print(
            f"{row['run']:55s} {fmt(row.get('steps_per_sec'), '8.0f')} "
            f"{fmt(row['pairs_per_sec'], '10,.0f')} {fmt(row['words_per_sec'], '9,.0f')} "
            f"{fmt(row.get('ready_sec'), '8.1f')}"
        )


def main(argv=None) -> int:
    a = parse_args(argv)
    config.setup(verbose=False)
    s = dw.TrainSettings(
        corpus=a.corpus,
        max_words=a.max_words,
        max_vocab=a.max_vocab,
        dim=a.dim,
        batch_size=a.batch_size,
        steps=a.steps,
    )
    vocab, ids, counts = dw.prepare_corpus(s)
    ppw = pairs_per_word(ids, counts, s.window, s.subsample)
    print(
        f"corpus {a.corpus}: {len(ids):,} words (of the first {a.max_words:,}), vocabulary {len(vocab):,}, "
        f"{ppw:.2f} pairs per word; dim {a.dim}, batch {a.batch_size} pairs, {os.cpu_count()} cores",
        flush=True,
    )
    rows = []
    if not a.skip_reference:
        rows.append(bench_reference(vocab, ids, s, ppw))
        print(rows[-1], flush=True)
    r = bench_single_step_fn(s, a.steps)
    rows.append(
        dict(run="this step function, 1 process, no cluster", words_per_sec=r["pairs_per_sec"] / ppw, **r)
    )
    print(rows[-1], flush=True)
    for spec in a.clusters.split(","):
        nps, nw = (int(x) for x in spec.lower().split("x"))
        r = bench_cluster(nps, nw, s, a.steps)
        run = f"local cluster: chief + {nps} ps + {nw} workers"
        rows.append(dict(run=run, words_per_sec=r["pairs_per_sec"] / ppw, **r))
        print(rows[-1], flush=True)
    print_table(rows)
    out = config.artifacts_dir() / "distributed_tensorflow"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(
        json.dumps({"settings": vars(a), "pairs_per_word": ppw, "rows": rows}, indent=2) + "\n"
    )
    print(f"\nwritten to {out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
