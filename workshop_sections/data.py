"""The workshop's data registry: what to download, from where, and how to check it.

``fetch(name)`` looks for each file of a data set

1. in the cache (``data/`` or ``WORKSHOP_DATA_DIR``), verified by sha256 on every load;
2. in the mirror ``WORKSHOP_DATA_MIRROR`` if one is set: a folder or an ``http(s)://`` URL
   laid out like the registry's relative paths (an instructor's ``make serve-data``);
3. at the canonical URLs, in order.

A download goes to a temporary file beside its target, with a progress bar, and is renamed
into place only after its size and checksum pass, so the cache never holds a partial or
corrupt file. A re-compressed ``.gz`` is accepted when its decompressed content matches.

Command line::

    python -m workshop_sections.data list
    python -m workshop_sections.data fetch NAME [NAME ...] | all
    python -m workshop_sections.data verify
    python -m workshop_sections.data path NAME
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import io
import os
import re
import shutil
import socket
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from . import config

CHUNK = 1 << 20
TIMEOUT = float(os.environ.get("WORKSHOP_DOWNLOAD_TIMEOUT", "30"))


# --------------------------------------------------------------------------- errors
class DataError(RuntimeError):
    """Base class of the data errors; the message says what went wrong and what to do."""


class UnknownDatasetError(DataError, ValueError):
    pass


class ChecksumError(DataError):
    pass


class DataUnavailableError(DataError):
    pass


class CorpusError(DataError, ValueError):
    pass


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class DataFile:
    path: str  # relative path in the cache and in a mirror
    urls: tuple  # canonical addresses, tried in order
    sha256: str  # of the canonical file
    size: int  # bytes of the canonical file
    content_sha256: str | None = None  # of the decompressed payload (.gz): re-compressed copies pass


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    license: str
    files: tuple
    required: bool = True  # fetched by `make data`; optional ones are tried and may be absent
    aliases: tuple = field(default_factory=tuple)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


_MNIST_URLS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/{}",
    "https://ossci-datasets.s3.amazonaws.com/mnist/{}",
)


def _mnist(name: str, sha: str, size: int, content: str) -> DataFile:
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
                _mnist("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422,
                       "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
                _mnist("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881,
                       "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
                _mnist("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877,
                       "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
                _mnist("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542,
                       "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
            ),
        ),
        Dataset(
            "text8",
            "text8: the first 100 MB of English Wikipedia, cleaned (17,005,207 words); the canonical word2vec corpus",
            "Wikipedia text (CC BY-SA), prepared by Matt Mahoney",
            (DataFile("corpora/text8.zip", ("http://mattmahoney.net/dc/text8.zip",),
                      "a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232", 31344016),),
            required=False,
        ),
        Dataset(
            "movie_reviews",
            "Movie review polarity v2.0 (Pang & Lee 2004): 2,000 reviews, about 1.3M words; a small in-domain word2vec corpus",
            "CC BY 4.0 (NLTK data)",
            (DataFile("nltk/movie_reviews.zip", (_NLTK.format("movie_reviews.zip"),),
                      "a41211ae685019137410268134db6a1a14428c89b671eb83056151a878539008", 4004848),),
            aliases=("movie-reviews",),
        ),
        Dataset(
            "sentence_polarity",
            "Sentence polarity v1.0, 'MR' (Pang & Lee 2005): 5,331 positive and 5,331 negative snippets (Kim 2014)",
            "CC BY 4.0 (NLTK data)",
            (DataFile("nltk/sentence_polarity.zip", (_NLTK.format("sentence_polarity.zip"),),
                      "6e1ed4405b65c7eabf1d199a7f7c437091ac21da0ea7467b410a74062574566b", 490256),),
            aliases=("sentence-polarity", "mr"),
        ),
        Dataset(
            "questions_words",
            "Mikolov's word-analogy questions: 19,544 questions in 14 sections (semantic and syntactic)",
            "Apache 2.0 (TensorFlow)",
            (DataFile("questions-words.txt", ("https://download.tensorflow.org/data/questions-words.txt",),
                      "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36", 603955),),
            aliases=("questions-words", "analogies"),
        ),
        Dataset(
            "news20",
            "20 Newsgroups as one lower-cased line, 5.74M words: the benchmark corpus (only from a mirror)",
            "research use",
            (DataFile("corpora/news20.txt.gz", (),
                      "de65dca7dd24fb592bd0f7177d0c48619b267bd3472e3dfb54fe7cbddd376cc4", 10312882),),
            required=False,
        ),
    )
}


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str) -> Dataset:
    """The registry entry of ``name`` (aliases and ``-``/``_`` accepted)."""
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
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def sha256_gunzip(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                h.update(block)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return h.hexdigest()


def check_file(path: Path, entry: DataFile) -> tuple[bool, str]:
    """(ok, sha256 found). A file passes with the canonical sha256, or, for a re-compressed
    ``.gz``, when its decompressed content has the registered sha256."""
    got = sha256_file(path)
    if got == entry.sha256:
        return True, got
    if entry.content_sha256 and sha256_gunzip(path) == entry.content_sha256:
        return True, got
    return False, got


# --------------------------------------------------------------------------- paths
def cache_dir() -> Path:
    return config.data_dir()


def mirror() -> str | None:
    """``WORKSHOP_DATA_MIRROR``: a folder or an http(s) URL, or None."""
    value = os.environ.get("WORKSHOP_DATA_MIRROR", "").strip()
    return value or None


def _mirror_sources(entry: DataFile) -> list[str]:
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
def _progress(total: int | None, desc: str, quiet: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, disable=quiet,
                leave=False, file=sys.stderr)


def _copy_stream(src, dst, total: int | None, desc: str, quiet: bool) -> int:
    done = 0
    with _progress(total, desc, quiet) as bar:
        for block in iter(lambda: src.read(CHUNK), b""):
            dst.write(block)
            done += len(block)
            bar.update(len(block))
    return done


def _download_to(source: str, tmp: Path, entry: DataFile, quiet: bool) -> None:
    """Copy ``source`` (URL or path) into ``tmp``; raise OSError-like errors on failure."""
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


def _fetch_file(entry: DataFile, dataset: Dataset, quiet: bool) -> Path:
    target = cache_dir() / entry.path
    if target.exists():
        ok, got = check_file(target, entry)
        if ok:
            return target
        print(
            f"The cached file {target} is corrupt: expected sha256 {entry.sha256}, got {got}. "
            "Fetching it again.",
            file=sys.stderr,
        )
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    sources = _mirror_sources(entry) + list(entry.urls)
    tried: list[str] = []
    for source in sources:
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
            return target
        except (OSError, urllib.error.URLError, http.client.HTTPException, socket.timeout, DataError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            tried.append(f"{source}: {reason}")
        finally:
            if tmp.exists():
                tmp.unlink()
    where = "\n  ".join(tried) if tried else "(no mirror is set and this file has no public address)"
    hint = (
        "What to do: check your network connection and run `make data` again; or set "
        "WORKSHOP_DATA_MIRROR to a folder or http URL holding the workshop data (ask your instructor "
        f"for the room mirror); or download {entry.urls[0] if entry.urls else entry.path} yourself "
        f"and put it at {target}."
    )
    raise DataUnavailableError(
        f"Could not get data set {dataset.name!r} (file {entry.path}). Tried:\n  {where}\n{hint}"
    )


def fetch(name: str, quiet: bool = False) -> Path:
    """Make every file of data set ``name`` present and verified in the cache; return the cache
    folder (the files sit at ``<returned>/<entry.path>``)."""
    dataset = get(name)
    for entry in dataset.files:
        _fetch_file(entry, dataset, quiet)
    return cache_dir()


def path(name: str, index: int = 0, quiet: bool = False) -> Path:
    """The verified local path of the ``index``-th file of data set ``name`` (fetched if needed)."""
    dataset = get(name)
    return _fetch_file(dataset.files[index], dataset, quiet)


def status(name: str) -> str:
    """'verified', 'missing' or 'corrupt' for the cached copy of a data set."""
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
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path} is not an idx file (bad magic number)")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code != 0x08:
        raise DataError(f"{path}: unsupported idx data type 0x{dtype_code:02x}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def load_mnist(quiet: bool = False) -> dict[str, np.ndarray]:
    """MNIST as uint8 arrays: x_train (60000, 28, 28), y_train (60000,), x_test, y_test."""
    ds = get("mnist")
    paths = {Path(e.path).name: _fetch_file(e, ds, quiet) for e in ds.files}
    return {
        "x_train": _read_idx(paths["train-images-idx3-ubyte.gz"]),
        "y_train": _read_idx(paths["train-labels-idx1-ubyte.gz"]),
        "x_test": _read_idx(paths["t10k-images-idx3-ubyte.gz"]),
        "y_test": _read_idx(paths["t10k-labels-idx1-ubyte.gz"]),
    }


def load_sentence_polarity(quiet: bool = False) -> tuple[list[str], np.ndarray]:
    """The MR snippets and labels (1 = positive, 0 = negative), positives first."""
    zpath = path("sentence_polarity", quiet=quiet)
    texts: list[str] = []
    labels: list[int] = []
    with zipfile.ZipFile(zpath) as z:
        for fname, label in (("sentence_polarity/rt-polarity.pos", 1), ("sentence_polarity/rt-polarity.neg", 0)):
            lines = z.read(fname).decode("latin-1").splitlines()
            lines = [ln.strip() for ln in lines if ln.strip()]
            texts.extend(lines)
            labels.extend([label] * len(lines))
    return texts, np.array(labels, dtype=np.int64)


def load_movie_reviews(quiet: bool = False) -> tuple[list[str], np.ndarray]:
    """The 2,000 movie reviews as texts and labels (1 = pos, 0 = neg), in a fixed order."""
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
    """Analogy questions as (section, a, b, c, d), lower-cased: a is to b as c is to d."""
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
TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
CORPORA = ("text8", "movie_reviews", "news20")


def tokenize(text: str) -> list[str]:
    """Lower-cased words (letters and digits, inner apostrophes kept), any language."""
    return TOKEN_RE.findall(text.lower())


def _open_text_chunks(p: Path) -> Iterator[str]:
    """Text of a plain, .gz or .zip file in chunks of about 1 MB (decoded as UTF-8)."""
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        if not files:
            raise CorpusError(f"The corpus folder {p} holds no files.")
        for f in files:
            yield from _open_text_chunks(f)
            yield "\n"
        return
    if p.suffix == ".zip":
        with zipfile.ZipFile(p) as z:
            for info in sorted(z.infolist(), key=lambda i: i.filename):
                name = info.filename
                if info.is_dir() or "/." in name or name.rsplit("/", 1)[-1].upper().startswith("README"):
                    continue
                with z.open(info) as f:
                    reader = io.TextIOWrapper(f, encoding="utf-8", errors="replace")
                    for block in iter(lambda: reader.read(CHUNK), ""):
                        yield block
                yield "\n"
        return
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt", encoding="utf-8", errors="replace") as f:
        for block in iter(lambda: f.read(CHUNK), ""):
            yield block


def corpus_path(source: str | os.PathLike) -> Path:
    """A registered corpus name (fetched if needed) or a path to a text/.gz/.zip file or folder."""
    s = str(source)
    try:
        dataset = get(s)
    except UnknownDatasetError:
        p = Path(s).expanduser()
        if not p.exists():
            raise CorpusError(
                f"Corpus {s!r} is neither a known corpus ({', '.join(CORPORA)}) nor an existing file. "
                "Give a data set name or the path of a plain text file (.txt, .gz, .zip or a folder)."
            ) from None
        return p
    if dataset.name not in CORPORA:
        raise CorpusError(f"Data set {dataset.name!r} is not a text corpus; use one of {', '.join(CORPORA)} or a path.")
    return _fetch_file(dataset.files[0], dataset, quiet=False)


def iter_tokens(source: str | os.PathLike) -> Iterator[list[str]]:
    """Stream the words of a corpus, a list per chunk (words never split across chunks)."""
    carry = ""
    for block in _open_text_chunks(corpus_path(source)):
        block = carry + block
        cut = max(block.rfind(" "), block.rfind("\n"))
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


def read_words(source: str | os.PathLike, max_words: int | None = None) -> list[str]:
    """All words of a corpus (or the first ``max_words``), lower-cased."""
    out: list[str] = []
    for words in iter_tokens(source):
        out.extend(words)
        if max_words is not None and len(out) >= max_words:
            return out[:max_words]
    if not out:
        raise CorpusError(f"The corpus {source!s} holds no words.")
    return out


# --------------------------------------------------------------------------- CLI
def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop_sections.data", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the data sets, their sizes, licenses and cache status")
    f = sub.add_parser("fetch", help="fetch data sets into the cache ('all': every required one)")
    f.add_argument("names", nargs="+")
    f.add_argument("--quiet", action="store_true")
    sub.add_parser("verify", help="check every cached file against its checksum")
    p = sub.add_parser("path", help="print the local path of a data set's first file")
    p.add_argument("name")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "list":
            print(f"{'name':<18} {'size':>9}  {'cache':<9} {'license':<38} description")
            for d in REGISTRY.values():
                tag = "" if d.required else " (optional)"
                print(f"{d.name:<18} {_human(d.size):>9}  {status(d.name):<9} {d.license[:38]:<38} {d.description}{tag}")
            print(f"cache: {cache_dir()}   mirror: {mirror() or '(none; set WORKSHOP_DATA_MIRROR)'}")
            return 0
        if args.cmd == "fetch":
            wanted = [d.name for d in REGISTRY.values() if d.required] if args.names == ["all"] else args.names
            optional = [d.name for d in REGISTRY.values() if not d.required and d.name != "news20"] if args.names == ["all"] else []
            for name in wanted:
                fetch(name, quiet=args.quiet)
                print(f"{get(name).name:<18} verified")
            for name in optional:
                try:
                    fetch(name, quiet=args.quiet)
                    print(f"{name:<18} verified")
                except DataUnavailableError as exc:
                    print(f"{name:<18} not available (optional, only needed for full-size word2vec runs):")
                    print("    " + "\n    ".join(str(exc).splitlines()[1:]))
            return 0
        if args.cmd == "verify":
            bad = 0
            for d in REGISTRY.values():
                s = status(d.name)
                bad += s == "corrupt"
                print(f"{d.name:<18} {s}")
            if bad:
                print(f"{bad} data set(s) corrupt: run `python -m workshop_sections.data fetch NAME` to fetch them again.")
            return 1 if bad else 0
        if args.cmd == "path":
            print(path(args.name))
            return 0
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
