"""word2vec, optimised, with public TensorFlow 2 ops only (the helper of word2vec_optimized).

The 2016 workshop's ``word2vec_optimized.py`` needed custom C++ kernels (``skipgram_word2vec``
and ``neg_train_word2vec``) that TensorFlow dropped long ago. This module gets the same job
done with ordinary ops, and fast:

* **vocabulary** (:func:`build_vocab`): streamed over the corpus, most frequent word first,
  words seen fewer than ``min_count`` times dropped (as word2vec and gensim do);
* **subsampling** of frequent words with word2vec's formula (:func:`subsample_keep_prob`);
* **a dynamic window**: each centre word draws its window size uniformly from 1..``window``;
  pair generation is vectorised (:func:`skipgram_pairs`, :func:`window_matrix`);
* **negative sampling** from the unigram distribution raised to 0.75 (:func:`unigram_table`);
* **a streaming tf.data pipeline** in pure TensorFlow ops (:func:`make_dataset`);
* **the trainer** (:class:`Word2Vec`): plain SGD with a linearly decaying learning rate, as
  in word2vec. A step takes a run of consecutive words: each matrix row is read once per
  word and updated with one scatter-add per word; the scores are small dense matrix products
  (blocks of centres against their neighbourhoods); negatives are shared by small groups of
  neighbouring centres and re-weighted to word2vec's expected gradient. The whole step is
  compiled with XLA and a loop over many batches runs inside one compiled call. Each row's
  summed update in a batch is damped by its curvature so frequent words cannot blow up a
  large batch (see :class:`Word2Vec`);
* **evaluation**: :class:`Embeddings` with ``nearby`` and ``analogy`` (the talk's
  cat : kitten :: dog : ?) and analogy accuracy on questions-words restricted to the
  30,000 most frequent words, like gensim's ``evaluate_word_analogies``;
* **export** in the word2vec text format (:func:`save_vec`, readable by gensim's
  ``KeyedVectors.load_word2vec_format``) and in the workshop's own format
  (``vectors.npz`` + ``vocab.tsv``);
* :func:`train_embeddings` (used by the CLI and the notebook) and :func:`load_or_train`
  (used by later sections: loads ``artifacts/word2vec_optimized/vectors.vec`` or trains a
  quick version).
"""
from __future__ import annotations

import difflib
import json
import math
import os
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from .. import config, data

SECTION = "word2vec_optimized"
DEFAULTS = dict(epochs=5, dim=128, window=5, negatives=5, min_count=5, subsample=1e-3,
                lr=0.025, min_lr=0.0001, batch_words=2048)
QUICK = dict(epochs=3, dim=64, max_words=800_000)


# =========================================================================== errors
class Word2VecError(ValueError):
    """Bad input to the word2vec helpers; the message says what is wrong and what to do."""


class UnknownWordError(Word2VecError, KeyError):
    """A word that is not in the vocabulary (the message suggests close words)."""

    def __init__(self, word: str, suggestions: Sequence[str] = ()):
        self.word = word
        self.suggestions = list(suggestions)
        hint = (f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions
                else " No close word is in the vocabulary either.")
        self.message = (f"{word!r} is not in the vocabulary (words are lower-cased; rare words under "
                        f"min_count were dropped).{hint}")
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would show repr(message)
        return self.message


# =========================================================================== vocabulary
@dataclass
class Vocab:
    """Words sorted by frequency (most frequent first), their counts and a word -> id index."""

    words: list
    counts: np.ndarray
    index: dict = field(default_factory=dict)

    def __post_init__(self):
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if not self.index:
            self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index

    def id(self, word: str) -> int:
        try:
            return self.index[word]
        except KeyError:
            raise UnknownWordError(word, suggest(word, self.words)) from None

    def encode(self, words: Iterable[str]) -> np.ndarray:
        """Ids of the words that are in the vocabulary (others dropped), as int32."""
        idx = self.index
        return np.fromiter((idx[w] for w in words if w in idx), dtype=np.int32)

    @property
    def total(self) -> int:
        return int(self.counts.sum())


def suggest(word: str, words: Sequence[str], n: int = 5, limit: int = 50_000) -> list:
    """Close spellings of ``word`` among the ``limit`` most frequent ``words`` (difflib)."""
    return difflib.get_close_matches(str(word).lower(), list(words[:limit]), n=n, cutoff=0.6)


class Corpora(list):
    """Several corpora (names or paths) to be read one after the other, as one corpus:
    ``build_vocab(Corpora(["movie_reviews", "news20"]))``."""


def _is_source(x) -> bool:
    return isinstance(x, (str, os.PathLike))


def iter_corpus_tokens(sources, max_words: int | None = None) -> Iterator[list]:
    """Token lists of one corpus or several (names or paths), at most ``max_words`` words."""
    if _is_source(sources):
        sources = [sources]
    left = max_words
    for src in sources:
        for words in data.iter_tokens(src):
            if left is not None:
                if left <= 0:
                    return
                words = words[:left]
                left -= len(words)
            yield words


def build_vocab(source_or_words, min_count: int = 5, max_size: int | None = None,
                max_words: int | None = None) -> tuple[Vocab, np.ndarray]:
    """The vocabulary and the corpus as ids (out-of-vocabulary words dropped).

    ``source_or_words``: a corpus name ('movie_reviews', 'news20', 'text8') or a path
    (.txt, .gz, .zip or a folder); several corpora as ``Corpora([...])`` (a plain list
    whose items are all known corpus names or existing paths counts too); or a list of words. Words are sorted by count, ties by first appearance (as gensim does).
    Returns ``(vocab, ids)`` with ``ids`` an int32 array.
    """
    if min_count < 1:
        raise Word2VecError(f"min_count must be at least 1, got {min_count}.")
    if _is_source(source_or_words):
        chunks, label = iter_corpus_tokens(source_or_words, max_words), f"corpus {source_or_words!s}"
    elif isinstance(source_or_words, Corpora) or (
            isinstance(source_or_words, (list, tuple)) and source_or_words
            and all(_is_source(s) for s in source_or_words) and _looks_like_sources(source_or_words)):
        chunks, label = iter_corpus_tokens(list(source_or_words), max_words), f"corpora {list(map(str, source_or_words))}"
    else:
        words = list(source_or_words) if not isinstance(source_or_words, np.ndarray) else source_or_words.tolist()
        if max_words is not None:
            words = words[:max_words]
        chunks, label = [words], "the word list"
    index: dict = {}
    parts = []
    for words in chunks:
        if not words:
            continue
        setd = index.setdefault
        parts.append(np.fromiter((setd(w, len(index)) for w in words), dtype=np.int32, count=len(words)))
    if not parts:
        raise data.CorpusError(f"{label} holds no words: give a non-empty text corpus.")
    provisional = np.concatenate(parts)
    counts = np.bincount(provisional, minlength=len(index)).astype(np.int64)
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] >= min_count]
    if max_size is not None:
        order = order[:max_size]
    if len(order) == 0:
        raise Word2VecError(f"No word of {label} occurs {min_count} times or more ({len(provisional):,} words, "
                            f"{len(index):,} distinct): lower min_count or use a bigger corpus.")
    all_words = list(index)
    remap = np.full(len(index), -1, dtype=np.int32)
    remap[order] = np.arange(len(order), dtype=np.int32)
    ids = remap[provisional]
    ids = ids[ids >= 0]
    vocab = Vocab([all_words[i] for i in order], counts[order])
    return vocab, ids


def _looks_like_sources(items) -> bool:
    """A list of corpus names/paths (not a list of words): every item is a registered corpus
    name or an existing path."""
    for s in items:
        if isinstance(s, os.PathLike):
            continue
        try:
            data.get(str(s))
            continue
        except data.UnknownDatasetError:
            pass
        if not (("/" in s or "." in s) and Path(s).expanduser().exists()):
            return False
    return True


# =========================================================================== sampling
def subsample_keep_prob(counts, t: float | None = 1e-3) -> np.ndarray:
    """word2vec's probability of keeping each occurrence of a word with count ``f`` among
    ``N`` words: ``min(1, (sqrt(f / (t N)) + 1) * t N / f)``. ``t`` = 0 or None keeps all."""
    counts = np.asarray(counts, dtype=np.float64)
    if not t:
        return np.ones(len(counts), dtype=np.float64)
    if t < 0:
        raise Word2VecError(f"the subsampling threshold t must be >= 0, got {t}.")
    thresh = t * counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(counts / thresh) + 1.0) * thresh / counts
    keep[counts == 0] = 1.0
    return np.minimum(keep, 1.0)


def subsample(ids: np.ndarray, keep_prob: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The ids that survive subsampling: ``ids[rng.random(len(ids)) < keep_prob[ids]]``."""
    ids = np.asarray(ids)
    return ids[rng.random(len(ids)) < keep_prob[ids]]


def _check_window(window: int) -> None:
    if int(window) != window or window < 1:
        raise Word2VecError(f"window must be a positive whole number, got {window!r}.")


def window_matrix(ids: np.ndarray, window: int, rng: np.random.Generator | None = None,
                  spans: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every position's contexts in a dynamic window, vectorised.

    Position ``i`` draws its window size ``spans[i]`` uniformly in ``1..window``
    (``rng.integers(1, window + 1, size=len(ids))``, as word2vec's ``window - rand() % window``).
    Returns ``(centers, contexts)``: ``contexts[i, k]`` is the word at offset
    ``offsets[k]`` (``-window..-1, 1..window``) from ``i`` when that offset is within
    ``spans[i]`` and inside the corpus, else -1.
    """
    _check_window(window)
    ids = np.asarray(ids, dtype=np.int32)
    n = len(ids)
    if spans is None:
        rng = rng if rng is not None else np.random.default_rng()
        spans = rng.integers(1, window + 1, size=n)
    ctx = np.full((n, 2 * window), -1, dtype=np.int32)
    for k, o in enumerate(window_offsets(window)):
        a = abs(o)
        if a >= n:
            continue
        if o < 0:  # context before the centre: centre i >= a, context i - a
            ctx[a:, k] = np.where(spans[a:] >= a, ids[:-a], -1)
        else:
            ctx[:-a, k] = np.where(spans[:-a] >= a, ids[a:], -1)
    return ids, ctx


def window_offsets(window: int) -> list:
    return [o for o in range(-window, window + 1) if o != 0]


def skipgram_pairs(ids: np.ndarray, window: int, rng: np.random.Generator | None = None,
                   spans: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All (target, context) pairs of a dynamic window, vectorised; int32 arrays.

    Ordered by target position, then by offset (-window..-1, 1..window). The window sizes
    are drawn as in :func:`window_matrix`.
    """
    centers, ctx = window_matrix(ids, window, rng, spans)
    rows, cols = np.nonzero(ctx >= 0)
    return centers[rows], ctx[rows, cols]


def unigram_probs(counts, power: float = 0.75) -> np.ndarray:
    """The negative-sampling distribution: counts ** power, normalised."""
    p = np.asarray(counts, dtype=np.float64) ** power
    return p / p.sum()


def unigram_table(counts, power: float = 0.75, size: int | None = None) -> np.ndarray:
    """word2vec's negative-sampling table: word ``w`` fills a share ``p_w`` of the table
    (``p = counts**power / sum``). A uniform index into it samples from ``p``.
    ``size`` defaults to ``max(1e6, 100 * vocab)`` entries (int32)."""
    counts = np.asarray(counts)
    if len(counts) == 0:
        raise Word2VecError("the vocabulary is empty: there is nothing to sample negatives from.")
    size = int(size or max(1_000_000, 100 * len(counts)))
    p = unigram_probs(counts, power)
    # cumulative boundaries, then each table slot takes the word whose interval holds it
    bounds = np.cumsum(p) * size
    slots = np.arange(size, dtype=np.float64) + 0.5
    table = np.searchsorted(bounds, slots, side="right").astype(np.int32)
    return np.minimum(table, len(counts) - 1)


def draw_negatives(table, shape, seed):
    """Negative samples inside the compiled step: uniform slots of the unigram table
    (stateless random numbers, so XLA can compile it; ``seed`` is a pair of ints)."""
    import tensorflow as tf

    r = tf.random.stateless_uniform(shape, seed=seed, minval=0, maxval=tf.shape(table)[0], dtype=tf.int32)
    return tf.gather(table, r)


def check_negatives(negatives: int, vocab_size: int) -> None:
    if int(negatives) != negatives or negatives < 1:
        raise Word2VecError(f"negatives must be a positive whole number, got {negatives!r}.")
    if negatives >= vocab_size:
        raise Word2VecError(
            f"{negatives} negatives asked for, but the vocabulary has only {vocab_size} words: negative "
            f"samples must be words other than the true context, so use fewer than {vocab_size} "
            "(5-20 is usual), or a bigger corpus / lower min_count.")


def check_corpus(ids: np.ndarray, window: int) -> None:
    _check_window(window)
    n = len(ids)
    if n == 0:
        raise data.CorpusError("The corpus is empty (no word left after the vocabulary cut): "
                               "give more text or a lower min_count.")
    if n <= window:
        raise data.CorpusError(f"The corpus has only {n} word(s), not more than the window ({window}): "
                               "give more text or a smaller window.")


# =========================================================================== tf.data
def make_dataset(ids, counts, window: int = 5, batch_size: int = 16384, subsample: float | None = 1e-3,
                 seed: int = 0, epochs: int = 1, chunk_size: int = 1 << 18, shuffle: bool = True):
    """A streaming ``tf.data.Dataset`` of ``(targets, contexts)`` int32 batches, pure TF ops.

    The corpus is cut into chunks of ``chunk_size`` words; each chunk (in parallel) is
    subsampled, gets a dynamic window per word, becomes skip-gram pairs and is shuffled;
    the pairs come out in batches of ``batch_size`` (the last batch of a chunk may be
    smaller). Random draws are stateless: same ``seed`` -> same pairs; each epoch differs.
    Works in ``tf.distribute`` input functions (no Python generator).
    """
    import tensorflow as tf

    ids = np.asarray(ids, dtype=np.int32)
    check_corpus(ids, window)
    if batch_size < 1:
        raise Word2VecError(f"batch_size must be positive, got {batch_size}.")
    keep = tf.constant(subsample_keep_prob(counts, subsample), dtype=tf.float32)
    ids_t = tf.constant(ids)
    n = len(ids)
    n_chunks = -(-n // chunk_size)

    def pairs_of(i):
        e, c = i // n_chunks, i % n_chunks
        chunk = ids_t[c * chunk_size:(c + 1) * chunk_size]
        s1 = tf.stack([tf.cast(seed, tf.int64), i * 3])
        u = tf.random.stateless_uniform(tf.shape(chunk), seed=s1)
        chunk = tf.boolean_mask(chunk, u < tf.gather(keep, chunk))
        m = tf.size(chunk)
        spans = tf.random.stateless_uniform([m], seed=s1 + [0, 1], minval=1, maxval=window + 1, dtype=tf.int32)
        ts, cs = [], []
        for o in range(1, window + 1):
            k = tf.maximum(m - o, 0)
            left, right = chunk[:k], chunk[o:o + k]
            fwd = spans[:k] >= o  # centre left, context right
            bwd = spans[o:o + k] >= o  # centre right, context left
            ts += [tf.boolean_mask(left, fwd), tf.boolean_mask(right, bwd)]
            cs += [tf.boolean_mask(right, fwd), tf.boolean_mask(left, bwd)]
        t, cx = tf.concat(ts, 0), tf.concat(cs, 0)
        if shuffle:
            perm = tf.random.experimental.stateless_shuffle(tf.range(tf.size(t)), seed=s1 + [0, 2])
            t, cx = tf.gather(t, perm), tf.gather(cx, perm)
        return t, cx

    def batches(t, cx):
        nb = (tf.size(t) + batch_size - 1) // batch_size
        return tf.data.Dataset.range(tf.cast(nb, tf.int64)).map(
            lambda b: (t[b * batch_size:(b + 1) * batch_size], cx[b * batch_size:(b + 1) * batch_size]))

    ds = tf.data.Dataset.range(int(epochs) * n_chunks)
    ds = ds.map(pairs_of, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.flat_map(batches)
    return ds.prefetch(tf.data.AUTOTUNE)


# =========================================================================== embeddings
class Embeddings:
    """Trained word vectors: ``words`` (most frequent first), ``vectors`` (float32),
    ``normalized`` (L2-normalised rows), ``nearby``, ``analogy``, ``evaluate_analogies``."""

    def __init__(self, words: Sequence[str], vectors, counts=None):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise Word2VecError(f"{len(words)} words but vectors of shape {vectors.shape}: they must match.")
        self.words = list(words)
        self.vectors = vectors
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self.index = {w: i for i, w in enumerate(self.words)}
        self._normalized = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index

    def __repr__(self) -> str:
        return f"Embeddings({len(self.words):,} words x {self.dim} dims)"

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def normalized(self) -> np.ndarray:
        if self._normalized is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            self._normalized = (self.vectors / np.maximum(norms, 1e-12)).astype(np.float32)
        return self._normalized

    def id(self, word: str) -> int:
        try:
            return self.index[word]
        except KeyError:
            w = str(word).lower()
            if w in self.index:
                return self.index[w]
            raise UnknownWordError(word, suggest(word, self.words)) from None

    def vector(self, word: str, normalized: bool = True) -> np.ndarray:
        i = self.id(word)
        return self.normalized[i] if normalized else self.vectors[i]

    def _top(self, query: np.ndarray, k: int, exclude: Iterable[int] = (), limit: int | None = None) -> list:
        m = self.normalized if limit is None else self.normalized[:limit]
        q = query / max(float(np.linalg.norm(query)), 1e-12)
        sims = m @ q
        for i in exclude:
            if i < len(sims):
                sims[i] = -np.inf
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.words[i], float(sims[i])) for i in top if np.isfinite(sims[i])]

    def nearby(self, words, k: int = 8) -> dict:
        """The ``k`` nearest words (cosine) of each word: ``{word: [(neighbour, similarity), ...]}``.
        A single string is accepted too."""
        if isinstance(words, str):
            words = [words]
        out = OrderedDict()
        for w in words:
            i = self.id(w)
            out[w] = self._top(self.normalized[i].copy(), k, exclude=[i])
        return out

    def show_nearby(self, words, k: int = 8) -> None:
        for w, near in self.nearby(words, k).items():
            print(f"{w:>12} -> " + ", ".join(f"{n} ({s:.2f})" for n, s in near))

    def analogy(self, a: str, b: str, c: str, k: int = 1, restrict_vocab: int | None = None):
        """a : b :: c : ?  (``cat : kitten :: dog : ?`` -> ``puppy``, with good vectors).

        The answer is the word nearest to ``b - a + c`` (unit vectors), never a, b or c.
        Returns the word when ``k == 1``, else a list of ``(word, similarity)``."""
        ia, ib, ic = self.id(a), self.id(b), self.id(c)
        n = self.normalized
        top = self._top(n[ib] - n[ia] + n[ic], k, exclude=[ia, ib, ic], limit=restrict_vocab)
        return top[0][0] if k == 1 else top

    def evaluate_analogies(self, questions=None, restrict_vocab: int = 30000, batch: int = 2048) -> dict:
        """Accuracy on analogy questions ``(section, a, b, c, d)`` (default: questions-words).

        Like gensim's ``evaluate_word_analogies``: only the ``restrict_vocab`` most frequent
        words are candidates; a question with a word outside them is skipped (and counted
        in ``skipped``); the answer is the nearest candidate to ``b - a + c`` other than a, b, c.
        Sections whose name starts with 'gram' are syntactic, the others semantic.
        Returns ``{overall, semantic, syntactic, correct, total, skipped, sections: {...}}``
        (accuracies as fractions; None where no question was answered).
        """
        if questions is None:
            questions = data.load_questions_words(quiet=True)
        limit = min(int(restrict_vocab), len(self.words)) if restrict_vocab else len(self.words)
        index = {w: i for i, w in enumerate(self.words[:limit])}
        rows, sections, skipped = [], [], 0
        for q in questions:
            if len(q) != 5:
                raise Word2VecError(f"an analogy question must be (section, a, b, c, d), got {q!r}.")
            sec, *ws = q
            ids = [index.get(w.lower()) for w in ws]
            if any(i is None for i in ids):
                skipped += 1
                continue
            rows.append(ids)
            sections.append(sec)
        per_section: dict = OrderedDict()
        if rows:
            q = np.array(rows, dtype=np.int64)
            m = self.normalized[:limit]
            correct = np.zeros(len(q), dtype=bool)
            for s in range(0, len(q), batch):
                blk = q[s:s + batch]
                target = m[blk[:, 1]] - m[blk[:, 0]] + m[blk[:, 2]]
                sims = target @ m.T
                r = np.arange(len(blk))
                for j in range(3):
                    sims[r, blk[:, j]] = -np.inf
                correct[s:s + batch] = sims.argmax(axis=1) == blk[:, 3]
            for sec, ok in zip(sections, correct):
                c, t = per_section.get(sec, (0, 0))
                per_section[sec] = (c + int(ok), t + 1)
        else:
            correct = np.zeros(0, dtype=bool)

        def acc(pred):
            c = sum(v[0] for k, v in per_section.items() if pred(k))
            t = sum(v[1] for k, v in per_section.items() if pred(k))
            return (c / t if t else None), c, t

        overall, c_all, t_all = acc(lambda k: True)
        semantic, c_sem, t_sem = acc(lambda k: not k.startswith("gram"))
        syntactic, c_syn, t_syn = acc(lambda k: k.startswith("gram"))
        return {
            "overall": overall, "semantic": semantic, "syntactic": syntactic,
            "correct": c_all, "total": t_all, "skipped": skipped,
            "semantic_total": t_sem, "syntactic_total": t_syn, "restrict_vocab": limit,
            "sections": {k: {"correct": v[0], "total": v[1], "accuracy": v[0] / v[1]} for k, v in per_section.items()},
        }

    # ------------------------------------------------------------------ I/O
    def save(self, out_dir, vec: bool = True) -> Path:
        """The workshop's format (``vectors.npz`` + ``vocab.tsv``) and ``vectors.vec`` in ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        counts = self.counts if self.counts is not None else np.zeros(len(self.words), np.int64)
        np.savez(out / "vectors.npz", vectors=self.vectors, counts=counts)
        (out / "vocab.tsv").write_text("".join(f"{w}\t{c}\n" for w, c in zip(self.words, counts)), encoding="utf-8")
        if vec:
            save_vec(out / "vectors.vec", self.words, self.vectors)
        return out

    @classmethod
    def load(cls, out_dir) -> "Embeddings":
        """Load the workshop's format (``vectors.npz`` + ``vocab.tsv``) from a folder."""
        out = Path(out_dir)
        if not (out / "vectors.npz").exists() or not (out / "vocab.tsv").exists():
            raise FileNotFoundError(f"{out} holds no vectors.npz + vocab.tsv: train first "
                                    "(python -m workshop_sections.word2vec_optimized --out DIR).")
        z = np.load(out / "vectors.npz")
        words, counts = [], []
        for line in (out / "vocab.tsv").read_text(encoding="utf-8").splitlines():
            w, _, c = line.partition("\t")
            words.append(w)
            counts.append(int(c or 0))
        return cls(words, z["vectors"], counts)


def all_but_the_top(vectors, components: int = 2, fit_rows: int = 5000) -> np.ndarray:
    """Subtract the mean vector and the ``components`` strongest directions ("all-but-the-top",
    Mu & Viswanath 2018), fitted on the ``fit_rows`` most frequent words (the first rows).
    Vectors trained on little text share a few large common directions; this removes them.
    Used by the later sections (cnn_text_classification, distributed_tensorflow)."""
    v = np.asarray(vectors, dtype=np.float32)
    v = v - v.mean(axis=0, keepdims=True)
    if components:
        _, _, vt = np.linalg.svd(v[:fit_rows], full_matrices=False)
        top = vt[:components]
        v = v - (v @ top.T) @ top
    return v


def save_vec(path, words: Sequence[str], vectors) -> Path:
    """Write the word2vec text format: a ``"<count> <dim>"`` line, then ``word v1 ... vD`` lines."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(words) != vectors.shape[0]:
        raise Word2VecError(f"{len(words)} words but vectors of shape {vectors.shape}: they must match.")
    bad = [w for w in words if not w or any(ch.isspace() for ch in w)]
    if bad:
        raise Word2VecError(f"words must be non-empty and without spaces for the .vec format, e.g. {bad[0]!r}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{vectors.shape[0]} {vectors.shape[1]}\n")
        step = 4096
        for s in range(0, len(words), step):
            block = vectors[s:s + step]
            lines = [w + " " + " ".join(map(_fmt, row)) for w, row in zip(words[s:s + step], block.tolist())]
            f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def load_vec(path) -> Embeddings:
    """Read a word2vec text-format file (``.vec``, also gzipped) into :class:`Embeddings`."""
    import gzip

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No vector file at {path}: train one with "
                                f"python -m workshop_sections.word2vec_optimized --out {path.parent}.")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        header = f.readline().split()
        if len(header) != 2 or not all(h.isdigit() for h in header):
            raise Word2VecError(f"{path} is not in the word2vec text format: the first line must be "
                                f"'<count> <dim>', got {' '.join(header)[:60]!r}.")
        n, dim = int(header[0]), int(header[1])
        words, values = [], []
        for line in f:
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if len(parts) < 2:
                continue
            words.append(parts[0])
            values.append(" ".join(parts[1:]))
    if len(words) != n:
        raise Word2VecError(f"{path}: the header says {n} words but the file holds {len(words)}.")
    vectors = np.array(" ".join(values).split(), dtype=np.float32) if values else np.zeros(0, np.float32)
    if vectors.size != n * dim:
        raise Word2VecError(f"{path}: expected {n} x {dim} numbers, found {vectors.size}.")
    return Embeddings(words, vectors.reshape(n, dim))


# =========================================================================== the trainer
def _set_threads() -> int:
    """Use every core for TensorFlow's thread pools (before any op runs)."""
    import tensorflow as tf

    cores = os.cpu_count() or 1
    try:
        tf.config.threading.set_intra_op_parallelism_threads(cores)
        tf.config.threading.set_inter_op_parallelism_threads(cores)
    except RuntimeError:
        pass  # TensorFlow already started: the pools exist (they default to all cores anyway)
    return cores


class Word2Vec:
    """Skip-gram with negative sampling, trained with compiled batched SGD.

    ``emb`` holds the input (word) vectors, ``out`` the output (context) weights. Use
    :meth:`train`, then :meth:`embeddings` for an :class:`Embeddings`.

    How a step works (all of it compiled with XLA, about a hundred steps per call):

    * a batch is a run of ``batch_words`` consecutive centre words of the subsampled corpus
      (plus ``window`` words of context on each side), each with its window size drawn in
      1..window. Both matrices are read **once per word**, not once per pair, and the
      updates of a row from all its pairs are summed before **one scatter-add per word**;
    * scores are small dense matrix products, blocks of 64 centres against their 64 + 2W
      run rows; the band of 2W + 1 diagonals is cut out with a reshape, and each centre's
      window size masks it. The updates go back through the same products;
    * negatives are drawn per group of ``neg_group`` neighbouring centres
      (``neg_shared`` of them, shared by the group: another small matrix product), each
      weighted so the expected gradient equals word2vec's ``negatives`` per pair;
    * a row's summed update in a batch is damped so a large batch cannot overshoot:
      ``damping="curvature"`` (default) divides it by ``1 + lr * h``, ``h`` the row's share of
      the loss's curvature (sum over its pairs of sigmoid'(score) * |other vector|^2), which
      leaves single updates almost unchanged and turns many stale ones into a Newton-like
      step; ``damping="count"`` scales it by ``min(1, max_row_updates / n)``, ``n`` its
      number of pair updates.
    """

    def __init__(self, vocab: Vocab, dim: int = 128, window: int = 5, negatives: int = 5,
                 seed: int = 0, batch_words: int = 2048, chunk_words: int = 1 << 18,
                 max_row_updates: float = 10.0, neg_group: int = 8, neg_shared: int | None = None,
                 damping: str = "curvature", block: int | None = None, jit: bool = True):
        """``batch_words`` centres per step (rounded to whole blocks of 64), corpus read in
        chunks of ``chunk_words`` words (one compiled call each); see the class docstring."""
        import tensorflow as tf

        _set_threads()
        if int(dim) != dim or dim < 1:
            raise Word2VecError(f"dim must be a positive whole number, got {dim!r}.")
        _check_window(window)
        check_negatives(negatives, len(vocab))
        self.vocab, self.dim, self.window, self.negatives = vocab, int(dim), int(window), int(negatives)
        self.seed = int(seed)
        self.neg_group = int(neg_group)
        # centres per block of the score matrix products: a multiple of the negative groups,
        # at least 2 * window (a block's contexts reach 2 * window rows past it)
        self.block = max(int(block or 32), 2 * self.window)
        self.block = -(-self.block // self.neg_group) * self.neg_group
        self.batch_words = max(self.block, int(batch_words) // self.block * self.block)
        self.chunk_words = int(chunk_words)
        self.max_row_updates = float(max_row_updates)
        if damping not in ("curvature", "count"):
            raise Word2VecError(f"damping must be 'curvature' or 'count', got {damping!r}.")
        self.damping = damping
        self.neg_shared = int(neg_shared or 5 * self.negatives)
        if self.neg_shared >= len(vocab):
            self.neg_shared = max(1, len(vocab) - 1)
        V = len(vocab)
        rng = np.random.default_rng(self.seed)
        self.emb = tf.Variable(((rng.random((V, self.dim), dtype=np.float32) - 0.5) / self.dim), name="emb")
        self.out = tf.Variable(tf.zeros([V, self.dim]), name="out")
        self.table = tf.Variable(unigram_table(vocab.counts), trainable=False, name="unigram_table")
        self._fn = tf.function(self._train_run, jit_compile=jit, autograph=False)
        self.history: list = []
        # profiling only (benchmarks/profile_word2vec.py): parts of the step to leave out
        self._skip: frozenset = frozenset()

    # -- the compiled step: a loop over the batches of one chunk
    def _train_run(self, seqs, spans, lrs, n_batches, seed):
        import tensorflow as tf

        L, W = spans.shape[1], self.window
        G, Kg, d = self.neg_group, self.neg_shared, self.dim
        N = L // G
        V = tf.shape(self.emb)[0]
        T = self.max_row_updates
        neg_scale = self.negatives / Kg
        offsets = window_offsets(W)
        Bk = self.block
        nb, R = L // Bk, Bk + 2 * W

        def step(s, loss_sum, pairs_sum):
            seq = seqs[s]  # [L + 2W] word ids of the run, -1 outside the corpus
            sp = spans[s]  # [L] window size of each centre, 0 for padding
            lr = lrs[s]
            ok = seq >= 0
            x = tf.maximum(seq, 0)
            c = x[W:W + L]  # the centres
            v = tf.gather(self.emb, c)  # [L, d]   one read per word
            u = tf.gather(self.out, x)  # [L+2W, d] one read per word
            # the contexts of centre l at offset o are row l + W + o of the run. Scores come from
            # blocks of Bk centres against their Bk + 2W run rows (small dense matrix products,
            # which XLA runs far faster than thousands of 10-element dot products); the band
            # of the 2W + 1 diagonals is then cut out with a reshape.
            m = tf.cast(tf.stack([(sp >= abs(o)) & ok[W + o:W + o + L] for o in offsets], axis=1),
                        tf.float32)  # [L, 2W] which (centre, context) pairs exist
            u_blk = tf.concat([tf.reshape(u[:L], [nb, Bk, d]),
                               tf.reshape(tf.pad(u[Bk:], [[0, Bk - 2 * W], [0, 0]]), [nb, Bk, d])[:, :2 * W]],
                              axis=1)  # [nb, R, d]: block k holds run rows k*Bk .. k*Bk + R - 1
            v_blk = tf.reshape(v, [nb, Bk, d])
            scores = tf.einsum("nbd,nrd->nbr", v_blk, u_blk)  # [nb, Bk, R]
            band = tf.reshape(tf.pad(tf.reshape(scores, [nb, Bk * R]), [[0, 0], [0, Bk]]), [nb, Bk, R + 1])
            band = tf.reshape(band[:, :, :2 * W + 1], [L, 2 * W + 1])  # column a: offset a - W
            lp = tf.concat([band[:, :W], band[:, W + 1:]], axis=1)  # [L, 2W], offsets -W..-1, 1..W
            g = (1.0 - tf.sigmoid(lp)) * m * lr  # [L, 2W]
            g_band = tf.concat([g[:, :W], tf.zeros([L, 1]), g[:, W:]], axis=1)
            g_band = tf.pad(tf.reshape(g_band, [nb, Bk, 2 * W + 1]), [[0, 0], [0, 0], [0, R - 2 * W]])
            g_blk = tf.reshape(tf.reshape(g_band, [nb, Bk * (R + 1)])[:, :Bk * R], [nb, Bk, R])
            dv = tf.reshape(tf.einsum("nbr,nrd->nbd", g_blk, u_blk), [L, d])
            du_blk = tf.einsum("nbr,nbd->nrd", g_blk, v_blk)  # [nb, R, d] updates of the run rows
            du_tail = tf.reshape(tf.pad(du_blk[:, Bk:], [[0, 0], [0, Bk - 2 * W], [0, 0]]), [L, d])
            du = tf.pad(tf.reshape(du_blk[:, :Bk], [L, d]), [[0, 2 * W], [0, 0]]) + tf.pad(du_tail, [[Bk, 0], [0, 0]])[:L + 2 * W]
            ctx_pairs = tf.zeros([L + 2 * W])
            for j, o in enumerate(offsets):
                ctx_pairs += tf.pad(m[:, j], [[W + o, W - o]])
            n_ctx = tf.reduce_sum(m, axis=1)
            pos_loss = tf.reduce_sum(tf.math.log_sigmoid(lp) * m)
            ctx_ids = [tf.where(m[:, j] > 0, seq[W + o:W + o + L], -1) for j, o in enumerate(offsets)]
            # negatives, shared by groups of G neighbouring centres
            neg = draw_negatives(self.table, [N, Kg], tf.stack([seed, s]))  # [N, Kg]
            un = tf.gather(self.out, neg)  # [N, Kg, d]
            vg = tf.reshape(v, [N, G, d])
            ln = tf.einsum("ngd,nkd->ngk", vg, un, name="neg_logits")
            ctx = tf.reshape(tf.stack(ctx_ids, axis=1), [N, G, 1, 2 * W])
            hit = tf.reduce_any(tf.equal(neg[:, None, :, None], ctx), axis=3)  # a true context is no negative
            wn = tf.where(hit, 0.0, 1.0) * tf.reshape(n_ctx * neg_scale, [N, G, 1])
            gn = -tf.sigmoid(ln) * wn * lr  # [N, G, Kg]
            dv += tf.reshape(tf.einsum("ngk,nkd->ngd", gn, un, name="neg_dv"), [L, d])
            du_n = tf.einsum("ngk,ngd->nkd", gn, vg, name="neg_du")  # [N, Kg, d]
            ids = tf.concat([x, tf.reshape(neg, [-1])], axis=0)
            if self.damping == "count":
                # scale each row's summed update by min(1, T / its number of pair updates in the batch)
                c_w = tf.cast(n_ctx > 0, tf.float32)
                cnt_c = tf.tensor_scatter_nd_add(tf.zeros([V]), c[:, None], c_w)
                sc_c = tf.minimum(1.0, T / tf.maximum(tf.gather(cnt_c, c), 1.0))
                o_w = tf.concat([ctx_pairs, tf.fill([N * Kg], float(G))], axis=0)
                cnt_o = tf.tensor_scatter_nd_add(tf.zeros([V]), ids[:, None], o_w)
                sc_o = tf.minimum(1.0, T / tf.maximum(tf.gather(cnt_o, ids), 1.0))
            else:
                # curvature damping: a row's summed step is divided by 1 + lr * h, h the sum over
                # its pairs of sigmoid'(score) * |other vector|^2 (the diagonal of the loss's
                # curvature). One pair: almost no change; many pairs on a row that has grown: the
                # step shrinks towards a Newton step instead of overshooting as a plain sum would.
                u2 = tf.reduce_sum(u * u, axis=1)  # [L + 2W]
                v2 = tf.reduce_sum(v * v, axis=1)  # [L]
                un2 = tf.reduce_sum(un * un, axis=2)  # [N, Kg]
                sp_ = tf.sigmoid(lp)
                curv = sp_ * (1.0 - sp_) * m  # [L, 2W]
                sn_ = tf.sigmoid(ln)
                curv_n = sn_ * (1.0 - sn_) * wn  # [N, G, Kg]
                u2_ctx = tf.stack([u2[W + o:W + o + L] for o in offsets], axis=1)  # [L, 2W]
                h_c = tf.reduce_sum(curv * u2_ctx, axis=1) + tf.reshape(
                    tf.reduce_sum(curv_n * un2[:, None, :], axis=2), [L])
                h_run = tf.zeros([L + 2 * W])
                for j, o in enumerate(offsets):
                    h_run += tf.pad(curv[:, j] * v2, [[W + o, W - o]])
                h_neg = tf.reduce_sum(curv_n * tf.reshape(v2, [N, G, 1]), axis=1)  # [N, Kg]
                H_c = tf.tensor_scatter_nd_add(tf.zeros([V]), c[:, None], h_c)
                sc_c = 1.0 / (1.0 + lr * tf.gather(H_c, c))
                H_o = tf.tensor_scatter_nd_add(tf.zeros([V]), ids[:, None],
                                               tf.concat([h_run, tf.reshape(h_neg, [-1])], axis=0))
                sc_o = 1.0 / (1.0 + lr * tf.gather(H_o, ids))
            if "counts" in self._skip:  # profiling: no per-row scaling
                sc_c, sc_o = tf.ones_like(sc_c), tf.ones_like(sc_o)
            upd = tf.concat([du, tf.reshape(du_n, [N * Kg, d])], axis=0)
            if "scatter" in self._skip:  # profiling: keep the values alive, skip the writes
                loss_sum = loss_sum + 0.0 * (tf.reduce_sum(dv * sc_c[:, None]) + tf.reduce_sum(upd * sc_o[:, None]))
            else:
                self.emb.scatter_nd_add(c[:, None], dv * sc_c[:, None])
                self.out.scatter_nd_add(ids[:, None], upd * sc_o[:, None])
            # loss per positive pair: -log s(pos) - sum_neg w log s(-neg)
            loss_sum = loss_sum - pos_loss - tf.reduce_sum(tf.math.log_sigmoid(-ln) * wn)
            pairs_sum = pairs_sum + tf.reduce_sum(n_ctx)
            return s + 1, loss_sum, pairs_sum

        # an explicit while_loop: the number of batches stays a runtime value (a Python
        # `for` over tf.range would make XLA compile again for every new count)
        _, loss_sum, pairs_sum = tf.while_loop(lambda s, *_: s < n_batches, step,
                                               (tf.constant(0), tf.constant(0.0), tf.constant(0.0)))
        return loss_sum, pairs_sum

    def _chunk_batches(self, raw: np.ndarray, keep: np.ndarray, rng: np.random.Generator,
                       lr_start: float, lr_end: float):
        """The batches of one chunk of raw words: subsampled, each centre with a window size
        drawn in 1..window, cut into runs of ``batch_words`` centres with ``window`` words of
        context on each side. Yields ``(seqs [S, L+2W], spans [S, L], lrs [S], n_batches)``."""
        W, L = self.window, self.batch_words
        sub = raw[rng.random(len(raw)) < keep[raw]]
        n = len(sub)
        if n < 2:
            return
        spans = rng.integers(1, W + 1, size=n)
        S = max(1, -(-self.chunk_words // L))  # batches per call (a fixed shape: one compilation)
        nb = -(-n // L)
        starts = np.arange(S) * L
        idx = starts[:, None] - W + np.arange(L + 2 * W)[None, :]
        seqs = np.where((idx >= 0) & (idx < n) & (starts[:, None] < n), sub[np.clip(idx, 0, n - 1)], -1).astype(np.int32)
        cidx = starts[:, None] + np.arange(L)[None, :]
        sp = np.where(cidx < n, spans[np.clip(cidx, 0, n - 1)], 0).astype(np.int32)
        frac = np.arange(S) / max(nb, 1)
        lrs = (lr_start + (lr_end - lr_start) * frac).astype(np.float32)
        yield seqs, sp, lrs, nb

    def train(self, ids, epochs: int = 1, lr: float = 0.025, min_lr: float = 0.0001,
              subsample: float | None = 1e-3, progress: bool = True, desc: str = "word2vec",
              callback=None) -> dict:
        """Train on ``ids`` (the corpus as vocabulary ids) for ``epochs`` epochs.

        The learning rate falls linearly from ``lr`` to ``min_lr`` over all the words of all
        epochs. A tqdm bar shows words/s. Returns ``{words_per_sec, seconds, words, loss: [...]}``
        (``loss``: mean loss per positive pair of each chunk).
        """
        import tensorflow as tf
        from tqdm.auto import tqdm

        ids = np.asarray(ids, dtype=np.int32)
        check_corpus(ids, self.window)
        if ids.max() >= len(self.vocab) or ids.min() < 0:
            raise Word2VecError("ids hold values outside the vocabulary: build them with build_vocab.")
        if epochs < 1:
            raise Word2VecError(f"epochs must be at least 1, got {epochs}.")
        keep = subsample_keep_prob(self.vocab.counts, subsample)
        rng = np.random.default_rng(self.seed + 1)
        n = len(ids)
        total_words = n * epochs
        losses = []
        done = 0
        bar = tqdm(total=total_words, unit="w", unit_scale=True, desc=desc, disable=not progress,
                   dynamic_ncols=True, smoothing=0.1)
        start = time.perf_counter()
        step = 0
        lr_at = lambda words: max(lr * (1.0 - words / total_words), min_lr)  # noqa: E731
        try:
            for epoch in range(epochs):
                for s0 in range(0, n, self.chunk_words):
                    raw = ids[s0:s0 + self.chunk_words]
                    loss = pairs = 0.0
                    for centers, ctx, lrs, nb in self._chunk_batches(raw, keep, rng, lr_at(done), lr_at(done + len(raw))):
                        l_, p_ = self._fn(tf.constant(centers), tf.constant(ctx), tf.constant(lrs),
                                          tf.constant(nb, tf.int32), tf.constant((self.seed * 7919 + step) % (2**31 - 1), tf.int32))
                        step += 1
                        loss += float(l_)
                        pairs += float(p_)
                    if pairs:
                        losses.append(loss / pairs)
                    done += len(raw)
                    bar.update(len(raw))
                    if losses:
                        bar.set_postfix(loss=f"{losses[-1]:.3f}", lr=f"{lr_at(done):.4f}", refresh=False)
                    if callback is not None:
                        callback(done, losses)
        finally:
            bar.close()
        seconds = time.perf_counter() - start
        if losses and not np.isfinite(losses[-1]):
            raise Word2VecError("training diverged (the loss is not finite): lower the learning rate.")
        result = {"words_per_sec": done / seconds, "seconds": seconds, "words": done, "loss": losses}
        self.history.append(result)
        return result

    def embeddings(self) -> Embeddings:
        return Embeddings(self.vocab.words, self.emb.numpy(), self.vocab.counts)


# =========================================================================== one call
def train_embeddings(corpus="movie_reviews", epochs: int = 5, dim: int = 128, window: int = 5,
                     negatives: int = 5, min_count: int = 5, out_dir=None, subsample: float = 1e-3,
                     lr: float = 0.025, min_lr: float = 0.0001, batch_words: int = 2048,
                     max_words: int | None = None, max_vocab: int | None = None, seed: int = 0,
                     evaluate: bool = True, restrict_vocab: int = 30000, progress: bool = True,
                     write_vec: bool = True, **trainer_options) -> tuple[Embeddings, dict]:
    """Build the vocabulary, train, evaluate analogies, and (with ``out_dir``) write
    ``vectors.vec``, ``vectors.npz``, ``vocab.tsv`` and ``metrics.json`` there.

    ``corpus``: a name/path or a list of them (several corpora are concatenated).
    ``trainer_options`` go to :class:`Word2Vec` (``neg_group``, ``neg_shared``, ...).
    Returns ``(embeddings, metrics)``.
    """
    t0 = time.perf_counter()
    sources = [corpus] if _is_source(corpus) else list(corpus)
    if not sources:
        raise Word2VecError("no corpus given.")
    vocab, ids = build_vocab(Corpora(sources), min_count=min_count, max_size=max_vocab, max_words=max_words)
    check_corpus(ids, window)
    check_negatives(negatives, len(vocab))
    t_vocab = time.perf_counter() - t0
    model = Word2Vec(vocab, dim=dim, window=window, negatives=negatives, seed=seed, batch_words=batch_words,
                     **trainer_options)
    res = model.train(ids, epochs=epochs, lr=lr, min_lr=min_lr, subsample=subsample, progress=progress)
    emb = model.embeddings()
    metrics = {
        "corpus": "+".join(str(s) for s in sources),
        "corpus_words": int(len(ids)), "vocab_size": len(vocab), "epochs": int(epochs), "dim": int(dim),
        "window": int(window), "negatives": int(negatives), "min_count": int(min_count), "subsample": subsample,
        "words_per_sec": round(res["words_per_sec"], 1), "seconds": round(res["seconds"], 2),
        "vocab_seconds": round(t_vocab, 2), "final_loss": round(res["loss"][-1], 4) if res["loss"] else None,
        "cores": os.cpu_count(),
    }
    if evaluate:
        try:
            ev = emb.evaluate_analogies(restrict_vocab=restrict_vocab)
            metrics.update({
                "analogy_overall": ev["overall"], "analogy_semantic": ev["semantic"],
                "analogy_syntactic": ev["syntactic"], "analogy_questions": ev["total"],
                "analogy_skipped": ev["skipped"],
            })
        except data.DataError as exc:  # no questions-words file: train anyway
            print(f"(analogy evaluation skipped: {str(exc).splitlines()[0]})", file=sys.stderr)
    if out_dir is not None:
        out = Path(out_dir)
        emb.save(out, vec=write_vec)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    emb.metrics = metrics
    emb.loss_history = res["loss"]
    return emb, metrics


def default_dir() -> Path:
    return config.artifacts_dir() / SECTION


def load_or_train(corpus="movie_reviews", out_dir=None, quick: bool | None = None, **hparams) -> Embeddings:
    """The vectors of this section for later sections.

    Loads ``<out_dir>/vectors.vec`` (default ``artifacts/word2vec_optimized``) if it is
    there; otherwise trains a quick version on ``corpus`` (so a later notebook never fails
    because this one was not run), saves it there and returns it. ``quick`` (default:
    ``WORKSHOP_QUICK``) trains 3 epochs of 64 dimensions on the first 800k words;
    otherwise 5 epochs of 128 on the whole corpus. ``hparams`` go to :func:`train_embeddings`.
    """
    out = Path(out_dir) if out_dir is not None else default_dir()
    vec = out / "vectors.vec"
    if vec.exists():
        try:
            if (out / "vectors.npz").exists() and (out / "vocab.tsv").exists():
                emb = Embeddings.load(out)
            else:
                emb = load_vec(vec)
            return emb
        except (Word2VecError, OSError, ValueError) as exc:
            print(f"Could not read {vec} ({exc}); training a new one.", file=sys.stderr)
    quick = config.is_quick() if quick is None else quick
    params = dict(QUICK) if quick else dict(epochs=5, dim=128)
    params.update(hparams)
    print(f"No word2vec vectors at {vec}: training a {'quick ' if quick else ''}version on {corpus} "
          f"({params}).", file=sys.stderr)
    emb, metrics = train_embeddings(corpus, out_dir=None, evaluate=False, **params)
    emb.save(out)
    (out / "train_info.json").write_text(json.dumps(dict(metrics, quick=quick, fallback=True), indent=2) + "\n")
    return emb


# =========================================================================== notebook helpers
def available_corpora(wanted: Sequence[str] = ("movie_reviews", "news20")) -> list:
    """The corpora of ``wanted`` that can be had here (news20 comes only from a mirror)."""
    out = []
    for name in wanted:
        try:
            data.corpus_path(name)
            out.append(name)
        except data.DataError as exc:
            print(f"({name} is not available, training without it: {str(exc).splitlines()[0]})")
    if not out:
        raise data.CorpusError(f"None of the corpora {list(wanted)} is available: run `make data`.")
    return out


def show_analogies(emb: Embeddings, triples, k: int = 1) -> None:
    """Print ``a : b :: c : ?`` for each triple (words missing from the vocabulary are said so)."""
    for a, b, c in triples:
        try:
            print(f"{a:>10} : {b:<10} :: {c:>10} : {emb.analogy(a, b, c)}")
        except UnknownWordError as exc:
            print(f"{a:>10} : {b:<10} :: {c:>10} : (skipped: {exc})")


def show_evaluation(ev: dict) -> None:
    """Print analogy accuracy overall, semantic, syntactic and per section."""
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    print(f"analogy accuracy: overall {pct(ev['overall'])}, semantic {pct(ev['semantic'])} "
          f"({ev['semantic_total']} questions), syntactic {pct(ev['syntactic'])} ({ev['syntactic_total']} questions); "
          f"{ev['skipped']} questions skipped (a word outside the {ev['restrict_vocab']:,} most frequent)")
    for sec, s in ev["sections"].items():
        print(f"  {sec:<28} {s['correct']:>5} / {s['total']:<5} {100 * s['accuracy']:5.1f}%")


def write_tensorboard(log_dir, losses: Sequence[float], metrics: dict | None = None) -> Path:
    """The loss of each chunk (and the headline metrics as text) as TensorBoard scalars."""
    import tensorflow as tf

    log_dir = Path(log_dir)
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        for i, loss in enumerate(losses):
            tf.summary.scalar("loss_per_pair", loss, step=i)
        for key, value in (metrics or {}).items():
            if isinstance(value, (int, float)) and value is not None:
                tf.summary.scalar(f"metrics/{key}", float(value), step=0)
    writer.flush()
    writer.close()
    return log_dir


def check_my_analogy(fn, emb: Embeddings, triples=None) -> bool:
    """The exercise's check: ``fn(a, b, c)`` must answer like :meth:`Embeddings.analogy`."""
    triples = triples or [("man", "woman", "he"), ("good", "better", "bad"), ("big", "bigger", "small"),
                          ("actor", "actress", "he")]
    triples = [t for t in triples if all(w in emb for w in t)][:3]
    if not callable(fn):
        print(f"Not yet: my_analogy should be a function of (a, b, c), got {type(fn).__name__}.")
        return False
    if not triples:
        print("Not yet: none of the check words is in this vocabulary (train on a bigger corpus).")
        return False
    for a, b, c in triples:
        expected = emb.analogy(a, b, c)
        try:
            got = fn(a, b, c)
        except Exception as exc:  # the attendee's code: report, never crash
            print(f"Not yet: my_analogy({a!r}, {b!r}, {c!r}) raised {type(exc).__name__}: {exc}")
            return False
        if not isinstance(got, str):
            print(f"Not yet: my_analogy({a!r}, {b!r}, {c!r}) should return a word (str), got {type(got).__name__}: {got!r}.")
            return False
        if got in (a, b, c):
            print(f"Not yet: my_analogy({a!r}, {b!r}, {c!r}) returned {got!r}, one of the question's words: exclude a, b and c.")
            return False
        if got != expected:
            print(f"Not yet: for {a} : {b} :: {c} : ? expected {expected!r}, got {got!r}. "
                  "Use the normalised vectors (emb.normalized), b - a + c, cosine similarity.")
            return False
    print(f"Correct! my_analogy agrees with emb.analogy on {len(triples)} questions, e.g. "
          f"{triples[0][0]} : {triples[0][1]} :: {triples[0][2]} : {emb.analogy(*triples[0])}.")
    return True
