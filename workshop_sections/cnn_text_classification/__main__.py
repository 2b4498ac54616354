"""Benchmark Kim's CNN variants and the TF-IDF baseline on MR, the way Kim (2014) compared them.

    python -m workshop_sections.cnn_text_classification --init random --seeds 3
    python -m workshop_sections.cnn_text_classification --init random --init word2vec-tuned \\
        --folds 10 --seeds 1
    python -m workshop_sections.cnn_text_classification --init all --folds 10 --fold-ids 0-4 \\
        --vectors artifacts/cnn_text_classification/vectors_mr_news20/vectors.vec

Without ``--folds`` it uses the notebook's fixed split (fold 1 of 10); with ``--folds K``
every variant runs on the same K stratified folds (``--fold-ids`` picks some of them). It
prints mean and standard deviation of test accuracy and training seconds, the standard
error over folds, the paired difference of each word2vec variant from CNN-rand on the
folds both ran, and writes them to ``<out>/metrics.json`` (default
``artifacts/cnn_text_classification/benchmark``). Runs merge into that file: run the folds
in two processes at once (``--fold-ids 0-4`` and ``--fold-ids 5-9``) and either one prints
the whole table at the end; a re-run of the same fold and seed replaces the old run. The word2vec
variants print how much of each fold's training vocabulary the vectors cover.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from workshop_sections import config, data


def _fold_ids(text: str | None, folds: int) -> list[int] | None:
    """'0-4' or '0,3,7' (0-based) -> list; None -> all folds."""
    if not text:
        return None
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    bad = [i for i in out if not 0 <= i < folds]
    if bad:
        raise SystemExit(f"--fold-ids {text}: fold numbers run from 0 to {folds - 1} (got {bad})")
    return out


def _fail(message) -> int:
    """The CLI's answer to a bad input file: ONE line ``error: ...`` on stderr, exit status 2."""
    print("error: " + " ".join(str(message).split()), file=sys.stderr)
    return 2


def table(variants: dict) -> str:
    """The benchmark table: per variant the runs, folds, mean and standard deviation of test
    accuracy (%), the standard error over folds, the mean training seconds, then the paired
    difference of each variant from CNN-rand on the folds both ran."""
    from .text_cnn import paired_difference  # noqa: PLC0415 (TensorFlow: keeps --help fast)

    lines = [
        f"{'variant':<16} {'runs':>4} {'folds':>5} {'test acc mean':>13} {'std':>5} {'fold SE':>7} "
        f"{'train s mean':>12} {'std':>6}",
        "-" * 78,
    ]
    for name, v in variants.items():
        se = v.get("fold_sem", float("nan"))
        lines.append(
            f"{name:<16} {len(v['runs']):>4} {len(v['fold_ids']):>5} {100 * v['mean_accuracy']:12.2f}% "
            f"{100 * v['std_accuracy']:5.2f} {'-' if math.isnan(se) else f'{100 * se:.2f}':>7} "
            f"{v['mean_seconds']:12.1f} {v['std_seconds']:6.1f}"
        )
    base = variants.get("random")
    for name, v in variants.items():
        d = paired_difference(v, base) if base and name != "random" else None
        if d:
            lines.append(
                f"{name} - random on the same {d[2]} folds: {100 * d[0]:+.2f} points "
                f"(standard error {100 * d[1]:.2f})"
            )
    return "\n".join(lines)


def merge_runs(saved: list[dict], new: list[dict]) -> list[dict]:
    """Saved runs plus new ones; a new run replaces a saved run of the same fold and seed."""
    keyed = {(r["fold"], r["seed"]): r for r in saved}
    keyed.update({(r["fold"], r["seed"]): r for r in new})
    return [keyed[k] for k in sorted(keyed)]


def save_merged(
    path: Path, protocol: dict, setup: dict, runs: dict[str, list], folds: int, elapsed: float
) -> dict:
    """Merge this process's runs into ``path`` (so runs on other folds, other variants or
    from another process at the same time add up to one table) and return the variants.

    Saved results from a different protocol (folds, epochs, subset) are dropped; a word2vec
    variant's saved runs are dropped when they used other vectors or other postprocessing."""
    from .text_cnn import summarize  # noqa: PLC0415 (TensorFlow: keeps --help fast)

    lock = None
    try:
        import fcntl  # noqa: PLC0415 (POSIX only: Windows has no fcntl)

        lock = open(path.with_name(".metrics.lock"), "w")
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be merging into the same file
    except ImportError:  # Windows: no lock, runs from one process at a time
        pass
    try:
        saved = json.loads(path.read_text()) if path.exists() else {}
        if saved.get("protocol") != protocol:
            saved = {}  # a different protocol: start a fresh table rather than mix them
        variants = saved.get("variants", {})
        for name, new in runs.items():
            if not new:
                continue
            old = variants.get(name, {})
            same = not name.startswith("word2vec") or old.get("setup") == setup
            merged = merge_runs(old.get("runs", []) if same else [], new)
            variants[name] = {
                **summarize(name, merged, folds),
                **({"setup": setup} if name.startswith("word2vec") else {}),
            }
        config.write_json(
            path,  # the CLI's own results table (nested: variants, runs), not a section's metrics
            {
                "protocol": protocol,
                "variants": variants,
                "elapsed_seconds": elapsed + saved.get("elapsed_seconds", 0.0),
            },
        )
    finally:
        if lock is not None:
            lock.close()
    return variants


def _parser() -> argparse.ArgumentParser:
    """The command line's options (``--help``)."""
    p = argparse.ArgumentParser(
        prog="python -m workshop_sections.cnn_text_classification",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--init",
        action="append",
        default=None,
        help="random | word2vec-static | word2vec-tuned | tfidf | all (repeat or comma-separate)",
    )
    p.add_argument(
        "--seeds", type=int, default=3, help="training seeds per split (default 3; tfidf runs once)"
    )
    p.add_argument(
        "--folds", type=int, default=None, help="k-fold cross-validation (Kim: 10); default one fixed split"
    )
    p.add_argument("--fold-ids", default=None, help="only these folds, 0-based: '0-4' or '0,2,5'")
    p.add_argument(
        "--vectors",
        default=None,
        help="word vectors: word2vec text (.vec, fastText's too), word2vec binary or GloVe text, gzipped "
        "or not (default: the word2vec_optimized section's)",
    )
    p.add_argument(
        "--raw-vectors",
        action="store_true",
        help="use the word2vec vectors as they are (default: centred, top direction removed, equal lengths)",
    )
    p.add_argument(
        "--epochs", type=int, default=10, help="most epochs per run (early stopping on dev; default 10)"
    )
    p.add_argument("--limit", type=int, default=None, help="use only this many MR sentences (smoke tests)")
    p.add_argument(
        "--out",
        default=None,
        help="folder of metrics.json (default artifacts/cnn_text_classification/benchmark)",
    )
    return p


def _variants(p: argparse.ArgumentParser, args, variants: tuple) -> tuple[list[str], int, list[int]]:
    """(the variants to run, the number of folds, the fold ids) from the options, or a usage error."""
    inits = []
    for item in args.init or ["random"]:
        for name in item.split(","):
            name = name.strip()
            inits.extend(variants if name == "all" else [name])
    unknown = [n for n in inits if n not in variants]
    if unknown:
        p.error(f"unknown --init {', '.join(unknown)}: use {' | '.join(variants)} | all")
    if args.seeds < 1:
        p.error("--seeds must be 1 or more")
    folds = args.folds or 10
    if args.folds is not None and args.folds < 2:
        p.error("--folds must be 2 or more")
    fold_ids = _fold_ids(args.fold_ids, folds) if args.folds else [0]
    return inits, folds, fold_ids if fold_ids is not None else list(range(folds))


def _vectors(tc, args, inits: list[str]):
    """The word vectors the word2vec variants need (None if no variant needs them); raises
    Word2VecError / OSError / DataError for a file that cannot be read."""
    if any(n.startswith("word2vec") for n in inits):
        vectors = tc.load_vectors(args.vectors)
        print(f"word2vec vectors: {vectors!r} from {args.vectors or 'the word2vec_optimized section'}")
        return vectors
    if args.vectors is not None:
        print(
            f"note: --vectors {args.vectors} is not used: only the word2vec variants use word vectors "
            f"(this run: {', '.join(inits)}).",
            file=sys.stderr,
        )
    return None


def _run_one(tc, name: str, split, vectors, seed: int, args):
    """One training run of variant ``name`` on ``split``: a text_cnn.Result."""
    if name == "tfidf":
        return tc.tfidf_baseline(split)
    return tc.train_cnn(
        split,
        init=name,
        vectors=vectors,
        epochs=args.epochs,
        seed=seed,
        postprocess=not args.raw_vectors,
        progress=False,
        verbose=False,
    )


def _run_fold(tc, fold: int, folds: int, inits: list[str], vectors, args, runs: dict) -> None:
    """Every variant and seed on one fold; each run is printed and added to ``runs``. The first
    word2vec run of the fold prints the vectors' coverage of the fold's training words."""
    split = tc.load_split(fold=fold, folds=folds, limit=args.limit)
    coverage_said = False
    for name in inits:
        for seed in range(1 if name == "tfidf" else args.seeds):  # the baseline is deterministic
            r = _run_one(tc, name, split, vectors, seed, args)
            runs[name].append(
                {
                    "fold": fold,
                    "seed": seed,
                    "test_accuracy": r.test_accuracy,
                    "dev_accuracy": r.dev_accuracy,
                    "seconds": r.seconds,
                    "epochs": r.epochs,
                }
            )
            if r.coverage is not None and not coverage_said:
                print(f"  fold {fold + 1:>2}/{folds}: {r.coverage}", flush=True)
                coverage_said = True
            print(
                f"  fold {fold + 1:>2}/{folds} {name:<16} seed {seed}: test {100 * r.test_accuracy:5.1f}%  "
                f"dev {100 * r.dev_accuracy:5.1f}%  {r.seconds:6.1f} s"
                + (f"  {r.epochs} epochs" if r.epochs else ""),
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark the options ask for; 0 when done, 2 for an unreadable input file."""
    p = _parser()
    args = p.parse_args(argv)
    cfg = config.setup(verbose=False)
    from . import text_cnn as tc  # noqa: PLC0415 (TensorFlow: keeps --help and option errors fast)

    inits, folds, fold_ids = _variants(p, args, tc.VARIANTS)
    if args.vectors is not None and not args.vectors.strip():
        return _fail(
            "--vectors is empty: give the path of a word-vector file (.vec, .txt, .bin), or leave it out "
            "to use the word2vec_optimized section's vectors."
        )
    try:
        vectors = _vectors(tc, args, inits)
    except (OSError, data.DataError, tc.word2vec_fast.Word2VecError) as exc:
        return _fail(exc)
    out = Path(args.out) if args.out else cfg.artifacts(tc.SECTION) / "benchmark"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "metrics.json"
    protocol = {
        "folds": folds,
        "cross_validation": bool(args.folds),
        "epochs": args.epochs,
        "limit": args.limit,
        "split_seed": tc.SPLIT_SEED,
    }
    setup = {
        "vectors": str(Path(args.vectors).expanduser().resolve()) if args.vectors else None,
        "postprocess_vectors": not args.raw_vectors,
    }
    runs: dict[str, list] = {n: [] for n in inits}
    what = f"{len(fold_ids)} of {folds} folds" if args.folds else f"the fixed split (fold 1 of {folds})"
    print(f"MR, {what}, {args.seeds} seed(s) per CNN, variants: {', '.join(inits)}")
    start = time.perf_counter()
    variants: dict = {}
    for fold in fold_ids:  # fold-major, so an interrupted run still compares variants on the same folds
        _run_fold(tc, fold, folds, inits, vectors, args, runs)
        variants = save_merged(path, protocol, setup, runs, folds, time.perf_counter() - start)
    print()
    print(table({n: variants[n] for n in tc.VARIANTS if n in variants}))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
