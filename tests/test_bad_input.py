"""Issue 12, items 1-3: bad input files get the words as written or a one-line answer.

1. corpus text that is not UTF-8 (cp1252, KOI8-R...) or has almost no spaces;
2. word-vector files from other tools (word2vec text/binary, GloVe, fastText .vec, tokens with
   spaces, limits, memory) and every file that is none of them;
3. an empty or odd corpus path (folders with virtual environments, broken .gz files).

Every file here is small and made by the test.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import subprocess
import sys
import tracemalloc
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pytest

from workshop_sections import data

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
FRENCH = "Le café est très bon"
FRENCH_WORDS = ["le", "café", "est", "très", "bon"]


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def run_cli(module: str, *args, cwd=None, timeout=240) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [PY, "-m", module, *args], capture_output=True, text=True, cwd=cwd or ROOT, env=env, timeout=timeout
    )


# =========================================================================== 1. encodings and spaces
def test_cp1252_corpus_reads_the_words_as_written_with_one_note(tmp_path, capsys):
    p = tmp_path / "fr.txt"
    p.write_bytes((FRENCH + ". Nous sommes français, ça coûte 5 €.\n").encode("cp1252"))
    words = data.read_words(p)
    assert words[:5] == FRENCH_WORDS
    assert {"français", "ça", "coûte"} <= set(words)
    assert not any("\ufffd" in w for w in words)
    err = capsys.readouterr().err
    note = one_line(err)
    assert str(p) in note and "not UTF-8" in note and "cp1252" in note


@pytest.mark.parametrize("pack", ["gz", "bz2", "xz", "zip", "folder"])
def test_cp1252_in_every_container(tmp_path, capsys, pack):
    raw = (FRENCH + "\n").encode("cp1252")
    if pack == "folder":
        target = tmp_path / "corpus"
        target.mkdir()
        (target / "a.txt").write_bytes(raw)
        (target / "b.txt").write_text("déjà vu\n", encoding="utf-8")
    elif pack == "zip":
        target = tmp_path / "c.zip"
        with zipfile.ZipFile(target, "w") as z:
            z.writestr("corpus/a.txt", raw)
    else:
        target = tmp_path / f"c.txt.{pack}"
        target.write_bytes({"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[pack](raw))
    words = data.read_words(target)
    assert words[:5] == FRENCH_WORDS
    if pack == "folder":
        assert words[5:] == ["déjà", "vu"]
    note = one_line(capsys.readouterr().err)
    assert "cp1252" in note and ("a.txt" in note or str(target) in note)


def test_a_folder_of_many_cp1252_files_gets_five_notes_and_a_summary(tmp_path, capsys):
    for i in range(8):
        (tmp_path / f"{i}.txt").write_bytes(f"très bien {i}\n".encode("cp1252"))
    assert data.read_words(tmp_path)[:3] == ["très", "bien", "0"]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 6 and all("cp1252" in ln for ln in lines[:5])
    assert lines[5] == "note: 3 more files were not UTF-8 either (8 in all: 8 read as cp1252)"


def test_a_utf8_character_cut_by_a_chunk_is_not_a_decoding_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, "CHUNK", 7)  # "é" is 2 bytes: some chunk ends between them
    p = tmp_path / "u.txt"
    p.write_text("café crème " * 50, encoding="utf-8")
    assert data.read_words(p) == ["café", "crème"] * 50
    assert capsys.readouterr().err == ""


def test_utf8_then_cp1252_in_one_file(tmp_path, capsys):
    p = tmp_path / "mixed.txt"
    p.write_bytes("naïve start\n".encode() + "puis très bon\n".encode("cp1252"))
    assert data.read_words(p) == ["naïve", "start", "puis", "très", "bon"]
    note = one_line(capsys.readouterr().err)
    assert "from byte 20 on" in note and "cp1252" in note


def test_cyrillic_koi8_is_detected(tmp_path, capsys):
    pytest.importorskip("charset_normalizer")
    text = "Привет мир, это проверка кодировки текста. Слова должны быть прочитаны правильно.\n" * 3
    p = tmp_path / "ru.txt"
    p.write_bytes(text.encode("koi8_r"))
    assert data.read_words(p) == data.tokenize(text)
    assert "koi8" in one_line(capsys.readouterr().err)


def test_forced_encoding_and_a_bad_encoding_name(tmp_path, monkeypatch, capsys):
    p = tmp_path / "ru.txt"
    p.write_bytes("Привет мир".encode("cp1251"))
    monkeypatch.setenv(data.ENCODING_ENV, "cp1251")
    assert data.read_words(p) == ["привет", "мир"]
    assert capsys.readouterr().err == ""
    monkeypatch.setenv(data.ENCODING_ENV, "no-such-codec")
    with pytest.raises(data.CorpusError, match="not an encoding Python knows"):
        data.read_words(p)


def test_utf16_with_a_bom(tmp_path):
    p = tmp_path / "notepad.txt"
    p.write_text("Grüße aus Köln\n", encoding="utf-16")
    assert data.read_words(p) == ["grüße", "aus", "köln"]


def test_words_keep_their_combining_marks_and_decomposed_accents():
    assert data.tokenize("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # the vowel signs are part of the word
    assert data.tokenize(unicodedata.normalize("NFD", FRENCH)) == FRENCH_WORDS
    assert data.tokenize("snake_case l'été") == ["snake", "case", "l'été"]


def test_text_with_almost_no_spaces_is_said_so(tmp_path, capsys):
    p = tmp_path / "zh.txt"
    p.write_text(
        "我爱自然语言处理。今天天气很好，我们去公园散步吧。机器学习是人工智能的一个分支。\n" * 5,
        encoding="utf-8",
    )
    words = data.read_words(p)
    assert words[0] == "我爱自然语言处理"
    warning = one_line(capsys.readouterr().err)
    assert warning.startswith("warning:") and str(p) in warning and "almost no spaces" in warning
    assert 'one "word"' in warning


@pytest.mark.parametrize(
    "name, line",
    [
        ("ja.txt", "日本語のテキストにはスペースがありませんので全ての行が一つの単語になってしまいます"),
        ("th.txt", "ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรคระหว่างคำ แต่เว้นวรรคระหว่างประโยค"),
        ("b64.txt", "QmFzZTY0IGlzIG5vdCB0ZXh0IHdpdGggd29yZHMsIGl0IGlzIG9uZSBsb25nIHRva2Vu"),
    ],
)
def test_lines_without_word_spaces_are_refused(tmp_path, name, line):
    p = tmp_path / name
    p.write_text((line + "\n") * 5, encoding="utf-8")
    with pytest.raises(data.CorpusError, match="almost no spaces") as e:
        data.read_words(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_english_long_word_languages_and_punctuated_data_get_no_warning(tmp_path, capsys):
    csv = tmp_path / "numbers.txt"
    csv.write_text("1,22,333,4,55\n" * 50)
    assert data.read_words(csv)[:3] == ["1", "22", "333"]
    p = tmp_path / "fi.txt"
    p.write_text(
        "Lentokonesuihkuturbiinimoottoriapumekaanikkoaliupseerioppilas istui "
        "järjestelmällisyydelläänkään kahvilassa ja joi kahvia.\n" * 20,
        encoding="utf-8",
    )
    data.read_words(p)
    assert capsys.readouterr().err == ""


# =========================================================================== 3. corpus paths
@pytest.mark.parametrize("path", ["", "   "])
def test_an_empty_corpus_path_is_an_error(path):
    with pytest.raises(data.CorpusError, match="corpus path is empty"):
        data.read_words(path)


def test_a_folder_is_read_for_its_text_files_only(tmp_path, capsys):
    root = tmp_path / "checkout"
    for d in (
        ".venv/lib",
        "venv/lib",
        "env/lib",
        ".git",
        "node_modules/x",
        "src/__pycache__",
        "lib/site-packages/pkg",
        "notes",
    ):
        (root / d).mkdir(parents=True)
        (root / d / "junk.txt").write_text("junkword " * 10)
    (root / "env" / "pyvenv.cfg").write_text("home = /usr\n")  # a virtual environment of any name
    (root / ".hidden.txt").write_text("junkword")
    (root / "notes" / "junk.txt").unlink()
    (root / "notes" / "a.txt").write_text("alpha beta\n")
    (root / "notes" / "b.txt.gz").write_bytes(gzip.compress(b"gamma\n"))
    (root / "notes" / "c.gz").write_bytes(gzip.compress(b"delta\n"))
    with zipfile.ZipFile(root / "notes" / "d.zip", "w") as z:
        z.writestr("e.txt", "epsilon\n")
    (root / "notes" / "broken.gz").write_text("this is not gzip")
    (root / "notes" / "blob.txt").write_bytes(b"\x00\x01binary")
    (root / "notes" / "script.py").write_text("import os  # pythonword\n")
    words = data.read_words(root)
    assert words == ["alpha", "beta", "gamma", "delta", "epsilon"]
    err = capsys.readouterr().err
    assert "junkword" not in " ".join(words) and "pythonword" not in words
    lines = err.splitlines()
    assert any(
        ln.startswith("warning: skipped") and "broken.gz" in ln and "not a gzip file" in ln for ln in lines
    )
    assert any(ln.startswith("warning: skipped") and "blob.txt" in ln and "not text" in ln for ln in lines)
    assert any("script.py" in ln for ln in lines)  # the files it did not read are named


def test_a_folder_without_text_files_is_an_error(tmp_path):
    (tmp_path / "x.py").write_text("print(1)\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "a.txt").write_text("hidden words")
    with pytest.raises(data.CorpusError, match="holds no text files") as e:
        data.read_words(tmp_path)
    assert "x.py" in str(e.value)


def test_broken_files_given_by_name_are_named_in_one_line(tmp_path):
    cases = {
        "fake.gz": b"plain text, not gzip",
        "cut.txt.gz": gzip.compress(b"hello world " * 2000)[:60],
        "fake.zip": b"PK\x03\x04 not really a zip",
        "blob.bin": bytes(range(256)) * 4,
        "cut.bz2": bz2.compress(b"hello world " * 2000)[:60],
    }
    for name, raw in cases.items():
        p = tmp_path / name
        p.write_bytes(raw)
        with pytest.raises(data.CorpusError) as e:
            data.read_words(p)
        msg = str(e.value)
        assert str(p) in msg and "\n" not in msg, msg


# =========================================================================== 2. word-vector files
def write_binary(path: Path, words, vectors, newline=True, compress=False):
    vectors = np.asarray(vectors, dtype="<f4")
    raw = f"{len(words)} {vectors.shape[1]}\n".encode() + b"".join(
        w.encode() + b" " + v.tobytes() + (b"\n" if newline else b"") for w, v in zip(words, vectors)
    )
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


WORDS = ["the", "café", "naïve", "2010", "dog"]
VECS = (np.arange(15, dtype=np.float32).reshape(5, 3) - 7) / 4


def text_lines(words=WORDS, vecs=VECS):
    return "".join(w + " " + " ".join(f"{x:.6g}" for x in v) + "\n" for w, v in zip(words, vecs))


@pytest.mark.parametrize(
    "kind",
    [
        "word2vec",
        "fasttext",
        "glove",
        "glove-tabs",
        "binary",
        "binary-no-newline",
        "binary-gz",
        "text-gz",
        "crlf",
    ],
)
def test_the_formats_other_tools_write(tmp_path, kind):
    p = tmp_path / "v"
    if kind == "word2vec":
        p.write_text(f"5 3\n{text_lines()}", encoding="utf-8")
    elif kind == "fasttext":  # fastText ends every line with a space
        p.write_text("5 3\n" + text_lines().replace("\n", " \n"), encoding="utf-8")
    elif kind == "glove":
        p.write_text(text_lines(), encoding="utf-8")
    elif kind == "glove-tabs":
        p.write_text(text_lines().replace(" ", "\t"), encoding="utf-8")
    elif kind.startswith("binary"):
        write_binary(p, WORDS, VECS, newline=kind != "binary-no-newline", compress=kind == "binary-gz")
    elif kind == "text-gz":
        p.write_bytes(gzip.compress(f"5 3\n{text_lines()}".encode()))
    elif kind == "crlf":
        p.write_bytes(f"5 3\n{text_lines()}".replace("\n", "\r\n").encode())
    words, vectors = data.load_word_vectors(p)
    assert words == WORDS
    assert vectors.dtype == np.float32 and vectors.shape == (5, 3)
    np.testing.assert_allclose(vectors, VECS, rtol=1e-6)


def test_tokens_with_spaces_take_all_but_the_last_dim_fields(tmp_path):
    p = tmp_path / "spaces.vec"
    p.write_text("3 3\nnew york 0.4 0.5 0.6\nthe 1 2 3\nlos angeles ca 7 8 9\n")
    words, vectors = data.load_word_vectors(p)
    assert words == ["new york", "the", "los angeles ca"]
    np.testing.assert_allclose(vectors[0], [0.4, 0.5, 0.6], rtol=1e-6)
    glove = tmp_path / "spaces.txt"  # no header: the dimension comes from the other lines
    glove.write_text("the 1 2 3\nnew york 0.4 0.5 0.6\nof 4 5 6\n")
    words, vectors = data.load_word_vectors(glove)
    assert words == ["the", "new york", "of"] and vectors.shape == (3, 3)


def test_limit_reads_only_the_first_words(tmp_path):
    text = tmp_path / "v.vec"
    text.write_text(f"5 3\n{text_lines()}")
    binary = write_binary(tmp_path / "v.bin", WORDS, VECS)
    glove = tmp_path / "g.txt"
    glove.write_text(text_lines())
    for p in (text, binary, glove):
        words, vectors = data.load_word_vectors(p, limit=2)
        assert words == WORDS[:2] and vectors.shape == (2, 3)
        np.testing.assert_allclose(vectors, VECS[:2])
    assert data.load_word_vectors(text, limit=0)[1].shape == (0, 3)
    with pytest.raises(data.VectorFileError, match="limit"):
        data.load_word_vectors(text, limit=-1)


def test_duplicates_and_non_utf8_words_are_said_once(tmp_path, capsys):
    p = tmp_path / "dup.vec"
    p.write_bytes(b"3 2\ncat 1 2\ncat 3 4\n" + "caf\u00e9".encode("latin-1") + b" 5 6\n")
    words, vectors = data.load_word_vectors(p)
    assert words == ["cat", "café"]
    np.testing.assert_allclose(vectors, [[1, 2], [5, 6]])
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "duplicate" in err[0] and "line 3" in err[0] and "Latin-1" in err[1]


BAD_VECTOR_FILES = {
    # name: (content, what the one-line message must say)
    "york.vec": (b"2 3\nnew york 0.4 0.5\ncat 1 2 3\n", "line 2"),
    "short.vec": (b"5 3\ncat 1 2 3\ndog 4 5 6\n", "header"),
    "cut.vec": (b"300 2\n" + b"wordword 1.5 2.5\n" * 100 + b"x 1\n", "line 102"),
    "ends.vec": (b"300 2\n" + b"wordword 1.5 2.5\n" * 100, "ends after 100"),
    "more.vec": (b"1 3\ncat 1 2 3\ndog 4 5 6\n", "line 3"),
    "wrongdim.vec": (b"2 2\ncat 1 2 3\ndog 4 5 6\n", "line 2: 3 numbers, not 2"),
    "hello.txt": (b"hello world\nthis is prose\n", "line 1"),
    "numbers.tsv": (b"0.1\t0.2\n0.3\t0.4\n", "no words"),
    "empty.vec": (b"", "empty"),
    "zero.vec": (b"3 0\n", "0 dimensions"),
    "model.bin": ((793712314).to_bytes(4, "little") + b"\0" * 64, "fastText model"),
    "trunc.bin": (b"3 4\nab " + np.ones(4, "<f4").tobytes() + b"cd " + b"\1\2", "cut short"),
    "nul.txt": (b"\0\0\0\0binary", "binary data"),
}


@pytest.mark.parametrize("name", sorted(BAD_VECTOR_FILES))
def test_files_that_are_not_word_vectors_are_refused_in_one_line(tmp_path, name):
    content, says = BAD_VECTOR_FILES[name]
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(data.VectorFileError) as e:
        data.load_word_vectors(p)
    msg = str(e.value)
    assert str(p) in msg and says in msg and "\n" not in msg, msg


def test_archives_folders_and_empty_paths_are_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "glove.6B.zip", "w") as z:
        z.writestr("glove.6B.50d.txt", text_lines())
    with pytest.raises(data.VectorFileError, match="unzip it.*|glove.6B.50d.txt"):
        data.load_word_vectors(tmp_path / "glove.6B.zip")
    np.savez(tmp_path / "vectors.npz", vectors=VECS)
    with pytest.raises(data.VectorFileError, match="NumPy"):
        data.load_word_vectors(tmp_path / "vectors.npz")
    (tmp_path / "vectors.vec").write_text(f"5 3\n{text_lines()}")
    with pytest.raises(data.VectorFileError, match="is a folder.*vectors.vec"):
        data.load_word_vectors(tmp_path)
    with pytest.raises(data.VectorFileError, match="empty path"):
        data.load_word_vectors("")
    with pytest.raises(FileNotFoundError, match="nope.vec"):
        data.load_word_vectors(tmp_path / "nope.vec")


def test_a_huge_header_is_refused_before_allocating(tmp_path):
    p = tmp_path / "huge.vec"
    p.write_text("2000000000 300\ncat 1 2 3\n")
    with pytest.raises(data.VectorFileError, match="line 1: the header says 2,000,000,000 words"):
        data.load_word_vectors(p)


def test_load_vec_uses_the_reader(tmp_path):
    from workshop_sections.word2vec_optimized import word2vec_fast as w2v

    emb = w2v.load_vec(write_binary(tmp_path / "v.bin", WORDS, VECS), limit=3)
    assert emb.words == WORDS[:3] and emb.vectors.shape == (3, 3)
    bad = tmp_path / "bad.vec"
    bad.write_text("2 3\nnew york 0.4 0.5\n")
    with pytest.raises(w2v.Word2VecError, match="bad.vec line 2"):
        w2v.load_vec(bad)


def test_streaming_memory_is_about_the_array(tmp_path):
    """Peak Python/numpy allocations while reading = the float32 array + the words + small
    blocks, not a multiple of the file (the old reader held the text three times over)."""
    rng = np.random.default_rng(0)
    n, dim = 20_000, 50
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    p = tmp_path / "big.vec"
    with open(p, "w") as f:
        f.write(f"{n} {dim}\n")
        for i in range(n):
            f.write(f"w{i} " + " ".join(f"{x:.6f}" for x in vecs[i]) + "\n")
    size = p.stat().st_size
    tracemalloc.start()
    words, vectors = data.load_word_vectors(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_allclose(vectors, vecs, atol=1e-6)
    # the array, ~200 bytes a word (the str, the list, the duplicate check), ~2 MB of line blocks
    assert peak < vectors.nbytes + 200 * n + 2_000_000, (peak, vectors.nbytes, size)
    assert peak < size


def test_same_as_gensim_when_it_is_installed(tmp_path):
    keyed = pytest.importorskip("gensim.models").KeyedVectors
    binary = write_binary(tmp_path / "v.bin", WORDS, VECS, newline=False)
    kv = keyed.load_word2vec_format(str(binary), binary=True)
    words, vectors = data.load_word_vectors(binary)
    assert words == kv.index_to_key
    np.testing.assert_array_equal(vectors, kv.vectors)
    kv.save_word2vec_format(str(tmp_path / "g.bin"), binary=True)
    kv.save_word2vec_format(str(tmp_path / "g.vec"), binary=False)
    for name in ("g.bin", "g.vec"):
        w, v = data.load_word_vectors(tmp_path / name)
        assert w == kv.index_to_key
        np.testing.assert_allclose(v, kv.vectors, rtol=1e-6)
    glove = tmp_path / "glove.txt"
    glove.write_text(text_lines())
    kv = keyed.load_word2vec_format(str(glove), binary=False, no_header=True)
    w, v = data.load_word_vectors(glove)
    assert w == kv.index_to_key
    np.testing.assert_allclose(v, kv.vectors, rtol=1e-6)


# =========================================================================== the CLIs: exit 2, one line
@pytest.mark.parametrize(
    "corpus, says",
    [
        ("", "corpus path is empty"),
        ("broken.gz", "not a gzip file"),
        ("nothing", "holds no text files"),
        ("ja.txt", "almost no spaces"),
        ("cut.txt.gz", "damaged"),
    ],
)
def test_word2vec_cli_bad_corpus_exits_2_with_one_line(tmp_path, monkeypatch, capsys, corpus, says):
    from workshop_sections.word2vec_optimized import __main__ as cli

    (tmp_path / "broken.gz").write_text("not gzip")
    (tmp_path / "cut.txt.gz").write_bytes(gzip.compress(b"hello world " * 2000)[:60])
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "setup.py").write_text("x = 1\n")
    (tmp_path / "ja.txt").write_text(
        "日本語のテキストにはスペースがありませんので全ての行が一つの単語になってしまいます\n" * 5
    )
    monkeypatch.chdir(tmp_path)
    arg = str(tmp_path / corpus) if corpus else ""
    code = cli.main(["--corpus", arg, "--out", str(tmp_path / "o"), "--quiet", "--no-eval"])
    assert code == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("error: ") and says in line
    if corpus:
        assert corpus in line
    assert not (tmp_path / "o").exists()


def test_word2vec_cli_process_exits_2_without_a_traceback(tmp_path):
    r = run_cli(
        "workshop_sections.word2vec_optimized", "--corpus", "", "--out", str(tmp_path / "o"), cwd=tmp_path
    )
    assert r.returncode == 2
    assert one_line(r.stderr).startswith("error: The corpus path is empty")


def test_word2vec_cli_trains_on_cp1252_with_the_words_as_written(tmp_path):
    from workshop_sections.word2vec_optimized import __main__ as cli

    p = tmp_path / "fr.txt"
    p.write_bytes(((FRENCH + ". Un thé très chaud, un café très fort. ") * 400 + "\n").encode("cp1252"))
    out = tmp_path / "out"
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(
            [
                "--corpus",
                str(p),
                *"--epochs 1 --dim 8 --window 2 --negatives 2 --min-count 1 --no-eval --quiet".split(),
                "--out",
                str(out),
            ]
        )
    assert code == 0, err.getvalue()
    vocab = [ln.split("\t")[0] for ln in (out / "vocab.tsv").read_text(encoding="utf-8").splitlines()]
    assert {"café", "très", "thé"} <= set(vocab) and "caf" not in vocab and "tr" not in vocab
    assert "cp1252" in err.getvalue() and str(p) in err.getvalue()
    assert json.loads((out / "metrics.json").read_text())["vocab_size"] == len(vocab)


@pytest.fixture(scope="module")
def cnn_cli():
    pytest.importorskip("tensorflow")
    from workshop_sections.cnn_text_classification import __main__ as cli

    return cli


def _cnn(cli, capsys, vectors: str, tmp_path) -> tuple[int, str]:
    code = cli.main(
        [
            "--init",
            "word2vec-static",
            "--vectors",
            vectors,
            "--limit",
            "50",
            "--epochs",
            "1",
            "--seeds",
            "1",
            "--out",
            str(tmp_path / "bench"),
        ]
    )
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "name", ["missing.vec", "york.vec", "model.bin", "hello.txt", "short.vec", "folder", "empty"]
)
def test_cnn_cli_bad_vectors_exit_2_with_one_line(cnn_cli, capsys, tmp_path, name):
    (tmp_path / "folder").mkdir()
    for bad in ("york.vec", "model.bin", "hello.txt", "short.vec"):
        (tmp_path / bad).write_bytes(BAD_VECTOR_FILES[bad][0])
    arg = "" if name == "empty" else str(tmp_path / name)
    code, err = _cnn(cnn_cli, capsys, arg, tmp_path)
    assert code == 2
    line = one_line(err)
    assert line.startswith("error: ")
    assert name in line if name != "empty" else "--vectors is empty" in line


def test_word2vec_cli_refuses_an_out_that_is_a_file_before_training(tmp_path, capsys):
    from workshop_sections.word2vec_optimized import __main__ as cli

    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat " * 200)
    target = tmp_path / "taken.txt"
    target.write_text("mine")
    assert cli.main(["--corpus", str(corpus), "--epochs", "1", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out ") and "is a file, not a folder" in err and err.count("\n") == 1
    assert target.read_text() == "mine"
