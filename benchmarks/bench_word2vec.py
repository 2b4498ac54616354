"""word2vec benchmark: the workshop's TensorFlow trainer against gensim, same corpus, same settings.

    python benchmarks/bench_word2vec.py                       # news20 and movie_reviews, dim 128, 1 epoch
    python benchmarks/bench_word2vec.py --corpus news20 --epochs 3 --dim 128
    python benchmarks/bench_word2vec.py --corpus /path/to/text.txt.gz

Both trainers run skip-gram with negative sampling (window 5, 5 negatives, min_count 5,
sample 1e-3, linearly decaying learning rate 0.025), gensim with ``workers`` = cores. Each
trainer runs in its own subprocess (so peak memory, read from ``ru_maxrss``, is its own),
one after the other, on the same tokenised corpus file. Reported per trainer:

* words/s: corpus tokens x epochs / training seconds (the same numerator for both; the
  vocabulary scan is not included), and the wall seconds of the whole subprocess work
  (reading the corpus, vocabulary, training, evaluation);
* CPU microseconds per word of the training (user + system time of all its threads):
  on a shared, busy machine this is the fairer measure of work, as the wall clock depends on
  how many cores the scheduler happens to give each process;
* peak resident memory of the subprocess (the TensorFlow one includes TensorFlow itself);
* analogy accuracy on questions-words, restricted to the 30,000 most frequent words, with
  the same evaluation code for both (gensim's own ``evaluate_word_analogies`` is printed
  for gensim as a cross-check).

gensim is a benchmark-only dependency (requirements-bench.txt). Other processes on the
machine skew the numbers: the ratio of two back-to-back runs is the figure to look at.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_seconds  # noqa: E402  (repo on sys.path, data mirror default)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def prepare_corpus(source: str, folder: Path, max_words: int | None) -> tuple[Path, int]:
    """The corpus tokenised by the workshop's tokenizer, as lines of 10,000 words."""
    from workshop_sections.word2vec_optimized import word2vec_fast as w2v

    safe = "".join(ch if ch.isalnum() else "_" for ch in Path(str(source)).name)
    out = folder / f"{safe}.txt"
    n = 0
    buf: list = []
    with open(out, "w", encoding="utf-8") as f:
        for words in w2v.iter_corpus_tokens(source, max_words):
            buf.extend(words)
            while len(buf) >= 10_000:
                f.write(" ".join(buf[:10_000]) + "\n")
                n += 10_000
                buf = buf[10_000:]
        if buf:
            f.write(" ".join(buf) + "\n")
            n += len(buf)
    return out, n


# --------------------------------------------------------------------------- the two trainers
def run_ours(args) -> dict:
    t0 = time.perf_counter()
    from workshop_sections import config

    config.quiet_tensorflow()
    from workshop_sections.word2vec_optimized import word2vec_fast as w2v

    vocab, ids = w2v.build_vocab(args.file, min_count=args.min_count)
    t_vocab = time.perf_counter() - t0
    model = w2v.Word2Vec(
        vocab,
        dim=args.dim,
        window=args.window,
        negatives=args.negatives,
        seed=args.seed,
        **json.loads(args.ours_options or "{}"),
    )
    c0 = cpu_seconds()
    res = model.train(
        ids, epochs=args.epochs, subsample=args.sample, progress=not args.quiet, desc="tensorflow"
    )
    train_cpu = cpu_seconds() - c0
    emb = model.embeddings()
    ev = emb.evaluate_analogies(restrict_vocab=30000)
    return {
        "train_seconds": res["seconds"],
        "train_cpu_seconds": train_cpu,
        "vocab_seconds": t_vocab,
        "vocab_size": len(vocab),
        "analogy": ev,
        "wall_seconds": time.perf_counter() - t0,
        "peak_mb": peak_mb(),
        "final_loss": res["loss"][-1] if res["loss"] else None,
    }


def run_gensim(args) -> dict:
    t0 = time.perf_counter()
    from gensim.models import Word2Vec as GensimWord2Vec

    from workshop_sections import data
    from workshop_sections.word2vec_optimized import word2vec_fast as w2v

    model = GensimWord2Vec(
        vector_size=args.dim,
        window=args.window,
        negative=args.negatives,
        hs=0,
        sg=1,
        min_count=args.min_count,
        sample=args.sample,
        workers=args.workers,
        seed=args.seed + 1,
        alpha=0.025,
        min_alpha=0.0001,
    )
    model.build_vocab(corpus_file=str(args.file))
    t_vocab = time.perf_counter() - t0
    t1, c0 = time.perf_counter(), cpu_seconds()
    model.train(
        corpus_file=str(args.file),
        total_examples=model.corpus_count,
        total_words=model.corpus_total_words,
        epochs=args.epochs,
    )
    train_seconds = time.perf_counter() - t1
    train_cpu = cpu_seconds() - c0
    emb = w2v.Embeddings(model.wv.index_to_key, model.wv.vectors)
    ev = emb.evaluate_analogies(restrict_vocab=30000)
    own = None
    try:
        own, _ = model.wv.evaluate_word_analogies(
            str(data.path("questions_words", quiet=True)), restrict_vocab=30000
        )
    except Exception as exc:  # the cross-check is optional
        own = f"n/a ({exc})"
    return {
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu,
        "vocab_seconds": t_vocab,
        "vocab_size": len(model.wv),
        "analogy": ev,
        "gensim_own_analogy": own,
        "wall_seconds": time.perf_counter() - t0,
        "peak_mb": peak_mb(),
    }


def subprocess_run(which: str, args, file: Path) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--_run",
        which,
        "--_file",
        str(file),
        "--dim",
        str(args.dim),
        "--epochs",
        str(args.epochs),
        "--window",
        str(args.window),
        "--negatives",
        str(args.negatives),
        "--min-count",
        str(args.min_count),
        "--sample",
        str(args.sample),
        "--workers",
        str(args.workers),
        "--seed",
        str(args.seed),
    ]
    if args.ours_options:
        cmd += ["--ours-options", args.ours_options]
    if args.quiet:
        cmd.append("--quiet")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"the {which} run failed (exit {proc.returncode}); command: {' '.join(cmd)}")
    return json.loads(lines[-1][len("RESULT ") :])


# --------------------------------------------------------------------------- the table
def pct(x) -> str:
    return "   -" if x is None else f"{100 * x:5.1f}"


def table(rows: list) -> str:
    head = (
        f"{'corpus':<14} {'trainer':<11} {'words':>9} {'vocab':>7} {'words/s':>10} {'train s':>8} {'wall s':>7} "
        f"{'cpu us/w':>8} {'peak MB':>8} {'analogy':>7} {'sem':>5} {'syn':>5} {'asked':>6} {'skip':>6}"
    )
    out = [head, "-" * len(head)]
    for r in rows:
        a = r["analogy"]
        out.append(
            f"{r['corpus']:<14} {r['trainer']:<11} {r['words']:>9,} {r['vocab_size']:>7,} "
            f"{r['words_per_sec']:>10,.0f} {r['train_seconds']:>8.1f} {r['wall_seconds']:>7.1f} "
            f"{1e6 * r['train_cpu_seconds'] / (r['words'] * r['epochs']):>8.2f} {r['peak_mb']:>8,.0f} {pct(a['overall']):>7} {pct(a['semantic']):>5} {pct(a['syntactic']):>5} "
            f"{a['total']:>6,} {a['skipped']:>6,}"
        )
    by_corpus: dict = {}
    for r in rows:
        by_corpus.setdefault(r["corpus"], {})[r["trainer"]] = r
    out.append("")
    for corpus, pair in by_corpus.items():
        if "tensorflow" in pair and "gensim" in pair:
            o, g = pair["tensorflow"], pair["gensim"]
            ratio = o["words_per_sec"] / g["words_per_sec"]
            diff = None
            if o["analogy"]["overall"] is not None and g["analogy"]["overall"] is not None:
                diff = 100 * (o["analogy"]["overall"] - g["analogy"]["overall"])
            cpu_ratio = g["train_cpu_seconds"] / o["train_cpu_seconds"]
            out.append(
                f"{corpus}: speed ratio tensorflow / gensim = {ratio:.2f}x (per CPU second: {cpu_ratio:.2f}x); analogy difference = "
                + ("n/a" if diff is None else f"{diff:+.1f} points")
                + "  (target: >= 1.00x and within 1 point)"
            )
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--corpus", action="append", help="news20, movie_reviews, or a path (repeatable; default: both)"
    )
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="gensim worker threads (default: cores)"
    )
    p.add_argument("--max-words", type=int, default=None, help="use only the first N words of each corpus")
    p.add_argument("--only", choices=["tensorflow", "gensim"], help="run one trainer only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ours-options", default=None, help="JSON of extra Word2Vec options (experiments)")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--_run", choices=["tensorflow", "gensim"], help=argparse.SUPPRESS)
    p.add_argument("--_file", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args._run:  # inside a subprocess: train one model, print one RESULT line
        args.file = args._file
        result = run_ours(args) if args._run == "tensorflow" else run_gensim(args)
        print("RESULT " + json.dumps(result, default=str), flush=True)
        return 0

    if args.only != "tensorflow":
        try:
            import gensim  # noqa: F401
        except ImportError:
            print(
                "gensim is not installed: pip install -r requirements-bench.txt (or use --only tensorflow)",
                file=sys.stderr,
            )
            return 2
    corpora = args.corpus or ["news20", "movie_reviews"]
    trainers = [args.only] if args.only else ["gensim", "tensorflow"]
    print(
        f"word2vec benchmark: skip-gram, dim {args.dim}, window {args.window}, {args.negatives} negatives, "
        f"min_count {args.min_count}, sample {args.sample}, {args.epochs} epoch(s), gensim workers {args.workers}, "
        f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_w2v_") as tmp:
        for corpus in corpora:
            file, n_words = prepare_corpus(corpus, Path(tmp), args.max_words)
            for trainer in trainers:
                print(f"-- {corpus}: {trainer} ...", flush=True)
                r = subprocess_run(trainer, args, file)
                r.update(
                    corpus=Path(str(corpus)).name,
                    trainer=trainer,
                    words=n_words,
                    epochs=args.epochs,
                    words_per_sec=n_words * args.epochs / r["train_seconds"],
                )
                if trainer == "gensim":
                    print(
                        f"   gensim's own evaluate_word_analogies: {r.get('gensim_own_analogy')}", flush=True
                    )
                rows.append(r)
    print()
    print(table(rows))
    print(f"(load average at the end: {os.getloadavg()[0]:.1f})")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
