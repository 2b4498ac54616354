"""The room data mirror end to end on 127.0.0.1: one process serves, this one fetches."""

import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from proc_helpers import stop

from workshop_sections import data
from workshop_sections.tools import serve_data

ROOT = Path(__file__).resolve().parents[1]
SMALL = ("questions_words", "sentence_polarity")  # about 1 MB together


@pytest.fixture()
def source_cache(tmp_path):
    """A cache holding two verified data sets and one corrupt file."""
    src = tmp_path / "served"
    for name in SMALL:
        try:
            local = data.path(name, quiet=True)
        except data.DataError as exc:
            pytest.skip(f"{name} is not available here ({str(exc).splitlines()[0]})")
        target = src / data.get(name).files[0].path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(local, target)
    corrupt = src / data.get("movie_reviews").files[0].path
    corrupt.parent.mkdir(parents=True, exist_ok=True)
    corrupt.write_bytes(b"not the movie reviews")
    return src


def test_only_verified_files_are_listed(source_cache):
    files = serve_data.verified_files(source_cache)
    assert sorted(files) == sorted(data.get(n).files[0].path for n in SMALL)
    assert serve_data.skipped_files(source_cache, files) == ["nltk/movie_reviews.zip"]


def test_room_addresses():
    assert serve_data.room_addresses("127.0.0.1") == ["127.0.0.1"]
    assert all(not a.startswith("127.") for a in serve_data.room_addresses("0.0.0.0") if a[0].isdigit())


def test_mirror_end_to_end(source_cache, tmp_path, monkeypatch, mirror_server):
    proc, url, printed = mirror_server(source_cache)
    try:
        assert url, f"the server printed no mirror line: {''.join(printed)} {proc.poll()}"
        assert any("not served (fails its checksum): nltk/movie_reviews.zip" in ln for ln in printed)

        # an attendee: empty cache, the mirror line pasted
        dest = tmp_path / "attendee"
        monkeypatch.setenv("WORKSHOP_DATA_DIR", str(dest))
        monkeypatch.setenv("WORKSHOP_DATA_MIRROR", url)
        for name in SMALL:
            assert data.status(name) == "missing"
            data.fetch(name, quiet=True)
            assert data.status(name) == "verified"  # checksums pass
        texts, labels = data.load_sentence_polarity(quiet=True)
        assert len(texts) == 10662 and labels.sum() == 5331

        # corrupt files, unknown paths and path tricks are not served
        for bad in ("nltk/movie_reviews.zip", "../pyproject.toml", "%2e%2e/pyproject.toml", "nltk/"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(f"{url}/{bad}", timeout=10)
            assert err.value.code == 404
        index = urllib.request.urlopen(url + "/", timeout=10).read().decode()
        assert "WORKSHOP_DATA_MIRROR=" in index and "questions-words.txt" in index
    finally:
        stop(proc)
        log = proc.stderr.read()
        proc.stderr.close()
    # the files really came through the mirror
    assert '"GET /questions-words.txt HTTP/1.1" 200' in log, log
    assert '"GET /nltk/sentence_polarity.zip HTTP/1.1" 200' in log, log


def test_refuses_an_empty_cache(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "workshop_sections.tools.serve_data",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "make data" in out.stderr
