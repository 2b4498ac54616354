"""Train word2vec from the command line.

    python -m workshop_sections.word2vec_optimized --corpus movie_reviews --epochs 5 --dim 128 \\
        --window 5 --negatives 5 --min-count 5 --out artifacts/word2vec_optimized

Several corpora are concatenated: ``--corpus movie_reviews --corpus /path/news20.txt.gz``.
Writes OUT/vectors.vec (word2vec text format), OUT/vectors.npz + OUT/vocab.tsv (the
workshop's format) and OUT/metrics.json (words/s, seconds, vocabulary size, analogy accuracy).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .. import config, data


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """--help with each option's default, but no "(default: None)" on a required option or on one
    whose help says what its default is."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m workshop_sections.word2vec_optimized",
        description="Fast skip-gram word2vec with public TensorFlow 2 ops.",
        formatter_class=_DefaultsHelp,
    )
    p.add_argument(
        "--corpus",
        action="append",
        required=True,
        metavar="NAME_OR_PATH",
        help="a corpus name (movie_reviews, news20, text8) or a .txt/.gz/.zip file or a folder (read for its "
        ".txt/.gz/.bz2/.xz/.zip files; a file that is not UTF-8 is read as cp1252 or the encoding "
        "detected, with a note; WORKSHOP_CORPUS_ENCODING forces one); repeat for several",
    )
    p.add_argument("--epochs", type=int, default=5, help="passes over the corpus")
    p.add_argument("--dim", type=int, default=128, help="embedding dimensions")
    p.add_argument(
        "--window", type=int, default=5, help="maximum window size (the actual one is drawn in 1..W)"
    )
    p.add_argument("--negatives", type=int, default=5, help="negative samples per (word, context) pair")
    p.add_argument("--min-count", type=int, default=5, help="drop words seen fewer times")
    p.add_argument(
        "--subsample", type=float, default=1e-3, help="frequent-word subsampling threshold t (0: off)"
    )
    p.add_argument("--lr", type=float, default=0.025, help="initial learning rate (falls linearly)")
    _add_trainer_options(p)
    p.add_argument("--max-words", type=int, default=None, help="use only the first N words of the corpus")
    p.add_argument("--max-vocab", type=int, default=None, help="keep at most N words in the vocabulary")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial vectors and the random draws")
    p.add_argument(
        "--restrict-vocab", type=int, default=30000, help="analogy candidates: the N most frequent words"
    )
    p.add_argument("--no-eval", action="store_true", help="skip the analogy evaluation")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder (required; created if missing): vectors.vec, vectors.npz, vocab.tsv, "
        "metrics.json",
    )
    return p


def _add_trainer_options(p: argparse.ArgumentParser) -> None:
    """The options of the trainer itself (word2vec_fast.Word2Vec): damping, batches, negatives, threads."""
    p.add_argument(
        "--damping",
        choices=["curvature", "count"],
        default="curvature",
        help="how a row's summed update in a batch is kept stable",
    )
    p.add_argument("--batch-words", type=int, default=2048, help="centre words per training step")
    p.add_argument(
        "--neg-group", type=int, default=16, help="neighbouring centres that share their negatives"
    )
    p.add_argument(
        "--neg-shared", type=int, default=None, help="negatives drawn per group (default 5 x negatives)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="training threads (default: 2 with 2 cores or more; 1 is deterministic)",
    )


def _fail(message) -> int:
    """The CLI's answer to a bad input: ONE line ``error: ...`` on stderr, exit status 2."""
    text = " ".join(str(message).split())
    print(f"error: {text}", file=sys.stderr)
    return 2


def start(corpus, max_words: int | None = None) -> data.CorpusScan:
    """The command line's start-up (``make bench`` times the same): the corpus is read in a child
    process on the other core (``data.CorpusScan``) while TensorFlow is imported here, without
    the Keras (and the scikit-learn and matplotlib it pulls in) that this command does not use
    (``config.quiet_tensorflow(lean=True)``). Returns the scan, for ``train_embeddings``."""
    scan = data.CorpusScan(corpus, max_words)
    config.quiet_tensorflow(lean=True)
    return scan


def _cannot_write(out: Path) -> str | None:
    """Why no file can be written in the folder ``out``, or None: tried by making the folders it
    needs and a temporary file there, then removing the folders made (a failed run leaves none)."""
    made = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as exc:
        return str(exc.strerror or exc)
    finally:
        for p in made:
            try:
                p.rmdir()
            except OSError:
                pass
    return None


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if not args.out.strip():
        return _fail("--out is empty: give the folder to write the vectors to.")
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():  # checked before training, not after it
        return _fail(f"--out {args.out} is a file, not a folder: give the folder to write the vectors to.")
    if args.max_words is not None and args.max_words < 1:
        return _fail(f"--max-words {args.max_words}: give a positive number of words (or leave it out: all).")
    try:  # every corpus path checked before training starts: an empty or missing path fails at once
        for corpus in args.corpus:
            data.corpus_path(corpus)
    except data.DataError as exc:
        return _fail(exc)
    why = _cannot_write(out)  # tried now: an --out that cannot be written must not cost a whole run
    if why:
        return _fail(f"--out {args.out}: cannot write there ({why}): give a folder you can write to.")
    try:
        return _train(args)
    except KeyboardInterrupt:  # Ctrl-C: one line, the shell's status for it, no traceback
        print("\ninterrupted (Ctrl-C).", file=sys.stderr)
        return 130


def _train(args) -> int:
    """Read, train, evaluate and write, after main's checks of the arguments."""
    scan = start(args.corpus if len(args.corpus) > 1 else args.corpus[0], args.max_words)
    from . import word2vec_fast as w2v  # noqa: PLC0415 (imports TensorFlow: --help and bad paths stay fast)

    try:
        emb, metrics = w2v.train_embeddings(
            scan,
            epochs=args.epochs,
            dim=args.dim,
            window=args.window,
            negatives=args.negatives,
            min_count=args.min_count,
            out_dir=args.out,
            subsample=args.subsample,
            lr=args.lr,
            max_words=args.max_words,
            max_vocab=args.max_vocab,
            seed=args.seed,
            evaluate=not args.no_eval,
            restrict_vocab=args.restrict_vocab,
            progress=not args.quiet,
            batch_words=args.batch_words,
            neg_group=args.neg_group,
            neg_shared=args.neg_shared,
            damping=args.damping,
            threads=args.threads,
        )
    except (w2v.Word2VecError, data.DataError) as exc:
        return _fail(exc)
    except OSError as exc:  # an unreadable file or an --out that cannot be written
        name = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        return _fail(f"{exc.strerror or exc}{':' if name else ''}{name}")
    print(json.dumps(metrics, indent=2, sort_keys=True))
    print(f"wrote {args.out}/vectors.vec, vectors.npz, vocab.tsv, metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
