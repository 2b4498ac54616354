"""The workshop's data registry: what to download, from where, and how to check it.

``fetch(name)`` looks for each file of a data set

1. in the cache (``data/`` or ``WORKSHOP_DATA_DIR``), verified by sha256 on every load;
2. in the mirror ``WORKSHOP_DATA_MIRROR`` if one is set: a folder or an ``http(s)://`` URL
   laid out like the registry's relative paths (an instructor's ``make serve-data``);
3. at the canonical URLs, in order.

A download goes to a temporary file beside its target, with a progress bar, and is renamed
into place only after its size and checksum pass, so the cache never holds a partial or
corrupt file. A re-compressed ``.gz`` is accepted when its decompressed content matches.

User files: :func:`iter_tokens` / :func:`read_words` read a corpus (a name, a text file, a
.gz/.bz2/.xz/.zip, or a folder read for its text files only), decoding each file as UTF-8 or,
with one note, in the encoding guessed for it; :func:`load_word_vectors` streams word vectors
in the formats other tools write (word2vec text and binary, GloVe, fastText ``.vec``). What
they cannot read raises :class:`CorpusError` / :class:`VectorFileError`: one line naming the
file (and the line), which the command lines print as ``error: ...`` with exit status 2.

Command line::

    python -m workshop_sections.data list
    python -m workshop_sections.data fetch NAME [NAME ...] | all
    python -m workshop_sections.data verify
    python -m workshop_sections.data path NAME
"""

from __future__ import annotations

import argparse
import bz2
import codecs
import gzip
import hashlib
import http.client
import lzma
import os
import re
import sys
import tempfile
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config

CHUNK = 1 << 20
TIMEOUT = float(os.environ.get("WORKSHOP_DOWNLOAD_TIMEOUT", "30"))


# --------------------------------------------------------------------------- errors
class DataError(RuntimeError):
    """Base class of the data errors; the message says what went wrong and what to do."""


class UnknownDatasetError(DataError, ValueError):
    """A data set name that is not in :data:`REGISTRY`; the message lists the known names."""


class ChecksumError(DataError):
    """A downloaded or copied file whose sha256 is not the registered one (nor, for a re-compressed
    ``.gz``, its decompressed content's); the message names the file, expected and got."""


class DataUnavailableError(DataError):
    """No source gave a verified copy of a file; the message lists every source tried, why each
    failed, and what to do (network, ``WORKSHOP_DATA_MIRROR``, a manual download)."""


class CorpusError(DataError, ValueError):
    """A corpus that cannot be read as text; one line naming the file (and the fix)."""


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class DataFile:
    """One file of a data set: where it sits, where it comes from, and its checksums."""

    path: str  # relative path in the cache and in a mirror
    urls: tuple  # canonical addresses, tried in order
    sha256: str  # of the canonical file
    size: int  # bytes of the canonical file
    content_sha256: str | None = None  # of the decompressed payload (.gz): re-compressed copies pass


@dataclass(frozen=True)
class Dataset:
    """A registered data set: its files, description, license and whether ``make data`` needs it."""

    name: str
    description: str
    license: str
    files: tuple
    required: bool = True  # fetched by `make data`; optional ones are tried and may be absent
    aliases: tuple = field(default_factory=tuple)

    @property
    def size(self) -> int:
        """Bytes of all its files (canonical, compressed as downloaded)."""
        return sum(f.size for f in self.files)


_MNIST_URLS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/{}",
    "https://ossci-datasets.s3.amazonaws.com/mnist/{}",
)


def _mnist(name: str, sha: str, size: int, content: str) -> DataFile:
    """The registry entry of one MNIST file at both canonical addresses."""
    return DataFile(f"mnist/{name}", tuple(u.format(name) for u in _MNIST_URLS), sha, size, content)


_NLTK = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/{}"

REGISTRY: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "mnist",
            "MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 (idx format)",
            "CC BY-SA 3.0 (Yann LeCun, Corinna Cortes, Christopher J.C. Burges)",
            (
                _mnist(
                    "train-images-idx3-ubyte.gz",
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                    9912422,
                    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                ),
                _mnist(
                    "train-labels-idx1-ubyte.gz",
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                    28881,
                    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                ),
                _mnist(
                    "t10k-images-idx3-ubyte.gz",
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                    1648877,
                    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                ),
                _mnist(
                    "t10k-labels-idx1-ubyte.gz",
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                    4542,
                    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                ),
            ),
        ),
        Dataset(
            "text8",
            "text8: the first 100 MB of English Wikipedia, cleaned (17,005,207 words); "
            "the canonical word2vec corpus",
            "Wikipedia text (CC BY-SA), prepared by Matt Mahoney",
            (
                DataFile(
                    "corpora/text8.zip",
                    ("http://mattmahoney.net/dc/text8.zip",),
                    "a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232",
                    31344016,
                ),
            ),
            required=False,
        ),
        Dataset(
            "movie_reviews",
            "Movie review polarity v2.0 (Pang & Lee 2004): 2,000 reviews, about 1.3M words; "
            "a small in-domain word2vec corpus",
            "CC BY 4.0 (NLTK data)",
            (
                DataFile(
                    "nltk/movie_reviews.zip",
                    (_NLTK.format("movie_reviews.zip"),),
                    "a41211ae685019137410268134db6a1a14428c89b671eb83056151a878539008",
                    4004848,
                ),
            ),
            aliases=("movie-reviews",),
        ),
        Dataset(
            "sentence_polarity",
            "Sentence polarity v1.0, 'MR' (Pang & Lee 2005): 5,331 positive and 5,331 negative "
            "snippets (Kim 2014)",
            "CC BY 4.0 (NLTK data)",
            (
                DataFile(
                    "nltk/sentence_polarity.zip",
                    (_NLTK.format("sentence_polarity.zip"),),
                    "6e1ed4405b65c7eabf1d199a7f7c437091ac21da0ea7467b410a74062574566b",
                    490256,
                ),
            ),
            aliases=("sentence-polarity", "mr"),
        ),
        Dataset(
            "questions_words",
            "Mikolov's word-analogy questions: 19,544 questions in 14 sections (semantic and syntactic)",
            "Apache 2.0 (TensorFlow)",
            (
                DataFile(
                    "questions-words.txt",
                    ("https://download.tensorflow.org/data/questions-words.txt",),
                    "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
                    603955,
                ),
            ),
            aliases=("questions-words", "analogies"),
        ),
        Dataset(
            "news20",
            "20 Newsgroups as one lower-cased line, 5.74M words: the benchmark corpus (only from a mirror)",
            "research use",
            (
                DataFile(
                    "corpora/news20.txt.gz",
                    (),
                    "de65dca7dd24fb592bd0f7177d0c48619b267bd3472e3dfb54fe7cbddd376cc4",
                    10312882,
                ),
            ),
            required=False,
        ),
    )
}


def names() -> list[str]:
    """The registered data set names, in registry order."""
    return list(REGISTRY)


def get(name: str) -> Dataset:
    """The registry entry of ``name`` (case, aliases and ``-``/``_`` accepted).

    Raises :class:`UnknownDatasetError` (listing the known names) for any other name.
    """
    key = name.strip().lower()
    for d in REGISTRY.values():
        if key in (d.name, d.name.replace("_", "-"), *d.aliases):
            return d
    raise UnknownDatasetError(
        f"Unknown data set {name!r}. Known data sets: {', '.join(REGISTRY)}. "
        "See them with: python -m workshop_sections.data list"
    )


# --------------------------------------------------------------------------- checksums
def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, as 64 lower-case hex digits (read in ``CHUNK`` blocks).
    Raises ``OSError`` when the file cannot be read."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def sha256_gunzip(path: Path) -> str | None:
    """The sha256 (hex) of a gzip file's decompressed content, or None when it is not a
    readable gzip file (never raises for a damaged one)."""
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                h.update(block)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return h.hexdigest()


def check_file(path: Path, entry: DataFile) -> tuple[bool, str]:
    """``(ok, sha256 found)`` (the sha256 as hex). A file passes with the canonical sha256, or,
    for a re-compressed ``.gz``, when its decompressed content has the registered sha256.
    Raises ``OSError`` when the file cannot be read."""
    got = sha256_file(path)
    if got == entry.sha256:
        return True, got
    if entry.content_sha256 and sha256_gunzip(path) == entry.content_sha256:
        return True, got
    return False, got


# --------------------------------------------------------------------------- paths
def cache_dir() -> Path:
    """The download cache: ``data/`` in the repository, or ``WORKSHOP_DATA_DIR``."""
    return config.data_dir()


def mirror() -> str | None:
    """``WORKSHOP_DATA_MIRROR`` as set (a folder, a ``file://`` or an http(s) URL), or None when unset."""
    value = os.environ.get("WORKSHOP_DATA_MIRROR", "").strip()
    return value or None


def _mirror_sources(entry: DataFile) -> list[str]:
    """Where the mirror holds ``entry``: ``[]`` without a mirror, else one URL or one local path
    (a relative folder is taken from the repository root when it does not exist here)."""
    m = mirror()
    if not m:
        return []
    if re.match(r"^https?://", m):
        return [m.rstrip("/") + "/" + urllib.parse.quote(entry.path)]
    if m.startswith("file://"):
        m = urllib.parse.urlparse(m).path
    root = Path(m).expanduser()
    if not root.is_absolute():
        root = (config.find_root() / root).resolve() if not root.exists() else root.resolve()
    return [str(root / entry.path)]


# --------------------------------------------------------------------------- download
# Our own code, not pooch's: pooch.retrieve checks one sha256 (the room mirror's re-compressed
# MNIST file fails it), takes one URL, refuses a folder mirror and draws its tqdm bar into logs.
# What was measured: data/README.md, "Why not pooch".
def _progress(total: int | None, desc: str, quiet: bool):
    """The byte counter of one download: :func:`config.progress` (a tqdm bar on a terminal or in
    a notebook, a few plain lines in a log), silent when ``quiet``."""
    return config.progress(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        disable=quiet,
        leave=False,
        file=sys.stderr,
    )


def _copy_stream(src, dst, total: int | None, desc: str, quiet: bool) -> int:
    """Copy ``src`` to ``dst`` in ``CHUNK`` blocks under a progress bar; return the bytes copied."""
    done = 0
    with _progress(total, desc, quiet) as bar:
        for block in iter(lambda: src.read(CHUNK), b""):
            dst.write(block)
            done += len(block)
            bar.update(len(block))
    return done


def _download_to(source: str, tmp: Path, entry: DataFile, quiet: bool) -> None:
    """Copy ``source`` (an http(s) URL or a local path) into ``tmp``. Raises what the transfer
    raises (``OSError``, ``URLError``, ``HTTPException``, ``TimeoutError``) and :class:`DataError`
    for a download cut short of its ``Content-Length``."""
    desc = Path(entry.path).name
    if re.match(r"^https?://", source):
        req = urllib.request.Request(source, headers={"User-Agent": "tf-workshop-data/1.0"})
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp, open(tmp, "wb") as out:
            length = resp.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            got = _copy_stream(resp, out, expected, desc, quiet)
        if expected is not None and got < expected:
            raise DataError(f"the download was cut off after {got:,} of {expected:,} bytes")
    else:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"no file {path}")
        with open(path, "rb") as src, open(tmp, "wb") as out:
            _copy_stream(src, out, path.stat().st_size, desc, quiet)


def _cached(target: Path, entry: DataFile) -> bool:
    """Whether ``target`` holds a verified copy; a corrupt one is said on stderr and removed."""
    if not target.exists():
        return False
    ok, got = check_file(target, entry)
    if ok:
        return True
    print(
        f"The cached file {target} is corrupt: expected sha256 {entry.sha256}, got {got}. Fetching it again.",
        file=sys.stderr,
    )
    target.unlink()
    return False


def _install_from(source: str, target: Path, entry: DataFile, quiet: bool) -> None:
    """Download ``source`` into a temporary ``.<name>.*.part`` file beside ``target``, verify it
    and rename it into place: the cache never holds a partial or corrupt file, and the temporary
    file is gone whatever happens. Raises :class:`ChecksumError` and what :func:`_download_to` raises."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _download_to(source, tmp, entry, quiet)
        ok, got = check_file(tmp, entry)
        if not ok:
            raise ChecksumError(
                f"checksum mismatch for {entry.path}: expected sha256 {entry.sha256}"
                + (f" (or decompressed {entry.content_sha256})" if entry.content_sha256 else "")
                + f", got {got} ({tmp.stat().st_size:,} bytes)"
            )
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


# what one source may fail with: noted, and the next source is tried
_SOURCE_ERRORS = (
    TimeoutError,
    OSError,
    urllib.error.URLError,
    http.client.HTTPException,
    DataError,
    ValueError,
)


def _unavailable(entry: DataFile, dataset: Dataset, target: Path, tried: list[str]) -> DataUnavailableError:
    """The one error when no source gave the file: every source tried and why, then what to do."""
    where = "\n  ".join(tried) if tried else "(no mirror is set and this file has no public address)"
    hint = (
        "What to do: check your network connection and run `make data` again; or set "
        "WORKSHOP_DATA_MIRROR to a folder or http URL holding the workshop data (ask your instructor "
        f"for the room mirror); or download {entry.urls[0] if entry.urls else entry.path} yourself "
        f"and put it at {target}."
    )
    return DataUnavailableError(
        f"Could not get data set {dataset.name!r} (file {entry.path}). Tried:\n  {where}\n{hint}"
    )


def _fetch_file(entry: DataFile, dataset: Dataset, quiet: bool) -> Path:
    """The verified cached copy of ``entry``: the cache, else the mirror, else the canonical URLs
    in order. Raises :class:`DataUnavailableError` naming every source tried."""
    target = cache_dir() / entry.path
    if _cached(target, entry):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tried: list[str] = []
    for source in _mirror_sources(entry) + list(entry.urls):
        try:
            _install_from(source, target, entry, quiet)
            return target
        except _SOURCE_ERRORS as exc:
            reason = getattr(exc, "reason", None) or exc
            tried.append(f"{source}: {reason}")
    raise _unavailable(entry, dataset, target, tried)


def fetch(name: str, quiet: bool = False) -> Path:
    """Make every file of data set ``name`` present and verified in the cache (cache, then
    ``WORKSHOP_DATA_MIRROR``, then the canonical URLs; a progress bar on stderr unless ``quiet``);
    return the cache folder (the files sit at ``<returned>/<entry.path>``).

    Raises :class:`UnknownDatasetError` for a name not in the registry and
    :class:`DataUnavailableError` (every source tried and why, then what to do) when no source
    gives a file whose checksum passes.
    """
    dataset = get(name)
    for entry in dataset.files:
        _fetch_file(entry, dataset, quiet)
    return cache_dir()


def path(name: str, index: int = 0, quiet: bool = False) -> Path:
    """The verified local path of the ``index``-th file of data set ``name`` (fetched as
    :func:`fetch` does if needed, with its errors; ``IndexError`` for an ``index`` out of range)."""
    dataset = get(name)
    return _fetch_file(dataset.files[index], dataset, quiet)


def status(name: str) -> str:
    """``'verified'``, ``'missing'`` or ``'corrupt'`` for the cached copy of a data set (the
    worst state of its files; each file's sha256 is computed, nothing is downloaded).
    Raises :class:`UnknownDatasetError` for an unknown name."""
    dataset = get(name)
    states = []
    for entry in dataset.files:
        target = cache_dir() / entry.path
        if not target.exists():
            states.append("missing")
        else:
            states.append("verified" if check_file(target, entry)[0] else "corrupt")
    for s in ("corrupt", "missing"):
        if s in states:
            return s
    return "verified"


# --------------------------------------------------------------------------- loaders
def _read_idx(path: Path) -> np.ndarray:
    """A gzipped idx file (LeCun's MNIST format, uint8 data) as a uint8 array of its shape."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path} is not an idx file (bad magic number)")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code != 0x08:
        raise DataError(f"{path}: unsupported idx data type 0x{dtype_code:02x}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def load_mnist(quiet: bool = False) -> dict[str, np.ndarray]:
    """MNIST as uint8 arrays: ``x_train`` (60000, 28, 28) pixel values 0-255, ``y_train``
    (60000,) digits 0-9, ``x_test`` (10000, 28, 28), ``y_test`` (10000,). Fetched if needed
    (see :func:`fetch` for the errors); :class:`DataError` for a file that is not idx."""
    ds = get("mnist")
    paths = {Path(e.path).name: _fetch_file(e, ds, quiet) for e in ds.files}
    return {
        "x_train": _read_idx(paths["train-images-idx3-ubyte.gz"]),
        "y_train": _read_idx(paths["train-labels-idx1-ubyte.gz"]),
        "x_test": _read_idx(paths["t10k-images-idx3-ubyte.gz"]),
        "y_test": _read_idx(paths["t10k-labels-idx1-ubyte.gz"]),
    }


def load_sentence_polarity(quiet: bool = False) -> tuple[list[str], np.ndarray]:
    """The MR snippets (10,662 str, decoded as Latin-1) and their labels, an int64 array
    (10662,) with 1 = positive, 0 = negative; positives first. Fetched if needed (see :func:`fetch`)."""
    zpath = path("sentence_polarity", quiet=quiet)
    texts: list[str] = []
    labels: list[int] = []
    with zipfile.ZipFile(zpath) as z:
        for fname, label in (
            ("sentence_polarity/rt-polarity.pos", 1),
            ("sentence_polarity/rt-polarity.neg", 0),
        ):
            lines = z.read(fname).decode("latin-1").splitlines()
            lines = [ln.strip() for ln in lines if ln.strip()]
            texts.extend(lines)
            labels.extend([label] * len(lines))
    return texts, np.array(labels, dtype=np.int64)


def load_movie_reviews(quiet: bool = False) -> tuple[list[str], np.ndarray]:
    """The 2,000 movie reviews as str (UTF-8) and their labels, an int64 array (2000,) with
    1 = pos, 0 = neg, in file-name order. Fetched if needed (see :func:`fetch`)."""
    zpath = path("movie_reviews", quiet=quiet)
    texts, labels = [], []
    with zipfile.ZipFile(zpath) as z:
        for info in sorted(z.infolist(), key=lambda i: i.filename):
            parts = info.filename.split("/")
            if len(parts) == 3 and parts[1] in ("pos", "neg") and parts[2].endswith(".txt"):
                texts.append(z.read(info).decode("utf-8", errors="replace"))
                labels.append(1 if parts[1] == "pos" else 0)
    return texts, np.array(labels, dtype=np.int64)


def load_questions_words(quiet: bool = False) -> list[tuple[str, str, str, str, str]]:
    """The 19,544 analogy questions as ``(section, a, b, c, d)`` str tuples, lower-cased: a is
    to b as c is to d (Mikolov et al. 2013). Fetched if needed (see :func:`fetch`)."""
    p = path("questions_words", quiet=quiet)
    out, section = [], ""
    for line in p.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        words = line.lower().split()
        if len(words) == 4:
            out.append((section, *words))
    return out


# --------------------------------------------------------------------------- corpora
CORPORA = ("text8", "movie_reviews", "news20")
ENCODING_ENV = "WORKSHOP_CORPUS_ENCODING"  # force the encoding of every corpus file (e.g. cp1251)
TEXT_SUFFIXES = (".txt", ".text")  # plain text files a corpus folder is read for
MAGIC = {
    ".gz": b"\x1f\x8b",
    ".bz2": b"BZh",
    ".xz": b"\xfd7zXZ\x00",
    ".zip": b"PK",
}  # + their compressed forms
SKIP_DIRS = {"venv", ".venv", "site-packages", "dist-packages", "__pycache__", "node_modules", "__MACOSX"}
SAMPLE_CHARS = 1 << 16  # characters of each file checked for spaces
UNSPACED = 20  # fewer than one space per this many letters: "almost no spaces"
UNSPACED_WORD = 5  # ... and "words" at least this long on average (English: 4.5 letters): warn
UNSPACED_REFUSE = 25  # ... and "words" this long on average: every line would be one word
NOTE_LIMIT = 5  # per read: notes of each kind printed one by one, then one summary line


def _mark_ranges() -> str:
    """A regex character-class body of the Unicode combining marks (categories M*) of the BMP:
    the vowel signs of Devanagari, Bengali, Tamil... and the accents of decomposed text."""
    out, start = [], None
    for c in range(0x300, 0x10000):
        mark = unicodedata.category(chr(c))[0] == "M"
        if mark and start is None:
            start = c
        elif not mark and start is not None:
            out.append(f"\\u{start:04x}-\\u{c - 1:04x}" if c - 1 > start else f"\\u{start:04x}")
            start = None
    return "".join(out)


_MARKS = _mark_ranges()
TOKEN_RE = re.compile(rf"\w[\w{_MARKS}]*(?:'[\w{_MARKS}]+)?")
# TOKEN_RE on lower-cased ASCII text without underscores (\w is [a-z0-9] there, and no mark is
# ASCII): the same words, found ~1.3x faster (news20: 1.24 -> 0.96 s), so ASCII text takes it
ASCII_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-cased words (letters and digits with their combining marks, one inner apostrophe
    kept: ``"l'été"``, ``"don't"``), any language: ``"हिन्दी"`` stays one word, a decomposed
    ``"café"`` reads as ``"café"`` (NFC). Underscores and other punctuation separate words (the
    typographic apostrophe ``’`` too: ``"l’été"`` is two words)."""
    text = text.lower()
    if text.isascii():  # the usual case: the same words as below, faster (ASCII_TOKEN_RE)
        return ASCII_TOKEN_RE.findall(text.replace("_", " "))
    return TOKEN_RE.findall(unicodedata.normalize("NFC", text).replace("_", " "))


class NotTextError(CorpusError):
    """A corpus file that holds binary data, not text (skipped with a warning inside a folder or zip)."""

    def __init__(self, label: str, why: str):
        super().__init__(f"The corpus file {label} is {why}: give a text file.")
        self.label, self.why = label, why


class _ReadLog:
    """The notes of one corpus read: printed one line each (the first ``NOTE_LIMIT`` of a kind),
    then one summary line per kind, on stderr."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.details: dict[str, dict[str, int]] = {}

    def say(self, kind: str, line: str, detail: str | None = None) -> None:
        """Count a note of ``kind``; print it while fewer than ``NOTE_LIMIT`` of its kind were."""
        n = self.counts[kind] = self.counts.get(kind, 0) + 1
        if detail is not None:
            d = self.details.setdefault(kind, {})
            d[detail] = d.get(detail, 0) + 1
        if n <= NOTE_LIMIT:
            print(line, file=sys.stderr, flush=True)

    def finish(self) -> None:
        """One summary line per kind of note that went over ``NOTE_LIMIT``."""
        what = {
            "recoded": "files were not UTF-8 either",
            "skipped": "files were skipped as well",
            "unspaced": "files have almost no spaces either",
        }
        for kind, n in self.counts.items():
            if n > NOTE_LIMIT:
                d = self.details.get(kind)
                how = (
                    (f" ({n} in all: " + ", ".join(f"{v} {k}" for k, v in sorted(d.items())) + ")")
                    if d
                    else ""
                )
                print(f"note: {n - NOTE_LIMIT} more {what.get(kind, kind)}{how}", file=sys.stderr, flush=True)


def _latin1_for_undefined(exc: UnicodeDecodeError):
    """Codec error handler: the 5 bytes cp1252 leaves undefined read as Latin-1 (as browsers do)."""
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("workshop-latin1", _latin1_for_undefined)


def _non_ascii_letters(text: str) -> int:
    """The number of letters outside ASCII (how much a decoding made sense of)."""
    return sum(1 for ch in text if ord(ch) > 127 and ch.isalpha())


def _guess_encoding(sample: bytes) -> str:
    """The encoding of bytes that are not UTF-8: cp1252 (Windows Western European, a superset of
    Latin-1's printable range, the usual culprit) unless ``charset_normalizer`` (installed with
    ``requests``) proposes one whose decoding holds more letters (Cyrillic KOI8-R, Shift-JIS, GBK,
    Polish cp1250...). Ties go to cp1252: for Western European text the detectors are unreliable
    (they read French "très" as cp1250 "trčs")."""
    if sample[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    best = "cp1252"
    score = _non_ascii_letters(sample.decode("cp1252", errors="workshop-latin1"))
    try:
        from charset_normalizer import from_bytes  # noqa: PLC0415 (optional; 50 ms, only for a non-UTF-8 file)
    except ImportError:  # optional: without it, every non-UTF-8 file reads as cp1252
        return best
    try:
        guess = from_bytes(sample).best()
    except Exception:  # a detector failure must not stop the reading: cp1252 it is
        return best
    if guess is not None and guess.encoding not in ("utf_8", "ascii", "cp1252", "windows_1252"):
        try:
            other = _non_ascii_letters(sample.decode(guess.encoding, errors="strict"))
        except (UnicodeDecodeError, LookupError):
            other = -1
        if other > score:
            best = guess.encoding
    return best


def _encoding_name(enc: str) -> str:
    """An encoding's name as the note says it."""
    names = {"cp1252": "cp1252 (Windows Western European; its 5 unused bytes as Latin-1)"}
    return names.get(enc, enc)


def _decode_chunks(label: str, raw: Iterator[bytes], log: _ReadLog) -> Iterator[str]:
    """Decode a file's byte chunks: strict UTF-8 (a BOM dropped); at the first byte that is not
    UTF-8, the rest of the file in the encoding :func:`_guess_encoding` picks, with ONE note
    naming the file and the encoding. ``WORKSHOP_CORPUS_ENCODING`` forces one encoding.
    Raises :class:`NotTextError` for binary data (NUL bytes without a UTF-16 BOM)."""
    raw = iter(raw)
    first = next(raw, b"")
    forced = os.environ.get(ENCODING_ENV, "").strip() or None
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8) :]
    elif first[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        forced = forced or "utf-16"
    if forced is None and b"\0" in first[: 1 << 16]:
        raise NotTextError(label, "not text (it holds NUL bytes: binary data)")
    chunks = _chain_first(first, raw)
    if forced:
        yield from _decode_rest(label, chunks, forced, 0)
        return
    pending, offset, was_unicode = b"", 0, False
    for block in chunks:
        buf = pending + block
        try:
            text, pending = buf.decode("utf-8"), b""
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data" and exc.end == len(buf):
                text, pending = (
                    buf[: exc.start].decode("utf-8"),
                    buf[exc.start :],
                )  # a character cut by the chunk
            else:
                head = buf[: exc.start].decode("utf-8")
                was_unicode = was_unicode or not head.isascii()
                yield head
                yield from _switch(label, buf[exc.start :], chunks, offset + exc.start, was_unicode, log)
                return
        was_unicode = was_unicode or not text.isascii()
        offset += len(buf) - len(pending)
        yield text
    if pending:  # the file ends inside a UTF-8 sequence: those last bytes are not UTF-8
        yield from _switch(label, pending, iter(()), offset, was_unicode, log)


def _chain_first(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """``first`` (unless empty), then ``rest``."""
    if first:
        yield first
    yield from rest


def _switch(
    label, buf: bytes, rest: Iterator[bytes], offset: int, was_unicode: bool, log: _ReadLog
) -> Iterator[str]:
    """Read the rest of a file that stopped being UTF-8 at ``offset`` in the encoding guessed,
    with one note."""
    enc = _guess_encoding(buf[: 1 << 16])
    where = (
        f"from byte {offset:,} on (the text before it was UTF-8)"
        if was_unicode
        else f"(byte 0x{buf[0]:02x} at offset {offset:,})"
    )
    log.say(
        "recoded",
        f"note: {label} is not UTF-8 {where}; read it as {_encoding_name(enc)}. "
        f"If that is wrong, set {ENCODING_ENV} to its encoding.",
        detail=f"read as {enc}",
    )
    yield from _decode_rest(label, _chain_first(buf, rest), enc, offset)


def _decode_rest(label: str, chunks: Iterator[bytes], enc: str, offset: int) -> Iterator[str]:
    """Decode the rest of a file in ``enc``; :class:`CorpusError` for an unknown encoding name
    or bytes it cannot decode."""
    try:
        errors = "workshop-latin1" if codecs.lookup(enc).name == "cp1252" else "strict"
        decoder = codecs.getincrementaldecoder(enc)(errors=errors)
    except LookupError:
        raise CorpusError(
            f"{ENCODING_ENV}={enc!r} is not an encoding Python knows (e.g. utf-8, cp1252, cp1251, "
            "latin-1, shift_jis, gb18030)."
        ) from None
    try:
        for block in chunks:
            yield decoder.decode(block)
            offset += len(block)
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{label} is not valid {enc} either (near byte {offset + exc.start:,}): "
            f"set {ENCODING_ENV} to its encoding."
        ) from None


def _check_spacing(label: str, text_chunks: Iterator[str], log: _ReadLog) -> Iterator[str]:
    """Pass the chunks through; on the first ``SAMPLE_CHARS`` characters, say when the text has
    almost no spaces (Chinese, Japanese, Thai, a minified file): every run between spaces or
    punctuation becomes one "word". Refuse (:class:`CorpusError`) when those "words" are whole lines."""
    held: list[str] | None = []
    size = 0
    for chunk in text_chunks:
        if held is None:
            yield chunk
            continue
        held.append(chunk)
        size += len(chunk)
        if size >= SAMPLE_CHARS:
            _spacing_verdict(label, "".join(held), log)
            yield from held
            held = None
    if held:
        _spacing_verdict(label, "".join(held), log)
        yield from held


def _spacing_verdict(label: str, sample: str, log: _ReadLog) -> None:
    """Warn about, or refuse, a text sample with almost no spaces (see :func:`_check_spacing`)."""
    sample = sample[:SAMPLE_CHARS]
    words = tokenize(sample)
    letters = sum(map(len, words))
    spaces = sum(1 for ch in sample if ch.isspace())
    if letters < 40 or spaces * UNSPACED >= letters:
        return
    mean = letters / max(len(words), 1)
    if mean < UNSPACED_WORD:  # short pieces cut by punctuation (a CSV of numbers, code): real enough tokens
        return
    example = max(words[:200], key=len)
    example = example if len(example) <= 24 else example[:24] + "..."
    per = f"1 space per {letters // max(spaces, 1):,} letters" if spaces else "no spaces"
    fix = (
        "put spaces between its words first (a word segmenter: jieba for Chinese, fugashi/MeCab for "
        "Japanese, PyThaiNLP for Thai)"
    )
    if mean >= UNSPACED_REFUSE:
        raise CorpusError(
            f'{label} has almost no spaces ({per}): its "words" would be whole lines or '
            f"phrases ({mean:.0f} letters on average, e.g. {example!r}), a meaningless vocabulary; {fix}."
        )
    log.say(
        "unspaced",
        f"warning: {label} has almost no spaces ({per} in its first {len(sample):,} characters): "
        f'every run of text between spaces or punctuation becomes one "word" ({mean:.0f} letters '
        f"on average, e.g. {example!r}); for real words, {fix}.",
    )


def _raw_chunks(label: str, opener) -> Iterator[bytes]:
    """The bytes of a file (decompressed), in ``CHUNK`` blocks; a damaged file -> CorpusError naming it."""
    try:
        with opener() as f:
            yield from iter(lambda: f.read(CHUNK), b"")
    except (gzip.BadGzipFile, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise CorpusError(
            f"{label} is damaged: {exc or type(exc).__name__} (a broken or cut-short download? "
            "fetch it again or remove it)"
        ) from None
    except OSError as exc:  # bz2's "Invalid data stream" (no errno), permissions, a file that vanished...
        kind = "is damaged" if exc.errno is None else "cannot be read"
        raise CorpusError(f"{label} {kind}: {exc.strerror or exc}") from None


def _magic_kind(p: Path) -> str:
    """'gz', 'bz2', 'xz', 'zip' or 'plain', from the first bytes of the file."""
    try:
        with open(p, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise CorpusError(f"Cannot read the corpus file {p}: {exc.strerror or exc}") from None
    for suffix, magic in MAGIC.items():
        if head.startswith(magic):
            if (suffix == ".zip" and not zipfile.is_zipfile(p)) or (
                suffix == ".bz2" and head[3:4] not in b"123456789"
            ):
                continue
            return suffix[1:]
    return "plain"


def _file_sources(p: Path, in_folder: bool, log: _ReadLog):
    """(label, raw chunk iterator, skippable) for a file: plain or compressed text, or each
    member of a zip. A file named .gz/.bz2/.xz/.zip that is not one is named: skipped with a
    warning inside a folder, an error when it was given by name."""
    kind = _magic_kind(p)
    suffix = p.suffix.lower()
    if suffix in MAGIC and kind != suffix[1:]:
        names = {"gz": "gzip", "bz2": "bzip2", "xz": "xz", "zip": "zip", "plain": "plain, uncompressed"}
        why = f"named {suffix} but not a {names[suffix[1:]]} file (its content is {names[kind]} data)"
        if not in_folder:
            raise CorpusError(f"The corpus file {p} is {why}: rename or remove it.")
        log.say("skipped", f"warning: skipped {p}: {why}.")
        return
    if kind == "zip":
        yield from _zip_sources(p)
        return
    openers = {
        "gz": lambda: gzip.open(p, "rb"),
        "bz2": lambda: bz2.open(p, "rb"),
        "xz": lambda: lzma.open(p, "rb"),
        "plain": lambda: open(p, "rb"),
    }
    yield str(p), _raw_chunks(str(p), openers[kind]), in_folder


def _zip_sources(p: Path):
    """(label, raw chunk iterator, skippable) for each member of a zip (folders, hidden, README
    and virtual-environment members left out)."""
    try:
        z = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise CorpusError(f"{p} is not a readable zip file: {exc}") from None
    with z:
        for info in sorted(z.infolist(), key=lambda i: i.filename):
            name = info.filename
            parts = name.split("/")
            if (
                info.is_dir()
                or any(part.startswith(".") or part in SKIP_DIRS for part in parts)
                or parts[-1].upper().startswith("README")
            ):
                continue
            label = f"{p}:{name}"
            yield label, _raw_chunks(label, lambda info=info: z.open(info)), True


def _folder_files(folder: Path) -> tuple[list[Path], list[str]]:
    """The text files of a corpus folder (sorted) and the names of the files skipped. Hidden
    folders and files, virtual environments (any folder with ``pyvenv.cfg``, ``venv``,
    ``site-packages``...), ``__pycache__`` and ``node_modules`` are not entered."""
    files, skipped = [], []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and d not in SKIP_DIRS and not (Path(root) / d / "pyvenv.cfg").exists()
        )
        for name in sorted(names):
            if name.startswith("."):
                continue
            low = name.lower()
            if low.endswith(TEXT_SUFFIXES) or Path(low).suffix in MAGIC:
                files.append(Path(root) / name)
            else:
                skipped.append(os.path.relpath(os.path.join(root, name), folder))
    return files, skipped


def _open_text_chunks(p: Path, log: _ReadLog | None = None) -> Iterator[str]:
    """Text of a corpus (a plain/.gz/.bz2/.xz/.zip file or a folder of them) in chunks of
    about ``CHUNK`` characters, one file after the other (a newline between files); see
    :func:`iter_tokens` for the decoding and the checks."""
    own_log = log is None
    log = log or _ReadLog()
    in_folder = p.is_dir()
    if in_folder:
        files, skipped = _folder_files(p)
        if not files:
            raise CorpusError(
                f"The corpus folder {p} holds no text files to read "
                "(named .txt, .text, .gz, .bz2, .xz or .zip"
                + (
                    f"; it holds {len(skipped)} other files, e.g. {', '.join(skipped[:3])})"
                    if skipped
                    else ")"
                )
                + ": name its text files .txt or give a file."
            )
        if skipped:
            log.say(
                "folder",
                f"note: {p}: reading {len(files)} text file(s); skipped {len(skipped)} file(s) not "
                f"named .txt/.text/.gz/.bz2/.xz/.zip (e.g. {', '.join(skipped[:3])}).",
            )
    sources = (s for f in (files if in_folder else [p]) for s in _file_sources(f, in_folder, log))
    read = 0
    for label, raw, skippable in sources:
        try:
            yield from _check_spacing(label, _decode_chunks(label, raw, log), log)
            yield "\n"
            read += 1
        except NotTextError as exc:
            if not skippable:
                raise
            log.say("skipped", f"warning: skipped {exc.label}: {exc.why}.")
    if read == 0 and in_folder:
        raise CorpusError(f"The corpus folder {p} holds no readable text file (see the warnings above).")
    if own_log:
        log.finish()


def corpus_path(source: str | os.PathLike) -> Path:
    """A registered corpus name (fetched if needed) or a path to a text/.gz/.zip file or folder.
    Raises :class:`CorpusError` for an empty path, a missing path or a data set that is not text."""
    s = str(source)
    if not s.strip():
        raise CorpusError(
            "The corpus path is empty: give a corpus name ("
            + ", ".join(CORPORA)
            + ") or the path of a text file (.txt, .gz, .zip) or folder."
        )
    try:
        dataset = get(s)
    except UnknownDatasetError:
        p = Path(s).expanduser()
        if not p.exists():
            raise CorpusError(
                f"Corpus {s!r} is neither a known corpus ({', '.join(CORPORA)}) nor an existing file. "
                "Give a data set name or the path of a plain text file (.txt, .gz, .zip or a folder)."
            ) from None
        if not (p.is_file() or p.is_dir()):
            raise CorpusError(
                f"Corpus {s!r} is neither a file nor a folder (a device, socket or pipe?)."
            ) from None
        return p
    if dataset.name not in CORPORA:
        raise CorpusError(
            f"Data set {dataset.name!r} is not a text corpus; use one of {', '.join(CORPORA)} or a path."
        )
    return _fetch_file(dataset.files[0], dataset, quiet=False)


def iter_tokens(source: str | os.PathLike) -> Iterator[list[str]]:
    """Stream the words of a corpus, a list per chunk (words never split across chunks).

    ``source``: a registered corpus name or a path: a text file (plain, .gz, .bz2, .xz, .zip
    of text files) or a folder, read for its files named .txt/.text/.gz/.bz2/.xz/.zip (hidden
    folders, virtual environments, ``__pycache__`` and ``node_modules`` skipped).
    Each file is decoded as strict UTF-8; a file that is not UTF-8 is read in the encoding
    guessed for it (cp1252 for Western European text), with one note on stderr naming the file
    and the encoding (``WORKSHOP_CORPUS_ENCODING`` forces one). A file with almost no spaces
    gets a one-line warning (every phrase would be a "word"), or a :class:`CorpusError` when
    its "words" are whole lines. Raises :class:`CorpusError` (one line, naming the file) for an
    empty or missing path, a damaged .gz/.zip, or a binary file given by name; inside a folder
    a binary or misnamed file is skipped with a warning naming it.
    """
    carry = ""
    for block in _open_text_chunks(corpus_path(source)):
        block = carry + block
        cut = max(block.rfind(" "), block.rfind("\n"))
        if cut < 0 and len(block) > 4 * CHUNK:
            cut = len(block)  # text without spaces (already warned about): cut anywhere, memory stays bounded
        if cut < 0:
            carry = block
            continue
        carry = block[cut:]
        words = tokenize(block[:cut])
        if words:
            yield words
    if carry.strip():
        words = tokenize(carry)
        if words:
            yield words


def iter_corpus_tokens(sources, max_words: int | None = None) -> Iterator[list[str]]:
    """Token lists (lower-cased words, :func:`iter_tokens`) of one corpus or several (names or
    paths, read one after the other), at most ``max_words`` words in all. Raises
    :class:`CorpusError` for a source that is neither a known corpus nor a readable path."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    left = max_words
    for src in sources:
        for words in iter_tokens(src):
            if left is not None:
                if left <= 0:
                    return
                words = words[:left]
                left -= len(words)
            yield words


def ids_by_first_appearance(chunks, label: str) -> tuple[np.ndarray, list[str]]:
    """The first pass of a vocabulary over token lists: the corpus as int32 ids numbered by first
    appearance ``[num_words]``, and the distinct words in that order. ``label`` names the corpus in
    the :class:`CorpusError` raised when it holds no words."""
    index: dict = {}  # word -> the position of its first appearance in the corpus
    parts, n = [], 0
    for words in chunks:
        if words:  # map() runs in C: no Python line per word (~15% faster than a generator)
            first = map(index.setdefault, words, range(n, n + len(words)))
            parts.append(np.fromiter(first, dtype=np.int32, count=len(words)))  # < 2**31 words
            n += len(words)
    if not parts:
        raise CorpusError(f"{label} holds no words: give a non-empty text corpus.")
    renumber = np.zeros(n, dtype=np.int32)  # first positions -> 0, 1, 2, ... in their order
    renumber[np.fromiter(index.values(), dtype=np.int32, count=len(index))] = np.arange(len(index))
    return renumber[np.concatenate(parts)], list(index)


def _scan(sources: list, max_words: int | None, label: str) -> tuple[np.ndarray, list[str]]:
    return ids_by_first_appearance(iter_corpus_tokens(sources, max_words), label)


def _scan_in_child(conn, sources: list, max_words: int | None, label: str) -> None:
    """The child's side of :class:`CorpusScan`: read, and send ``("ok", result, notes)`` (the notes
    and warnings it would have written to stderr, for the parent to write once) or ``("failed",)``
    (the parent then reads the corpus again itself, and its error is raised there)."""
    import io  # noqa: PLC0415 (child process only)

    sys.stderr = notes = io.StringIO()
    try:
        message = ("ok", _scan(sources, max_words, label), notes.getvalue())
    except BaseException:  # noqa: BLE001 (whatever it is, the parent raises it as usual)
        message = ("failed",)
    try:
        conn.send(message)
    finally:
        conn.close()


class CorpusScan:
    """Read a corpus ahead: the first pass of a vocabulary (:func:`ids_by_first_appearance` over
    :func:`iter_corpus_tokens`: every word, rare ones included, as int32 ids numbered by first
    appearance, and the distinct words), started at once. A command line starts it before it
    imports TensorFlow: on Linux, with two cores or more and TensorFlow not imported yet, the
    corpus is read in a child process (forked) on one core while TensorFlow is imported on the
    other (3-5 s). ``build_vocab`` (intro_word2vec) takes a scan in place of a corpus::

        scan = data.CorpusScan("movie_reviews")        # returns at once
        import tensorflow as tf                        # meanwhile, the child reads
        vocab, ids = build_vocab(scan, min_count=5)    # waits for the child if it still reads

    ``sources``: a corpus name or path, or a list of them; ``max_words``: at most that many words.
    ``background``: None (a child as above, else this process), True (a child; after TensorFlow
    has started, or off Linux, the child is spawned, which re-imports the main script: guard it
    with ``if __name__ == "__main__":``) or False (this process). :meth:`result` returns
    ``(ids, words)``. Notes and warnings of the child's reading (an encoding guessed, a file
    skipped) are written once, when the result is taken. If the child fails (a corpus error, a
    child killed for memory), :meth:`result` reads the corpus again in this process, where the
    error is raised as without a scan: a one-line :class:`CorpusError` naming the file. An
    interrupt (Ctrl-C) while waiting stops the child too."""

    def __init__(self, sources, max_words: int | None = None, background: bool | None = None):
        one = isinstance(sources, (str, os.PathLike))
        self.sources = [sources] if one else list(sources)
        self.max_words = max_words
        self.label = f"corpus {sources!s}" if one else f"corpora {list(map(str, self.sources))}"
        self.background, self.state = False, "not started"
        self._value = self._proc = self._conn = None
        if background is None:
            background = (
                sys.platform.startswith("linux")
                and "tensorflow" not in sys.modules
                and (os.cpu_count() or 1) > 1
            )
        if background:
            self._start()

    def _start(self) -> None:
        import multiprocessing  # noqa: PLC0415 (only a command line's start-up needs it)

        # fork (no re-import) only before TensorFlow starts its threads; spawn otherwise
        fork = sys.platform.startswith("linux") and "tensorflow" not in sys.modules
        ctx = multiprocessing.get_context("fork" if fork else "spawn")
        try:
            self._conn, child_end = ctx.Pipe(duplex=False)
            args = (child_end, self.sources, self.max_words, self.label)
            self._proc = ctx.Process(target=_scan_in_child, args=args, daemon=True, name="corpus-scan")
            self._proc.start()
            child_end.close()
            self.background, self.state = True, "reading"
        except (OSError, RuntimeError, ValueError):  # no processes here (a sandbox): read when asked
            self._stop()

    def _stop(self, kill: bool = False) -> None:
        if self._proc is not None:
            if kill and self._proc.is_alive():
                self._proc.terminate()
            self._proc.join(timeout=10)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def _from_child(self):
        """The child's result, or None when it failed or died (its notes written to stderr)."""
        try:
            message = self._conn.recv()
        except (EOFError, OSError):  # the child died without a word
            message = ("failed",)
        except BaseException:  # an interrupt while waiting: the child stops too
            self._stop(kill=True)
            self.state = "interrupted"
            raise
        self._stop()
        if message[0] != "ok":
            return None
        if message[2]:
            sys.stderr.write(message[2])
            sys.stderr.flush()
        return message[1]

    def result(self) -> tuple[np.ndarray, list[str]]:
        """``(ids, words)``, waiting for the child if it still reads; read here if there is no
        child or it failed (so that its error is raised here, as without a scan)."""
        if self._value is None and self._conn is not None:
            self._value = self._from_child()
        if self._value is None:
            try:
                self._value = _scan(self.sources, self.max_words, self.label)
            except BaseException:
                self.state = "failed"
                raise
        self.state = "done"
        return self._value

    def __repr__(self) -> str:
        return f"CorpusScan({self.label}, max_words={self.max_words}, {self.state})"


def read_words(source: str | os.PathLike, max_words: int | None = None) -> list[str]:
    """All words of a corpus (or the first ``max_words``), lower-cased str (see :func:`iter_tokens`).
    Raises :class:`CorpusError` as :func:`iter_tokens` does, and for a corpus that holds no words."""
    out: list[str] = []
    for words in iter_tokens(source):
        out.extend(words)
        if max_words is not None and len(out) >= max_words:
            return out[:max_words]
    if not out:
        raise CorpusError(f"The corpus {source!s} holds no words.")
    return out


# --------------------------------------------------------------------------- word vectors
VECTOR_FORMATS = (
    "the word2vec text format (a '<count> <dim>' line, then 'word v1 ... vD' lines; fastText .vec), "
    "word2vec binary (gensim binary=True) or GloVe text (no header)"
)
FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")
_BLOCK = 1024  # text lines parsed at once (numpy's C parser)


class VectorFileError(DataError, ValueError):
    """A word-vector file that cannot be read; the message names the file, the line and the
    format expected."""


def _vector_source(path) -> Path:
    """The word-vector file ``path`` names. Raises :class:`VectorFileError` for an empty path or
    a folder, ``FileNotFoundError`` for a missing file."""
    if path is None or not str(path).strip():
        raise VectorFileError(
            "No word-vector file given (an empty path): give the path of a .vec, .txt or .bin file."
        )
    p = Path(path).expanduser()
    if p.is_dir():
        hint = next(
            (str(p / n) for n in ("vectors.vec", "vectors.txt", "vectors.bin") if (p / n).exists()), None
        )
        raise VectorFileError(
            f"{p} is a folder, not a word-vector file"
            + (f": did you mean {hint}?" if hint else f"; expected {VECTOR_FORMATS}.")
        )
    if not p.exists():
        raise FileNotFoundError(f"No word-vector file at {p}.")
    return p


def _vector_opener(p: Path):
    """A function opening ``p`` for binary reading (gzip/bz2/xz undone); refuses archives and
    fastText models in one line."""
    kind = _magic_kind(p)
    if kind == "zip":
        with zipfile.ZipFile(p) as z:
            members = [n for n in z.namelist() if not n.endswith("/")]
        if members and all(n.endswith(".npy") for n in members):
            raise VectorFileError(
                f"{p} is a NumPy .npz archive, not a word-vector file: pass the .vec file "
                f"written next to it (e.g. {p.with_name('vectors.vec')})."
            )
        raise VectorFileError(
            f"{p} is a zip archive ({len(members)} file(s): {', '.join(members[:4])}): "
            "unzip it and pass one of its vector files."
        )
    opener = {"gz": gzip.open, "bz2": bz2.open, "xz": lzma.open}.get(kind, open)
    return lambda: opener(p, "rb")


def _parse_header(line: bytes) -> tuple[int, int] | None:
    """``(count, dim)`` from a word2vec ``'<count> <dim>'`` first line, else None."""
    parts = line.split()
    if len(parts) == 2 and all(x.isdigit() for x in parts):
        return int(parts[0]), int(parts[1])
    return None


def _is_number(field: bytes) -> bool:
    """Whether a field reads as a float."""
    try:
        float(field)
        return True
    except ValueError:
        return False


def _trailing_numbers(line: bytes) -> tuple[int, int]:
    """(number of fields, how many of the last ones are numbers)."""
    parts = line.split()
    n = 0
    for token in reversed(parts):
        if not _is_number(token):
            break
        n += 1
    return len(parts), n


def _decode_word(raw: bytes, where: str, bad: list) -> str:
    """A word as UTF-8, else as Latin-1 with ``where`` appended to ``bad``."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        bad.append(where)
        return raw.decode("latin-1")


def load_word_vectors(path, limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Read word vectors in the formats other tools write, streaming into one preallocated array.

    Formats (recognised from the content, gzip/bz2/xz compressed or not):

    * word2vec text / fastText ``.vec``: a ``"<count> <dim>"`` line, then ``word v1 ... vD``;
    * word2vec binary (Mikolov's C tool, gensim's ``save_word2vec_format(binary=True)``): the
      same header, then for each word its UTF-8 bytes, a space and ``dim`` little-endian
      float32 (an optional newline between records), as gensim's ``load_word2vec_format``
      reads it;
    * GloVe text: ``word v1 ... vD`` lines without a header (``dim`` from the first lines).

    A token may contain spaces (``new york 0.4 0.5 0.6``): the last ``dim`` fields are the vector.
    ``limit``: read only the first ``limit`` words. Duplicate words keep their first vector
    (as gensim does) with one warning; words that are not UTF-8 are read as Latin-1 with one note.

    Returns ``(words, vectors)``: a list of ``n`` str and a float32 array ``(n, dim)``.
    Memory: the array plus the words (the file is read in blocks, never held whole).
    Raises ``FileNotFoundError`` for a missing file and :class:`VectorFileError` (one line
    naming the file, the line and the format expected) for anything else it cannot read.
    """
    p = _vector_source(path)
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 0):
        raise VectorFileError(f"limit must be a number of words (0 or more), got {limit!r}.")
    opener = _vector_opener(p)
    try:
        return _read_vectors(p, opener, limit)
    except (OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise VectorFileError(
            f"{p} cannot be read: {getattr(exc, 'strerror', None) or exc} (damaged or cut short?)"
        ) from None
    except MemoryError:
        raise VectorFileError(
            f"{p}: not enough memory for its vectors: pass a limit on the words read."
        ) from None


def _read_vectors(p: Path, opener, limit: int | None) -> tuple[list[str], np.ndarray]:
    """Tell the format from the first 64 KiB (header or not, text or binary) and read the file
    with the reader it calls for."""
    with opener() as f:
        head = f.read(1 << 16)
    if not head.strip():
        raise VectorFileError(f"{p} is empty: expected {VECTOR_FORMATS}.")
    if head.startswith(FASTTEXT_MAGIC):
        raise VectorFileError(
            f"{p} is a fastText model (.bin), not a vector file: use the .vec file fastText "
            "writes next to it (or `fasttext print-word-vectors`)."
        )
    first, _, rest = head.partition(b"\n")
    header = _parse_header(first)
    if header is None:  # GloVe: no header, the dimension from the first lines, the count from all
        dim = _glove_dim(p, head)
        with opener() as f:
            lines = _count_lines(f, limit)
        with opener() as f:
            return _read_text_vectors(p, f, None, dim, lines, limit, first_line=1)
    n, dim = header
    if dim == 0:
        raise VectorFileError(
            f"{p} line 1: the header says vectors of 0 dimensions; expected '<count> <dim>'."
        )
    binary = _looks_binary(rest, dim)
    n_alloc = n if limit is None else min(n, limit)
    _check_header_fits(p, n, dim, n_alloc, binary)
    reader = _read_binary_vectors if binary else _read_text_vectors
    with opener() as f:
        f.readline()
        return reader(p, f, n, dim, n_alloc, limit)


def _check_header_fits(p: Path, n: int, dim: int, n_alloc: int, binary: bool) -> None:
    """Refuse, before allocating, a header whose ``n_alloc`` vectors cannot fit in an uncompressed
    file's size (at least 4 bytes a number in binary, 2 in text)."""
    if _magic_kind(p) != "plain":
        return
    least = n_alloc * (dim * 4 + 2) if binary else n_alloc * dim * 2
    if least > p.stat().st_size:
        raise VectorFileError(
            f"{p} line 1: the header says {n:,} words of {dim} numbers, more than its "
            f"{p.stat().st_size:,} bytes can hold: the header is wrong or the file is cut short."
        )


def _looks_binary(rest: bytes, dim: int) -> bool:
    """After a '<count> <dim>' header: word2vec binary unless the next line reads as text."""
    line = rest.split(b"\n", 1)[0]
    if b"\0" not in line and len(line) < len(rest):  # a whole line: text if it ends with dim numbers
        fields, numbers = _trailing_numbers(line)
        if numbers >= dim and fields > dim:
            return False
    if b"\0" not in rest and not any(b < 9 for b in rest[:4096]):
        try:
            rest[:4096].decode("utf-8")
            return False  # printable text that is not vectors: the text reader names the line
        except UnicodeDecodeError:
            pass
    return True


def _glove_dim(p: Path, head: bytes) -> int:
    """The dimension of a header-less text file: the most common count of trailing numbers on
    its first lines (a token with spaces or a number as token does not fool it)."""
    if b"\0" in head:
        raise VectorFileError(
            f"{p} line 1: binary data without a '<count> <dim>' header; expected {VECTOR_FORMATS}."
        )
    lines = [ln for ln in head.split(b"\n")[:-1][:200] if ln.strip()] or [head]
    counts, numbers_only = {}, 0
    for ln in lines:
        fields, numbers = _trailing_numbers(ln)
        counts[numbers] = counts.get(numbers, 0) + 1
        numbers_only += fields == numbers
    dim = max(counts, key=lambda k: (counts[k], -k))
    if numbers_only > len(lines) // 2:
        raise VectorFileError(
            f"{p} line 1: every field is a number, there are no words (a TensorFlow projector "
            f"vectors.tsv? its words are in metadata.tsv); expected {VECTOR_FORMATS}."
        )
    if dim == 0:
        preview = lines[0][:60].decode("utf-8", "replace")
        raise VectorFileError(
            f"{p} line 1: {preview!r} is not a word and its numbers; expected {VECTOR_FORMATS}."
        )
    return dim


def _count_lines(f, limit: int | None) -> int:
    """The lines of ``f`` (a last one without a newline counts), at most ``limit``."""
    n, last = 0, b"\n"
    for block in iter(lambda: f.read(CHUNK), b""):
        n += block.count(b"\n")
        last = block[-1:]
        if limit is not None and n >= limit:
            return limit
    return n + (last != b"\n")


class _VectorSink:
    """The words and vectors read so far, in a preallocated float32 array ``(n_alloc, dim)``:
    a duplicate word keeps its first vector (as gensim does), a word that is not UTF-8 is read as
    Latin-1; both are said once, at the end (:func:`_vector_notes`)."""

    def __init__(self, n_alloc: int, dim: int):
        self.vectors = np.empty((n_alloc, dim), dtype=np.float32)
        self.words: list[str] = []
        self.seen: set = set()
        self.dups: list[tuple[str, int]] = []
        self.bad_utf8: list[str] = []

    def add(self, raw: bytes, vec: np.ndarray, where: str, number: int) -> None:
        """Keep ``vec`` for the word ``raw`` (found at ``where``, the ``number``-th line or word)."""
        word = _decode_word(raw, where, self.bad_utf8)
        if word in self.seen:
            self.dups.append((word, number))
            return
        self.seen.add(word)
        self.vectors[len(self.words)] = vec
        self.words.append(word)

    def result(self, p: Path, unit: str = "line") -> tuple[list[str], np.ndarray]:
        """Say the notes and return ``(words, vectors)`` (a view of the rows filled)."""
        _vector_notes(p, self.dups, self.bad_utf8, unit=unit)
        return self.words, self.vectors[: len(self.words)]


class _TextLines:
    """``word v1 ... vD`` lines parsed ``_BLOCK`` at a time (numpy's C parser); a block that does
    not parse is read line by line, to split a token that contains spaces or to name the faulty line."""

    def __init__(self, p: Path, n: int | None, dim: int, n_alloc: int):
        self.p, self.n, self.dim = p, n, dim
        self.sink = _VectorSink(n_alloc, dim)
        self.block: list[tuple[bytes, bytes, int]] = []  # (word, numbers, line number)
        self.expected = (
            f"a word and {dim} numbers ("
            + ("word2vec text, as its header says" if n is not None else "GloVe text, as its first lines")
            + ")"
        )

    def error(self, lineno: int, line: bytes, why: str) -> VectorFileError:
        """The one-line error naming the file, the line, what is wrong and what was expected."""
        preview = line[:70].decode("utf-8", "replace") + ("..." if len(line) > 70 else "")
        return VectorFileError(f"{self.p} line {lineno}: {why}; expected {self.expected}: {preview!r}")

    def too_many(self, lineno: int, line: bytes) -> VectorFileError:
        """The error for a line past the header's count (or past the lines counted)."""
        return self.error(
            lineno,
            line,
            f"more vectors than the header's count {self.n:,}"
            if self.n is not None
            else "more lines than were counted (did the file change while it was read?)",
        )

    def parse_slow(self, line: bytes, lineno: int) -> tuple[bytes, np.ndarray]:
        """One line: the last ``dim`` fields are the vector, the rest (spaces and all) the word."""
        dim = self.dim
        parts = line.rsplit(None, dim)
        if len(parts) < dim + 1 or not parts[0].strip():
            raise self.error(lineno, line, f"{len(line.split())} fields")
        _, numbers = _trailing_numbers(line)
        if numbers > dim and len(parts[0].split()) > 1:  # "cat 1 2 3" with dim 2 is not the token "cat 1"
            raise self.error(lineno, line, f"{numbers} numbers, not {dim}")
        try:
            return parts[0].strip(), np.array([float(x) for x in parts[1:]], dtype=np.float32)
        except ValueError:
            badf = next(x for x in parts[1:] if not _is_number(x)).decode("utf-8", "replace")
            raise self.error(lineno, line, f"{badf!r} is not a number") from None

    def add(self, line: bytes, lineno: int) -> None:
        """Queue a non-empty line as (word, numbers); parse the queue when it holds ``_BLOCK`` lines."""
        dim = self.dim
        word, _, tail = line.partition(b" ")
        if tail.count(b" ") != dim - 1:  # tabs, double spaces or a token with spaces
            parts = line.split()
            word, tail = (parts[0], b" ".join(parts[1:])) if len(parts) == dim + 1 else (b"", b"")
            if not word:
                word, tail = self.parse_slow(line, lineno)[0], b" ".join(parts[-dim:])
        self.block.append((word, tail, lineno))
        if len(self.block) >= _BLOCK:
            self.flush()

    def _parse_block(self) -> np.ndarray | None:
        """The queued numbers as one float32 array, or None when numpy cannot parse them all."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                return np.fromstring(b" ".join(t for _, t, _ in self.block), dtype=np.float32, sep=" ")
            except (ValueError, DeprecationWarning):
                return None

    def flush(self) -> None:
        """Parse the queued lines into the sink (line by line when the block does not parse)."""
        block = self.block
        if not block:
            return
        values = self._parse_block()
        if values is not None and values.size == len(block) * self.dim:
            pairs = zip((w for w, _, _ in block), values.reshape(len(block), self.dim))
        else:  # a token with spaces, a bad number or a short line somewhere in the block
            pairs = [self.parse_slow(w + b" " + t, ln) for w, t, ln in block]
        for (word_b, vec), (_, _, ln) in zip(pairs, block):
            self.sink.add(word_b, vec, f"line {ln}", ln)
        block.clear()


def _read_text_vectors(
    p: Path, f, n: int | None, dim: int, n_alloc: int, limit: int | None, first_line: int = 2
) -> tuple[list[str], np.ndarray]:
    """Stream ``word v1 ... vD`` lines into a preallocated (n_alloc, dim) float32 array (see
    :class:`_TextLines`); a file with fewer lines than its header says is an error."""
    lines = _TextLines(p, n, dim, n_alloc)
    records, lineno = 0, first_line - 1
    for line in f:
        lineno += 1
        line = line.rstrip()
        if not line:
            continue
        if records >= n_alloc:
            if limit is not None and records >= limit:
                break
            raise lines.too_many(lineno, line)
        records += 1
        lines.add(line, lineno)
    lines.flush()
    if n is not None and records < n_alloc:
        raise VectorFileError(
            f"{p}: the header says {n:,} words but the file ends after {records:,} "
            f"(line {lineno}): it is cut short (an interrupted download?)."
        )
    return lines.sink.result(p)


def _read_binary_vectors(
    p: Path, f, n: int, dim: int, n_alloc: int, limit: int | None
) -> tuple[list[str], np.ndarray]:
    """Records ``word<space><dim float32>`` (an optional newline before the word), as gensim
    reads them, into a preallocated float32 array."""
    sink = _VectorSink(n_alloc, dim)
    size = dim * 4
    buf, start, record = b"", 0, 0
    eof = False
    while record < n_alloc:
        space = buf.find(b" ", start)
        if space < 0 or len(buf) - space - 1 < size:
            if eof:
                got = f"after {record:,} of them" if record else "before the first"
                raise VectorFileError(
                    f"{p}: the header says {n:,} words but the binary data ends {got} "
                    "(word2vec binary, gensim binary=True): the file is cut short or the "
                    "header is wrong."
                )
            if space - start > 1000 or (space < 0 and len(buf) - start > 1000):
                raise VectorFileError(
                    f"{p} word {record + 1:,}: no space after a word within 1,000 bytes: not "
                    "word2vec binary (gensim binary=True) as its header suggests."
                )
            more = f.read(CHUNK)
            eof = not more
            buf = buf[start:] + more
            start = 0
            continue
        raw = buf[start:space].lstrip(b"\n\r")
        vec = np.frombuffer(buf, dtype="<f4", count=dim, offset=space + 1)
        start = space + 1 + size
        record += 1
        sink.add(raw, vec, f"word {record:,}", record)
    return sink.result(p, unit="word")


def _vector_notes(p: Path, dups: list, bad_utf8: list, unit: str = "line") -> None:
    """One warning for the duplicate words, one note for the words that are not UTF-8 (stderr)."""
    if dups:
        word, where = dups[0]
        print(
            f"warning: {p} holds {len(dups):,} duplicate word(s) (first {word!r} at {unit} {where:,}); "
            "kept the first vector of each, as gensim does.",
            file=sys.stderr,
            flush=True,
        )
    if bad_utf8:
        print(
            f"note: {p}: {len(bad_utf8):,} word(s) are not UTF-8 (first at {bad_utf8[0]}); "
            "read them as Latin-1.",
            file=sys.stderr,
            flush=True,
        )


# --------------------------------------------------------------------------- CLI
def _human(n: int) -> str:
    """A byte count for people: ``512 B``, ``4.0 MB`` (1 KB = 1024 B)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _parser() -> argparse.ArgumentParser:
    """The command line: ``list``, ``fetch NAME ... | all``, ``verify``, ``path NAME``."""
    parser = argparse.ArgumentParser(
        prog="python -m workshop_sections.data", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the data sets, their sizes, licenses and cache status")
    f = sub.add_parser("fetch", help="fetch data sets into the cache ('all': every required one)")
    f.add_argument("names", nargs="+")
    f.add_argument("--quiet", action="store_true")
    sub.add_parser("verify", help="check every cached file against its checksum")
    p = sub.add_parser("path", help="print the local path of a data set's first file")
    p.add_argument("name")
    return parser


def _cmd_list() -> int:
    """Print one line per data set (size, cache status, license, description), then the cache and mirror."""
    print(f"{'name':<18} {'size':>9}  {'cache':<9} {'license':<38} description")
    for d in REGISTRY.values():
        tag = "" if d.required else " (optional)"
        print(
            f"{d.name:<18} {_human(d.size):>9}  {status(d.name):<9} {d.license[:38]:<38} {d.description}{tag}"
        )
    print(f"cache: {cache_dir()}   mirror: {mirror() or '(none; set WORKSHOP_DATA_MIRROR)'}")
    return 0


def _cmd_fetch(asked: list[str], quiet: bool) -> int:
    """Fetch the data sets named (``all``: every required one, then the optional ones but news20,
    whose absence is only reported)."""
    every = asked == ["all"]
    wanted = [d.name for d in REGISTRY.values() if d.required] if every else asked
    optional = [d.name for d in REGISTRY.values() if not d.required and d.name != "news20"] if every else []
    for name in wanted:
        fetch(name, quiet=quiet)
        print(f"{get(name).name:<18} verified")
    for name in optional:
        try:
            fetch(name, quiet=quiet)
            print(f"{name:<18} verified")
        except DataUnavailableError as exc:
            print(f"{name:<18} not available (optional, only needed for full-size word2vec runs):")
            print("    " + "\n    ".join(str(exc).splitlines()[1:]))
    return 0


def _cmd_verify() -> int:
    """Print each data set's cache status; 1 when one is corrupt, else 0."""
    bad = 0
    for d in REGISTRY.values():
        s = status(d.name)
        bad += s == "corrupt"
        print(f"{d.name:<18} {s}")
    if bad:
        print(
            f"{bad} data set(s) corrupt: run `python -m workshop_sections.data fetch NAME` "
            "to fetch them again."
        )
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m workshop_sections.data``: list, fetch, verify or print the path of data sets.

    Returns the exit status: 0 done, 1 a corrupt cache (``verify``), 2 a :class:`DataError`
    (printed as one ``error: ...`` line on stderr, no traceback).
    """
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "list":
            return _cmd_list()
        if args.cmd == "fetch":
            return _cmd_fetch(args.names, args.quiet)
        if args.cmd == "verify":
            return _cmd_verify()
        if args.cmd == "path":
            print(path(args.name))
            return 0
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
