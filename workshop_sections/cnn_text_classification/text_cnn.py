"""Kim's CNN for sentence classification (Kim 2014) on the MR sentence polarity data.

The pieces, in the order the notebook uses them:

* data: :func:`load_split` (the MR snippets, a fixed seeded train/dev/test split that is
  fold ``k`` of a stratified k-fold, or a quick subset), :func:`clean_str` and
  :func:`tokenize` (Kim's ``clean_str``), :class:`SentenceVocab` and :func:`pad`;
* embeddings: :func:`load_vectors` (through the word2vec_optimized section's helper),
  :func:`postprocess_vectors` (centred, top principal direction removed, equal lengths) and
  :func:`embedding_matrix` (a known word gets its word2vec vector, an unknown word a random
  uniform one, like Kim);
* the model, written in the notebook's cells marked ``#| export`` and copied into the block
  below by ``make export`` (one source for the notebook, the CLI and the tests):
  :func:`conv_branch`, :func:`random_embedding`, :func:`kim_cnn` (embedding, zero padding at
  both ends, parallel Conv1D of widths 3, 4, 5 with 100 maps each, max-over-time pooling,
  concatenation, dropout 0.5, softmax with max-norm 3), :func:`word2vec_embedding` (static or
  tuned via ``trainable``), :func:`compile_cnn` and :func:`training_callbacks`;
  :func:`build_model` checks its arguments, picks the embedding and calls :func:`kim_cnn`;
* training: :func:`fit_and_evaluate` (``fit`` on length-bucketed batches, early stopping on
  dev, TensorBoard logs, a progress bar) and :func:`train_cnn` (vocabulary, embedding,
  model, compile, fit: what the CLI runs per fold) return a :class:`Result` whose
  :class:`TextClassifier` predicts on raw text, saves to ``.keras`` (with its vocabulary
  beside it) and loads back; batches group sentences of similar length
  (:class:`BucketBatches`), which halves the work of padding to 56;
* the baseline: :func:`tfidf_baseline` (TF-IDF of unigrams and bigrams + logistic regression);
* benchmark: :func:`summarize` and :func:`paired_difference` for the CLI
  (``python -m workshop_sections.cnn_text_classification``: k folds x seeds, the same folds
  for every variant);
* plots and the exercise checks: :func:`plot_confusion`, :func:`misclassified`,
  :func:`check_conv_branch`, :func:`check_max_over_time`, :func:`check_pretrained_embedding`,
  :func:`check_max_norm`.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline

from workshop_sections import config, data
from workshop_sections.tools import checks

config.quiet_tensorflow()
import keras  # noqa: E402  (after quieting TensorFlow's start-up log)
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from workshop_sections.word2vec_optimized import word2vec_fast  # noqa: E402  (imports TensorFlow)

SECTION = "cnn_text_classification"
VARIANTS = ("random", "word2vec-static", "word2vec-tuned", "tfidf")
LABELS = ("negative", "positive")
SPLIT_SEED = 0  # the folds are the same for every variant, seed and run
MAX_LEN = 56  # the longest MR sentence after clean_str (Kim 2014, Table 1)
PAD, UNK = "<pad>", "<unk>"


# --------------------------------------------------------------------------- tokenisation
_CONTRACTIONS = (
    ("'s", " 's"),
    ("'ve", " 've"),
    ("n't", " n't"),
    ("'re", " 're"),
    ("'d", " 'd"),
    ("'ll", " 'll"),
)


def _fix_mojibake(text: str) -> str:
    """MR is UTF-8 read as Latin-1 in places ("clichÃ©s"); undo that where it round-trips."""
    if "Ã" in text or "Â" in text:
        try:
            return text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return text
    return text


def clean_str(text: str) -> str:
    """Kim's ``clean_str``: keep letters, digits and ( ) , ! ? ' `; split off contractions
    and punctuation; lower-case. Accents are folded first (``très`` -> ``tres``) so that
    non-ASCII text keeps its words instead of losing letters."""
    if not isinstance(text, str):
        raise TypeError(f"expected a string of text, got {type(text).__name__}: {text!r:.80}")
    text = unicodedata.normalize("NFKD", _fix_mojibake(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^A-Za-z0-9(),!?'`]", " ", text)
    for old, new in _CONTRACTIONS:
        text = text.replace(old, new)
    for p in ",!()?":
        text = text.replace(p, f" {p} ")
    return re.sub(r"\s{2,}", " ", text).strip().lower()


def tokenize(text: str) -> list[str]:
    """The tokens of one text, Kim style: ``"Isn't it great?"`` -> ``['is', "n't", 'it', 'great', '?']``."""
    cleaned = clean_str(text)
    return cleaned.split() if cleaned else []


# --------------------------------------------------------------------------- vocabulary + padding
class SentenceVocab:
    """The classifier's vocabulary of sentence tokens: words <-> ids, with two reserved ids: 0 is
    padding (``<pad>``), 1 stands for every unknown word (``<unk>``). ``counts`` maps a training
    word to its count (extra words from word2vec have none). Not the word2vec vocabulary
    (``word2vec_basic.Vocab``): ids here feed a padded [batch, time] tensor and the vocabulary is
    saved beside the .keras model (``to_json``). Raises ValueError for a word listed twice."""

    def __init__(self, words: Sequence[str], counts: dict[str, int] | None = None):
        words = list(words)
        if words[:2] != [PAD, UNK]:
            words = [PAD, UNK] + [w for w in words if w not in (PAD, UNK)]
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}
        if len(self.index) != len(words):
            raise ValueError("the vocabulary lists a word twice")
        self.counts = dict(counts or {})

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __repr__(self) -> str:
        return f"SentenceVocab({len(self):,} words incl. {PAD} and {UNK}: {', '.join(self.words[2:8])}, ...)"

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """The tokens' ids (a list of ints): 1 (``<unk>``) for a token outside the vocabulary."""
        return [self.index.get(t, 1) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The words of ids, padding (0) left out."""
        return [self.words[i] for i in ids if i != 0]

    def to_json(self) -> dict:
        """``{"words": [...]}``: what :meth:`TextClassifier.save` writes beside the model."""
        return {"words": self.words}

    @classmethod
    def from_json(cls, obj: dict) -> SentenceVocab:
        """The vocabulary :meth:`to_json` wrote."""
        return cls(obj["words"])


def build_sentence_vocab(
    token_lists: Iterable[Sequence[str]],
    min_count: int = 1,
    extra_words: Iterable[str] | None = None,
    max_extra: int | None = None,
) -> SentenceVocab:
    """The :class:`SentenceVocab` of the (training) sentences' tokens: words seen ``min_count`` times
    or more, most frequent first (ties alphabetical), after ``<pad>`` and ``<unk>``. ``extra_words``
    (e.g. the word2vec vocabulary, most frequent first) are
    appended, at most ``max_extra`` of them, so that a word the classifier never saw in
    training still gets its pretrained vector at test time."""
    counts = Counter(t for tokens in token_lists for t in tokens)
    words = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]
    if extra_words is not None:
        seen = set(words) | {PAD, UNK}
        added = 0
        for w in extra_words:
            if max_extra is not None and added >= max_extra:
                break
            if w not in seen:
                words.append(w)
                seen.add(w)
                added += 1
    return SentenceVocab(words, counts)


def pad(id_lists: Sequence[Sequence[int]], max_len: int = MAX_LEN) -> np.ndarray:
    """int32 [n, max_len]: each list cut to its first ``max_len`` ids, zeros (padding) after."""
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    out = np.zeros((len(id_lists), max_len), dtype=np.int32)
    for i, ids in enumerate(id_lists):
        ids = list(ids)[:max_len]
        out[i, : len(ids)] = ids
    return out


def bucket_lengths(max_len: int = MAX_LEN, step: int = 8) -> list[int]:
    """The padded lengths used: 8, 16, 24, ... and ``max_len``. A sentence is padded to the
    smallest one that holds it, so a 20-word sentence costs 24 positions, not 56 (about 2x
    faster training on MR than padding everything to 56). The shortest is 8 >= the widest filter."""
    return [b for b in range(step, max_len, step)] + [max_len]


def bucket_of(n: int, lengths: Sequence[int]) -> int:
    """The padded length of a sentence of ``n`` tokens: the first of the sorted ``lengths`` that
    holds it (the last one, ``max_len``, for longer sentences: they are cut)."""
    for b in lengths:
        if n <= b:
            return b
    return lengths[-1]


class BucketBatches:
    """Batches of sentences of similar length, each padded to its bucket's length; the batch
    order (and which sentences share a batch) is reshuffled every epoch when ``shuffle``."""

    def __init__(
        self,
        id_lists: Sequence[Sequence[int]],
        labels: np.ndarray | None = None,
        batch_size: int = 50,
        max_len: int = MAX_LEN,
        shuffle: bool = False,
        seed: int = 0,
    ):
        self.ids = [list(ids)[:max_len] for ids in id_lists]
        self.labels = None if labels is None else np.asarray(labels)
        self.batch_size, self.shuffle = int(batch_size), shuffle
        self.lengths = bucket_lengths(max_len)
        self.bucket = np.array([bucket_of(max(len(ids), 1), self.lengths) for ids in self.ids])
        self.rng = np.random.default_rng(seed)
        self._make_batches()

    def _make_batches(self):
        batches = []
        for b in self.lengths:
            idx = np.flatnonzero(self.bucket == b)
            if self.shuffle:
                idx = self.rng.permutation(idx)
            batches += [idx[i : i + self.batch_size] for i in range(0, len(idx), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in self.rng.permutation(len(batches))]
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i):
        idx = self.batches[i]
        x = pad([self.ids[j] for j in idx], int(self.bucket[idx[0]]))
        return x if self.labels is None else (x, self.labels[idx])

    def on_epoch_end(self):
        if self.shuffle:
            self._make_batches()

    def as_dataset(self):
        """A ``tf.data.Dataset`` of these batches with a variable length axis (Keras would
        otherwise fix the length from the first batches it sees); reshuffled each pass."""

        def gen():
            for i in range(len(self)):
                yield self[i]
            self.on_epoch_end()

        x_spec = tf.TensorSpec((None, None), tf.int32)
        sig = (
            x_spec
            if self.labels is None
            else (x_spec, tf.TensorSpec((None,), tf.as_dtype(self.labels.dtype)))
        )
        ds = tf.data.Dataset.from_generator(gen, output_signature=sig)
        return ds.apply(tf.data.experimental.assert_cardinality(len(self))).prefetch(2)

    def order(self) -> np.ndarray:
        """The sentence indices in batch order (to put predictions back in input order)."""
        return np.concatenate(self.batches) if self.batches else np.zeros(0, dtype=int)


# --------------------------------------------------------------------------- data + splits
@dataclass
class Split:
    """One train/dev/test split of MR (texts, labels and Kim tokens)."""

    train_texts: list[str]
    train_labels: np.ndarray
    dev_texts: list[str]
    dev_labels: np.ndarray
    test_texts: list[str]
    test_labels: np.ndarray
    fold: int = 0
    folds: int = 10
    train_tokens: list[list[str]] = field(default_factory=list)
    dev_tokens: list[list[str]] = field(default_factory=list)
    test_tokens: list[list[str]] = field(default_factory=list)

    def __post_init__(self):
        self.train_tokens = self.train_tokens or [tokenize(t) for t in self.train_texts]
        self.dev_tokens = self.dev_tokens or [tokenize(t) for t in self.dev_texts]
        self.test_tokens = self.test_tokens or [tokenize(t) for t in self.test_texts]

    def summary(self) -> str:
        def part(name, y):
            return f"{name} {len(y):,} ({np.mean(y) * 100:.0f}% positive)"

        lens = [len(t) for t in self.train_tokens]
        return (
            f"MR fold {self.fold + 1} of {self.folds}: "
            + ", ".join(
                [
                    part("train", self.train_labels),
                    part("dev", self.dev_labels),
                    part("test", self.test_labels),
                ]
            )
            + f"; train sentences have {np.mean(lens):.1f} tokens on average, at most {max(lens)}"
        )


def load_mr(limit: int | None = None, seed: int = SPLIT_SEED) -> tuple[list[str], np.ndarray]:
    """MR texts and labels (1 = positive); ``limit`` takes a stratified random subset."""
    texts, labels = data.load_sentence_polarity(quiet=True)
    texts = [_fix_mojibake(t) for t in texts]
    if limit is not None and limit < len(texts):
        if limit < 20:
            raise ValueError(f"limit={limit} is too small for a train/dev/test split; use 20 or more")
        rng = np.random.default_rng(seed)
        pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
        keep = np.sort(
            np.concatenate(
                [
                    rng.choice(pos, limit // 2, replace=False),
                    rng.choice(neg, limit - limit // 2, replace=False),
                ]
            )
        )
        texts, labels = [texts[i] for i in keep], labels[keep]
    return texts, labels


def split_indices(
    labels: np.ndarray, fold: int = 0, folds: int = 10, seed: int = SPLIT_SEED, dev_fraction: float = 0.1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, dev, test) indices: test is fold ``fold`` of a stratified, shuffled
    ``folds``-fold split; dev is a stratified ``dev_fraction`` of the rest (for early
    stopping). The same seed gives the same folds for every variant."""
    if folds < 2:
        raise ValueError(f"folds must be 2 or more, got {folds}")
    if not 0 <= fold < folds:
        raise ValueError(f"fold must be between 0 and {folds - 1}, got {fold}")
    labels = np.asarray(labels)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    rest, test = list(skf.split(np.zeros(len(labels)), labels))[fold]
    train, dev = train_test_split(
        rest, test_size=dev_fraction, stratify=labels[rest], random_state=seed + fold
    )
    return np.sort(train), np.sort(dev), np.sort(test)


def load_split(fold: int = 0, folds: int = 10, limit: int | None = None, seed: int = SPLIT_SEED) -> Split:
    """The fixed split the notebook uses (fold 1 of 10: 81% train, 9% dev, 10% test)."""
    texts, labels = load_mr(limit=limit, seed=seed)
    tr, dv, te = split_indices(labels, fold=fold, folds=folds, seed=seed)
    pick = lambda idx: [texts[i] for i in idx]  # noqa: E731
    return Split(pick(tr), labels[tr], pick(dv), labels[dv], pick(te), labels[te], fold=fold, folds=folds)


# --------------------------------------------------------------------------- embeddings
def load_vectors(path: str | Path | None = None, quick: bool | None = None):
    """word2vec vectors through the word2vec_optimized section's helper: the ``.vec`` file at
    ``path``, else that section's saved vectors (trained if they are missing, on the corpus of
    the workshop's one corpus rule, ``word2vec_basic.choose_corpus`` with that section's caps: text8 in
    full mode when it can be had, else movie_reviews)."""
    if path is not None:
        p = Path(path).expanduser()
        if not p.exists():
            raise FileNotFoundError(
                f"No word vectors at {p}. Train some with: python -m workshop_sections.word2vec_optimized "
                f"--corpus movie_reviews --out {p.parent}  (or leave the path out to use that section's "
                "vectors)"
            )
        return word2vec_fast.load_vec(p)
    return word2vec_fast.load_or_train(corpus=None, quick=quick)  # None: the one corpus rule


BENCH_VECTORS = Path("vectors_mr_news20") / "vectors.vec"  # under artifacts/cnn_text_classification/
TRAIN_VECTORS_COMMAND = (
    "python -m workshop_sections.word2vec_optimized --corpus movie_reviews --corpus <path>/news20.txt.gz "
    "--epochs 5 --dim 128 --min-count 3 --out artifacts/cnn_text_classification/vectors_mr_news20"
)


def default_vectors(quick: bool | None = None):
    """The best vectors at hand: word2vec on movie_reviews + news20 if they were trained
    (``artifacts/cnn_text_classification/vectors_mr_news20/vectors.vec``, see
    ``TRAIN_VECTORS_COMMAND``), else the word2vec_optimized section's (trained quickly if missing)."""
    path = config.artifacts_dir() / SECTION / BENCH_VECTORS
    if path.exists():
        print(f"word2vec vectors trained on movie_reviews + news20: {path}")
        return load_vectors(path)
    print(
        "using the word2vec_optimized section's vectors (its corpus: word2vec_basic.choose_corpus); "
        "better ones come from:\n  " + TRAIN_VECTORS_COMMAND
    )
    return load_vectors(None, quick=quick)


@dataclass
class Coverage:
    """How much of the training vocabulary word2vec knows (:func:`embedding_matrix`): counts of
    distinct words and of running tokens, and how many extra words came from word2vec."""

    vocab_words: int  # training-vocabulary words (without <pad>, <unk> and extra words)
    words_found: int
    tokens: int  # running training tokens
    tokens_found: int
    extra_words: int  # words added from the word2vec vocabulary

    def __str__(self) -> str:
        return (
            f"word2vec covers {self.words_found:,} of {self.vocab_words:,} training-vocabulary words "
            f"({100 * self.words_found / max(self.vocab_words, 1):.1f}%) and "
            f"{100 * self.tokens_found / max(self.tokens, 1):.1f}% of the running training words; "
            f"{self.extra_words:,} more words come from the word2vec vocabulary"
        )


RAND_SCALE = 0.25  # CNN-rand's embeddings start uniform in [-0.25, 0.25] (Kim 2014)


def postprocess_vectors(
    vectors: np.ndarray, remove_top: int | None = None, norm: float | None = None, fit_rows: int = 30_000
) -> np.ndarray:
    """word2vec vectors made ready for a classifier ("all-but-the-top", Mu & Viswanath 2018,
    plus equal lengths): subtract the mean vector and project out the ``remove_top``
    strongest principal directions (``word2vec_fast.all_but_the_top``; default dim / 100, at
    least 1, as the paper suggests; fitted on the first ``fit_rows`` rows, the most frequent
    words), then rescale every row to length ``norm`` (default: the length a CNN-rand vector has on
    average, 0.25 / sqrt(3) x sqrt(dim)).

    Why: word2vec vectors on a small corpus share a large common component (on our
    movie_reviews + news20 vectors the mean vector and the first principal direction carry
    about a quarter of the variance), and frequent words get vectors 3-5x longer than rare
    ones. A CNN started from such vectors first spends its epochs undoing that; started from
    centred, equal-length vectors it learns faster and ends better (measured in the notebook)."""
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 2:
        raise ValueError(
            f"postprocess_vectors needs a [words, dim] matrix of 2 or more rows, got shape {v.shape}"
        )
    if remove_top is None:
        remove_top = max(1, v.shape[1] // 100)
    if not 0 <= remove_top < v.shape[1]:
        raise ValueError(f"remove_top must be between 0 and dim - 1 = {v.shape[1] - 1}, got {remove_top}")
    v = word2vec_fast.all_but_the_top(v, remove_top, fit_rows).astype(np.float64)
    if norm is None:
        norm = RAND_SCALE / math.sqrt(3.0) * math.sqrt(v.shape[1])
    lengths = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.maximum(lengths, 1e-12) * norm).astype(np.float32)


def vector_stats(vectors: np.ndarray, bands: Sequence[int] = (1_000, 5_000, 20_000)) -> dict:
    """What :func:`postprocess_vectors` fixes, in numbers: the share of the variance along
    the strongest principal direction, the length of the mean vector, and the average
    vector length of the most frequent words, band by band (rows are most frequent first)."""
    v = np.asarray(vectors, dtype=np.float64)
    lengths = np.linalg.norm(v, axis=1)
    sv = np.linalg.svd(v[:30_000] - v[:30_000].mean(axis=0), compute_uv=False)
    edges = [0] + [b for b in bands if b < len(v)] + [len(v)]
    names = [f"{a + 1:,}-{b:,}" for a, b in zip(edges, edges[1:])]
    return {
        "top_direction_variance": float(sv[0] ** 2 / np.sum(sv**2)),
        "mean_vector_length": float(np.linalg.norm(v.mean(axis=0))),
        "average_length": float(lengths.mean()),
        "length_by_frequency_rank": {
            n: float(lengths[a:b].mean()) for n, a, b in zip(names, edges, edges[1:])
        },
    }


def vector_stats_table(raw: np.ndarray, processed: np.ndarray | None = None) -> str:
    """:func:`vector_stats` of the raw and the postprocessed vectors, side by side."""
    processed = postprocess_vectors(raw) if processed is None else processed
    a, b = vector_stats(raw), vector_stats(processed)
    rows = [
        (
            "variance along the top direction",
            f"{100 * a['top_direction_variance']:.0f}%",
            f"{100 * b['top_direction_variance']:.0f}%",
        ),
        ("length of the mean vector", f"{a['mean_vector_length']:.2f}", f"{b['mean_vector_length']:.2f}"),
    ]
    rows += [
        (
            f"average length, frequency rank {k}",
            f"{a['length_by_frequency_rank'][k]:.2f}",
            f"{b['length_by_frequency_rank'][k]:.2f}",
        )
        for k in a["length_by_frequency_rank"]
    ]
    w = max(len(r[0]) for r in rows)
    return "\n".join(
        [f"{'':<{w}}  {'raw':>8}  {'processed':>9}"] + [f"{r[0]:<{w}}  {r[1]:>8}  {r[2]:>9}" for r in rows]
    )


# Kim's clean_str splits "isn't" into "is n't" and "film's" into "film 's"; a word2vec corpus
# tokenised another way ("isn ' t", "film ' s", "isn't") has no vector for these pieces.
CONTRACTION_ALIASES = {"n't": "not", "'m": "am", "'re": "are", "'ve": "have", "'ll": "will", "'d": "would"}


def vector_index(word: str, lookup: dict[str, int]) -> int | None:
    """Row of ``word`` in the word2vec vocabulary ``lookup``: the word itself, else the word
    without its leading/trailing apostrophes (``'s`` -> ``s``, ``characters'`` -> ``characters``),
    else the full form of a contraction piece (``n't`` -> ``not``); None if none is known."""
    for key in (word, word.strip("'`"), CONTRACTION_ALIASES.get(word)):
        if key and key in lookup:
            return lookup[key]
    return None


def embedding_matrix(
    vocab: SentenceVocab, embeddings, seed: int = 0, scale: float | None = None, postprocess: bool = False
) -> tuple[np.ndarray, Coverage]:
    """[len(vocab), dim] float32: a word the embeddings know (see :func:`vector_index`) gets
    its vector; an unknown word a random vector, uniform in [-a, a] with a chosen so it has
    the variance of the known vectors (Kim's recipe; ``scale`` sets a by hand); the padding
    row is zero. With
    ``postprocess`` the known vectors first go through :func:`postprocess_vectors`."""
    words, vectors = list(embeddings.words), np.asarray(embeddings.vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"embeddings hold {len(words)} words but vectors of shape {vectors.shape}")
    if postprocess:
        vectors = postprocess_vectors(vectors)
    lookup = {w: i for i, w in enumerate(words)}
    dim = vectors.shape[1]
    a = float(scale) if scale is not None else float(np.sqrt(3.0) * vectors.std())
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(-a, a, size=(len(vocab), dim)).astype(np.float32)
    matrix[0] = 0.0
    words_found = tokens = tokens_found = vocab_words = 0
    for i, w in enumerate(vocab.words):
        j = vector_index(w, lookup)
        if j is not None:
            matrix[i] = vectors[j]
        if i >= 2 and w in vocab.counts:
            vocab_words += 1
            tokens += vocab.counts[w]
            if j is not None:
                words_found += 1
                tokens_found += vocab.counts[w]
    extra = sum(1 for w in vocab.words[2:] if w not in vocab.counts)
    return matrix, Coverage(vocab_words, words_found, tokens, tokens_found, extra)


# --------------------------------------------------------------------------- the model
# The Keras model is written in the notebook's cells marked `#| export` (conv_branch,
# random_embedding, kim_cnn, word2vec_embedding, compile_cnn, training_callbacks) and copied
# here by `make export`, so the notebook, the CLI and the tests build the same network.


# >>> BEGIN EXPORT from cnn_text_classification.ipynb (`make export` writes this block: edit the notebook)
def conv_branch(x, width, maps=100, name=None):
    """One of Kim's (2014) parallel branches: [batch, time, dim] -> [batch, maps]. ``maps``
    filters ``width`` words wide with ReLU, then max-over-time pooling (each filter keeps its
    strongest match anywhere in the sentence)."""
    h = layers.Conv1D(maps, width, activation="relu", name=f"{name}_conv" if name else None)(x)
    return layers.GlobalMaxPooling1D(name=f"{name}_maxpool" if name else None)(h)


def random_embedding(vocab_size, dim=300, scale=0.25):
    """CNN-rand's embedding layer: ``vocab_size`` float32 vectors of ``dim`` numbers, uniform in
    [-scale, scale] (Kim's 0.25), learned with the network."""
    return layers.Embedding(
        vocab_size,
        dim,
        name="embedding",
        embeddings_initializer=keras.initializers.RandomUniform(-scale, scale),
    )


def kim_cnn(
    embedding,
    widths=(3, 4, 5),
    maps=100,
    dropout=0.5,
    max_norm=3.0,
    num_classes=2,
    edge_padding=None,
    name="kim_cnn",
):
    """Kim's (2014) CNN for sentence classification on top of ``embedding`` (a Keras
    ``Embedding`` layer): int32 token ids [batch, time] -> float32 class probabilities
    [batch, num_classes]. Sentences of any length work (max-over-time pooling); each gets
    ``edge_padding`` zero vectors at both ends (default: the widest filter - 1, as in Kim's code)."""
    pad = max(widths) - 1 if edge_padding is None else edge_padding
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = embedding(token_ids)  # [batch, time, dim]
    if pad > 0:
        x = layers.ZeroPadding1D(pad, name="edge_padding")(x)  # [batch, pad + time + pad, dim]
    pooled = [conv_branch(x, w, maps, name=f"width{w}") for w in widths]  # each [batch, maps]
    x = layers.Concatenate(name="concat")(pooled) if len(pooled) > 1 else pooled[0]  # [batch, 3 * maps]
    x = layers.Dropout(dropout, name="dropout")(x)  # active in training only
    probs = layers.Dense(
        num_classes,
        activation="softmax",
        name="softmax",
        kernel_constraint=keras.constraints.MaxNorm(max_norm),
    )(x)  # column norms <= 3
    return keras.Model(token_ids, probs, name=name)


def compile_cnn(model, learning_rate=1e-3):
    """Compile a Kim CNN for training: Adam, cross-entropy of the softmax output against
    integer labels (0 negative, 1 positive), accuracy. Returns the model."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return model


def training_callbacks(log_dir=None, patience=2):
    """Early stopping on dev accuracy (stop after ``patience`` epochs without progress, keep
    the best epoch's weights) and, with ``log_dir``, TensorBoard curves in log_dir/train and
    log_dir/validation."""
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience, restore_best_weights=True)
    ]
    if log_dir is not None:
        callbacks.append(
            keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False, profile_batch=0)
        )
    return callbacks


def word2vec_embedding(matrix, trainable):
    """An Embedding layer that starts from ``matrix`` (float32 [vocab_size, dim], row i = the
    vector of word id i): frozen with ``trainable=False`` (Kim's CNN-static), fine-tuned with
    the network with ``trainable=True`` (CNN-non-static)."""
    return layers.Embedding(
        matrix.shape[0], matrix.shape[1], weights=matrix, trainable=trainable, name="embedding"
    )


# <<< END EXPORT


def build_model(
    vocab_size: int,
    embed_dim: int = 300,
    max_len: int = MAX_LEN,
    widths: Sequence[int] = (3, 4, 5),
    maps: int = 100,
    dropout: float = 0.5,
    max_norm: float = 3.0,
    num_classes: int = 2,
    embeddings: np.ndarray | None = None,
    trainable: bool = True,
    rand_scale: float = RAND_SCALE,
    edge_padding: int | None = None,
    name: str = "kim_cnn",
) -> keras.Model:
    """Kim's CNN (the notebook's :func:`kim_cnn`) with its embedding layer, after checking the
    arguments: token ids [batch, length] -> class probabilities [batch, num_classes].

    Without ``embeddings`` the layer is CNN-rand's (:func:`random_embedding`, ``embed_dim``
    wide, uniform in [-rand_scale, rand_scale]); with a float [vocab_size, dim] matrix it is
    :func:`word2vec_embedding` (frozen unless ``trainable``). ``max_len`` only checks that the
    widest filter fits. Raises ValueError for a vocabulary under 3 words (<pad>, <unk>, one
    word), a ``max_len`` shorter than the widest filter, or a matrix with the wrong row count."""
    if vocab_size < 3:
        raise ValueError(f"vocab_size must count <pad>, <unk> and at least one word, got {vocab_size}")
    if max_len < max(widths):
        raise ValueError(f"max_len={max_len} is shorter than the widest filter ({max(widths)})")
    if embeddings is not None:
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[0] != vocab_size:
            raise ValueError(
                f"the embedding matrix has shape {embeddings.shape}: it needs {vocab_size} rows "
                "(one per vocabulary word)"
            )
        embedding = word2vec_embedding(embeddings, trainable=trainable)
    else:
        embedding = random_embedding(vocab_size, embed_dim, scale=rand_scale)
        embedding.trainable = trainable
    return kim_cnn(
        embedding,
        widths=tuple(widths),
        maps=maps,
        dropout=dropout,
        max_norm=max_norm,
        num_classes=num_classes,
        edge_padding=edge_padding,
        name=name,
    )


# --------------------------------------------------------------------------- the classifier
class PredictError(ValueError):
    """predict() got something it cannot classify (the message says what and what to do)."""


@dataclass
class Prediction:
    """One sentence's label from :meth:`TextClassifier.predict`: p(positive) in [0, 1], token
    counts, whether it was cut to ``max_len``, and a note on anything unusual."""

    text: str
    label: str
    p_positive: float
    tokens: int  # tokens after cleaning (before truncation)
    known: int  # of the tokens the model reads, how many are in its vocabulary
    truncated: bool
    note: str = ""

    def __repr__(self) -> str:
        return f"Prediction({self})"

    def __str__(self) -> str:
        shown = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        extra = f"  [{self.note}]" if self.note else ""
        return f"{self.label:<8} p(positive)={self.p_positive:.3f}  {shown!r}{extra}"


class TextClassifier:
    """A trained Keras model plus the text preprocessing it needs (vocabulary, max length)."""

    def __init__(
        self, model: keras.Model, vocab: SentenceVocab, max_len: int = MAX_LEN, labels: Sequence[str] = LABELS
    ):
        self.model, self.vocab, self.max_len, self.labels = model, vocab, int(max_len), tuple(labels)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """[n, 2] class probabilities for raw texts (no checks; see :meth:`predict`)."""
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        batches = self.batches(texts, batch_size=batch_size)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for k in range(len(batches)):
            out[batches.batches[k]] = np.asarray(self.model(batches[k], training=False))
        return out

    def batches(
        self,
        texts: Sequence[str],
        labels: np.ndarray | None = None,
        batch_size: int = 50,
        shuffle: bool = False,
        seed: int = 0,
    ) -> BucketBatches:
        """Texts -> token ids -> length-bucketed, padded batches (what the model reads)."""
        return BucketBatches(
            [self.vocab.encode(tokenize(t)) for t in texts],
            labels,
            batch_size=batch_size,
            max_len=self.max_len,
            shuffle=shuffle,
            seed=seed,
        )

    def predict(self, text: str | Sequence[str]) -> Prediction | list[Prediction]:
        """The label of one sentence (or a list of them), with a note on anything unusual."""
        if isinstance(text, (list, tuple)):
            return [self.predict(t) for t in text]
        if not isinstance(text, str):
            raise PredictError(
                f"predict() takes a sentence (a str) or a list of them, got {type(text).__name__}"
            )
        if not text.strip():
            raise PredictError(
                "predict() got an empty text: give it a sentence, e.g. "
                "predict('a gripping, beautifully shot film')"
            )
        tokens = tokenize(text)
        if not tokens:
            raise PredictError(
                f"predict() found no words in {text[:40]!r}: after cleaning, the model reads only the "
                "letters a-z "
                "(accents are dropped), digits and ( ) , ! ? ' `; it was trained on English movie reviews"
            )
        ids = self.vocab.encode(tokens[: self.max_len])
        known = sum(1 for i in ids if i > 1)
        p = np.asarray(
            self.model(pad([ids], bucket_of(len(ids), bucket_lengths(self.max_len))), training=False)
        )[0]
        notes = []
        if len(tokens) > self.max_len:
            notes.append(f"read only the first {self.max_len} of {len(tokens):,} tokens")
        if known == 0:
            notes.append("no word is in the vocabulary, so this is a guess from padding and <unk> alone")
        k = int(np.argmax(p))
        return Prediction(
            text,
            self.labels[k],
            float(p[-1]),
            len(tokens),
            known,
            len(tokens) > self.max_len,
            "; ".join(notes),
        )

    def evaluate(self, texts: Sequence[str], labels: np.ndarray) -> float:
        return float(np.mean(self.predict_proba(texts).argmax(-1) == np.asarray(labels)))

    # -- saving: the .keras file holds the network, <name>.vocab.json beside it the preprocessing
    @staticmethod
    def _vocab_path(path: Path) -> Path:
        return path.with_name(path.stem + ".vocab.json")

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        if path.suffix != ".keras":
            raise ValueError(f"save to a file ending in .keras, got {path.name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model.save(path)
        meta = {
            "max_len": self.max_len,
            "labels": list(self.labels),
            "tokenizer": "kim_clean_str",
            **self.vocab.to_json(),
        }
        self._vocab_path(path).write_text(json.dumps(meta))
        return path

    @classmethod
    def load(cls, path: str | Path) -> TextClassifier:
        path = Path(path)
        vpath = cls._vocab_path(path)
        for p in (path, vpath):
            if not p.exists():
                raise FileNotFoundError(
                    f"{p} is missing: a saved classifier is {path.name} plus {vpath.name} "
                    "(TextClassifier.save writes both)"
                )
        model = keras.models.load_model(path)
        meta = json.loads(vpath.read_text())
        vocab = SentenceVocab.from_json(meta)
        rows = model.get_layer("embedding").input_dim
        if rows != len(vocab):
            raise ValueError(
                f"{vpath.name} lists {len(vocab)} words but the model's embedding has {rows} rows: "
                "the two files come from different runs"
            )
        return cls(model, vocab, meta["max_len"], meta["labels"])


# --------------------------------------------------------------------------- training
class EpochProgress(keras.callbacks.Callback):
    """A tqdm bar over epochs showing loss and accuracies (Keras' own bar is per batch)."""

    def __init__(self, epochs: int, desc: str):
        super().__init__()
        self.epochs, self.desc, self.bar = epochs, desc, None

    def on_train_begin(self, logs=None):
        self.bar = config.progress(total=self.epochs, desc=self.desc, unit="epoch", leave=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.bar.set_postfix({k: f"{logs[k]:.3f}" for k in ("loss", "accuracy", "val_accuracy") if k in logs})
        self.bar.update(1)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()


@dataclass
class Result:
    """What one training run hands back (CNN or baseline)."""

    variant: str
    test_accuracy: float
    dev_accuracy: float
    seconds: float
    epochs: int = 0
    classifier: object = None
    history: dict = field(default_factory=dict)
    coverage: Coverage | None = None
    details: dict = field(default_factory=dict)

    def row(self) -> str:
        return (
            f"{self.variant:<16} test {100 * self.test_accuracy:5.1f}%  dev {100 * self.dev_accuracy:5.1f}%  "
            f"{self.seconds:6.1f} s" + (f"  {self.epochs} epochs" if self.epochs else "")
        )


def _check_variant(init: str) -> str:
    if init not in VARIANTS:
        raise ValueError(f"unknown variant {init!r}: use one of {', '.join(VARIANTS)}")
    return init


def fresh_dir(path: str | Path) -> Path:
    """``path`` emptied (removed if it exists; TensorBoard creates it again), so that a re-run
    replaces its TensorBoard curves instead of adding a second set."""
    path = Path(path)
    shutil.rmtree(path, ignore_errors=True)
    return path


def result_of_fit(
    variant: str,
    classifier: TextClassifier,
    history,
    split: Split,
    seconds: float,
    coverage: Coverage | None = None,
    details: dict | None = None,
) -> Result:
    """The :class:`Result` of a finished ``model.fit``: test accuracy of ``classifier`` on
    ``split``'s test set, the best dev accuracy (the epoch early stopping kept), the epochs
    run and the per-epoch history (``history`` is what ``fit`` returned, or its dict)."""
    hist = history.history if hasattr(history, "history") else history
    hist = {k: [float(v) for v in vals] for k, vals in hist.items()}
    val = hist.get("val_accuracy") or [0.0]
    best = int(np.argmax(val))
    return Result(
        variant,
        classifier.evaluate(split.test_texts, split.test_labels),
        float(val[best]),
        float(seconds),
        epochs=len(hist.get("val_accuracy", [])),
        classifier=classifier,
        history=hist,
        coverage=coverage,
        details={"best_epoch": best + 1, "vocab": len(classifier.vocab), **(details or {})},
    )


def fit_and_evaluate(
    variant: str,
    model: keras.Model,
    vocab: SentenceVocab,
    split: Split,
    epochs: int = 10,
    batch_size: int = 50,
    patience: int = 2,
    max_len: int = MAX_LEN,
    seed: int | None = None,
    log_dir: str | Path | None = None,
    progress: bool = True,
    coverage: Coverage | None = None,
    details: dict | None = None,
) -> Result:
    """``model.fit`` of a compiled Kim CNN on ``split`` (the notebook's CNN-rand cell, as one
    call): length-bucketed batches of ``batch_size`` training sentences (reshuffled each
    epoch), dev batches for :func:`training_callbacks` (early stopping, TensorBoard curves in
    ``log_dir``, emptied first), then :func:`result_of_fit`."""
    clf = TextClassifier(model, vocab, max_len)
    train_ds = clf.batches(
        split.train_texts, split.train_labels, batch_size, shuffle=True, seed=0 if seed is None else seed
    ).as_dataset()
    dev_ds = clf.batches(split.dev_texts, split.dev_labels, batch_size=256).as_dataset()
    callbacks = training_callbacks(None if log_dir is None else fresh_dir(log_dir), patience=patience)
    if progress:
        callbacks.append(EpochProgress(epochs, desc=f"CNN {variant}"))
    start = time.perf_counter()
    history = model.fit(
        train_ds, validation_data=dev_ds, epochs=epochs, callbacks=callbacks, verbose=0, shuffle=False
    )  # the bucketed batches reshuffle themselves every epoch
    return result_of_fit(
        variant, clf, history, split, time.perf_counter() - start, coverage=coverage, details=details
    )


def _vocab_and_model(
    split: Split,
    init: str,
    vectors,
    embed_dim: int,
    max_len: int,
    max_extra_words: int,
    postprocess: bool,
    seed: int | None,
    verbose: bool,
) -> tuple[SentenceVocab, keras.Model, Coverage | None]:
    """:func:`train_cnn`'s first step: the sentence vocabulary, the (uncompiled) model with its
    embedding, and the word2vec coverage (None for CNN-rand)."""
    if init == "random":
        vocab = build_sentence_vocab(split.train_tokens)
        return vocab, build_model(len(vocab), embed_dim=embed_dim, max_len=max_len), None
    if vectors is None:
        raise ValueError(f"init={init!r} needs word vectors: pass vectors=load_vectors(...)")
    vocab = build_sentence_vocab(split.train_tokens, extra_words=vectors.words, max_extra=max_extra_words)
    matrix, coverage = embedding_matrix(
        vocab, vectors, seed=0 if seed is None else seed, postprocess=postprocess
    )
    if verbose:
        print(coverage)
    model = build_model(len(vocab), max_len=max_len, embeddings=matrix, trainable=(init == "word2vec-tuned"))
    return vocab, model, coverage


def train_cnn(
    split: Split,
    init: str = "random",
    vectors=None,
    embed_dim: int = 300,
    max_len: int = MAX_LEN,
    epochs: int = 10,
    batch_size: int = 50,
    patience: int = 2,
    learning_rate: float = 1e-3,
    max_extra_words: int = 40_000,
    postprocess: bool = True,
    seed: int | None = None,
    log_dir: str | Path | None = None,
    progress: bool = True,
    verbose: bool = True,
) -> Result:
    """Train Kim's CNN on ``split`` (what the CLI's k-fold benchmark runs): ``init`` is
    ``random`` (CNN-rand), ``word2vec-static`` (frozen pretrained embeddings) or
    ``word2vec-tuned`` (pretrained, fine-tuned). The model is the notebook's (:func:`build_model`
    -> :func:`kim_cnn`), compiled by :func:`compile_cnn` (Adam) and trained by
    :func:`fit_and_evaluate` (batch 50, early stopping on dev accuracy, best epoch kept). The
    word2vec vectors go through :func:`postprocess_vectors` first unless ``postprocess=False``;
    ``verbose`` prints their coverage of the training words (also in ``Result.coverage``).
    ``log_dir`` gets TensorBoard curves in ``train/`` and ``validation/`` (cleared first).
    Raises ValueError for an unknown ``init``, for ``tfidf``, or for word2vec without ``vectors``."""
    _check_variant(init)
    if init == "tfidf":
        raise ValueError("train_cnn trains the CNNs; use tfidf_baseline(split) for the TF-IDF baseline")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    vocab, model, coverage = _vocab_and_model(
        split, init, vectors, embed_dim, max_len, max_extra_words, postprocess, seed, verbose
    )
    compile_cnn(model, learning_rate)
    return fit_and_evaluate(
        init,
        model,
        vocab,
        split,
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        max_len=max_len,
        seed=seed,
        log_dir=log_dir,
        progress=progress,
        coverage=coverage,
        details={} if init == "random" else {"postprocess": postprocess},
    )


# --------------------------------------------------------------------------- the baseline
def tfidf_baseline(split: Split, Cs: Sequence[float] = (1.0, 2.0, 4.0, 8.0, 16.0)) -> Result:
    """TF-IDF of unigrams and bigrams (Kim tokens) + logistic regression, C picked on dev."""
    start = time.perf_counter()
    best = None
    for C in Cs:
        pipe = make_pipeline(
            TfidfVectorizer(
                tokenizer=str.split,
                preprocessor=clean_str,
                token_pattern=None,
                lowercase=False,
                ngram_range=(1, 2),
            ),
            LogisticRegression(C=C, solver="liblinear"),
        )
        pipe.fit(split.train_texts, split.train_labels)
        dev = float(pipe.score(split.dev_texts, split.dev_labels))
        if best is None or dev > best[0]:
            best = (dev, C, pipe)
    dev, C, pipe = best
    seconds = time.perf_counter() - start
    test = float(pipe.score(split.test_texts, split.test_labels))
    return Result("tfidf", test, dev, seconds, classifier=pipe, details={"C": C})


# --------------------------------------------------------------------------- benchmark (the CLI)
def summarize(init: str, runs: list[dict], folds: int) -> dict:
    """One variant's benchmark summary from its runs (dicts with fold, seed, test_accuracy,
    seconds): mean and standard deviation of test accuracy (fractions) and training seconds over
    the runs, the per-fold means, and the standard error of the mean over folds (NaN for one)."""
    acc = np.array([r["test_accuracy"] for r in runs])
    secs = np.array([r["seconds"] for r in runs])
    per_fold = {}
    for r in runs:
        per_fold.setdefault(r["fold"], []).append(r["test_accuracy"])
    fold_means = np.array([np.mean(v) for _, v in sorted(per_fold.items())])
    sem = float(fold_means.std(ddof=1) / math.sqrt(len(fold_means))) if len(fold_means) > 1 else float("nan")
    return {
        "variant": init,
        "folds": folds,
        "fold_ids": sorted(per_fold),
        "runs": runs,
        "mean_accuracy": float(acc.mean()),
        "std_accuracy": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
        "fold_sem": sem,
        "mean_seconds": float(secs.mean()),
        "std_seconds": float(secs.std(ddof=1)) if len(secs) > 1 else 0.0,
        "fold_means": {int(k): float(np.mean(v)) for k, v in sorted(per_fold.items())},
    }


def paired_difference(a: dict, b: dict) -> tuple[float, float, int] | None:
    """Mean and standard error of (a - b) over the folds both were run on (None if none)."""
    fa = {int(k): v for k, v in a.get("fold_means", {}).items()}
    fb = {int(k): v for k, v in b.get("fold_means", {}).items()}
    common = sorted(set(fa) & set(fb))
    if len(common) < 2:
        return None
    diffs = np.array([fa[k] - fb[k] for k in common])
    return float(diffs.mean()), float(diffs.std(ddof=1) / math.sqrt(len(diffs))), len(common)


# --------------------------------------------------------------------------- plots and inspection
def confusion(classifier, texts: Sequence[str], labels: np.ndarray) -> np.ndarray:
    """2x2 counts: rows are the true class, columns the predicted one."""
    pred = predict_labels(classifier, texts)
    return confusion_matrix(np.asarray(labels), pred, labels=[0, 1])


def predict_labels(classifier, texts: Sequence[str]) -> np.ndarray:
    """Integer labels (0 negative, 1 positive) of raw texts, from a :class:`TextClassifier` or a
    scikit-learn pipeline (the TF-IDF baseline)."""
    if isinstance(classifier, TextClassifier):
        return classifier.predict_proba(texts).argmax(-1)
    return np.asarray(classifier.predict(list(texts)))  # a scikit-learn pipeline


def plot_confusion(results: Sequence[Result], split: Split):
    """Side-by-side confusion matrices of several results on the test set."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (only the notebook's plots need matplotlib, not the CLI)

    fig, axes = plt.subplots(1, len(results), figsize=(3.6 * len(results), 3.4), squeeze=False)
    for ax, r in zip(axes[0], results):
        cm = confusion(r.classifier, split.test_texts, split.test_labels)
        ConfusionMatrixDisplay(cm, display_labels=LABELS).plot(ax=ax, colorbar=False, cmap="Blues")
        ax.set_title(f"{r.variant}: {100 * r.test_accuracy:.1f}%")
    fig.tight_layout()
    return fig


def plot_curves(results: Sequence[Result]):
    """Train (dashed) and dev (solid) accuracy per epoch of several CNN runs, in one plot
    (the same curves TensorBoard shows)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (only the notebook's plots need matplotlib, not the CLI)

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for r in results:
        if not r.history:
            continue
        epochs = np.arange(1, len(r.history["accuracy"]) + 1)
        (line,) = ax.plot(epochs, r.history["val_accuracy"], marker="o", label=f"{r.variant} dev")
        ax.plot(
            epochs,
            r.history["accuracy"],
            ls="--",
            color=line.get_color(),
            alpha=0.6,
            label=f"{r.variant} train",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def misclassified(
    classifier: TextClassifier, texts: Sequence[str], labels: np.ndarray, n: int = 5
) -> list[str]:
    """The ``n`` test sentences the classifier got wrong most confidently."""
    p = classifier.predict_proba(texts)
    pred = p.argmax(-1)
    wrong = np.flatnonzero(pred != np.asarray(labels))
    wrong = wrong[np.argsort(-p[wrong].max(-1))][:n]
    return [
        f"true {LABELS[labels[i]]:<8} predicted {LABELS[pred[i]]} ({p[i].max():.2f}): {texts[i]}"
        for i in wrong
    ]


def comparison_table(results: Sequence[Result]) -> str:
    """The notebook's results side by side: test and dev accuracy (%), training seconds, epochs."""
    lines = [f"{'variant':<16} {'test acc':>8} {'dev acc':>8} {'train s':>8} {'epochs':>6}", "-" * 50]
    for r in results:
        lines.append(
            f"{r.variant:<16} {100 * r.test_accuracy:7.1f}% {100 * r.dev_accuracy:7.1f}% "
            f"{r.seconds:8.1f} {r.epochs if r.epochs else '-':>6}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- exercise checks
# Each takes only the attendee's answer, tries it on its own small fixed inputs, prints one
# "Correct! ..." or "Not yet: ..." line (workshop_sections.tools.checks) and never raises.
def _relu(layer) -> bool:
    return getattr(layer.activation, "__name__", "") == "relu"


def _check_one_branch(branch_fn, width: int, maps: int) -> str | None:
    """None if ``branch_fn(x, width, maps)`` is a Conv1D(maps, width, relu) + max over time, else what
    is wrong."""
    inp = keras.Input(shape=(12, 8))
    out, err = checks.call(branch_fn, inp, width, maps)
    if err:
        return err
    if not hasattr(out, "shape"):
        return f"my_conv_branch(x, {width}, {maps}) should return a Keras tensor, got a {type(out).__name__}."
    shape = tuple(out.shape)
    if len(shape) == 3:
        return (
            f"the output has shape {shape}: one value per filter and position. Pool over time "
            "(layers.GlobalMaxPooling1D) to keep one number per filter."
        )
    try:
        model = keras.Model(inp, out)
    except Exception as exc:  # e.g. a tensor that does not come from the input
        return f"could not build a model from x to your output ({type(exc).__name__}: {exc})".replace(
            "\n", " "
        )
    convs = [lay for lay in model.layers if isinstance(lay, layers.Conv1D)]
    if len(convs) != 1:
        return f"expected one layers.Conv1D in the branch, found {len(convs)}."
    conv = convs[0]
    if conv.kernel_size != (width,):
        return (
            f"my_conv_branch(x, width={width}, maps={maps}) made a Conv1D of kernel_size "
            f"{conv.kernel_size[0]}: "
            "use the `width` argument as the kernel size."
        )
    if conv.filters != maps:
        return (
            f"my_conv_branch(x, width={width}, maps={maps}) made {conv.filters} filters: use the `maps` "
            "argument as the number of filters."
        )
    if not _relu(conv):
        return 'the convolution should use activation="relu" (Kim\'s feature maps are rectified).'
    if shape != (None, maps):
        return f"expected an output of shape (None, {maps}) (one number per filter), got {shape}."
    x = np.random.default_rng(0).normal(size=(3, 12, 8)).astype("float32")
    feature_maps = np.asarray(keras.Model(inp, conv.output)(x))
    got = np.asarray(model(x))
    if np.allclose(got, feature_maps.mean(axis=1), atol=1e-5):
        return "the branch averages each feature map over time; max-over-time pooling keeps the maximum."
    if not np.allclose(got, feature_maps.max(axis=1), atol=1e-5):
        return "the output is not the maximum of each feature map over time (layers.GlobalMaxPooling1D)."
    return None


def check_conv_branch(branch_fn) -> bool:
    """Exercise 1: ``branch_fn(x, width, maps)`` must turn a [batch, time, dim] Keras tensor
    into [batch, maps]: a ``layers.Conv1D(maps, width, activation="relu")`` then max-over-time
    pooling (``layers.GlobalMaxPooling1D``), Kim (2014). Tried with (width, maps) = (4, 100)
    and (3, 7) on 12 positions of 8-dimensional vectors. Prints one line; returns True/False."""
    if msg := checks.placeholder("my_conv_branch", branch_fn):
        return checks.not_yet(msg)
    for width, maps in ((4, 100), (3, 7)):
        problem = _check_one_branch(branch_fn, width, maps)
        if problem:
            return checks.not_yet(problem)
    return checks.correct(
        "Conv1D of `maps` filters `width` words wide with ReLU, then the maximum of each "
        "feature map over time: [batch, time, dim] -> [batch, maps] for any sentence length."
    )


def check_max_over_time(fn) -> bool:
    """Exercise 2: ``fn(h)`` must be max-over-time pooling of a float32 feature map
    h [batch, time, maps] -> [batch, maps] (``tf.reduce_max(h, axis=1)``), the same as
    ``layers.GlobalMaxPooling1D``; tried on fixed [3, 9, 5] and [2, 4, 5] maps."""
    if msg := checks.placeholder("max_over_time", fn):
        return checks.not_yet(msg)
    rng = np.random.default_rng(1)
    for shape in ((3, 9, 5), (2, 4, 5)):
        h = rng.normal(size=shape).astype("float32")
        out, err = checks.call(fn, tf.constant(h))
        if err:
            return checks.not_yet(err)
        got = checks.to_numpy(out)
        if got is None:
            return checks.not_yet(f"max_over_time should return a tensor, got a {type(out).__name__}.")
        expected = np.asarray(layers.GlobalMaxPooling1D()(h))
        if got.shape == (shape[0], shape[1]):
            return checks.not_yet(
                f"the result has shape {got.shape}: you took the maximum over the filters "
                "(the last axis); max over time is over axis=1, the positions."
            )
        if got.shape == (shape[1], shape[2]):
            return checks.not_yet(
                f"the result has shape {got.shape}: you took the maximum over the batch (axis 0); "
                "max over time is over axis=1, the positions."
            )
        if got.shape == ():
            return checks.not_yet(
                "the result is one number: tf.reduce_max without an axis takes the maximum of "
                "everything; give axis=1 (over time)."
            )
        if got.shape == (shape[0], 1, shape[2]):
            return checks.not_yet(
                f"the result has shape {got.shape}: drop keepdims so it is [batch, maps], "
                "like layers.GlobalMaxPooling1D."
            )
        if got.shape == expected.shape and np.allclose(got, h.mean(axis=1), atol=1e-5):
            return checks.not_yet(
                "that is the average over time (reduce_mean); max-over-time keeps the largest value."
            )
        ok, why = checks.close(got, expected, atol=1e-6)
        if not ok:
            return checks.not_yet(f"not the maximum over time: {why}.")
    return checks.correct(
        "max_over_time(h) keeps each filter's largest value over the positions: [3, 9, 5] -> [3, 5], "
        "the same numbers as layers.GlobalMaxPooling1D()(h), for any sentence length."
    )


def check_pretrained_embedding(fn) -> bool:
    """Exercise 3: ``fn(matrix, trainable)`` must return a ``layers.Embedding`` that starts
    from ``matrix`` (float32 [words, dim]; row i is the vector of word id i) and is frozen
    when ``trainable`` is False (Kim's CNN-static), trainable when True (CNN-non-static).
    Tried on a fixed 5 x 3 matrix and the ids [[2, 0, 4]]."""
    if msg := checks.placeholder("my_embedding", fn):
        return checks.not_yet(msg)
    matrix = (np.arange(15, dtype=np.float32).reshape(5, 3) - 7.0) / 10.0
    ids = np.array([[2, 0, 4]], dtype=np.int32)
    for trainable in (False, True):
        layer, err = checks.call(fn, matrix.copy(), trainable)
        if err:
            return checks.not_yet(err)
        if not isinstance(layer, layers.Embedding):
            return checks.not_yet(
                f"my_embedding should return a layers.Embedding, got a {type(layer).__name__}."
            )
        if (layer.input_dim, layer.output_dim) != matrix.shape:
            return checks.not_yet(
                f"the layer is Embedding({layer.input_dim}, {layer.output_dim}) but the matrix is "
                f"{matrix.shape[0]} words x {matrix.shape[1]} dimensions: "
                "Embedding(rows, columns) of the matrix."
            )
        try:
            out = np.asarray(layer(ids))
        except Exception as exc:
            return checks.not_yet(
                f"looking up ids {ids.tolist()} raised {type(exc).__name__}: {exc}".replace("\n", " ")
            )
        if not np.allclose(layer.get_weights()[0], matrix, atol=1e-6):
            return checks.not_yet(
                "the layer's vectors are not the matrix (they are random): start it from the matrix "
                "with weights=matrix (or embeddings_initializer=keras.initializers.Constant(matrix))."
            )
        if not np.allclose(out, matrix[ids], atol=1e-6):
            return checks.not_yet(
                f"ids {ids.tolist()} should give rows 2, 0 and 4 of the matrix, got {out.round(2).tolist()}."
            )
        if bool(layer.trainable) != trainable:
            what = (
                "frozen (trainable=False), so that training leaves the word2vec vectors alone"
                if not trainable
                else "trainable when trainable=True, so that training fine-tunes the vectors"
            )
            return checks.not_yet(
                f"my_embedding(matrix, trainable={trainable}) returned a layer with "
                f"trainable={layer.trainable}; it should be {what}."
            )
    return checks.correct(
        "Embedding(5, 3) that starts from the matrix (ids [2, 0, 4] -> rows 2, 0, 4), frozen with "
        "trainable=False, fine-tuned with trainable=True."
    )


def check_max_norm(fn) -> bool:
    """Exercise 4: ``fn(w, c)`` must be Kim's max-norm constraint on a weight matrix
    w [inputs, units]: every column (the weights into one unit) whose L2 norm exceeds ``c``
    is rescaled to norm ``c``, the others stay (``keras.constraints.MaxNorm(c)``, axis 0).
    Tried on a fixed 4 x 4 matrix whose columns have norms 5, 1, 0 and 10, with c = 3 and 1.5."""
    if msg := checks.placeholder("my_max_norm", fn):
        return checks.not_yet(msg)
    w = np.array(
        [[3.0, 0.5, 0.0, 6.0], [4.0, 0.5, 0.0, -8.0], [0.0, 0.5, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0]],
        dtype=np.float32,
    )
    norms = np.linalg.norm(w, axis=0)
    for c in (3.0, 1.5):
        out, err = checks.call(fn, tf.constant(w), c)
        if err:
            return checks.not_yet(err)
        got = checks.to_numpy(out)
        if got is None:
            return checks.not_yet(f"my_max_norm should return a tensor, got a {type(out).__name__}.")
        if got.shape != w.shape:
            return checks.not_yet(
                f"the result has shape {got.shape}; it should keep the shape of w, {w.shape} "
                "(keepdims=True on the norms lets them broadcast over the rows)."
            )
        if not np.all(np.isfinite(got)):
            return checks.not_yet(
                "the result holds nan: the all-zero column has norm 0 and 0 / 0 is nan; "
                "add a small epsilon to the norm or use tf.minimum(1.0, c / norm)."
            )
        expected = w * np.minimum(1.0, c / np.maximum(norms, 1e-7))
        rows = np.linalg.norm(w, axis=1, keepdims=True)
        if np.allclose(got, w * np.minimum(1.0, c / np.maximum(rows, 1e-7)), atol=1e-4):
            return checks.not_yet(
                "you measured the rows (axis=1); max-norm limits each column, the weights into "
                "one output unit: tf.norm(w, axis=0, keepdims=True)."
            )
        if np.allclose(got, w * c / np.maximum(norms, 1e-7), atol=1e-4):
            return checks.not_yet(
                f"every column now has length {c:g}, also the short ones (norm 1 became {c:g}); "
                "only columns longer than c shrink, the others stay as they are."
            )
        if c != 3.0 and np.allclose(got, w * np.minimum(1.0, 3.0 / np.maximum(norms, 1e-7)), atol=1e-4):
            return checks.not_yet(
                "with c=1.5 the columns were cut to length 3: use the argument c, not a fixed 3."
            )
        ok, why = checks.close(got, expected, atol=1e-4)
        if not ok:
            return checks.not_yet(
                f"with c={c:g}: {why}. Expected column norms "
                f"{np.round(np.linalg.norm(expected, axis=0), 2).tolist()}, got "
                f"{np.round(np.linalg.norm(got, axis=0), 2).tolist()}."
            )
    return checks.correct(
        "columns longer than c shrink to length c (norms 5 and 10 -> 3), the others (1 and 0) stay: "
        "what keras.constraints.MaxNorm(3) does to the softmax weights after every step."
    )
