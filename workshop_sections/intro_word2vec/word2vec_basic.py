"""The talk's basic word2vec in TensorFlow 2: skip-gram pairs, NCE loss, nearest neighbours.

The pieces, in the order the notebook uses them:

``choose_corpus`` / ``load_corpus``   which text to learn from (text8, movie_reviews or a path)
``build_vocab`` -> ``Vocab``          the N most frequent words; id 0 is ``UNK`` (everything else)
``skipgram_pairs``                    every (target, context) pair within ``window`` words
``make_dataset``                      shuffled batches of pairs with ``tf.data``
``SkipGram``                          embedding matrix + NCE weights/biases (a ``tf.Module``),
                                      ``tf.nn.nce_loss`` and a ``tf.function`` training step
``train``                             the loop: progress bar, TensorBoard scalar ``loss``,
                                      nearest neighbours of a few words as training goes
``nearest`` / ``nearest_table``       cosine nearest neighbours
``plot_tsne``                         a 2-D t-SNE map of the most frequent words
``export_projector``                  metadata.tsv + checkpoint + projector_config.pbtxt for
                                      TensorBoard's embedding projector
``check_nearest_to``                  checks the exercise (the words nearest to "government")
``save`` / ``load`` / ``load_or_train``  what this section hands on (vocab.tsv + embeddings.npy)
"""
from __future__ import annotations

import collections
import difflib
import inspect
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from workshop_sections import config as _config

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
                + ("\n  ".join(tried) if tried else str(exc).splitlines()[0]) + "\n"
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
        return self.words[1:1 + n]

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
            raise UnknownWordError(f"{UNK!r} stands for all the words outside the vocabulary: it is not a word "
                                   "to look up. Pick a word from vocab.most_frequent(100).")
        if word != word.lower() and word.lower() in self.index:
            raise UnknownWordError(f"{word!r} is not in the vocabulary, but {word.lower()!r} is: the corpus is lower-cased.")
        close = self.suggest(word)
        hint = f" Close words in the vocabulary: {', '.join(close)}." if close else " No close words either."
        raise UnknownWordError(
            f"{word!r} is not in the vocabulary of {len(self):,} words (it is rare or absent in this corpus)."
            + hint + " Pick a word from vocab.most_frequent(100) or use a bigger vocabulary/corpus."
        )


def build_vocab(words: Sequence[str], size: int, verbose: bool = False) -> Vocab:
    """The ``size - 1`` most frequent words plus ``UNK`` at id 0 (the talk's ``build_dataset``).

    Ties in frequency keep the order of first appearance. If the corpus has fewer distinct
    words than asked for, the vocabulary holds them all (and says so with ``verbose``).
    """
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 2:
        raise Word2VecError(f"vocabulary size {size!r}: give a whole number of at least 2 (UNK plus one word).")
    if len(words) == 0:
        raise Word2VecError("The corpus is empty: there are no words to build a vocabulary from.")
    counts = collections.Counter(words)
    counts.pop(UNK, None)  # a literal 'UNK' in the text joins the unknown words
    top = counts.most_common(size - 1)
    if verbose and len(counts) < size - 1:
        print(f"The corpus has only {len(counts):,} distinct words: the vocabulary holds all of them "
              f"({len(counts) + 1:,} with UNK) instead of {size:,}.")
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


# --------------------------------------------------------------------------- tf.data
def make_dataset(pairs: np.ndarray, batch_size: int = 128, seed: int | None = None,
                 shuffle_buffer: int = 100_000, repeat: bool = True):
    """Shuffled batches of (targets, contexts) word ids (int32) with ``tf.data``."""
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or len(pairs) == 0:
        raise Word2VecError(f"pairs must be a non-empty (num_pairs, 2) array, got shape {pairs.shape}.")
    if batch_size < 1:
        raise Word2VecError(f"batch_size={batch_size}: give a positive number.")
    if len(pairs) < batch_size:
        raise Word2VecError(f"Only {len(pairs)} pairs for batches of {batch_size}: use a bigger corpus or a smaller batch.")
    ds = tf.data.Dataset.from_tensor_slices((pairs[:, 0].astype(np.int32), pairs[:, 1].astype(np.int32)))
    ds = ds.shuffle(min(shuffle_buffer, len(pairs)), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


# --------------------------------------------------------------------------- the model
class SkipGram(tf.Module):
    """The talk's model: an embedding matrix and the NCE weights and biases, trained with
    ``tf.nn.nce_loss`` (``num_sampled`` negative words per batch from a log-uniform, i.e.
    Zipfian, distribution over ids, which is why the vocabulary is sorted by frequency).

    Training is plain stochastic gradient descent (the talk's ``GradientDescentOptimizer(1.0)``):
    only the rows a batch touches are updated. The embedding starts uniform in
    ``[-init_scale, init_scale]``; the talk used 1.0, but with few steps a small start
    (word2vec's own ``0.5 / dim``, the default) gives far better neighbours: measured on 200k
    movie-review words, 5,000 steps give "film: movie, story, scene, plot" instead of noise.
    (Keras Adam reached similar neighbours but ran about 10x slower: it updates every row.)
    """

    def __init__(self, vocab_size: int, dim: int = 128, num_sampled: int = 64, learning_rate: float = 1.0,
                 init_scale: float | None = None, seed: int | None = None, name: str = "skip_gram"):
        super().__init__(name=name)
        for label, value in (("vocab_size", vocab_size), ("dim", dim), ("num_sampled", num_sampled)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise Word2VecError(f"{label}={value!r}: give a positive whole number.")
        if num_sampled >= vocab_size:
            raise Word2VecError(
                f"num_sampled={num_sampled} negative words need a vocabulary of more than {num_sampled} words, "
                f"but it has {vocab_size}. Use a smaller num_sampled or a bigger vocabulary/corpus."
            )
        if not learning_rate > 0:
            raise Word2VecError(f"learning_rate={learning_rate!r}: give a positive number.")
        self.vocab_size, self.dim, self.num_sampled = int(vocab_size), int(dim), int(num_sampled)
        self.learning_rate = float(learning_rate)
        self.init_scale = float(init_scale if init_scale is not None else 0.5 / dim)
        s = 0 if seed is None else int(seed)
        self.embedding = tf.Variable(
            tf.random.stateless_uniform([vocab_size, dim], seed=[s, 1], minval=-self.init_scale,
                                        maxval=self.init_scale), name="embedding")
        self.nce_weights = tf.Variable(
            tf.random.stateless_truncated_normal([vocab_size, dim], seed=[s, 2], stddev=1.0 / np.sqrt(dim)),
            name="nce_weights")
        self.nce_biases = tf.Variable(tf.zeros([vocab_size]), name="nce_biases")

    def __repr__(self) -> str:
        return (f"SkipGram(embedding {tuple(self.embedding.shape)}, nce_weights {tuple(self.nce_weights.shape)}, "
                f"nce_biases {tuple(self.nce_biases.shape)}, num_sampled={self.num_sampled}, "
                f"learning_rate={self.learning_rate:g}, init_scale={self.init_scale:g})")

    @property
    def params(self):
        return [self.embedding, self.nce_weights, self.nce_biases]

    def loss(self, targets, contexts):
        """Mean NCE loss of a batch: look up the targets' vectors, then ``tf.nn.nce_loss``
        scores the true context against ``num_sampled`` sampled negative words."""
        embed = tf.nn.embedding_lookup(self.embedding, targets)  # (batch, dim)
        labels = tf.reshape(tf.cast(contexts, tf.int64), [-1, 1])  # (batch, 1): one true class each
        return tf.reduce_mean(tf.nn.nce_loss(
            weights=self.nce_weights, biases=self.nce_biases, labels=labels, inputs=embed,
            num_sampled=self.num_sampled, num_classes=self.vocab_size))

    @tf.function
    def train_step(self, targets, contexts):
        """One step: the loss, its gradients, and the update (compiled into a graph)."""
        with tf.GradientTape() as tape:
            loss = self.loss(targets, contexts)
        grads = tape.gradient(loss, self.params)
        for var, grad in zip(self.params, grads):
            if isinstance(grad, tf.IndexedSlices):  # gradients of looked-up rows: update those rows only
                var.scatter_sub(tf.IndexedSlices(grad.values * self.learning_rate, grad.indices))
            else:
                var.assign_sub(grad * self.learning_rate)
        return loss

    @tf.function
    def train_steps(self, iterator, steps):
        """``steps`` training steps on batches from ``iterator`` in one graph call; the mean loss."""
        total = tf.constant(0.0)
        for _ in tf.range(steps):
            targets, contexts = next(iterator)
            total += self.train_step(targets, contexts)
        return total / tf.cast(steps, tf.float32)

    def embeddings(self) -> np.ndarray:
        return self.embedding.numpy()


def show_source(obj) -> None:
    """Print the source code of a helper (to read the important lines in the notebook)."""
    print(inspect.getsource(obj).rstrip())


# --------------------------------------------------------------------------- nearest neighbours
def normalize(embeddings: np.ndarray) -> np.ndarray:
    emb = np.asarray(embeddings, dtype=np.float32)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return emb / np.maximum(norms, 1e-12)


def cosine_similarities(embeddings: np.ndarray, vocab: Vocab, word: str) -> np.ndarray:
    """Cosine similarity of ``word``'s vector with every row (a clear error for unknown words)."""
    if len(vocab) != len(embeddings):
        raise Word2VecError(f"The vocabulary has {len(vocab)} words but the embedding matrix {len(embeddings)} rows.")
    i = vocab.require(word)
    normed = normalize(embeddings)
    return normed @ normed[i]


def nearest(embeddings: np.ndarray, vocab: Vocab, word: str, k: int = 8,
            include_unk: bool = False) -> list[tuple[str, float]]:
    """The ``k`` words most similar to ``word`` by cosine similarity (itself excluded)."""
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise Word2VecError(f"k={k!r}: give a positive number of neighbours.")
    sims = cosine_similarities(embeddings, vocab, word)
    sims = sims.copy()
    sims[vocab.index[word]] = -np.inf
    if not include_unk:
        sims[0] = -np.inf
    k = min(k, int(np.isfinite(sims).sum()))
    order = np.argsort(-sims, kind="stable")[:k]
    return [(vocab.words[i], float(sims[i])) for i in order]


def nearest_table(embeddings: np.ndarray, vocab: Vocab, words: Sequence[str], k: int = 8) -> str:
    """The talk's "Nearest to X: a, b, c" lines, one per word."""
    lines = []
    for w in words:
        near = nearest(embeddings, vocab, w, k)
        lines.append(f"Nearest to {w}: " + ", ".join(n for n, _ in near))
    return "\n".join(lines)


# --------------------------------------------------------------------------- training
@dataclass
class TrainResult:
    steps: int
    seconds: float
    final_loss: float
    history: list = field(default_factory=list)  # (step, mean loss over the last chunk)

    def __repr__(self) -> str:
        return f"TrainResult(steps={self.steps:,}, seconds={self.seconds:.1f}, final_loss={self.final_loss:.3f})"


def clear_events(log_dir: Path) -> None:
    """Remove old event files from ``log_dir`` so TensorBoard shows this run only."""
    for f in Path(log_dir).glob("events.out.tfevents.*"):
        f.unlink()


def train(model: SkipGram, dataset, steps: int, vocab: Vocab | None = None, log_dir: str | Path | None = None,
          eval_words: Sequence[str] = (), eval_every: int | None = None, log_every: int = 100,
          progress: bool = True, fresh_logs: bool = True) -> TrainResult:
    """Train ``steps`` steps: tqdm progress bar, the loss as TensorBoard scalar ``loss`` every
    ``log_every`` steps, and the nearest neighbours of ``eval_words`` every ``eval_every`` steps."""
    from tqdm.auto import tqdm

    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise Word2VecError(f"steps={steps!r}: give a positive number of training steps.")
    log_every = max(1, min(int(log_every), steps))
    if eval_words:
        if vocab is None:
            raise Word2VecError("eval_words need the vocabulary: pass vocab=...")
        for w in eval_words:
            vocab.require(w)
    writer = None
    if log_dir is not None:
        log_dir = Path(log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        if fresh_logs:
            clear_events(log_dir)
        writer = tf.summary.create_file_writer(str(log_dir))
    iterator = iter(dataset)
    history = []
    done, last = 0, float("nan")
    start = time.perf_counter()
    bar = tqdm(total=steps, desc="training", unit="step", disable=not progress)
    try:
        while done < steps:
            n = min(log_every, steps - done)
            last = float(model.train_steps(iterator, tf.constant(n)))
            done += n
            history.append((done, last))
            bar.update(n)
            bar.set_postfix(loss=f"{last:.3f}")
            if writer is not None:
                with writer.as_default():
                    tf.summary.scalar("loss", last, step=done)
            if eval_words and eval_every and (done % eval_every < n or done == steps):
                text = nearest_table(model.embeddings(), vocab, eval_words)
                (bar.write if progress else print)(f"step {done:,}, loss {last:.3f}\n{text}")
    finally:
        bar.close()
        if writer is not None:
            writer.flush()
            writer.close()
    return TrainResult(steps=done, seconds=time.perf_counter() - start, final_loss=last, history=history)


def fit(words: Sequence[str], vocab_size: int = 5000, dim: int = 128, window: int = 2, batch_size: int = 128,
        num_sampled: int = 64, steps: int = 5000, seed: int | None = 0, learning_rate: float = 1.0,
        log_dir=None, progress: bool = False):
    """The whole pipeline in one call: (vocab, model, result)."""
    vocab = build_vocab(words, vocab_size)
    pairs = skipgram_pairs(vocab.encode(words), window)
    ds = make_dataset(pairs, batch_size, seed=seed)
    model = SkipGram(len(vocab), dim, min(num_sampled, len(vocab) - 1), learning_rate, seed=seed)
    result = train(model, ds, steps, log_dir=log_dir, progress=progress)
    return vocab, model, result


# --------------------------------------------------------------------------- t-SNE
def plot_tsne(embeddings: np.ndarray, vocab: Vocab, n: int = 500, path: str | Path | None = None,
              seed: int = 0, title: str | None = None, max_iter: int = 1000):
    """A 2-D t-SNE map of the ``n`` most frequent words (UNK left out); saved as PNG at ``path``.
    Returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    n = min(int(n), len(vocab) - 1)
    if n < 5:
        raise Word2VecError(f"t-SNE needs at least 5 words; the vocabulary has {len(vocab) - 1} besides UNK.")
    tsne = TSNE(n_components=2, perplexity=min(30.0, (n - 1) / 3), init="pca", random_state=seed, max_iter=max_iter)
    # one thread: for a few hundred points OpenMP threads only add overhead, and on a busy
    # machine they spin-wait (measured on 2 busy cores: 29 s with threads, 1.5 s with one)
    with threadpool_limits(limits=1):
        points = tsne.fit_transform(normalize(embeddings[1:n + 1]))
    size = 18 if n > 200 else 10
    fig, ax = plt.subplots(figsize=(size, size))
    ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5)
    for (x, y), word in zip(points, vocab.words[1:n + 1]):
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
def tensorboard_command(log_dir: str | Path, root: str | Path | None = None) -> str:
    """The command that opens TensorBoard on this machine only (path relative to ``root``
    when ``log_dir`` is inside it: run it from there)."""
    log_dir = Path(log_dir)
    if root is not None:
        try:
            log_dir = log_dir.resolve().relative_to(Path(root).resolve())
        except ValueError:
            pass  # outside the repository: keep the absolute path
    return f"tensorboard --logdir {log_dir} --host 127.0.0.1"


def export_projector(log_dir: str | Path, vocab: Vocab, embeddings) -> dict:
    """Write what TensorBoard's projector reads into the run folder ``log_dir`` (which must also
    hold an event file, e.g. the training loss): ``metadata.tsv`` (one word per row, row i =
    id i), a checkpoint of the embedding and ``projector_config.pbtxt`` naming its tensor."""
    from tensorboard.plugins import projector

    log_dir = Path(log_dir)
    emb = np.asarray(embeddings.numpy() if hasattr(embeddings, "numpy") else embeddings, dtype=np.float32)
    if emb.ndim != 2 or len(emb) != len(vocab):
        raise Word2VecError(f"The embedding matrix has shape {emb.shape} but the vocabulary {len(vocab)} words.")
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
    return {"metadata": metadata, "checkpoint": Path(ckpt_path), "config": log_dir / "projector_config.pbtxt",
            "tensor_name": EMBEDDING_KEY}


def projector_problems(log_dir: str | Path) -> list[str]:
    """What would stop TensorBoard's projector from showing this run (empty list: all good)."""
    from google.protobuf import text_format
    from tensorboard.plugins import projector

    log_dir = Path(log_dir)
    found = []
    if not list(log_dir.glob("events.out.tfevents.*")):
        found.append(f"no event file in {log_dir}: TensorBoard only looks for projector files in a run folder")
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


# --------------------------------------------------------------------------- the exercise
def check_nearest_to(answer, embeddings: np.ndarray, vocab: Vocab, word: str = "government", k: int = 8) -> bool:
    """Check the exercise: ``answer`` should be the ``k`` words nearest to ``word`` by cosine
    similarity (the word itself left out; UNK may be kept like any row or left out). Prints what is right or
    wrong; returns True or False."""
    if word not in vocab or word == UNK:
        close = vocab.suggest(word)
        print(f"Cannot check: {word!r} is not in this vocabulary of {len(vocab):,} words (the corpus is too "
              "small or the vocabulary too short). "
              + (f"Close words that are in it: {', '.join(close)}. " if close else "")
              + "Try one of those, or train on a bigger corpus (text8) with a bigger vocabulary.")
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
        print(f"Not yet: {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not among the {k} nearest to {word!r}. "
              f"Expected {expected}; missing {missing}. Compare cosine similarities: normalise the rows first.")
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
        raise Word2VecError(f"The embedding matrix has shape {emb.shape} but the vocabulary {len(vocab)} words.")
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
            "or call word2vec_basic.load_or_train().")
    words, counts = [], []
    for line in vocab_path.read_text(encoding="utf-8").splitlines():
        w, c = line.rsplit("\t", 1)
        words.append(w)
        counts.append(int(c))
    emb = np.load(emb_path)
    if emb.shape[0] != len(words):
        raise Word2VecError(f"{emb_path} has {emb.shape[0]} rows but {vocab_path} {len(words)} words: save them again.")
    return Vocab(words, counts), emb


def default_dir() -> Path:
    from workshop_sections import config

    return config.artifacts_dir() / SECTION


def load_or_train(directory: str | Path | None = None, corpus: str = "movie_reviews",
                  max_words: int | None = QUICK_MAX_WORDS, vocab_size: int = 5000, steps: int = 5000,
                  seed: int = 0, verbose: bool = True) -> tuple[Vocab, np.ndarray]:
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
