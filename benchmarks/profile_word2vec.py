"""Where the time of the TensorFlow word2vec trainer goes: start-up, and the compiled step by parts.

    python benchmarks/profile_word2vec.py                  # news20's first 1M words, dim 128
    python benchmarks/profile_word2vec.py --corpus movie_reviews --words 500000

1. Start-up, as a run of the CLI pays it: importing TensorFlow (with the workshop), reading the
   corpus and building the vocabulary, XLA compilation of the training call (with an empty
   persistent cache, then with the cache it filled).
2. The step: the same batches through the compiled call (one thread), in CPU seconds (all
   threads: the wall clock on a shared machine mostly measures the other users), whole and with
   parts left out, built here from the notebook's exported pieces (``sgns_step``'s named steps):
   without the damping (scales 1), without the scatter-adds into the tables (the values kept
   alive), and with the negatives' products skipped. The differences are the cost of those parts.
   Also the NumPy batch preparation (subsampling, window sizes, runs).
3. Threads: the training alone with 1 and 2 threads, words/s and CPU utilisation.

``--ops`` instead: the compiled call's time by XLA operation, from TensorFlow's profiler (one
thread), each operation named by the TensorFlow op it was compiled from (XLA's optimised program
is dumped to a temporary folder to read those names), and summed by kind: matrix products, row
gathers, scatter-adds, the rest (element-wise work fused by XLA).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from _common import cpu_seconds as cpu  # noqa: E402  (repo on sys.path, data mirror default)

T0 = time.perf_counter()
os.environ.setdefault("WORKSHOP_XLA_CACHE", tempfile.mkdtemp(prefix="profile_w2v_xla_"))  # empty: cold
HLO_DUMP = tempfile.mkdtemp(prefix="profile_w2v_hlo_") if "--ops" in sys.argv else None
if HLO_DUMP:  # XLA reads its flags when TensorFlow starts: the optimised programs, as text
    os.environ["XLA_FLAGS"] = (
        f"{os.environ.get('XLA_FLAGS', '')} --xla_dump_to={HLO_DUMP} --xla_dump_hlo_as_text "
        "--xla_dump_hlo_pass_re=^$"
    ).strip()
from workshop_sections.word2vec_optimized import word2vec_fast as w2v  # noqa: E402  (imports TensorFlow)

T_IMPORT = time.perf_counter() - T0
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def step_without(part: str):
    """A variant of the notebook's ``sgns_step`` with one part left out (profiling only)."""
    return lambda *args, **options: _step(*args, part=part, **options)


def _step(
    emb, out, table, seq, span, lr, seed, *, part, window, negatives, neg_group, neg_shared, block, **_
):
    """sgns_step's named steps, put together as it does, minus ``part``."""
    W, V = window, tf.shape(emb)[0]
    x = tf.maximum(seq, 0)
    c = x[W:-W]
    v, u = tf.gather(emb, c), tf.gather(out, x)
    m, n_ctx = w2v.pair_mask(seq, span, W)
    lp, v_blk, u_blk = w2v.band_scores(v, u, W, block)
    dv, du = w2v.band_updates((1.0 - tf.sigmoid(lp)) * m * lr, v_blk, u_blk, W)
    loss = -tf.reduce_sum(tf.math.log_sigmoid(lp) * m)
    rows, upd = x, du
    if part != "negatives":
        neg, un, ln, wn = w2v.shared_negatives(
            table,
            seq,
            m,
            v,
            out,
            seed,
            window=W,
            negatives=negatives,
            neg_group=neg_group,
            neg_shared=neg_shared,
        )
        gn = -tf.sigmoid(ln) * wn * lr
        dv += tf.reshape(tf.einsum("ngk,nkd->ngd", gn, un), dv.shape)
        du_n = tf.einsum("ngk,ngd->nkd", gn, tf.reshape(v, [ln.shape[0], neg_group, -1]))
        rows = tf.concat([x, tf.reshape(neg, [-1])], axis=0)
        upd = tf.concat([du, tf.reshape(du_n, [-1, du.shape[1]])], axis=0)
        loss -= tf.reduce_sum(tf.math.log_sigmoid(-ln) * wn)
    if part in ("damping", "negatives"):
        sc_c, sc_o = tf.ones_like(c, tf.float32), tf.ones_like(rows, tf.float32)
    else:
        sc_c, sc_o = w2v.curvature_scales(lp, ln, m, wn, v, u, un, c, rows, lr, V, W)
    if part == "scatter":  # keep the values alive, skip the writes
        loss += 0.0 * (tf.reduce_sum(dv * sc_c[:, None]) + tf.reduce_sum(upd * sc_o[:, None]))
        return emb, out, loss, tf.reduce_sum(n_ctx)
    emb = tf.tensor_scatter_nd_add(emb, c[:, None], dv * sc_c[:, None])
    out = tf.tensor_scatter_nd_add(out, rows[:, None], upd * sc_o[:, None])
    return emb, out, loss, tf.reduce_sum(n_ctx)


def startup(args) -> tuple:
    """Vocabulary and compilation times (the import was timed at the top of this script)."""
    t = time.perf_counter()
    vocab, ids = w2v.build_vocab(args.corpus, max_words=args.words)
    t_vocab = time.perf_counter() - t
    model = w2v.Word2Vec(vocab, dim=args.dim, threads=1)
    cold = model.compile()
    model2 = w2v.Word2Vec(vocab, dim=args.dim, threads=1)
    again = model2.compile()  # a new tf.function in the same process: its own name, no cache hit
    print(f"{args.corpus}: {len(ids):,} words, {len(vocab):,} vocabulary, dim {args.dim}")
    print(
        f"start-up: import TensorFlow + workshop {T_IMPORT:5.2f} s, read corpus + vocabulary {t_vocab:5.2f} s"
    )
    print(
        f"          XLA compile of the training call: {cold:5.2f} s (empty cache), "
        f"{again:5.2f} s (a second model in this process; a new process finds it in the cache)"
    )
    return vocab, ids, model


def run_batches(run, model, batches) -> None:
    """Every chunk's batches through ``run`` from the model's current tables (changes dropped)."""
    emb, out = model.emb.read_value(), model.out.read_value()
    for s, p, lr, nb in batches:
        float(
            run(emb, out, tf.constant(s), tf.constant(p), tf.constant(lr), tf.constant(nb), tf.constant(1))[2]
        )


def step_parts(args, vocab, ids, model) -> None:
    """CPU seconds of the compiled chunk call, whole and with parts left out."""
    keep = w2v.subsample_keep_prob(vocab.counts).numpy()
    c0 = cpu()
    batches = []
    for k, s0 in enumerate(range(0, len(ids), model.chunk_words)):
        raw = ids[s0 : s0 + model.chunk_words]
        batches += list(model.chunk_batches(raw, keep, np.random.default_rng([1, k]), 0.02, 0.02))
    prep = cpu() - c0
    words = len(ids)
    print(
        f"batch preparation (NumPy: subsampling, windows): {prep:6.2f} CPU s = "
        f"{1e6 * prep / words:.2f} us/word"
    )
    results = {}
    for label, part in (
        ("whole step", None),
        ("without damping", "damping"),
        ("without scatter-adds", "scatter"),
        ("without negatives", "negatives"),  # and so without damping (it needs their scores)
    ):
        run = w2v.make_train_run(model.table, step=step_without(part) if part else None, **model.step_options)
        c0 = cpu()
        run_batches(run, model, batches)  # first run: compiles
        first = cpu() - c0
        c0 = cpu()
        for _ in range(args.repeats):
            run_batches(run, model, batches)
        results[label] = (cpu() - c0) / args.repeats
        print(
            f"  {label:<22} {results[label]:6.2f} CPU s = {1e6 * results[label] / words:.2f} us/word "
            f"(first run incl. compile {first:.2f} s)"
        )
    full = results["whole step"]
    shares = {k: 100 * (full - v) / full for k, v in results.items() if k != "whole step"}
    print(
        "=> "
        + ", ".join(f"{k[8:]} ~{v:.0f}%" for k, v in shares.items())
        + " of the step; the rest: gathers,"
    )
    print("   the band's score/update products, elementwise work, the copy of the tables in and out")


def thread_scaling(args, vocab, ids) -> None:
    """The training alone on 1 and 2 threads (after compiling): words/s, CPU utilisation."""
    for threads in (1, 2):
        model = w2v.Word2Vec(vocab, dim=args.dim, threads=threads)
        model.compile()
        r = model.train(ids, epochs=1, progress=False)
        print(
            f"threads={threads}: {r['words_per_sec']:>9,.0f} words/s, "
            f"CPU utilisation {100 * r['cpu_utilisation']:.0f}%, "
            f"{1e6 * r['cpu_seconds'] / r['words']:.2f} CPU us/word, "
            f"chunks per thread {r['chunks_per_thread']}"
        )


KINDS = (("Einsum", "matrix products"), ("Gather", "row gathers"), ("Scatter", "scatter-adds"))


def _tf_op_names(folder: str) -> dict:
    """XLA instruction name -> (TensorFlow op type, op name), from the dumped optimised programs."""
    import re  # noqa: PLC0415 (--ops only)
    from pathlib import Path  # noqa: PLC0415

    pattern = re.compile(r'%(\S+) = .*metadata=\{op_type="([^"]*)" op_name="([^"]*)"')
    names = {}
    for f in Path(folder).glob("*after_optimizations.txt"):
        for line in f.read_text().splitlines():
            m = pattern.search(line)
            if m:
                names.setdefault(m.group(1), (m.group(2), m.group(3).removeprefix("while/")))
    return names


def _op_times(logdir: str) -> dict:
    """XLA operation name -> [total ps, count] over the profiled run (TensorFlow's profiler trace)."""
    import glob  # noqa: PLC0415 (--ops only)

    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: PLC0415

    space = xplane_pb2.XSpace()
    space.ParseFromString(
        open(sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True))[-1], "rb").read()
    )
    times: dict = {}
    for plane in space.planes:
        meta = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            if "Eigen" not in line.name:  # the threads that run the compiled program's operations
                continue
            for e in line.events:
                name = meta.get(e.metadata_id, "?")
                if name != "ThunkExecutor::Execute" and not name.startswith("end: "):
                    t = times.setdefault(name, [0, 0])
                    t[0], t[1] = t[0] + e.duration_ps, t[1] + 1
    return times


def xla_ops(args, vocab, ids, top: int = 25) -> None:
    """The compiled call's time by XLA operation (one thread, after a warm-up), largest first."""
    model = w2v.Word2Vec(vocab, dim=args.dim, threads=1)
    model.compile()
    model.train(ids[: len(ids) // 4], epochs=1, progress=False)  # warm-up
    logdir = tempfile.mkdtemp(prefix="profile_w2v_trace_")
    tf.profiler.experimental.start(logdir)
    r = model.train(ids, epochs=1, progress=False)
    tf.profiler.experimental.stop()
    times, names = _op_times(logdir), _tf_op_names(HLO_DUMP)
    total = sum(t for t, _ in times.values())
    print(
        f"{r['words']:,} words, 1 thread: {1e-6 * total / r['words']:.2f} us/word inside XLA operations "
        f"({1e6 * r['cpu_seconds'] / r['words']:.2f} CPU us/word in all)"
    )
    print(f"{'share':>6} {'us/word':>7} {'calls':>6}  XLA operation <- TensorFlow op")
    for name, (t, n) in sorted(times.items(), key=lambda kv: -kv[1][0])[:top]:
        op_type, op_name = names.get(name, ("?", "?"))
        print(f"{100 * t / total:5.1f}% {1e-6 * t / r['words']:7.3f} {n:6d}  {name} <- {op_name} ({op_type})")
    by_kind = {label: 0 for _, label in KINDS} | {"the rest (element-wise, fused)": 0}
    for name, (t, _) in times.items():
        op_type = names.get(name, ("", ""))[0]
        label = next((lb for key, lb in KINDS if key in op_type), "the rest (element-wise, fused)")
        by_kind[label] += t
    print("by kind: " + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in by_kind.items()))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default="news20")
    p.add_argument("--words", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--skip-parts", action="store_true", help="only start-up and thread scaling")
    p.add_argument("--ops", action="store_true", help="instead: the time by XLA operation (profiler)")
    args = p.parse_args(argv)
    if args.ops:
        vocab, ids = w2v.build_vocab(args.corpus, max_words=args.words)
        xla_ops(args, vocab, ids)
        return 0
    vocab, ids, model = startup(args)
    if not args.skip_parts:
        step_parts(args, vocab, ids, model)
    thread_scaling(args, vocab, ids)
    return 0


if __name__ == "__main__":
    sys.exit(main())
