"""word2vec benchmark: the workshop's TensorFlow trainer against gensim, same corpus, same settings.

    python benchmarks/bench_word2vec.py              # the target: news20 3 epochs, movie_reviews 5 epochs
    python benchmarks/bench_word2vec.py --corpus news20 --epochs 1
    python benchmarks/bench_word2vec.py --corpus /path/to/text.txt.gz --only tensorflow

Both trainers run skip-gram with negative sampling (dim 128, window 5, 5 negatives, min_count 5,
sample 1e-3, learning rate 0.025 falling linearly to 0.0001), gensim 4.4 with ``workers`` =
cores (2 here) in its fast ``corpus_file`` mode. Each run is its own Python process, started
from here one after the other on the same tokenised corpus file, and timed **from outside**:
the whole process counts (interpreter, imports - TensorFlow's included -, reading the corpus,
the vocabulary, XLA compilation, training), up to the trained vectors; the evaluation that
follows (the same code for both) is timed apart and left out. Rows per corpus:

* ``gensim``: gensim's ``Word2Vec(sg=1, hs=0, workers=cores)``;
* ``tf 2 threads``: the CLI's start-up (``word2vec_optimized.__main__.start``: the corpus read in
  a child process while TensorFlow is imported), then the workshop's ``train_embeddings`` (what
  the CLI, the notebook and the CNN section's ``load_or_train`` run) with ``threads=2``, and an
  **empty** XLA compilation cache (a first run: the compilation is paid);
* ``tf 2 thr warm``: the same again with the cache the first run filled (a second run);
* ``tf 1 thread``: ``threads=1`` (deterministic), empty cache: the scaling from 1 to 2 threads.

Columns: words/s = corpus words x epochs / whole-process seconds (``wall s``) and its ratio to
gensim's; ``start s`` (imports, vocabulary, compilation) and ``train s`` inside it; the training
alone in words/s; CPU utilisation during training (process CPU time / training wall time: 200%
= both cores busy) and CPU microseconds per word (all threads: the fairer figure when other jobs
share the machine); analogy accuracy (questions-words, 30,000 most frequent words as candidates,
the same code for both); ``pair AUC``: a LOCAL sanity check of similarity, not a standard
word-similarity set (none is available offline here): how often a related pair of the
questions-words file (athens-greece, walk-walked) is more similar than the same word with a
random word of the questions.

gensim is a benchmark-only dependency (requirements-bench.txt). Other processes on the machine
skew the wall-clock figures: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_seconds, peak_mb  # noqa: E402  (repo on sys.path, data mirror default)

PLAN = (("news20", 3), ("movie_reviews", 5))  # the target: corpus, epochs
TARGET = {"news20": 1.5, "movie_reviews": 1.0}  # words/s ratio to gensim, whole process
ROWS = (  # (label, trainer, threads, cache)
    ("gensim", "gensim", None, None),
    ("tf 2 threads", "tensorflow", 2, "cold"),
    ("tf 2 thr warm", "tensorflow", 2, "warm"),
    ("tf 1 thread", "tensorflow", 1, "cold"),
)


def prepare_corpus(source: str, folder: Path, max_words: int | None) -> tuple[Path, int]:
    """The corpus tokenised by the workshop's tokenizer, as lines of 10,000 words."""
    from workshop_sections.data import iter_tokens  # noqa: PLC0415 (the parent never imports TensorFlow)

    safe = "".join(ch if ch.isalnum() else "_" for ch in Path(str(source)).name)
    out = folder / f"{safe}.txt"
    n, buf = 0, []
    with open(out, "w", encoding="utf-8") as f:
        for words in iter_tokens(source):
            if max_words is not None:
                words = words[: max(0, max_words - n - len(buf))]
            buf.extend(words)
            while len(buf) >= 10_000:
                f.write(" ".join(buf[:10_000]) + "\n")
                n += 10_000
                buf = buf[10_000:]
        if buf:
            f.write(" ".join(buf) + "\n")
            n += len(buf)
    return out, n


# --------------------------------------------------------------------------- inside a subprocess
def evaluate(words, vectors) -> dict:
    """Analogy accuracy and the local pair-similarity check, the same code for both trainers (timed
    with its imports: in gensim's process they import TensorFlow, which must not count as gensim's)."""
    t0 = time.perf_counter()
    import numpy as np  # noqa: PLC0415 (subprocess only)

    from workshop_sections import data  # noqa: PLC0415
    from workshop_sections.word2vec_optimized import word2vec_fast as w2v  # noqa: PLC0415

    emb = w2v.Embeddings(words, vectors)
    ev = emb.evaluate_analogies(restrict_vocab=30000)
    index = {w: i for i, w in enumerate(emb.words[:30000])}
    pairs = set()  # the related pairs of the questions: (a, b) and (c, d) of each
    for _, a, b, c, d in data.load_questions_words(quiet=True):
        pairs |= {(index[x], index[y]) for x, y in ((a, b), (c, d)) if x in index and y in index}
    auc = None
    if pairs:
        p = np.array(sorted(pairs))
        unit = emb.normalized
        rng = np.random.default_rng(0)
        others = p[rng.permutation(len(p)), 1]
        related = (unit[p[:, 0]] * unit[p[:, 1]]).sum(1)
        random_ = (unit[p[:, 0]] * unit[others]).sum(1)
        auc = float(np.mean(related > random_))
    return {"analogy": ev, "pair_auc": auc, "pairs": len(pairs), "eval_seconds": time.perf_counter() - t0}


def run_ours(args) -> dict:
    """The workshop's trainer through train_embeddings (the CLI's and load_or_train's path)."""
    t0 = time.perf_counter()
    from workshop_sections.word2vec_optimized.__main__ import start  # noqa: PLC0415 (no TensorFlow yet)

    scan = start(args.file)  # the CLI's start-up: the corpus read in a child while TensorFlow loads
    from workshop_sections.word2vec_optimized import word2vec_fast as w2v  # noqa: PLC0415

    t_import = time.perf_counter() - t0
    c0 = cpu_seconds()
    emb, m = w2v.train_embeddings(
        scan,
        epochs=args.epochs,
        dim=args.dim,
        window=args.window,
        negatives=args.negatives,
        min_count=args.min_count,
        subsample=args.sample,
        seed=args.seed,
        evaluate=False,
        progress=not args.quiet,
        threads=args.threads,
        **json.loads(args.ours_options or "{}"),
    )
    cpu_all = cpu_seconds() - c0
    return dict(
        evaluate(emb.words, emb.vectors),
        import_seconds=t_import,
        vocab_seconds=m["vocab_seconds"],
        compile_seconds=m["compile_seconds"],
        train_seconds=m["seconds"],
        train_cpu_seconds=m["cpu_utilisation"] * m["seconds"],
        cpu_seconds_to_vectors=cpu_all,
        vocab_size=m["vocab_size"],
        threads=m["threads"],
        final_loss=m["final_loss"],
        peak_mb=peak_mb(),
    )


def run_gensim(args) -> dict:
    t0 = time.perf_counter()
    from gensim.models import Word2Vec as GensimWord2Vec  # noqa: PLC0415 (benchmark-only dependency)

    t_import = time.perf_counter() - t0
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
    t1 = time.perf_counter()
    model.build_vocab(corpus_file=str(args.file))
    t_vocab = time.perf_counter() - t1
    t1, c0 = time.perf_counter(), cpu_seconds()
    model.train(
        corpus_file=str(args.file),
        total_examples=model.corpus_count,
        total_words=model.corpus_total_words,
        epochs=args.epochs,
    )
    train_seconds, train_cpu = time.perf_counter() - t1, cpu_seconds() - c0
    return dict(
        evaluate(model.wv.index_to_key, model.wv.vectors),
        import_seconds=t_import,
        vocab_seconds=t_vocab,
        compile_seconds=0.0,
        train_seconds=train_seconds,
        train_cpu_seconds=train_cpu,
        vocab_size=len(model.wv),
        threads=args.workers,
        peak_mb=peak_mb(),
    )


# --------------------------------------------------------------------------- the parent
def subprocess_run(trainer: str, args, file: Path, epochs: int, threads, cache: Path | None) -> dict:
    """One trainer in a fresh Python process, timed from outside (start to exit)."""
    cmd = [sys.executable, __file__, "--_run", trainer, "--_file", str(file), "--epochs", str(epochs)]
    for name in ("dim", "window", "negatives", "min_count", "sample", "workers", "seed"):
        cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    cmd += ["--threads", str(threads or 0)] + (
        ["--ours-options", args.ours_options] if args.ours_options else []
    )
    cmd += ["--quiet"] if args.quiet else []
    env = dict(os.environ, **({"WORKSHOP_XLA_CACHE": str(cache)} if cache else {}))
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"the {trainer} run failed (exit {proc.returncode}); command: {' '.join(cmd)}")
    r = json.loads(lines[-1][len("RESULT ") :])
    r["process_seconds"] = wall
    r["wall_seconds"] = wall - r["eval_seconds"]  # start to trained vectors
    return r


def pct(x) -> str:
    return "    -" if x is None else f"{100 * x:5.1f}"


HEAD = (
    f"{'corpus':<13} {'ep':>2} {'trainer':<13} {'words/s':>9} {'ratio':>6} {'wall s':>7} {'start s':>7} "
    f"{'train s':>7} {'train w/s':>9} {'cpu %':>5} {'cpu us/w':>8} {'analogy':>7} {'sem':>5} {'syn':>5} "
    f"{'pair AUC':>8}"
)


def row_text(r: dict, gensim: dict | None) -> str:
    a = r["analogy"]
    ratio = f"{r['words_per_sec'] / gensim['words_per_sec']:5.2f}x" if gensim else "     -"
    start = r["wall_seconds"] - r["train_seconds"]
    return (
        f"{r['corpus']:<13} {r['epochs']:>2} {r['label']:<13} {r['words_per_sec']:>9,.0f} {ratio:>6} "
        f"{r['wall_seconds']:>7.1f} {start:>7.1f} {r['train_seconds']:>7.1f} "
        f"{r['train_words_per_sec']:>9,.0f} {100 * r['cpu_utilisation']:>5.0f} "
        f"{1e6 * r['train_cpu_seconds'] / r['words_total']:>8.2f} {pct(a['overall']):>7} "
        f"{pct(a['semantic']):>5} {pct(a['syntactic']):>5} {pct(r['pair_auc']):>8}"
    )


def verdicts(rows: list) -> list:
    """One line per corpus: the 2-thread (empty cache) row against gensim and the targets."""
    out = []
    for corpus in dict.fromkeys(r["corpus"] for r in rows):
        by = {r["label"]: r for r in rows if r["corpus"] == corpus}
        g, o = by.get("gensim"), by.get("tf 2 threads") or by.get("tf 1 thread")
        if not (g and o):
            continue
        ratio = o["words_per_sec"] / g["words_per_sec"]
        cpu_ratio = g["train_cpu_seconds"] / o["train_cpu_seconds"]
        diff = (
            None
            if o["analogy"]["overall"] is None or g["analogy"]["overall"] is None
            else 100 * (o["analogy"]["overall"] - g["analogy"]["overall"])
        )
        target = TARGET.get(corpus, 1.0)
        ok = ratio >= target and diff is not None and diff >= -1.0
        out.append(
            f"{corpus}: {o['label']} / gensim = {ratio:.2f}x words/s, whole process "
            f"(target >= {target:.1f}x); training alone "
            f"{o['train_words_per_sec'] / g['train_words_per_sec']:.2f}x; "
            f"per CPU second {cpu_ratio:.2f}x; analogy "
            + ("n/a" if diff is None else f"{diff:+.1f} points")
            + f" (target >= -1.0): {'MET' if ok else 'not met'}"
        )
    return out


def table(rows: list) -> str:
    out = [HEAD, "-" * len(HEAD)]
    for r in rows:
        gensim = next((g for g in rows if g["corpus"] == r["corpus"] and g["label"] == "gensim"), None)
        out.append(row_text(r, gensim if r["label"] != "gensim" else None))
    return "\n".join(out + [""] + verdicts(rows))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--corpus", action="append", help="news20, movie_reviews, or a path (repeatable; default: the plan)"
    )
    p.add_argument("--epochs", type=int, default=None, help="for every corpus (default: news20 3, others 5)")
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gensim worker threads (cores)")
    p.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--max-words", type=int, default=None, help="use only the first N words of each corpus")
    p.add_argument("--only", choices=["tensorflow", "gensim"], help="run one trainer only")
    p.add_argument("--rows", default=None, help="comma-separated row labels to run (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ours-options", default=None, help="JSON of extra Word2Vec options (experiments)")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--_run", choices=["tensorflow", "gensim"], help=argparse.SUPPRESS)
    p.add_argument("--_file", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def run_plan(args, plan, rows_wanted) -> list:
    """Every (corpus, row) of the plan, one subprocess each; a fresh XLA cache per corpus."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_w2v_") as tmp:
        for corpus, epochs in plan:
            file, n_words = prepare_corpus(corpus, Path(tmp), args.max_words)
            caches = {"cold": None, "warm": None}
            for label, trainer, threads, cache in rows_wanted:
                if cache == "cold":  # an empty cache, which the warm row then reuses
                    caches["cold"] = caches["warm"] = Path(tempfile.mkdtemp(dir=tmp, prefix="xla_"))
                print(f"-- {corpus}, {epochs} epoch(s): {label} ...", flush=True)
                r = subprocess_run(trainer, args, file, epochs, threads, caches.get(cache or "", None))
                total = n_words * epochs
                r.update(corpus=Path(str(corpus)).name, label=label, words=n_words, epochs=epochs)
                r.update(words_total=total, words_per_sec=total / r["wall_seconds"])
                r.update(train_words_per_sec=total / r["train_seconds"])
                r["cpu_utilisation"] = r["train_cpu_seconds"] / r["train_seconds"]
                rows.append(r)
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    if args._run:  # inside a subprocess: train one model, print one RESULT line
        args.file = args._file
        args.threads = args.threads or None
        result = run_ours(args) if args._run == "tensorflow" else run_gensim(args)
        print("RESULT " + json.dumps(result, default=str), flush=True)
        return 0
    rows_wanted = [r for r in ROWS if not args.only or r[1] == args.only]
    if args.rows:
        rows_wanted = [r for r in rows_wanted if r[0] in args.rows.split(",")]
    if any(r[1] == "gensim" for r in rows_wanted):
        try:
            import gensim  # noqa: F401, PLC0415 (benchmark-only dependency)
        except ImportError:
            print("gensim is not installed: pip install -r requirements-bench.txt (or --only tensorflow)")
            return 2
    plan = [(c, args.epochs or dict(PLAN).get(c, 5)) for c in args.corpus] if args.corpus else list(PLAN)
    if args.epochs and not args.corpus:
        plan = [(c, args.epochs) for c, _ in plan]
    print(
        f"word2vec benchmark: skip-gram, dim {args.dim}, window {args.window}, {args.negatives} negatives, "
        f"min_count {args.min_count}, sample {args.sample}, gensim workers {args.workers}, "
        f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    c0 = cpu_seconds()
    rows = run_plan(args, plan, rows_wanted)
    print("\n" + table(rows))
    print(
        f"(load average at the end: {os.getloadavg()[0]:.1f}; CPU of this script: {cpu_seconds() - c0:.1f} s)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
