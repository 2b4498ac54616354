"""Where the time of the TensorFlow word2vec trainer goes (CPU seconds, by leaving parts out).

    python benchmarks/profile_word2vec.py                  # news20's first 1M words, dim 128
    python benchmarks/profile_word2vec.py --corpus movie_reviews --words 500000

Runs the same batches through the compiled step several times:
the whole step, the step without the scatter-add updates, and without the per-row update
scaling; the differences are the cost of those parts. Also times the NumPy batch preparation
(subsampling, windows) and the XLA compilation. CPU seconds are used (all threads), since the
wall clock on a shared machine mostly measures the other users.
"""

from __future__ import annotations

import argparse
import sys

from _common import cpu_seconds as cpu  # noqa: E402  (repo on sys.path, data mirror default)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default="news20")
    p.add_argument("--words", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)

    from workshop_sections import config

    config.quiet_tensorflow()
    import numpy as np
    import tensorflow as tf

    from workshop_sections.word2vec_optimized import word2vec_fast as w2v

    vocab, ids = w2v.build_vocab(args.corpus, max_words=args.words)
    keep = w2v.subsample_keep_prob(vocab.counts).numpy()
    rng = np.random.default_rng(0)
    model = w2v.Word2Vec(vocab, dim=args.dim)
    c0 = cpu()
    batches = []
    for s0 in range(0, len(ids), model.chunk_words):
        batches += list(model.chunk_batches(ids[s0 : s0 + model.chunk_words], keep, rng, 0.02, 0.02))
    prep = cpu() - c0
    words = len(ids)
    centers = sum(int(np.count_nonzero(b[1] > 0)) for b in batches)

    def run_all():
        for c, x, lrs, nb in batches:
            float(
                run(
                    tf.constant(c),
                    tf.constant(x),
                    tf.constant(lrs),
                    tf.constant(nb, tf.int32),
                    tf.constant(1, tf.int32),
                )[0]
            )

    results = {}
    for label, skip in (
        ("whole step", ()),
        ("without scatter-add updates", ("scatter",)),
        ("without per-row scaling", ("counts",)),
    ):
        # the compiled step of the notebook (w2v.make_train_run / sgns_step), with parts left out
        run = w2v.make_train_run(
            model.emb, model.out, model.table, skip=frozenset(skip), **model.step_options
        )
        c0 = cpu()
        run_all()  # first run: compiles
        first = cpu() - c0
        c0 = cpu()
        for _ in range(args.repeats):
            run_all()
        results[label] = ((cpu() - c0) / args.repeats, first)
    full = results["whole step"][0]
    print(
        f"{args.corpus}: {words:,} words, {len(vocab):,} vocabulary, {centers:,} centre words after subsampling, dim {args.dim}"
    )
    print(
        f"batch preparation (NumPy: subsampling, windows): {prep:6.2f} CPU s  = {1e6 * prep / words:.2f} us/word"
    )
    for label, (secs, first) in results.items():
        print(
            f"{label:<30} {secs:6.2f} CPU s  = {1e6 * secs / words:.2f} us/word "
            f"(first run incl. XLA compile: {first:.2f} s)"
        )
    print(
        f"=> scatter-add updates ~{100 * (full - results['without scatter-add updates'][0]) / full:.0f}% of the step, "
        f"per-row scaling ~{100 * (full - results['without per-row scaling'][0]) / full:.0f}%, "
        f"gathers + products + sampling the rest"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
