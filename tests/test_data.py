"""The data registry: cache -> mirror -> canonical URLs, checksums, atomic writes, clear errors."""

import gzip
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from workshop_sections import data

PAYLOAD = b"the quick brown fox jumped over the lazy dog\n" * 200


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("WORKSHOP_DATA_DIR", str(d))
    monkeypatch.delenv("WORKSHOP_DATA_MIRROR", raising=False)
    return d


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def register(monkeypatch, urls=(), payload=PAYLOAD, content_sha=None, path="toy/toy.txt", name="toy"):
    entry = data.DataFile(path, tuple(urls), sha(payload), len(payload), content_sha)
    ds = data.Dataset(name, "a toy data set for tests", "CC0", (entry,))
    monkeypatch.setitem(data.REGISTRY, name, ds)
    return entry


def no_partials(folder: Path):
    return [p.name for p in folder.rglob("*") if p.name.endswith(".part")] if folder.exists() else []


class Server:
    """A real http server on 127.0.0.1 serving a folder (or a custom handler)."""

    def __init__(self, directory=None, handler=None):
        handler = handler or partial(QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# ------------------------------------------------------------------ registry
def test_unknown_data_set_lists_known_names():
    with pytest.raises(data.UnknownDatasetError) as err:
        data.fetch("imagenet")
    msg = str(err.value)
    assert "imagenet" in msg
    for name in ("mnist", "text8", "movie_reviews", "sentence_polarity", "questions_words"):
        assert name in msg


def test_registry_entries_are_complete():
    for ds in data.REGISTRY.values():
        assert ds.license and ds.description
        for f in ds.files:
            assert len(f.sha256) == 64 and f.size > 0
            assert all(u.startswith(("http://", "https://")) for u in f.urls)
    assert data.get("MR").name == "sentence_polarity"
    assert data.get("questions-words").name == "questions_words"


# ------------------------------------------------------------------ folder mirror
@pytest.mark.parametrize("as_url", [False, True], ids=["path", "file-url"])
def test_fetch_from_folder_mirror_then_cache(cache, tmp_path, monkeypatch, as_url):
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "toy.txt").write_bytes(PAYLOAD)
    register(monkeypatch)
    monkeypatch.setenv("WORKSHOP_DATA_MIRROR", mirror.as_uri() if as_url else str(mirror))
    p = data.path("toy", quiet=True)
    assert p == cache / "toy" / "toy.txt" and p.read_bytes() == PAYLOAD
    (mirror / "toy" / "toy.txt").unlink()  # now only the cache has it
    assert data.path("toy", quiet=True).read_bytes() == PAYLOAD
    assert data.status("toy") == "verified"


@pytest.mark.parametrize("over_http", [False, True], ids=["folder", "http"])
def test_recompressed_mirror_file_accepted_by_content(cache, tmp_path, monkeypatch, over_http):
    """The room mirror's MNIST training images are such a file (the reason the download is not pooch's)."""
    canonical = gzip.compress(PAYLOAD, compresslevel=9, mtime=0)
    recompressed = gzip.compress(PAYLOAD, compresslevel=1, mtime=12345)
    assert sha(canonical) != sha(recompressed)
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "toy.gz").write_bytes(recompressed)
    register(monkeypatch, payload=canonical, content_sha=sha(PAYLOAD), path="toy/toy.gz")
    with Server(mirror) as srv:
        monkeypatch.setenv("WORKSHOP_DATA_MIRROR", srv.url if over_http else str(mirror))
        p = data.path("toy", quiet=True)
    assert p.read_bytes() == recompressed, "kept as served: only its content is checked"
    assert data.status("toy") == "verified"


def test_download_progress_in_a_log_is_plain_lines(cache, tmp_path, monkeypatch, capsys):
    """Not a terminal (pytest captures stderr): config.progress's few plain lines, no carriage returns."""
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "toy.txt").write_bytes(PAYLOAD)
    register(monkeypatch)
    monkeypatch.setenv("WORKSHOP_DATA_MIRROR", str(mirror))
    data.fetch("toy")
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "toy.txt:   0% (0/9,000 B)" in err and "toy.txt: 100% (9,000/9,000 B)" in err
    data.fetch("toy")  # cached: no download, no bar
    assert capsys.readouterr().err == ""


def test_checksum_mismatch_names_file_expected_and_got_and_leaves_nothing(cache, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    bad = PAYLOAD[:-10] + b"corrupted!"
    (mirror / "toy" / "toy.txt").write_bytes(bad)
    entry = register(monkeypatch)
    monkeypatch.setenv("WORKSHOP_DATA_MIRROR", str(mirror))
    with pytest.raises(data.DataUnavailableError) as err:
        data.fetch("toy", quiet=True)
    msg = str(err.value)
    assert "checksum mismatch for toy/toy.txt" in msg
    assert entry.sha256 in msg and sha(bad) in msg
    assert not (cache / "toy" / "toy.txt").exists()
    assert no_partials(cache) == []


def test_corrupt_cached_file_is_fetched_again(cache, tmp_path, monkeypatch, capsys):
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "toy.txt").write_bytes(PAYLOAD)
    register(monkeypatch)
    (cache / "toy").mkdir(parents=True)
    (cache / "toy" / "toy.txt").write_bytes(b"half a file")
    assert data.status("toy") == "corrupt"
    monkeypatch.setenv("WORKSHOP_DATA_MIRROR", str(mirror))
    assert data.path("toy", quiet=True).read_bytes() == PAYLOAD
    err = capsys.readouterr().err
    assert "is corrupt" in err and "Fetching it again" in err


# ------------------------------------------------------------------ http
def test_http_mirror_on_loopback(cache, tmp_path, monkeypatch):
    served = tmp_path / "served"
    (served / "toy").mkdir(parents=True)
    (served / "toy" / "toy.txt").write_bytes(PAYLOAD)
    register(monkeypatch)
    with Server(served) as srv:
        monkeypatch.setenv("WORKSHOP_DATA_MIRROR", srv.url + "/")
        assert data.path("toy", quiet=True).read_bytes() == PAYLOAD


def test_falls_back_from_broken_mirror_to_canonical_url(cache, tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    (served / "toy.txt").write_bytes(PAYLOAD)
    with Server(served) as srv:
        register(monkeypatch, urls=[srv.url + "/toy.txt"])
        monkeypatch.setenv("WORKSHOP_DATA_MIRROR", str(tmp_path / "empty-mirror"))
        assert data.path("toy", quiet=True).read_bytes() == PAYLOAD


class CutOffHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_download_cut_off_halfway_leaves_no_file(cache, monkeypatch):
    with Server(handler=CutOffHandler) as srv:
        register(monkeypatch, urls=[srv.url + "/toy.txt"])
        with pytest.raises(data.DataUnavailableError) as err:
            data.fetch("toy", quiet=True)
    assert "cut off after 4,500 of 9,000 bytes" in str(err.value)
    assert not (cache / "toy" / "toy.txt").exists()
    assert no_partials(cache) == []


def test_no_network_and_no_mirror_names_everything_tried(cache, monkeypatch):
    urls = [f"http://127.0.0.1:{closed_port()}/toy.txt", f"http://127.0.0.1:{closed_port()}/again/toy.txt"]
    register(monkeypatch, urls=urls)
    with pytest.raises(data.DataUnavailableError) as err:
        data.fetch("toy", quiet=True)
    msg = str(err.value)
    assert "'toy'" in msg
    for u in urls:
        assert u in msg
    assert "WORKSHOP_DATA_MIRROR" in msg and "What to do" in msg
    assert no_partials(cache) == []


# ------------------------------------------------------------------ the real files
SHARED = os.environ.get("WORKSHOP_DATA_MIRROR")


@pytest.mark.skipif(not SHARED or not Path(SHARED).is_dir(), reason="needs the workshop data mirror folder")
def test_real_mnist_from_mirror_including_the_recompressed_file(cache):
    os.environ["WORKSHOP_DATA_MIRROR"] = SHARED
    m = data.load_mnist(quiet=True)
    assert m["x_train"].shape == (60000, 28, 28) and m["x_train"].dtype == np.uint8
    assert m["y_train"].shape == (60000,) and m["x_test"].shape == (10000, 28, 28)
    assert set(np.unique(m["y_test"])) == set(range(10))
    assert data.status("mnist") == "verified"


def test_loaders_of_text_data_sets():
    texts, labels = data.load_sentence_polarity(quiet=True)
    assert len(texts) == 10662 and int(labels.sum()) == 5331
    q = data.load_questions_words(quiet=True)
    assert len(q) == 19544 and q[0] == ("capital-common-countries", "athens", "greece", "baghdad", "iraq")
    assert len({s for s, *_ in q}) == 14
    reviews, rl = data.load_movie_reviews(quiet=True)
    assert len(reviews) == 2000 and int(rl.sum()) == 1000


# ------------------------------------------------------------------ corpora
def test_tokenize_handles_case_punctuation_and_unicode():
    assert data.tokenize("The Quick, brown fox's DEN!") == ["the", "quick", "brown", "fox's", "den"]
    assert data.tokenize("Café über naïve") == ["café", "über", "naïve"]


def test_tokenize_takes_the_same_words_on_its_fast_ascii_path():
    """ASCII text goes through ASCII_TOKEN_RE, everything else through TOKEN_RE: on 2,000 random
    ASCII strings (cases, digits, apostrophes, underscores, punctuation, white space) both give
    the same words."""
    import random  # noqa: PLC0415
    import unicodedata  # noqa: PLC0415

    rng = random.Random(0)
    alphabet = "aZ9_'' \n\t.,-!?\"()x0Q"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        general = data.TOKEN_RE.findall(unicodedata.normalize("NFC", text.lower()).replace("_", " "))
        assert data.tokenize(text) == general, text
    assert data.tokenize("It's 2 o'clock_now, isn't it'") == ["it's", "2", "o'clock", "now", "isn't", "it"]


def test_ids_by_first_appearance_numbers_words_in_their_order_across_chunks():
    """The first pass of a vocabulary (ids_by_first_appearance) against a plain dictionary: ids
    0, 1, 2, ... by first appearance across chunks (empty chunks included), int32, the distinct
    words in that order; no words at all is a CorpusError naming the corpus."""
    import random  # noqa: PLC0415

    rng = random.Random(1)
    chunks = [
        [rng.choice("abcdefghij") * rng.randint(1, 3) for _ in range(rng.randint(0, 50))] for _ in range(9)
    ]
    want_index: dict = {}
    want = [want_index.setdefault(w, len(want_index)) for chunk in chunks for w in chunk]
    ids, words = data.ids_by_first_appearance(iter(chunks), "test")
    assert ids.dtype == np.int32 and ids.tolist() == want and words == list(want_index)
    with pytest.raises(data.CorpusError, match="my corpus holds no words"):
        data.ids_by_first_appearance(iter([[], []]), "my corpus")


def test_read_words_from_plain_gz_zip_and_folder(tmp_path):
    text = "alpha beta gamma " * 1000
    (tmp_path / "c.txt").write_text(text)
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(text.encode()))
    with zipfile.ZipFile(tmp_path / "c.zip", "w") as z:
        z.writestr("corpus/a.txt", text)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text(text)
    for p in ("c.txt", "c.txt.gz", "c.zip", "folder"):
        words = data.read_words(tmp_path / p)
        assert len(words) == 3000 and words[:3] == ["alpha", "beta", "gamma"]
    assert data.read_words(tmp_path / "c.txt", max_words=5) == ["alpha", "beta", "gamma", "alpha", "beta"]


def test_words_are_not_split_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CHUNK", 7)
    (tmp_path / "c.txt").write_text("internationalisation of words " * 5)
    words = data.read_words(tmp_path / "c.txt")
    assert words == ["internationalisation", "of", "words"] * 5


def test_corpus_errors_are_clear(tmp_path):
    with pytest.raises(data.CorpusError, match="neither a known corpus"):
        data.read_words(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("  \n ,, \n")
    with pytest.raises(data.CorpusError, match="holds no words"):
        data.read_words(tmp_path / "empty.txt")
    with pytest.raises(data.CorpusError, match="not a text corpus"):
        data.read_words("mnist")


# ------------------------------------------------------------------ CLI
def test_cli_list_fetch_verify(cache, tmp_path, monkeypatch, capsys):
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "toy.txt").write_bytes(PAYLOAD)
    register(monkeypatch)
    monkeypatch.setenv("WORKSHOP_DATA_MIRROR", str(mirror))
    assert data.main(["fetch", "toy", "--quiet"]) == 0
    assert data.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "toy" in out and "verified" in out
    assert data.main(["fetch", "nope"]) == 2
    assert "Unknown data set 'nope'" in capsys.readouterr().err
    (cache / "toy" / "toy.txt").write_bytes(b"tampered")
    assert data.main(["verify"]) == 1
    assert "corrupt" in capsys.readouterr().out


# --------------------------------------------------------------------------- CorpusScan
_SCAN_TEXT = "the cat sat on the mat\nthe dog sat\n" * 50 + "a rare word\n"


def _in_fresh_python(code: str) -> subprocess.CompletedProcess:
    """``code`` in a new Python without TensorFlow (a command line's start, where the scan forks)."""
    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root)


def test_corpus_scan_in_a_child_process_reads_what_this_process_reads(tmp_path):
    """A command line's scan runs in a child (forked before TensorFlow) and hands back the same ids
    and words as reading here, across two files; the child's note (an encoding guessed) is
    written once, when the result is taken."""
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(_SCAN_TEXT)
    b.write_bytes("zebra café ".encode("cp1252") * 10)
    code = (
        "import sys\n"
        "from workshop_sections import data\n"
        f"scan = data.CorpusScan([{str(a)!r}, {str(b)!r}], max_words=2000)\n"
        "print(scan.background, repr(scan).endswith('reading)'), file=sys.stdout, flush=True)\n"
        "ids, words = scan.result()\n"
        "print(len(ids), words[:3], words[-1], repr(scan).endswith('done)'), 'tensorflow' in sys.modules)\n"
    )
    proc = _in_fresh_python(code)
    assert proc.returncode == 0, proc.stderr
    ids, words = data.ids_by_first_appearance(data.iter_corpus_tokens([a, b], 2000), "test")
    assert proc.stdout.splitlines() == [
        "True True",
        f"{len(ids)} ['the', 'cat', 'sat'] café True False",
    ]
    assert len(ids) == 50 * 9 + 3 + 20 and words[-1] == "café"
    assert proc.stderr.count("b.txt") == 1 and "cp1252" in proc.stderr  # the note, once


def test_corpus_scan_failing_or_dying_child_reads_here_with_the_usual_error(tmp_path):
    """Whatever fails in the child is read again here: a missing or empty corpus raises the same
    one-line CorpusError as without a scan (its warning written once, not twice), and a child
    killed mid-read (out of memory) still gives the corpus."""
    empty, binary, good = tmp_path / "empty.txt", tmp_path / "folder", tmp_path / "good.txt"
    empty.write_text("  \n\n")
    binary.mkdir()
    (binary / "x.txt").write_bytes(bytes(range(256)) * 50)
    good.write_text(_SCAN_TEXT * 200)
    code = (
        "import os, signal, sys\n"
        "from workshop_sections import data\n"
        f"for path in ({str(tmp_path / 'missing.txt')!r}, {str(empty)!r}, {str(binary)!r}):\n"
        "    scan = data.CorpusScan(path)\n"
        "    try:\n"
        "        scan.result()\n"
        "    except data.CorpusError as exc:\n"
        "        print(scan.background, repr(scan).endswith('failed)'), type(exc).__name__, str(exc))\n"
        f"scan = data.CorpusScan({str(good)!r})\n"
        "os.kill(scan._proc.pid, signal.SIGKILL)\n"
        "ids, words = scan.result()\n"
        "print(len(ids), words[:2])\n"
    )
    proc = _in_fresh_python(code)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("True True CorpusError Corpus ") and "neither a known corpus" in lines[0]
    assert lines[1].startswith("True True CorpusError") and "holds no words" in lines[1]
    assert lines[2].startswith("True True CorpusError") and "no readable text file" in lines[2]
    assert lines[3] == f"{200 * (50 * 9 + 3)} ['the', 'cat']"
    assert proc.stderr.count("x.txt") == 1  # the skipped file's warning, once


def test_corpus_scan_in_this_process(tmp_path):
    """Without a child (asked, or TensorFlow already running in this process) the scan reads here,
    when its result is first asked for."""
    path = tmp_path / "c.txt"
    path.write_text(_SCAN_TEXT)
    scan = data.CorpusScan(path, background=False)
    assert not scan.background and repr(scan).endswith("not started)")
    ids, words = scan.result()
    assert words[:4] == ["the", "cat", "sat", "on"] and len(ids) == 50 * 9 + 3
    assert repr(scan).endswith("done)")
