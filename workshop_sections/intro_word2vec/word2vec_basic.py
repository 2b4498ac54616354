"""The talk's basic word2vec in TensorFlow 2: skip-gram pairs, NCE loss, nearest neighbours.

The lesson is written in ``intro_word2vec.ipynb``: the cells marked ``#| export`` there (the
``tf.data`` pipeline, the :class:`SkipGram` variables, the NCE loss, the gradient-descent
update, the ``tf.function`` training step and loop, the nearest-neighbour search) are copied
into the EXPORT block below by ``make export``; edit them in the notebook. This module keeps
the plumbing around them, in the order the notebook uses it:

``choose_corpus`` / ``load_corpus``   which text to learn from (text8, movie_reviews or a path)
``build_vocab`` -> ``Vocab``          the N most frequent words; id 0 is ``UNK`` (everything else)
``skipgram_pairs``                    every (target, context) pair within ``window`` words (NumPy)
``validate_*`` / ``ProgressBar`` /     clear errors, the progress bar and the TensorBoard writer the
``open_summary_writer``               exported cells use
(exported) ``make_dataset``, ``SkipGram``, ``nce_batch_loss``, ``sgd_update``, ``train_step``,
           ``train_steps``, ``train``, ``nearest_ids``
``nearest`` / ``nearest_table``       the words nearest to a word (by ``nearest_ids``)
``fit``                               the whole pipeline in one call (tests, ``load_or_train``)
``plot_tsne``                         a 2-D t-SNE map of the most frequent words
``export_projector``                  metadata.tsv + checkpoint + projector_config.pbtxt for
                                      TensorBoard's embedding projector
``check_skipgram_pairs`` / ``check_cosine_similarity`` / ``check_nce_loss`` / ``check_nearest_ids``
                                      the notebook's exercises (and ``check_nearest_to``, the
                                      talk's "nearest to government" as a list of words)
``save`` / ``load`` / ``load_or_train``  what this section hands on (vocab.tsv + embeddings.npy)

Skip-gram and the noise-contrastive loss: Mikolov et al. 2013, "Efficient Estimation of Word
Representations in Vector Space" and "Distributed Representations of Words and Phrases";
``tf.nn.nce_loss`` follows Gutmann and Hyvarinen 2010 / Mnih and Teh 2012.
"""

from __future__ import annotations

import collections
import difflib
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workshop_sections import config as _config
from workshop_sections.tools import checks

_config.quiet_tensorflow()
import tensorflow as tf  # noqa: E402  (after quieting its start-up log)

SECTION = "intro_word2vec"
UNK = "UNK"
FOX_SENTENCE = "the quick brown fox jumped over the lazy dog"
CORPUS_ENV = "WORKSHOP_W2V_CORPUS"
QUICK_MAX_WORDS = 200_000
CHECKPOINT_NAME = "embedding.ckpt"
EMBEDDING_KEY = "embedding/.ATTRIBUTES/VARIABLE_VALUE"  # the variable's key in the checkpoint
VOCAB_FILE = "vocab.tsv"
EMBEDDINGS_FILE = "embeddings.npy"


class Word2VecError(ValueError):
    """Bad input to the word2vec helpers; the message says what went wrong and what to do."""


class UnknownWordError(Word2VecError):
    """A word that is not in the vocabulary (the message suggests close words)."""


# --------------------------------------------------------------------------- corpus
def choose_corpus(quick: bool, verbose: bool = True) -> str:
    """The corpus for this run: ``$WORKSHOP_W2V_CORPUS`` if set, else text8 in full mode
    (when it can be fetched), else movie_reviews."""
    from workshop_sections import data

    override = os.environ.get(CORPUS_ENV, "").strip()
    if override:
        if verbose:
            print(f"Corpus from {CORPUS_ENV}: {override}")
        return override
    if quick:
        if verbose:
            print(f"Quick mode: corpus movie_reviews (the first {QUICK_MAX_WORDS:,} words).")
        return "movie_reviews"
    try:
        data.fetch("text8", quiet=not verbose)
    except data.DataUnavailableError as exc:
        if verbose:
            tried = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.startswith("  ")]
            print(
                "Note: text8 (the talk's corpus) is not available here; tried:\n  "
                + ("\n  ".join(tried) if tried else str(exc).splitlines()[0])
                + "\n"
                "Falling back to movie_reviews (1.3M words). To use text8, put text8.zip in the data "
                "cache (data/corpora/) or set WORKSHOP_DATA_MIRROR; to use your own text, set "
                f"{CORPUS_ENV}=/path/to/text.txt or assign `corpus` a path."
            )
        return "movie_reviews"
    if verbose:
        print("Corpus: text8 (the first 100 MB of English Wikipedia, as in the talk).")
    return "text8"


def load_corpus(corpus: str | os.PathLike, max_words: int | None = None) -> list[str]:
    """The words of a corpus (a registered name or a text/.gz/.zip path), lower-cased."""
    from workshop_sections import data

    if max_words is not None and max_words < 1:
        raise Word2VecError(f"max_words={max_words}: give a positive number of words (or None for all).")
    try:
        return data.read_words(corpus, max_words=max_words)
    except data.CorpusError as exc:
        raise Word2VecError(str(exc)) from None


# --------------------------------------------------------------------------- vocabulary
@dataclass
class Vocab:
    """Words by id (0 is ``UNK``, then the most frequent first) and their counts in the corpus.

    ``counts[0]`` is the number of corpus words that fell outside the vocabulary.
    """

    words: list[str]
    counts: list[int]
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        if len(self.words) != len(self.counts):
            raise Word2VecError(f"Vocab: {len(self.words)} words but {len(self.counts)} counts.")
        if not self.words or self.words[0] != UNK:
            raise Word2VecError(f"Vocab: id 0 must be {UNK!r}.")
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise Word2VecError("Vocab: the words must be distinct.")

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index

    def __repr__(self) -> str:
        head = ", ".join(f"{w}:{c}" for w, c in zip(self.words[:6], self.counts[:6]))
        return f"Vocab({len(self)} words: {head}, ...)"

    def id(self, word: str) -> int:
        """The id of ``word``; 0 (UNK) for words outside the vocabulary, as in the talk."""
        return self.index.get(word, 0)

    def encode(self, words: Iterable[str]) -> np.ndarray:
        """Word ids (int32), UNK for unknown words."""
        get = self.index.get
        return np.fromiter((get(w, 0) for w in words), dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.words[int(i)] for i in ids]

    def most_frequent(self, n: int) -> list[str]:
        """The ``n`` most frequent real words (UNK left out)."""
        return self.words[1 : 1 + n]

    def suggest(self, word: str, n: int = 5) -> list[str]:
        """Vocabulary words that look like ``word`` (difflib), best first."""
        return difflib.get_close_matches(str(word).lower(), self.words[1:], n=n, cutoff=0.6)

    def require(self, word: str) -> int:
        """The id of ``word``, or a clear error that suggests close words."""
        if not isinstance(word, str):
            raise UnknownWordError(f"Expected a word (a string), got {word!r} of type {type(word).__name__}.")
        if word in self.index and word != UNK:
            return self.index[word]
        if word == UNK:
            raise UnknownWordError(
                f"{UNK!r} stands for all the words outside the vocabulary: it is not a word "
                "to look up. Pick a word from vocab.most_frequent(100)."
            )
        if word != word.lower() and word.lower() in self.index:
            raise UnknownWordError(
                f"{word!r} is not in the vocabulary, but {word.lower()!r} is: the corpus is lower-cased."
            )
        close = self.suggest(word)
        hint = f" Close words in the vocabulary: {', '.join(close)}." if close else " No close words either."
        raise UnknownWordError(
            f"{word!r} is not in the vocabulary of {len(self):,} words (it is rare or absent in this corpus)."
            + hint
            + " Pick a word from vocab.most_frequent(100) or use a bigger vocabulary/corpus."
        )


def build_vocab(words: Sequence[str], size: int, verbose: bool = False) -> Vocab:
    """The ``size - 1`` most frequent words plus ``UNK`` at id 0 (the talk's ``build_dataset``).

    Ties in frequency keep the order of first appearance. If the corpus has fewer distinct
    words than asked for, the vocabulary holds them all (and says so with ``verbose``).
    """
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 2:
        raise Word2VecError(
            f"vocabulary size {size!r}: give a whole number of at least 2 (UNK plus one word)."
        )
    if len(words) == 0:
        raise Word2VecError("The corpus is empty: there are no words to build a vocabulary from.")
    counts = collections.Counter(words)
    counts.pop(UNK, None)  # a literal 'UNK' in the text joins the unknown words
    top = counts.most_common(size - 1)
    if verbose and len(counts) < size - 1:
        print(
            f"The corpus has only {len(counts):,} distinct words: the vocabulary holds all of them "
            f"({len(counts) + 1:,} with UNK) instead of {size:,}."
        )
    in_vocab = sum(c for _, c in top)
    unk_count = len(words) - in_vocab
    return Vocab([UNK] + [w for w, _ in top], [unk_count] + [c for _, c in top])


# --------------------------------------------------------------------------- skip-gram pairs
def skipgram_pairs(ids: Sequence[int] | np.ndarray, window: int) -> np.ndarray:
    """Every (target, context) pair with the context at most ``window`` words away.

    Ordered by target position, then by context position (the talk's example order).
    Returns an int32 array of shape (num_pairs, 2).
    """
    if not isinstance(window, (int, np.integer)) or isinstance(window, bool) or window < 1:
        raise Word2VecError(f"window={window!r}: give a whole number of words of at least 1.")
    ids = np.asarray(ids)
    n = len(ids)
    if n == 0:
        raise Word2VecError("The corpus is empty: there are no words to make skip-gram pairs from.")
    if n <= window:
        raise Word2VecError(
            f"The corpus has {n} word(s) but the window reaches {window} word(s) on each side: "
            f"give at least {window + 1} words or a smaller window."
        )
    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])
    positions = np.arange(n)
    context_pos = positions[:, None] + offsets[None, :]  # (n, 2*window), row-major = brute-force order
    valid = (context_pos >= 0) & (context_pos < n)
    target_pos = np.broadcast_to(positions[:, None], context_pos.shape)
    pairs = np.stack([ids[target_pos[valid]], ids[context_pos[valid]]], axis=1)
    return pairs.astype(np.int32)


def show_pairs(sentence: str = FOX_SENTENCE, window: int = 1) -> list[tuple[str, str]]:
    """The talk's example: the skip-gram pairs of a sentence, as words."""
    words = sentence.split()
    vocab = build_vocab(words, len(set(words)) + 1)
    pairs = skipgram_pairs(vocab.encode(words), window)
    return [(vocab.words[t], vocab.words[c]) for t, c in pairs]


# --------------------------------------------------------------------------- plumbing for the notebook's cells
# The model, the loss, the update, the step, the loop and the nearest-neighbour search are
# written in the notebook and exported into the block below; these helpers keep what is not
# the lesson: clear errors on bad input, the progress bar, the TensorBoard writer.
def _whole(label: str, value, minimum: int = 1) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise Word2VecError(f"{label}={value!r}: give a whole number of at least {minimum}.")
    return int(value)


def validate_model_sizes(vocab_size, dim, num_sampled, learning_rate) -> None:
    """Raise :class:`Word2VecError` (saying what to change) unless the sizes make a skip-gram model:
    positive whole ``vocab_size``, ``dim``, ``num_sampled`` < ``vocab_size``; ``learning_rate`` > 0."""
    for label, value in (("vocab_size", vocab_size), ("dim", dim), ("num_sampled", num_sampled)):
        _whole(label, value)
    if num_sampled >= vocab_size:
        raise Word2VecError(
            f"num_sampled={num_sampled} negative words need a vocabulary of more than {num_sampled} words, "
            f"but it has {vocab_size}. Use a smaller num_sampled or a bigger vocabulary/corpus."
        )
    if not (isinstance(learning_rate, (int, float, np.floating)) and learning_rate > 0):
        raise Word2VecError(f"learning_rate={learning_rate!r}: give a positive number.")


def validate_pairs(pairs, batch_size: int) -> np.ndarray:
    """``pairs`` as an int32 array of shape (num_pairs, 2), or a :class:`Word2VecError` when it is
    not one or holds fewer pairs than one batch."""
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or len(pairs) == 0:
        raise Word2VecError(f"pairs must be a non-empty (num_pairs, 2) array, got shape {pairs.shape}.")
    _whole("batch_size", batch_size)
    if len(pairs) < batch_size:
        raise Word2VecError(
            f"Only {len(pairs)} pairs for batches of {batch_size}: use a bigger corpus or a smaller batch."
        )
    return pairs.astype(np.int32)


def validate_train_args(steps, vocab: Vocab | None, eval_words: Sequence[str]) -> int:
    """The number of steps (a positive whole number), after checking that every evaluation word
    is in ``vocab`` (:class:`UnknownWordError` suggests close words otherwise)."""
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
        raise Word2VecError(f"steps={steps!r}: give a positive number of training steps.")
    if eval_words:
        if vocab is None:
            raise Word2VecError("eval_words need the vocabulary: pass vocab=...")
        for w in eval_words:
            vocab.require(w)
    return int(steps)


@dataclass
class TrainResult:
    """What :func:`train` returns: steps run, wall-clock seconds, the last chunk's mean loss and the
    history of (step, mean loss over the chunk that ended there)."""

    steps: int
    seconds: float
    final_loss: float
    history: list = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"TrainResult(steps={self.steps:,}, seconds={self.seconds:.1f}, final_loss={self.final_loss:.3f})"
        )


def clear_events(log_dir: Path) -> None:
    """Remove old event files from ``log_dir`` so TensorBoard shows this run only."""
    for f in Path(log_dir).glob("events.out.tfevents.*"):
        f.unlink()


def open_summary_writer(log_dir: str | Path | None, fresh: bool = True):
    """``tf.summary.create_file_writer(log_dir)`` (old event files removed first when ``fresh``), or
    a writer that writes nothing when ``log_dir`` is None."""
    if log_dir is None:
        return tf.summary.create_noop_writer()
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    if fresh:
        clear_events(log_dir)
    return tf.summary.create_file_writer(str(log_dir))


class ProgressBar:
    """A tqdm bar over ``total`` steps that shows the loss (a context manager); ``write`` prints
    above the bar (or plainly when the bar is off)."""

    def __init__(self, total: int, enabled: bool = True):
        from workshop_sections import config

        self.enabled = enabled
        self.bar = config.progress(total=total, desc="training", unit="step", disable=not enabled)

    def update(self, steps: int, loss: float) -> None:
        self.bar.update(steps)
        self.bar.set_postfix(loss=f"{loss:.3f}")

    def write(self, text: str) -> None:
        (self.bar.write if self.enabled else print)(text)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()
        return False


# >>> BEGIN EXPORT from intro_word2vec.ipynb (written by `make export`: edit the notebook, not this block)
def make_dataset(pairs, batch_size=128, seed=None, shuffle_buffer=100_000, repeat=True):
    """Shuffled batches of (targets, contexts): two int32 tensors of shape (batch_size,) each, from an
    int (num_pairs, 2) array of skip-gram pairs. Raises Word2VecError for a malformed array or fewer
    pairs than one batch."""
    pairs = validate_pairs(pairs, batch_size)  # an int32 (num_pairs, 2) array, or a clear error
    ds = tf.data.Dataset.from_tensor_slices((pairs[:, 0], pairs[:, 1]))
    ds = ds.shuffle(min(shuffle_buffer, len(pairs)), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


class SkipGram(tf.Module):
    """The talk's skip-gram model (Mikolov et al. 2013): the word vectors and NCE's per-word
    classifier. embedding and nce_weights: float32 (vocab_size, dim); nce_biases: float32 (vocab_size,).
    Raises Word2VecError for sizes that cannot work (num_sampled must be below vocab_size)."""

    def __init__(
        self,
        vocab_size,
        dim=128,
        num_sampled=64,
        learning_rate=1.0,
        init_scale=None,
        seed=None,
        name="skip_gram",
    ):
        super().__init__(name=name)
        validate_model_sizes(vocab_size, dim, num_sampled, learning_rate)
        self.vocab_size, self.dim, self.num_sampled = int(vocab_size), int(dim), int(num_sampled)
        self.learning_rate = float(learning_rate)
        self.init_scale = float(init_scale if init_scale is not None else 0.5 / dim)
        s = 0 if seed is None else int(seed)
        self.embedding = tf.Variable(
            tf.random.stateless_uniform(
                [vocab_size, dim], seed=[s, 1], minval=-self.init_scale, maxval=self.init_scale
            ),
            name="embedding",
        )
        self.nce_weights = tf.Variable(
            tf.random.stateless_truncated_normal([vocab_size, dim], seed=[s, 2], stddev=dim**-0.5),
            name="nce_weights",
        )
        self.nce_biases = tf.Variable(tf.zeros([vocab_size]), name="nce_biases")

    def loss(self, targets, contexts):
        """The mean NCE loss of a batch (nce_batch_loss, Exercise 3), a float32 scalar."""
        return nce_batch_loss(self, targets, contexts)

    def embeddings(self):
        """The word vectors as a NumPy float32 array (vocab_size, dim)."""
        return self.embedding.numpy()

    def __repr__(self):
        return (
            f"SkipGram(embedding {tuple(self.embedding.shape)}, nce_weights {tuple(self.nce_weights.shape)}, "
            f"nce_biases {tuple(self.nce_biases.shape)}, num_sampled={self.num_sampled})"
        )


def nce_batch_loss(model, targets, contexts):
    """Mean NCE loss (a float32 scalar) of a batch of int (batch,) target and context ids."""
    embed = tf.nn.embedding_lookup(model.embedding, targets)  # (batch, dim): the targets' vectors
    labels = tf.reshape(tf.cast(contexts, tf.int64), [-1, 1])  # (batch, 1): one true class each
    losses = tf.nn.nce_loss(
        weights=model.nce_weights,
        biases=model.nce_biases,
        labels=labels,
        inputs=embed,
        num_sampled=model.num_sampled,
        num_classes=model.vocab_size,
    )  # (batch,)
    return tf.reduce_mean(losses)


def sgd_update(variables, grads, learning_rate):
    """Plain gradient descent in place: v -= learning_rate * grad, row by row for tf.IndexedSlices."""
    for var, grad in zip(variables, grads):
        if isinstance(grad, tf.IndexedSlices):  # gradients of looked-up rows: update those rows only
            var.scatter_sub(tf.IndexedSlices(grad.values * learning_rate, grad.indices))
        else:
            var.assign_sub(grad * learning_rate)


@tf.function
def train_step(model, targets, contexts):
    """One gradient-descent step on a batch; returns its loss (float32 scalar)."""
    with tf.GradientTape() as tape:
        loss = model.loss(targets, contexts)
    grads = tape.gradient(loss, model.trainable_variables)
    sgd_update(model.trainable_variables, grads, model.learning_rate)
    return loss


@tf.function
def train_steps(model, iterator, steps):
    """`steps` training steps (an int32 scalar tensor) on batches from `iterator`, in one graph call;
    returns the mean loss."""
    total = tf.constant(0.0)
    for _ in tf.range(steps):
        targets, contexts = next(iterator)
        total += train_step(model, targets, contexts)
    return total / tf.cast(steps, tf.float32)


def train(
    model,
    dataset,
    steps,
    vocab=None,
    log_dir=None,
    eval_words=(),
    eval_every=None,
    log_every=100,
    progress=True,
    fresh_logs=True,
):
    """Train `steps` steps; returns a TrainResult (steps, seconds, final loss, history of (step, loss)).
    The loss goes to TensorBoard in `log_dir` (old event files removed when `fresh_logs`); the nearest
    neighbours of `eval_words` are printed every `eval_every` steps. Raises Word2VecError / UnknownWordError
    for a bad step count or an evaluation word outside `vocab`."""
    steps = validate_train_args(steps, vocab, eval_words)
    log_every = max(1, min(int(log_every), steps))
    writer = open_summary_writer(log_dir, fresh_logs)  # tf.summary.create_file_writer(log_dir)
    iterator = iter(dataset)
    history, done, loss, start = [], 0, float("nan"), time.perf_counter()
    with ProgressBar(steps, progress) as bar, writer.as_default():
        while done < steps:
            n = min(log_every, steps - done)
            loss = float(train_steps(model, iterator, tf.constant(n)))
            done += n
            history.append((done, loss))
            bar.update(n, loss)
            tf.summary.scalar("loss", loss, step=done)
            if eval_words and eval_every and (done % eval_every < n or done == steps):
                bar.write(
                    f"step {done:,}, loss {loss:.3f}\n" + nearest_table(model.embedding, vocab, eval_words)
                )
    writer.close()
    return TrainResult(steps=done, seconds=time.perf_counter() - start, final_loss=loss, history=history)


def nearest_ids(embeddings, word_id, k):
    """(similarities, ids): float32 and int32 tensors of shape (k,), the k rows of the float32
    (vocab, dim) `embeddings` nearest to row `word_id` by cosine similarity, best first, itself left out."""
    normed = tf.math.l2_normalize(embeddings, axis=1)  # every row of length 1
    sims = tf.matmul(normed, normed[word_id : word_id + 1], transpose_b=True)[:, 0]  # (vocab,) cosines
    sims = tf.where(tf.range(tf.shape(sims)[0]) == word_id, -np.inf, sims)  # leave the word itself out
    return tf.math.top_k(sims, k)


# <<< END EXPORT


# --------------------------------------------------------------------------- nearest neighbours
def normalize(embeddings) -> np.ndarray:
    """Rows scaled to length 1 (NumPy float32; zero rows stay zero). The checks' reference."""
    emb = np.asarray(embeddings, dtype=np.float32)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return emb / np.maximum(norms, 1e-12)


def cosine_similarities(embeddings, vocab: Vocab, word: str) -> np.ndarray:
    """Cosine similarity of ``word``'s vector with every row, NumPy (the checks' reference;
    a clear error for unknown words)."""
    if len(vocab) != len(embeddings):
        raise Word2VecError(
            f"The vocabulary has {len(vocab)} words but the embedding matrix {len(embeddings)} rows."
        )
    i = vocab.require(word)
    normed = normalize(embeddings)
    return normed @ normed[i]


def nearest(
    embeddings, vocab: Vocab, word: str, k: int = 8, include_unk: bool = False
) -> list[tuple[str, float]]:
    """The ``k`` words most similar to ``word`` by cosine similarity, best first, as (word, similarity)
    pairs (itself left out, UNK too unless ``include_unk``). ``embeddings``: (vocab, dim) array,
    tensor or variable. Computed by :func:`nearest_ids` (the notebook's TensorFlow). Raises
    :class:`UnknownWordError` for a word outside the vocabulary."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise Word2VecError(f"k={k!r}: give a positive number of neighbours.")
    emb = tf.convert_to_tensor(embeddings, dtype=tf.float32)
    rows = int(emb.shape[0])
    if len(vocab) != rows:
        raise Word2VecError(f"The vocabulary has {len(vocab)} words but the embedding matrix {rows} rows.")
    i = vocab.require(word)
    skip_unk = 0 if include_unk else 1
    wanted = min(int(k) + skip_unk, rows - 1)
    sims, ids = nearest_ids(emb, i, wanted)
    found = [(vocab.words[j], float(s)) for s, j in zip(sims.numpy(), ids.numpy()) if include_unk or j != 0]
    return found[:k]


def nearest_table(embeddings, vocab: Vocab, words: Sequence[str], k: int = 8) -> str:
    """The talk's "Nearest to X: a, b, c" lines, one per word."""
    lines = []
    for w in words:
        near = nearest(embeddings, vocab, w, k)
        lines.append(f"Nearest to {w}: " + ", ".join(n for n, _ in near))
    return "\n".join(lines)


# --------------------------------------------------------------------------- the whole pipeline
def fit(
    words: Sequence[str],
    vocab_size: int = 5000,
    dim: int = 128,
    window: int = 2,
    batch_size: int = 128,
    num_sampled: int = 64,
    steps: int = 5000,
    seed: int | None = 0,
    learning_rate: float = 1.0,
    log_dir=None,
    progress: bool = False,
):
    """The notebook's pipeline in one call: (vocab, model, result). ``num_sampled`` is capped below
    the vocabulary size so that tiny corpora still train."""
    vocab = build_vocab(words, vocab_size)
    pairs = skipgram_pairs(vocab.encode(words), window)
    ds = make_dataset(pairs, batch_size, seed=seed)
    model = SkipGram(len(vocab), dim, min(num_sampled, len(vocab) - 1), learning_rate, seed=seed)
    result = train(model, ds, steps, log_dir=log_dir, progress=progress)
    return vocab, model, result


# --------------------------------------------------------------------------- t-SNE
def plot_tsne(
    embeddings: np.ndarray,
    vocab: Vocab,
    n: int = 500,
    path: str | Path | None = None,
    seed: int = 0,
    title: str | None = None,
    max_iter: int = 1000,
):
    """A 2-D t-SNE map of the ``n`` most frequent words (UNK left out); saved as PNG at ``path``.
    Returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    n = min(int(n), len(vocab) - 1)
    if n < 5:
        raise Word2VecError(f"t-SNE needs at least 5 words; the vocabulary has {len(vocab) - 1} besides UNK.")
    tsne = TSNE(
        n_components=2, perplexity=min(30.0, (n - 1) / 3), init="pca", random_state=seed, max_iter=max_iter
    )
    # one thread: for a few hundred points OpenMP threads only add overhead, and on a busy
    # machine they spin-wait (measured on 2 busy cores: 29 s with threads, 1.5 s with one)
    with threadpool_limits(limits=1):
        points = tsne.fit_transform(normalize(embeddings[1 : n + 1]))
    size = 18 if n > 200 else 10
    fig, ax = plt.subplots(figsize=(size, size))
    ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5)
    for (x, y), word in zip(points, vocab.words[1 : n + 1]):
        ax.annotate(word, (x, y), fontsize=8, alpha=0.8, xytext=(2, 2), textcoords="offset points")
    ax.set_title(title or f"t-SNE of the {n} most frequent words")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=80)
    return fig


# --------------------------------------------------------------------------- TensorBoard projector
def export_projector(log_dir: str | Path, vocab: Vocab, embeddings) -> dict:
    """Write what TensorBoard's projector reads into the run folder ``log_dir`` (which must also
    hold an event file, e.g. the training loss): ``metadata.tsv`` (one word per row, row i =
    id i), a checkpoint of the embedding and ``projector_config.pbtxt`` naming its tensor."""
    from tensorboard.plugins import projector

    log_dir = Path(log_dir)
    emb = np.asarray(embeddings.numpy() if hasattr(embeddings, "numpy") else embeddings, dtype=np.float32)
    if emb.ndim != 2 or len(emb) != len(vocab):
        raise Word2VecError(
            f"The embedding matrix has shape {emb.shape} but the vocabulary {len(vocab)} words."
        )
    log_dir.mkdir(parents=True, exist_ok=True)
    metadata = log_dir / "metadata.tsv"
    # one column, so no header line: row i labels embedding row i
    metadata.write_text("".join(" ".join(w.split()) + "\n" for w in vocab.words), encoding="utf-8")
    for old in list(log_dir.glob(CHECKPOINT_NAME + "*")) + [log_dir / "checkpoint"]:
        if old.exists():
            old.unlink()
    ckpt = tf.train.Checkpoint(embedding=tf.Variable(emb, name="embedding"))
    manager = tf.train.CheckpointManager(ckpt, str(log_dir), max_to_keep=1, checkpoint_name=CHECKPOINT_NAME)
    ckpt_path = manager.save()
    config = projector.ProjectorConfig()
    emb_cfg = config.embeddings.add()
    emb_cfg.tensor_name = EMBEDDING_KEY
    emb_cfg.metadata_path = "metadata.tsv"  # relative to the run folder
    projector.visualize_embeddings(str(log_dir), config)
    return {
        "metadata": metadata,
        "checkpoint": Path(ckpt_path),
        "config": log_dir / "projector_config.pbtxt",
        "tensor_name": EMBEDDING_KEY,
    }


def projector_problems(log_dir: str | Path) -> list[str]:
    """What would stop TensorBoard's projector from showing this run (empty list: all good)."""
    from google.protobuf import text_format
    from tensorboard.plugins import projector

    log_dir = Path(log_dir)
    found = []
    if not list(log_dir.glob("events.out.tfevents.*")):
        found.append(
            f"no event file in {log_dir}: TensorBoard only looks for projector files in a run folder"
        )
    cfg_path = log_dir / "projector_config.pbtxt"
    if not cfg_path.exists():
        return found + [f"no {cfg_path.name} in {log_dir}"]
    config = text_format.Parse(cfg_path.read_text(), projector.ProjectorConfig())
    ckpt = config.model_checkpoint_path or tf.train.latest_checkpoint(str(log_dir))
    if not ckpt:
        return found + [f"no checkpoint in {log_dir} (no 'checkpoint' state file)"]
    shapes = dict(tf.train.list_variables(ckpt))
    if not config.embeddings:
        found.append("the projector config lists no embedding")
    for e in config.embeddings:
        if e.tensor_name not in shapes:
            found.append(f"tensor {e.tensor_name!r} is not in the checkpoint (keys: {sorted(shapes)})")
            continue
        rows = shapes[e.tensor_name][0]
        if e.metadata_path:
            meta = log_dir / e.metadata_path
            if not meta.exists():
                found.append(f"metadata file {meta} is missing")
            else:
                n = len(meta.read_text(encoding="utf-8").splitlines())
                if n != rows:
                    found.append(f"{meta.name} has {n} rows but the tensor {rows}")
    return found


# --------------------------------------------------------------------------- the exercises' checks
# Each takes only the attendee's answer (a function), tries it on small fixed inputs and prints one
# line, "Correct! ..." or "Not yet: ...", saying what is right or what is still wrong.
def _brute_force_pairs(ids: Sequence[int], window: int) -> list[tuple[int, int]]:
    return [
        (ids[i], ids[j])
        for i in range(len(ids))
        for j in range(i - window, i + window + 1)
        if j != i and 0 <= j < len(ids)
    ]


def check_skipgram_pairs(skipgram_pairs_tf, verbose: bool = True) -> bool:
    """Exercise 1: ``skipgram_pairs_tf(ids, window)`` should return every (target, context) pair
    of a 1-D int32 tensor of word ids, as an integer tensor of shape (num_pairs, 2), in any order.
    Tried on ids 10..15 with window 2 (18 pairs) and on 7, 8, 9 with window 1 (4 pairs)."""
    say = dict(verbose=verbose)
    if msg := checks.placeholder("skipgram_pairs_tf", skipgram_pairs_tf):
        return checks.not_yet(msg, **say)
    for ids, window in (([10, 11, 12, 13, 14, 15], 2), ([7, 8, 9], 1)):
        where = f"for ids {ids} and window {window}"
        got, err = checks.call(skipgram_pairs_tf, tf.constant(ids, tf.int32), window)
        if err:
            return checks.not_yet(err, **say)
        arr = checks.to_numpy(got)
        if arr is None:
            return checks.not_yet(
                f"expected a tensor of (target, context) pairs, got a {type(got).__name__}.", **say
            )
        if arr.ndim != 2 or arr.shape[1] != 2:
            if arr.ndim == 2 and arr.shape[0] == 2:
                return checks.not_yet(
                    f"got shape {arr.shape} {where}: one row per pair is wanted, shape (num_pairs, 2); "
                    "stack the two columns with axis=1.",
                    **say,
                )
            return checks.not_yet(f"expected shape (num_pairs, 2) {where}, got {arr.shape}.", **say)
        if not np.issubdtype(arr.dtype, np.integer):
            return checks.not_yet(f"the pairs should be word ids (integers), got dtype {arr.dtype}.", **say)
        got_pairs = sorted(map(tuple, arr.tolist()))
        expected = sorted(_brute_force_pairs(ids, window))
        if got_pairs == expected:
            continue
        itself = [p for p in got_pairs if p[0] == p[1]]
        if itself:
            return checks.not_yet(
                f"{itself[0]} pairs a word with itself: the offsets go from 1 to window, not from 0.", **say
            )
        after = sorted((t, c) for t, c in expected if c > t)  # ids grow along the sentence
        before = sorted((t, c) for t, c in expected if c < t)
        if got_pairs in (after, before):
            side, other = ("after", "before") if got_pairs == after else ("before", "after")
            return checks.not_yet(
                f"only the contexts {side} each target ({len(got_pairs)} of {len(expected)} pairs {where}): "
                f"add the contexts {other} it too (the same slices with the two columns swapped).",
                **say,
            )
        if len(set(got_pairs)) < len(got_pairs):
            return checks.not_yet(
                f"some pairs appear twice {where}: each (target, context) pair once.", **say
            )
        wrong = [p for p in got_pairs if p not in expected]
        if wrong:
            return checks.not_yet(
                f"{wrong[0]} is not a skip-gram pair {where} (the context must be at most {window} "
                "words from the target).",
                **say,
            )
        missing = [p for p in expected if p not in got_pairs]
        return checks.not_yet(
            f"{len(got_pairs)} pairs {where}, {len(expected)} expected; missing e.g. {missing[0]}: "
            "take every offset from 1 to window, on both sides.",
            **say,
        )
    return checks.correct(
        "skipgram_pairs_tf gives every (target, context) pair: 18 for 6 words with window 2, "
        "4 for 3 words with window 1.",
        **say,
    )


def check_cosine_similarity(cosine_similarity, verbose: bool = True) -> bool:
    """Exercise 2: ``cosine_similarity(u, v)`` should return the cosine of the angle between two 1-D
    float32 tensors, a scalar: 0.96 for [3, 4] and [4, 3], 0 for orthogonal and -1 for opposite vectors."""
    say = dict(verbose=verbose)
    if msg := checks.placeholder("cosine_similarity", cosine_similarity):
        return checks.not_yet(msg, **say)
    for u, v in (
        ([3.0, 4.0], [4.0, 3.0]),
        ([1.0, 0.0, 0.0], [0.0, 2.0, 0.0]),
        ([1.0, 2.0, 2.0], [-2.0, -4.0, -4.0]),
    ):
        a, b = np.array(u, np.float32), np.array(v, np.float32)
        dot, nu, nv = float(a @ b), float(np.linalg.norm(a)), float(np.linalg.norm(b))
        want = dot / (nu * nv)
        got, err = checks.call(cosine_similarity, tf.constant(a), tf.constant(b))
        if err:
            return checks.not_yet(err, **say)
        arr = checks.to_numpy(got)
        if arr is None:
            return checks.not_yet(f"expected a number (a scalar tensor), got a {type(got).__name__}.", **say)
        if arr.shape != ():
            if arr.shape == a.shape:
                return checks.not_yet(
                    f"got one number per coordinate (shape {arr.shape}) for u={u}, v={v}: add them up "
                    "with tf.reduce_sum to get a single number.",
                    **say,
                )
            return checks.not_yet(f"expected a single number (shape ()), got shape {arr.shape}.", **say)
        value = float(arr)
        if not np.isfinite(value):
            return checks.not_yet(
                f"cosine_similarity({u}, {v}) is {value}: is something divided by zero?", **say
            )
        if abs(value - want) < 1e-4:
            continue
        if abs(value - dot) < 1e-3:
            return checks.not_yet(
                f"cosine_similarity({u}, {v}) = {value:g} is the dot product; the cosine is {want:g}: "
                "divide by both lengths (or tf.math.l2_normalize both vectors first).",
                **say,
            )
        if abs(value - dot / nu) < 1e-3 or abs(value - dot / nv) < 1e-3:
            return checks.not_yet(
                f"cosine_similarity({u}, {v}) = {value:g}: divided by one length only; the cosine "
                f"is {want:g} (normalise both vectors).",
                **say,
            )
        return checks.not_yet(f"cosine_similarity({u}, {v}) should be {want:g}, got {value:g}.", **say)
    return checks.correct(
        "cosine_similarity gives 0.96 for [3, 4] and [4, 3], 0 for orthogonal vectors and -1 for "
        "opposite ones.",
        **say,
    )


def _restore_seed() -> None:
    """Put TensorFlow's global seed back to the workshop's after a check that replayed random draws."""
    from workshop_sections import config

    current = getattr(config, "_CURRENT", None)
    tf.random.set_seed(current.seed if current is not None else None)


def check_nce_loss(nce_batch_loss, verbose: bool = True) -> bool:
    """Exercise 3: ``nce_batch_loss(model, targets, contexts)`` should return the mean NCE loss of a
    batch, a float32 scalar, as ``tf.nn.nce_loss`` computes it from the model's variables.

    Tried on a fixed ``SkipGram(20, dim=4, num_sampled=3, init_scale=1.0, seed=7)`` with biases from
    -1 to 1 and a batch of 5 pairs, with the same random negative words for the answer and the
    reference (the global seed is set before each call, then put back); also checks that gradients
    reach all three variables."""
    say = dict(verbose=verbose)
    if msg := checks.placeholder("nce_batch_loss", nce_batch_loss):
        return checks.not_yet(msg, **say)
    model = SkipGram(20, dim=4, num_sampled=3, init_scale=1.0, seed=7)  # a big start: mistakes show
    model.nce_biases.assign(tf.linspace(-1.0, 1.0, 20))
    targets = tf.constant([1, 2, 3, 4, 5], tf.int32)
    contexts = tf.constant([2, 3, 4, 5, 6], tf.int32)
    try:
        tf.random.set_seed(1234)
        with tf.GradientTape() as tape:
            got, err = checks.call(nce_batch_loss, model, targets, contexts)
        grads = [None] * 3
        if not err and tf.is_tensor(got):
            grads = tape.gradient(got, [model.embedding, model.nce_weights, model.nce_biases])
        tf.random.set_seed(1234)
        per_example = tf.nn.nce_loss(
            weights=model.nce_weights,
            biases=model.nce_biases,
            labels=tf.reshape(tf.cast(contexts, tf.int64), [-1, 1]),
            inputs=tf.nn.embedding_lookup(model.embedding, targets),
            num_sampled=3,
            num_classes=20,
        ).numpy()
    finally:
        _restore_seed()
    if err:
        return checks.not_yet(err, **say)
    arr = checks.to_numpy(got)
    if arr is None:
        return checks.not_yet(f"expected a scalar tensor, got a {type(got).__name__}.", **say)
    if arr.shape == per_example.shape:
        return checks.not_yet(
            f"got one loss per example (shape {arr.shape}): average them with tf.reduce_mean.", **say
        )
    if arr.shape != ():
        return checks.not_yet(f"expected a single number (shape ()), got shape {arr.shape}.", **say)
    value, want = float(arr), float(per_example.mean())
    if not np.isfinite(value):
        return checks.not_yet(f"the loss is {value}.", **say)
    if abs(value - per_example.sum()) < 1e-3 * max(1.0, abs(value)) and abs(value - want) > 1e-3:
        return checks.not_yet(
            f"got {value:.4f}, the sum over the batch (5 times the mean {want:.4f}): average with "
            "tf.reduce_mean.",
            **say,
        )
    if abs(value - want) > 1e-4 * max(1.0, abs(want)):
        return checks.not_yet(
            f"got {value:.4f}, expected {want:.4f}. Pass inputs=tf.nn.embedding_lookup(model.embedding, targets), "
            "weights=model.nce_weights, biases=model.nce_biases, labels=the contexts as int64 of shape (batch, 1), "
            "num_sampled=model.num_sampled, num_classes=model.vocab_size (and call it eagerly: the check replays the "
            "same random negative words).",
            **say,
        )
    names = ["model.embedding", "model.nce_weights", "model.nce_biases"]
    missing = [n for n, g in zip(names, grads) if g is None]
    if missing:
        return checks.not_yet(
            f"the value is right but no gradient reaches {', '.join(missing)}: compute it with "
            "TensorFlow ops on the model's variables (no .numpy() on the way).",
            **say,
        )
    return checks.correct(
        "nce_batch_loss gives the mean NCE loss of the batch, as tf.nn.nce_loss computes it from "
        "the model's variables, and gradients reach the embedding, the NCE weights and the biases.",
        **say,
    )


NEAREST_CHECK_MATRIX = np.array(
    [
        [0.0, 0.0, 1.0],
        [1.0, 0.1, 0.0],
        [0.9, 0.2, 0.0],  # closest in direction to row 1
        [0.0, 1.0, 0.0],
        [0.1, 2.0, 0.05],  # long, almost the direction of row 3
        [-1.0, 0.0, 0.0],  # opposite to row 1
        [0.5, 0.5, 0.1],
        [2.0, 4.0, 0.0],  # long: the largest dot product with row 1, but not the closest direction
    ],
    dtype=np.float32,
)


def check_nearest_ids(nearest_ids, verbose: bool = True) -> bool:
    """Exercise 4: ``nearest_ids(embeddings, word_id, k)`` should return ``(similarities, ids)`` of the
    ``k`` rows most similar to row ``word_id`` by cosine similarity, best first, the row itself left
    out (what ``tf.math.top_k`` returns). Tried on :data:`NEAREST_CHECK_MATRIX` (8 x 3), whose long
    rows trip up an answer that forgets to normalise."""
    say = dict(verbose=verbose)
    if msg := checks.placeholder("nearest_ids", nearest_ids):
        return checks.not_yet(msg, **say)
    emb = NEAREST_CHECK_MATRIX
    normed = normalize(emb)
    for word_id, k in ((1, 2), (3, 3), (6, 4)):
        got, err = checks.call(nearest_ids, tf.constant(emb), word_id, k)
        if err:
            return checks.not_yet(err, **say)
        if isinstance(got, (tuple, list)) and len(got) == 2:
            values, ids = checks.to_numpy(got[0]), checks.to_numpy(got[1])
        else:
            return checks.not_yet(
                f"expected (similarities, ids) as tf.math.top_k returns them, got a {type(got).__name__}.",
                **say,
            )
        if values is None or ids is None or values.shape != (k,) or ids.shape != (k,):
            shapes = [getattr(x, "shape", None) for x in (values, ids)]
            return checks.not_yet(
                f"for k={k} expected similarities and ids of shape ({k},), got shapes {shapes}.", **say
            )
        if not np.issubdtype(ids.dtype, np.integer):
            return checks.not_yet(
                f"the ids should be integers (row numbers), got dtype {ids.dtype}: return "
                "(values, indices) in that order.",
                **say,
            )
        sims = normed @ normed[word_id]
        others = sims.copy()
        others[word_id] = -np.inf
        want = np.argsort(-others, kind="stable")[:k]
        if list(ids) == list(want):
            if not np.allclose(values, others[want], atol=1e-4):
                return checks.not_yet(
                    f"the ids are right for row {word_id} but the similarities are not the cosines "
                    f"({np.round(others[want], 3).tolist()}), got {np.round(values, 3).tolist()}.",
                    **say,
                )
            continue
        if word_id in ids:
            return checks.not_yet(
                f"row {word_id} is among its own neighbours (its similarity is 1): leave it out, e.g. "
                "set its similarity to -inf with tf.where before tf.math.top_k.",
                **say,
            )
        dots = emb @ emb[word_id]
        dots[word_id] = -np.inf
        if list(ids) == list(np.argsort(-dots, kind="stable")[:k]):
            return checks.not_yet(
                f"for row {word_id} you found the largest dot products {ids.tolist()}; long vectors win "
                "those. Normalise the rows first (tf.math.l2_normalize(embeddings, axis=1)) to compare "
                f"directions: expected {want.tolist()}.",
                **say,
            )
        if sorted(ids.tolist()) == sorted(want.tolist()):
            return checks.not_yet(
                f"the right rows for row {word_id} but in the wrong order ({ids.tolist()}): best first, "
                f"{want.tolist()} (tf.math.top_k sorts them).",
                **say,
            )
        return checks.not_yet(
            f"for row {word_id} and k={k} expected rows {want.tolist()} (the most similar first), "
            f"got {ids.tolist()}.",
            **say,
        )
    return checks.correct(
        "nearest_ids finds the k rows nearest by cosine, best first, without the word itself "
        "(row 1 of the check's matrix: rows 2 and 6, not the long row 7).",
        **say,
    )


# --------------------------------------------------------------------------- the talk's exercise as a list of words
def check_nearest_to(
    answer, embeddings: np.ndarray, vocab: Vocab, word: str = "government", k: int = 8
) -> bool:
    """Check the exercise: ``answer`` should be the ``k`` words nearest to ``word`` by cosine
    similarity (the word itself left out; UNK may be kept like any row or left out). Prints what is right or
    wrong; returns True or False."""
    if word not in vocab or word == UNK:
        close = vocab.suggest(word)
        print(
            f"Cannot check: {word!r} is not in this vocabulary of {len(vocab):,} words (the corpus is too "
            "small or the vocabulary too short). "
            + (f"Close words that are in it: {', '.join(close)}. " if close else "")
            + "Try one of those, or train on a bigger corpus (text8) with a bigger vocabulary."
        )
        return False
    if answer is None:
        print(f"Not yet: `answer` is None; expected a list of the {k} words nearest to {word!r}.")
        return False
    if isinstance(answer, str):
        print(f"Not yet: got one string {answer!r}; expected a list of {k} words.")
        return False
    if isinstance(answer, np.ndarray):
        items = answer.ravel().tolist()
    elif isinstance(answer, (list, tuple)):
        items = list(answer)
    else:
        print(f"Not yet: expected a list of {k} words, got {type(answer).__name__} {answer!r}.")
        return False
    if items and isinstance(items[0], (tuple, list)) and len(items[0]) == 2:
        items = [it[0] for it in items]  # (word, similarity) pairs are fine too
    words = []
    for it in items:
        if isinstance(it, (int, np.integer)) and 0 <= int(it) < len(vocab):
            words.append(vocab.words[int(it)])  # ids are accepted, turned into words
        elif isinstance(it, str):
            words.append(it)
        else:
            print(f"Not yet: {it!r} is neither a word nor a word id.")
            return False
    if len(words) != k:
        print(f"Not yet: expected {k} words, got {len(words)}.")
        return False
    if word in words:
        print(f"Not yet: {word!r} itself is in the answer; leave the word itself out (its similarity is 1).")
        return False
    unknown = [w for w in words if w not in vocab]
    if unknown:
        print(f"Not yet: {', '.join(map(repr, unknown))} not in the vocabulary.")
        return False
    sims = cosine_similarities(embeddings, vocab, word)
    others = sims.copy()
    others[vocab.index[word]] = -np.inf
    if UNK not in words:
        others[0] = -np.inf  # leaving UNK out is fine too
    expected = [vocab.words[i] for i in np.argsort(-others, kind="stable")[:k]]
    kth = np.sort(others)[-k]
    wrong = [w for w in words if sims[vocab.index[w]] < kth - 1e-5]
    if wrong:
        missing = [w for w in expected if w not in words]
        print(
            f"Not yet: {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not among the {k} nearest to {word!r}. "
            f"Expected {expected}; missing {missing}. Compare cosine similarities: normalise the rows first."
        )
        return False
    print(f"Correct! The {k} words nearest to {word!r}: {', '.join(words)}.")
    return True


# --------------------------------------------------------------------------- hand-on artifacts
def save(directory: str | Path, vocab: Vocab, embeddings) -> dict:
    """``vocab.tsv`` (word TAB count, row i = id i, UNK first) and ``embeddings.npy`` (float32)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    emb = np.asarray(embeddings.numpy() if hasattr(embeddings, "numpy") else embeddings, dtype=np.float32)
    if emb.ndim != 2 or len(emb) != len(vocab):
        raise Word2VecError(
            f"The embedding matrix has shape {emb.shape} but the vocabulary {len(vocab)} words."
        )
    vocab_path, emb_path = directory / VOCAB_FILE, directory / EMBEDDINGS_FILE
    tmp = vocab_path.with_suffix(".tsv.tmp")
    tmp.write_text("".join(f"{w}\t{c}\n" for w, c in zip(vocab.words, vocab.counts)), encoding="utf-8")
    os.replace(tmp, vocab_path)
    tmp = directory / (EMBEDDINGS_FILE + ".tmp.npy")
    np.save(tmp, emb)
    os.replace(tmp, emb_path)
    return {"vocab": vocab_path, "embeddings": emb_path}


def load(directory: str | Path) -> tuple[Vocab, np.ndarray]:
    """Read what :func:`save` wrote: (vocab, embeddings)."""
    directory = Path(directory)
    vocab_path, emb_path = directory / VOCAB_FILE, directory / EMBEDDINGS_FILE
    missing = [p.name for p in (vocab_path, emb_path) if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"No saved word2vec in {directory} (missing {', '.join(missing)}). Run the intro_word2vec notebook "
            "or call word2vec_basic.load_or_train()."
        )
    words, counts = [], []
    for line in vocab_path.read_text(encoding="utf-8").splitlines():
        w, c = line.rsplit("\t", 1)
        words.append(w)
        counts.append(int(c))
    emb = np.load(emb_path)
    if emb.shape[0] != len(words):
        raise Word2VecError(
            f"{emb_path} has {emb.shape[0]} rows but {vocab_path} {len(words)} words: save them again."
        )
    return Vocab(words, counts), emb


def default_dir() -> Path:
    from workshop_sections import config

    return config.artifacts_dir() / SECTION


def load_or_train(
    directory: str | Path | None = None,
    corpus: str = "movie_reviews",
    max_words: int | None = QUICK_MAX_WORDS,
    vocab_size: int = 5000,
    steps: int = 5000,
    seed: int = 0,
    verbose: bool = True,
) -> tuple[Vocab, np.ndarray]:
    """The vocabulary and embeddings this section saved; if they are missing (the notebook has
    not run), train a quick version (about half a minute on a laptop), save it, and return it."""
    directory = Path(directory) if directory is not None else default_dir()
    try:
        vocab, emb = load(directory)
        if verbose:
            print(f"Loaded {len(vocab):,} words x {emb.shape[1]} dimensions from {directory}")
        return vocab, emb
    except (FileNotFoundError, Word2VecError, ValueError) as exc:
        if verbose:
            print(f"{exc}\nTraining a quick word2vec instead ({corpus}, {steps:,} steps)...")
    words = load_corpus(corpus, max_words)
    vocab, model, result = fit(words, vocab_size=vocab_size, steps=steps, seed=seed, progress=verbose)
    save(directory, vocab, model.embeddings())
    if verbose:
        print(f"Trained in {result.seconds:.0f} s (loss {result.final_loss:.2f}); saved to {directory}")
    return vocab, model.embeddings()
