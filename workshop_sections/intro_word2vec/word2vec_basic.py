"""The talk's basic word2vec in TensorFlow 2: skip-gram pairs, NCE loss, nearest neighbours.

The lesson is written in ``intro_word2vec.ipynb``: the cells marked ``#| export`` there (the
``tf.data`` pipeline, the :class:`SkipGram` variables, the NCE loss, the gradient-descent
update, the ``tf.function`` training step and loop, the nearest-neighbour search) are copied
into the EXPORT block below by ``make export``; edit them in the notebook. This module keeps
the plumbing around them, in the order the notebook uses it.

It is also the workshop's ONE home of what every word2vec section shares (word2vec_optimized,
the CNN section's default vectors and section 6 import these; this section teaches them first):

``Word2VecError`` / ``UnknownWordError``  the word-error hierarchy (an unknown word suggests
                                      close words)
``choose_corpus`` -> ``CorpusChoice``  the one corpus rule (``$WORKSHOP_W2V_CORPUS``, else quick:
                                      movie_reviews; full: text8, else movie_reviews + news20)
``load_corpus`` / ``iter_corpus_tokens`` / ``Corpora``   the words of one corpus or several
``build_vocab`` -> ``(Vocab, ids)``    words sorted by count, ``min_count`` / ``max_size`` cuts, an
                                      optional ``unk`` word at id 0 (the talk's ``UNK``)
``skipgram_pairs``                    (target, context) pairs as an int32 (num_pairs, 2) array, in a
                                      fixed or a dynamic (word2vec's) window; ``window_matrix``

Then the section's own pieces:

``validate_*`` / ``ProgressBar`` /     clear errors, the progress bar and the TensorBoard writer the
``open_summary_writer``               exported cells use
(exported) ``pairs_dataset``, ``SkipGram``, ``nce_batch_loss``, ``sgd_update``, ``train_step``,
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

import difflib
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from workshop_sections import config, data
from workshop_sections.tools import checks

config.quiet_tensorflow()
import tensorflow as tf  # noqa: E402  (after quieting its start-up log)
from google.protobuf import text_format  # noqa: E402
from tensorboard.plugins import projector  # noqa: E402

SECTION = "intro_word2vec"
UNK = "UNK"
FOX_SENTENCE = "the quick brown fox jumped over the lazy dog"
CORPUS_ENV = "WORKSHOP_W2V_CORPUS"
QUICK_MAX_WORDS = 200_000  # this section's quick-mode corpus (choose_corpus's defaults are bigger)
FULL_MAX_WORDS = 5_000_000  # this section's full-mode cap: text8 has 17M words; 5M are plenty here
CORPUS_QUICK_MAX_WORDS = 800_000  # the rule's default caps: word2vec_optimized's and the CNN's vectors
CORPUS_FULL_MAX_WORDS = 7_000_000  # about movie_reviews + news20, so the fallback takes about as long
CHECKPOINT_NAME = "embedding.ckpt"
EMBEDDING_KEY = "embedding/.ATTRIBUTES/VARIABLE_VALUE"  # the variable's key in the checkpoint
VOCAB_FILE = "vocab.tsv"
EMBEDDINGS_FILE = "embeddings.npy"


# --------------------------------------------------------------------------- word errors
class Word2VecError(ValueError):
    """Bad input to the word2vec helpers (every section's); the message says what went wrong and
    what to do. A corpus that holds no (or too few) words raises ``data.CorpusError`` instead."""


class UnknownWordError(Word2VecError, KeyError):
    """A word that is not in the vocabulary; ``word`` and ``suggestions`` (close words, best first)
    are kept, and the message suggests them."""

    def __init__(self, word, suggestions: Sequence[str] = (), message: str | None = None):
        self.word = word
        self.suggestions = list(suggestions)
        hint = (
            f" Did you mean: {', '.join(self.suggestions)}?"
            if self.suggestions
            else " No close word is in the vocabulary either."
        )
        self.message = message or (
            f"{word!r} is not in the vocabulary (words are lower-cased; rare words were left out "
            f"of it).{hint}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would show repr(message)
        return self.message


def suggest(word: str, words: Sequence[str], n: int = 5, limit: int = 50_000) -> list[str]:
    """Close spellings of ``word`` among the ``limit`` first (most frequent) ``words``, best first
    (``difflib.get_close_matches``, cutoff 0.6)."""
    return difflib.get_close_matches(str(word).lower(), list(words[:limit]), n=n, cutoff=0.6)


# --------------------------------------------------------------------------- corpus
class CorpusChoice(NamedTuple):
    """The corpus a run trains on (:func:`choose_corpus`): ``corpora`` (names or paths, read one
    after the other), ``max_words`` (the cap on the words read, None for all) and ``reason`` (one
    plain sentence saying why these)."""

    corpora: list
    max_words: int | None
    reason: str

    @property
    def label(self) -> str:
        return " + ".join(map(str, self.corpora)) + (
            f" (first {self.max_words:,} words)" if self.max_words else ""
        )


def _can_fetch(name: str, quiet: bool = True) -> tuple[bool, str]:
    """Whether data set ``name`` is in the cache or can be fetched (mirror, then its public
    address; ``quiet=False`` shows the download's progress bar), and if not, why."""
    try:
        data.fetch(name, quiet=quiet)
        return True, ""
    except data.DataError as exc:
        tried = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.startswith("  ")]
        return False, ("tried " + "; ".join(tried)) if tried else str(exc).splitlines()[0]


def choose_corpus(
    quick: bool | None = None,
    quick_max_words: int = CORPUS_QUICK_MAX_WORDS,
    full_max_words: int = CORPUS_FULL_MAX_WORDS,
) -> CorpusChoice:
    """The workshop's one rule for the word2vec corpus (every section; each passes its own caps):

    * ``$WORKSHOP_W2V_CORPUS`` (a corpus name or a text file) when it is set;
    * quick mode (``quick``, default ``WORKSHOP_QUICK``): movie_reviews (no download is tried);
    * full mode: text8 (the talk's corpus: Wikipedia, 17M words) whenever it is cached or can be
      fetched (mirror or mattmahoney.net; a failed download costs up to
      ``WORKSHOP_DOWNLOAD_TIMEOUT`` seconds); otherwise movie_reviews, plus news20 if the data
      mirror has it (news20 has no public address).

    At most ``quick_max_words`` / ``full_max_words`` words are read (the mode's cap). Returns a
    :class:`CorpusChoice`; nothing is raised here (a corpus that cannot be had fails when it is read)."""
    quick = config.is_quick() if quick is None else quick
    cap = quick_max_words if quick else full_max_words
    override = os.environ.get(CORPUS_ENV, "").strip()
    if override:
        return CorpusChoice([override], cap, f"{CORPUS_ENV} is set")
    read = f"its first {cap:,} words" if cap else "all of it"
    if quick:
        return CorpusChoice(["movie_reviews"], cap, f"quick mode: movie_reviews, {read}, to stay fast")
    ok, why = _can_fetch("text8", quiet=False)  # 31 MB on a first run: show its progress
    if ok:
        return CorpusChoice(
            ["text8"],
            cap,
            f"full mode: text8 (Wikipedia, the talk's corpus, 17,005,207 words) is available; {read}",
        )
    has_news20, _ = _can_fetch("news20")
    fallback = (
        "movie_reviews + news20 (news20 from the data mirror)"
        if has_news20
        else "movie_reviews (news20 is not in a data mirror here)"
    )
    return CorpusChoice(
        ["movie_reviews", "news20"] if has_news20 else ["movie_reviews"],
        cap,
        f"full mode, but text8 (the talk's corpus) could not be had ({why}); falling back to {fallback}, "
        f"{read}. To use text8, put text8.zip in the data cache (data/corpora/) or set "
        f"WORKSHOP_DATA_MIRROR; for your own text, set {CORPUS_ENV}=/path/to/text.txt",
    )


class Corpora(list):
    """Several corpora (names or paths) to be read one after the other, as one corpus:
    ``build_vocab(Corpora(["movie_reviews", "news20"]))``."""


def _is_source(x) -> bool:
    """A corpus name or path (not a list of them, not a list of words)."""
    return isinstance(x, (str, os.PathLike))


iter_corpus_tokens = data.iter_corpus_tokens  # the words of one corpus or several (data plumbing)


def corpus_metric(corpora) -> str:
    """The corpora of a run as one metrics.json value (metrics.json is flat): a name or path as
    it is, several joined by ``+`` (``"movie_reviews+news20"``). :func:`corpora_from_metric` reads
    it back (word2vec_optimized trains on intro's corpus)."""
    return str(corpora) if _is_source(corpora) else "+".join(map(str, corpora))


def corpora_from_metric(value: str) -> list[str]:
    """The corpora of a :func:`corpus_metric` value: ``"a+b"`` -> ``["a", "b"]``; a value that is
    itself a known corpus or an existing path (a file name may hold a ``+``) stays whole. (Such a
    file among several corpora would be split: the one case the flat value cannot carry.)"""
    value = str(value)
    if value in data.CORPORA or Path(value).expanduser().exists():
        return [value]
    return value.split("+")


def load_corpus(corpus, max_words: int | None = None) -> list[str]:
    """The words of a corpus (a registered name, a text/.gz/.zip path, or a list of them read one
    after the other), lower-cased, at most ``max_words``. Raises ``data.CorpusError`` for a corpus
    that cannot be read or holds no words, :class:`Word2VecError` for a bad ``max_words``."""
    if max_words is not None and max_words < 1:
        raise Word2VecError(f"max_words={max_words}: give a positive number of words (or None for all).")
    if _is_source(corpus):
        return data.read_words(corpus, max_words=max_words)
    words = [w for chunk in iter_corpus_tokens(list(corpus), max_words) for w in chunk]
    if not words:
        raise data.CorpusError(f"The corpora {list(map(str, corpus))} hold no words.")
    return words


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


# --------------------------------------------------------------------------- vocabulary
@dataclass
class Vocab:
    """A word2vec vocabulary: ``words`` by id, most frequent first, their ``counts`` (int64) in the
    corpus, and ``index`` (word -> id). With an ``unk`` word (the talk's ``UNK``) id 0 stands for
    every word outside the vocabulary and ``counts[0]`` is how many corpus words that was; without
    one, such words are dropped (word2vec's and gensim's ``min_count`` vocabulary).
    :func:`build_vocab` builds it. Raises :class:`Word2VecError` for mismatched or repeated words."""

    words: list
    counts: np.ndarray
    unk: str | None = None
    index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self.words = list(self.words)
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if len(self.words) != len(self.counts):
            raise Word2VecError(f"Vocab: {len(self.words)} words but {len(self.counts)} counts.")
        if self.unk is not None and (not self.words or self.words[0] != self.unk):
            raise Word2VecError(f"Vocab: id 0 must be the unknown-word entry {self.unk!r}.")
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise Word2VecError("Vocab: the words must be distinct.")

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index

    def __repr__(self) -> str:
        head = ", ".join(f"{w}:{c}" for w, c in zip(self.words[:6], self.counts[:6].tolist()))
        return f"Vocab({len(self)} words: {head}, ...)"

    @property
    def total(self) -> int:
        """The corpus words counted (unknown ones included when there is an ``unk``)."""
        return int(self.counts.sum())

    def id(self, word: str) -> int:
        """The id of ``word``; :class:`UnknownWordError` (suggesting close words) for a word
        outside the vocabulary, and for ``unk`` itself (it stands for all of those)."""
        if isinstance(word, str) and word in self.index and word != self.unk:
            return self.index[word]
        raise UnknownWordError(word, self.suggest(word), self._unknown_message(word))

    def _unknown_message(self, word) -> str | None:
        """What to say about ``word`` when the default message of UnknownWordError is not enough."""
        if not isinstance(word, str):
            return f"Expected a word (a string), got {word!r} of type {type(word).__name__}."
        if word == self.unk:
            return (
                f"{word!r} stands for all the words outside the vocabulary: it is not a word "
                "to look up. Pick a word from vocab.most_frequent(100)."
            )
        if word != word.lower() and word.lower() in self.index:
            return f"{word!r} is not in the vocabulary, but {word.lower()!r} is: the corpus is lower-cased."
        return None

    def encode(self, words: Iterable[str]) -> np.ndarray:
        """The words' ids, an int32 array: a word outside the vocabulary becomes id 0 (``unk``)
        when there is an ``unk``, else it is dropped."""
        get = self.index.get
        if self.unk is not None:
            return np.fromiter((get(w, 0) for w in words), dtype=np.int32)
        return np.fromiter((i for i in map(get, words) if i is not None), dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The words of ids (any integers)."""
        return [self.words[int(i)] for i in ids]

    def most_frequent(self, n: int) -> list[str]:
        """The ``n`` most frequent real words (``unk`` left out)."""
        start = 0 if self.unk is None else 1
        return self.words[start : start + n]

    def suggest(self, word: str, n: int = 5) -> list[str]:
        """Vocabulary words that look like ``word`` (:func:`suggest`), best first."""
        return suggest(word, self.words if self.unk is None else self.words[1:], n=n)


def _check_vocab_args(min_count, max_size, unk) -> None:
    """Word2VecError unless ``min_count`` >= 1 and ``max_size`` is None or a whole number that
    leaves room for one word (besides ``unk``)."""
    if not isinstance(min_count, (int, np.integer)) or isinstance(min_count, bool) or min_count < 1:
        raise Word2VecError(f"min_count must be a whole number of at least 1, got {min_count!r}.")
    least = 1 if unk is None else 2
    if max_size is not None and (
        not isinstance(max_size, (int, np.integer)) or isinstance(max_size, bool) or max_size < least
    ):
        raise Word2VecError(
            f"max_size={max_size!r}: the vocabulary size must be a whole number of at least {least}"
            + (f" ({unk} plus one word)." if unk else ".")
        )


def _first_pass(corpus, max_words: int | None) -> tuple[np.ndarray, list[str]]:
    """(ids by first appearance, distinct words) of a scan, a corpus name/path, several of them, or
    a word list: a name or path is read by ``data.CorpusScan`` (in this process), which names it
    in its errors."""
    if isinstance(corpus, data.CorpusScan):  # read already, or being read in a child process
        ids, words = corpus.result()
        return (ids if max_words is None else ids[:max_words]), words
    if (
        _is_source(corpus)
        or isinstance(corpus, Corpora)
        or (
            isinstance(corpus, (list, tuple))
            and corpus
            and all(map(_is_source, corpus))
            and _looks_like_sources(corpus)
        )
    ):
        return data.CorpusScan(corpus, max_words, background=False).result()
    words = corpus.tolist() if isinstance(corpus, np.ndarray) else list(corpus)
    return data.ids_by_first_appearance(
        [words[:max_words] if max_words is not None else words], "the word list"
    )


def build_vocab(
    corpus,
    min_count: int = 5,
    max_size: int | None = None,
    max_words: int | None = None,
    unk: str | None = None,
    verbose: bool = False,
) -> tuple[Vocab, np.ndarray]:
    """The vocabulary of a corpus and the corpus as ids: ``(vocab, ids)``, ``ids`` an int32 array.

    ``corpus``: a list of words, a corpus name ('movie_reviews', 'news20', 'text8') or a path
    (.txt, .gz, .zip or a folder), or several corpora as ``Corpora([...])`` (a plain list whose
    items are all known corpus names or existing paths counts too), or a ``data.CorpusScan`` of
    them (read in a child process while TensorFlow is imported: the command lines); at most
    ``max_words`` words are read. Words are sorted by count, ties by first appearance (as gensim
    does); words seen fewer than ``min_count`` times (word2vec's default: 5) are left out, and only the
    ``max_size`` first entries are kept (the talk's top-N vocabulary).

    Without ``unk`` a word left out is dropped from ``ids`` (word2vec, gensim). With ``unk`` (the
    talk's ``"UNK"``) it becomes id 0, ``vocab.words[0] == unk`` and ``vocab.counts[0]`` counts
    those words (a literal ``unk`` in the text is one of them); ``max_size`` includes that entry.
    ``verbose`` says when the corpus has fewer distinct words than ``max_size`` asks for.

    Raises ``data.CorpusError`` for a corpus that cannot be read or holds no words and
    :class:`Word2VecError` for bad sizes or when no word is left."""
    _check_vocab_args(min_count, max_size, unk)
    provisional, distinct = _first_pass(corpus, max_words)
    counts = np.bincount(provisional, minlength=len(distinct)).astype(np.int64)
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] >= min_count]
    if unk is not None:
        order = order[np.asarray(distinct, dtype=object)[order] != unk]
    room = None if max_size is None else max_size - (unk is not None)
    if verbose and room is not None and len(order) < room:
        print(
            f"The corpus has only {len(order):,} distinct words"
            + (f" seen {min_count} times or more" if min_count > 1 else "")
            + f": the vocabulary holds all of them ({len(order) + (unk is not None):,}"
            + (f" with {unk}" if unk else "")
            + f") instead of {max_size:,}."
        )
    order = order[:room]
    if len(order) == 0:
        raise Word2VecError(
            f"No word of the corpus occurs {min_count} times or more ({len(provisional):,} words, "
            f"{len(distinct):,} distinct): lower min_count or use a bigger corpus."
        )
    return _vocab_and_ids(provisional, distinct, counts, order, unk)


def _vocab_and_ids(provisional, distinct, counts, order, unk) -> tuple[Vocab, np.ndarray]:
    """The Vocab of the words ``order`` picks, and the corpus re-numbered to its ids."""
    shift = 0 if unk is None else 1
    remap = np.full(len(distinct), -1 if unk is None else 0, dtype=np.int32)
    remap[order] = np.arange(shift, len(order) + shift, dtype=np.int32)
    ids = remap[provisional]
    words, kept = [distinct[i] for i in order], counts[order]
    if unk is None:
        return Vocab(words, kept), ids[ids >= 0]
    return Vocab([unk] + words, np.concatenate([[len(ids) - kept.sum()], kept]), unk=unk), ids


# --------------------------------------------------------------------------- skip-gram pairs
def check_window(window) -> int:
    """``window`` as an int, or :class:`Word2VecError` unless it is a whole number >= 1."""
    if not isinstance(window, (int, np.integer)) or isinstance(window, bool) or window < 1:
        raise Word2VecError(f"window={window!r}: give a whole number of words of at least 1.")
    return int(window)


def window_offsets(window: int) -> list[int]:
    """The context offsets of a window, in pair order: ``-window..-1, 1..window``."""
    return [o for o in range(-window, window + 1) if o != 0]


def window_matrix(
    ids, window: int, rng: np.random.Generator | None = None, spans: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every position's contexts, vectorised: ``(centers, contexts)``, int32 arrays of shapes
    (n,) and (n, 2 * window); ``contexts[i, k]`` is the word at offset ``window_offsets(window)[k]``
    from ``i`` when that offset is within ``spans[i]`` and inside the corpus, else -1.

    ``spans`` (int, (n,)) are the positions' window sizes; without them every position uses
    ``window`` (the talk's fixed window), or, given ``rng``, draws its size uniformly in
    ``1..window`` (word2vec's dynamic window: ``rng.integers(1, window + 1, size=n)``)."""
    window = check_window(window)
    ids = np.asarray(ids, dtype=np.int32)
    n = len(ids)
    if spans is None:
        spans = np.full(n, window) if rng is None else rng.integers(1, window + 1, size=n)
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


def skipgram_pairs(
    ids, window: int, rng: np.random.Generator | None = None, spans: np.ndarray | None = None
) -> np.ndarray:
    """Every (target, context) skip-gram pair of a corpus of word ids (Mikolov et al. 2013):
    an int32 array of shape (num_pairs, 2), column 0 the target, column 1 the context (the
    layout of ``keras.preprocessing.sequence.skipgrams``' couples and of the intro's exercise).

    The context is at most ``window`` words away: all of them (the talk's fixed window), or, with
    ``rng`` / ``spans``, within each position's drawn window size (word2vec's dynamic window; see
    :func:`window_matrix`). Ordered by target position, then by context position (the talk's
    example order). Raises :class:`Word2VecError` for a bad window and ``data.CorpusError`` for a
    corpus of ``window`` words or fewer."""
    window = check_window(window)
    ids = np.asarray(ids)
    if len(ids) <= window:
        raise data.CorpusError(
            f"The corpus has {len(ids)} word(s) but the window reaches {window} word(s) on each side: "
            f"give at least {window + 1} words or a smaller window."
        )
    centers, ctx = window_matrix(ids, window, rng, spans)
    valid = ctx >= 0  # row-major: by target position, then by offset
    pairs = np.empty((int(valid.sum()), 2), dtype=np.int32)
    pairs[:, 0] = np.repeat(centers, valid.sum(axis=1))
    pairs[:, 1] = ctx[valid]
    return pairs


def show_pairs(sentence: str = FOX_SENTENCE, window: int = 1) -> list[tuple[str, str]]:
    """The talk's example: the skip-gram pairs of a sentence, as words."""
    vocab, ids = build_vocab(sentence.split(), min_count=1)
    return [(vocab.words[t], vocab.words[c]) for t, c in skipgram_pairs(ids, window)]


# ---------------------------------------------------------------------- plumbing for the notebook's cells
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
            vocab.id(w)
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


# >>> BEGIN EXPORT from intro_word2vec.ipynb (`make export` writes this block: edit the notebook)
def pairs_dataset(pairs, batch_size=128, seed=None, shuffle_buffer=100_000, repeat=True):
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
    i = vocab.id(word)
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
    i = vocab.id(word)
    skip_unk = 0 if include_unk else 1
    wanted = min(int(k) + skip_unk, rows - 1)
    sims, ids = nearest_ids(emb, i, wanted)
    found = [
        (vocab.words[j], float(s))
        for s, j in zip(sims.numpy(), ids.numpy())
        if include_unk or vocab.unk is None or j != 0
    ]
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
    vocab, ids = build_vocab(words, min_count=1, max_size=vocab_size, unk=UNK)
    pairs = skipgram_pairs(ids, window)
    ds = pairs_dataset(pairs, batch_size, seed=seed)
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
    import matplotlib.pyplot as plt  # noqa: PLC0415 (only the plot needs matplotlib and scikit-learn: ~1 s)
    from sklearn.manifold import TSNE  # noqa: PLC0415 (see above)
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 (comes with scikit-learn)

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


def _pairs_shape_problem(arr, where: str) -> str | None:
    """What is wrong with the shape or dtype of an answer to Exercise 1 (None: nothing)."""
    if arr.ndim != 2 or arr.shape[1] != 2:
        if arr.ndim == 2 and arr.shape[0] == 2:
            return (
                f"got shape {arr.shape} {where}: one row per pair is wanted, shape (num_pairs, 2); "
                "stack the two columns with axis=1."
            )
        return f"expected shape (num_pairs, 2) {where}, got {arr.shape}."
    if not np.issubdtype(arr.dtype, np.integer):
        return f"the pairs should be word ids (integers), got dtype {arr.dtype}."
    return None


def _pairs_problem(got_pairs: list, ids: list, window: int, where: str) -> str | None:
    """What is wrong with the sorted (target, context) pairs of an answer (None: nothing)."""
    expected = sorted(_brute_force_pairs(ids, window))
    if got_pairs == expected:
        return None
    itself = [p for p in got_pairs if p[0] == p[1]]
    if itself:
        return f"{itself[0]} pairs a word with itself: the offsets go from 1 to window, not from 0."
    after = sorted((t, c) for t, c in expected if c > t)  # ids grow along the sentence
    before = sorted((t, c) for t, c in expected if c < t)
    if got_pairs in (after, before):
        side, other = ("after", "before") if got_pairs == after else ("before", "after")
        return (
            f"only the contexts {side} each target ({len(got_pairs)} of {len(expected)} pairs {where}): "
            f"add the contexts {other} it too (the same slices with the two columns swapped)."
        )
    if len(set(got_pairs)) < len(got_pairs):
        return f"some pairs appear twice {where}: each (target, context) pair once."
    wrong = [p for p in got_pairs if p not in expected]
    if wrong:
        return (
            f"{wrong[0]} is not a skip-gram pair {where} (the context must be at most {window} "
            "words from the target)."
        )
    missing = [p for p in expected if p not in got_pairs]
    return (
        f"{len(got_pairs)} pairs {where}, {len(expected)} expected; missing e.g. {missing[0]}: "
        "take every offset from 1 to window, on both sides."
    )


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
        problem = _pairs_shape_problem(arr, where) or _pairs_problem(
            sorted(map(tuple, arr.tolist())), ids, window, where
        )
        if problem:
            return checks.not_yet(problem, **say)
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
    current = getattr(config, "_CURRENT", None)
    tf.random.set_seed(current.seed if current is not None else None)


def _nce_check_run(nce_batch_loss):
    """Run the answer and the reference ``tf.nn.nce_loss`` on the check's fixed model and batch with
    the same random negative words: (answer, error, gradients of the 3 variables, reference
    per-example losses)."""
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
    return got, err, grads, per_example


def _nce_value_problem(got, per_example: np.ndarray) -> str | None:
    """What is wrong with the loss value of an answer to Exercise 3 (None: nothing)."""
    arr = checks.to_numpy(got)
    if arr is None:
        return f"expected a scalar tensor, got a {type(got).__name__}."
    if arr.shape == per_example.shape:
        return f"got one loss per example (shape {arr.shape}): average them with tf.reduce_mean."
    if arr.shape != ():
        return f"expected a single number (shape ()), got shape {arr.shape}."
    value, want = float(arr), float(per_example.mean())
    if not np.isfinite(value):
        return f"the loss is {value}."
    if abs(value - per_example.sum()) < 1e-3 * max(1.0, abs(value)) and abs(value - want) > 1e-3:
        return (
            f"got {value:.4f}, the sum over the batch (5 times the mean {want:.4f}): average with "
            "tf.reduce_mean."
        )
    if abs(value - want) > 1e-4 * max(1.0, abs(want)):
        return (
            f"got {value:.4f}, expected {want:.4f}. Pass "
            "inputs=tf.nn.embedding_lookup(model.embedding, targets), weights=model.nce_weights, "
            "biases=model.nce_biases, labels=the contexts as int64 of shape (batch, 1), "
            "num_sampled=model.num_sampled, num_classes=model.vocab_size (and call it eagerly: the "
            "check replays the same random negative words)."
        )
    return None


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
    got, err, grads, per_example = _nce_check_run(nce_batch_loss)
    if err:
        return checks.not_yet(err, **say)
    if problem := _nce_value_problem(got, per_example):
        return checks.not_yet(problem, **say)
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


def _nearest_answer(got, k: int):
    """(similarities, ids, None) of an answer to Exercise 4 as NumPy arrays, or (None, None, what
    is wrong with its type or shapes)."""
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        return (
            None,
            None,
            (f"expected (similarities, ids) as tf.math.top_k returns them, got a {type(got).__name__}."),
        )
    values, ids = checks.to_numpy(got[0]), checks.to_numpy(got[1])
    if values is None or ids is None or values.shape != (k,) or ids.shape != (k,):
        shapes = [getattr(x, "shape", None) for x in (values, ids)]
        return None, None, f"for k={k} expected similarities and ids of shape ({k},), got shapes {shapes}."
    if not np.issubdtype(ids.dtype, np.integer):
        return (
            None,
            None,
            (
                f"the ids should be integers (row numbers), got dtype {ids.dtype}: return "
                "(values, indices) in that order."
            ),
        )
    return values, ids, None


def _nearest_problem(values, ids, word_id: int, k: int) -> str | None:
    """What is wrong with the neighbours an answer found for row ``word_id`` (None: nothing)."""
    emb = NEAREST_CHECK_MATRIX
    normed = normalize(emb)
    others = normed @ normed[word_id]
    others[word_id] = -np.inf
    want = np.argsort(-others, kind="stable")[:k]
    if list(ids) == list(want):
        if not np.allclose(values, others[want], atol=1e-4):
            return (
                f"the ids are right for row {word_id} but the similarities are not the cosines "
                f"({np.round(others[want], 3).tolist()}), got {np.round(values, 3).tolist()}."
            )
        return None
    if word_id in ids:
        return (
            f"row {word_id} is among its own neighbours (its similarity is 1): leave it out, e.g. "
            "set its similarity to -inf with tf.where before tf.math.top_k."
        )
    dots = emb @ emb[word_id]
    dots[word_id] = -np.inf
    if list(ids) == list(np.argsort(-dots, kind="stable")[:k]):
        return (
            f"for row {word_id} you found the largest dot products {ids.tolist()}; long vectors win "
            "those. Normalise the rows first (tf.math.l2_normalize(embeddings, axis=1)) to compare "
            f"directions: expected {want.tolist()}."
        )
    if sorted(ids.tolist()) == sorted(want.tolist()):
        return (
            f"the right rows for row {word_id} but in the wrong order ({ids.tolist()}): best first, "
            f"{want.tolist()} (tf.math.top_k sorts them)."
        )
    return (
        f"for row {word_id} and k={k} expected rows {want.tolist()} (the most similar first), "
        f"got {ids.tolist()}."
    )


def check_nearest_ids(nearest_ids, verbose: bool = True) -> bool:
    """Exercise 4: ``nearest_ids(embeddings, word_id, k)`` should return ``(similarities, ids)`` of the
    ``k`` rows most similar to row ``word_id`` by cosine similarity, best first, the row itself left
    out (what ``tf.math.top_k`` returns). Tried on :data:`NEAREST_CHECK_MATRIX` (8 x 3), whose long
    rows trip up an answer that forgets to normalise."""
    say = dict(verbose=verbose)
    if msg := checks.placeholder("nearest_ids", nearest_ids):
        return checks.not_yet(msg, **say)
    for word_id, k in ((1, 2), (3, 3), (6, 4)):
        got, err = checks.call(nearest_ids, tf.constant(NEAREST_CHECK_MATRIX), word_id, k)
        if err:
            return checks.not_yet(err, **say)
        values, ids, problem = _nearest_answer(got, k)
        problem = problem or _nearest_problem(values, ids, word_id, k)
        if problem:
            return checks.not_yet(problem, **say)
    return checks.correct(
        "nearest_ids finds the k rows nearest by cosine, best first, without the word itself "
        "(row 1 of the check's matrix: rows 2 and 6, not the long row 7).",
        **say,
    )


# ------------------------------------------------------------------ the talk's exercise as a list of words
def _answer_words(answer, vocab: Vocab, word: str, k: int) -> tuple[list | None, str | None]:
    """The words of an answer to "the k words nearest to ..." (a list of words, ids or (word,
    similarity) pairs), or (None, what is wrong with it)."""
    if answer is None:
        return None, f"`answer` is None; expected a list of the {k} words nearest to {word!r}."
    if isinstance(answer, str):
        return None, f"got one string {answer!r}; expected a list of {k} words."
    if isinstance(answer, np.ndarray):
        items = answer.ravel().tolist()
    elif isinstance(answer, (list, tuple)):
        items = list(answer)
    else:
        return None, f"expected a list of {k} words, got {type(answer).__name__} {answer!r}."
    if items and isinstance(items[0], (tuple, list)) and len(items[0]) == 2:
        items = [it[0] for it in items]  # (word, similarity) pairs are fine too
    words = []
    for it in items:
        if isinstance(it, (int, np.integer)) and 0 <= int(it) < len(vocab):
            words.append(vocab.words[int(it)])  # ids are accepted, turned into words
        elif isinstance(it, str):
            words.append(it)
        else:
            return None, f"{it!r} is neither a word nor a word id."
    if len(words) != k:
        return None, f"expected {k} words, got {len(words)}."
    return words, None


def _nearest_to_problem(words: list, embeddings, vocab: Vocab, word: str, k: int) -> str | None:
    """What is wrong with ``words`` as the ``k`` words nearest to ``word`` (None: nothing)."""
    if word in words:
        return f"{word!r} itself is in the answer; leave the word itself out (its similarity is 1)."
    unknown = [w for w in words if w not in vocab]
    if unknown:
        return f"{', '.join(map(repr, unknown))} not in the vocabulary."
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
        return (
            f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not among the {k} nearest "
            f"to {word!r}. Expected {expected}; missing {missing}. Compare cosine similarities: "
            "normalise the rows first."
        )
    return None


def check_nearest_to(
    answer, embeddings: np.ndarray, vocab: Vocab, word: str = "government", k: int = 8
) -> bool:
    """Check the exercise: ``answer`` should be the ``k`` words nearest to ``word`` by cosine
    similarity (the word itself left out; UNK may be kept like any row or left out). Prints what is
    right or wrong; returns True or False."""
    if word not in vocab or word == UNK:
        close = vocab.suggest(word)
        print(
            f"Cannot check: {word!r} is not in this vocabulary of {len(vocab):,} words (the corpus is too "
            "small or the vocabulary too short). "
            + (f"Close words that are in it: {', '.join(close)}. " if close else "")
            + "Try one of those, or train on a bigger corpus (text8) with a bigger vocabulary."
        )
        return False
    words, problem = _answer_words(answer, vocab, word, k)
    problem = problem or _nearest_to_problem(words, embeddings, vocab, word, k)
    if problem:
        print(f"Not yet: {problem}")
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
            f"No saved word2vec in {directory} (missing {', '.join(missing)}). Run the intro_word2vec "
            "notebook or call word2vec_basic.load_or_train()."
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
    return Vocab(words, counts, unk=UNK if words[:1] == [UNK] else None), emb


def default_dir() -> Path:
    """Where this section's artifacts go: ``artifacts/intro_word2vec`` (``WORKSHOP_ARTIFACTS``)."""
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
