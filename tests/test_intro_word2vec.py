"""Unit tests of workshop_sections.intro_word2vec.word2vec_basic (the talk's basic word2vec)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workshop_sections import config as workshop_config
from workshop_sections import data
from workshop_sections.intro_word2vec import word2vec_basic as wb

tf = wb.tf


def talk_vocab(words, size, **options):
    """The talk's vocabulary: the size - 1 most frequent words plus UNK at id 0, no minimum count."""
    vocab, ids = wb.build_vocab(words, min_count=1, max_size=size, unk=wb.UNK, **options)
    np.testing.assert_array_equal(ids, vocab.encode(words))  # the ids are the encoded corpus
    return vocab


# --------------------------------------------------------------------------- vocabulary
def test_vocab_orders_by_count_with_unk_first():
    words = "b a c a b a d e".split()
    vocab = talk_vocab(words, 3)  # UNK + the two most frequent
    assert vocab.words == ["UNK", "a", "b"] and vocab.unk == "UNK"
    assert vocab.counts.tolist() == [3, 3, 2]  # c, d, e fell outside the vocabulary
    assert vocab.total == len(words)
    assert vocab.encode("a b c zzz".split()).tolist() == [1, 2, 0, 0]
    with pytest.raises(wb.UnknownWordError, match="'never-seen' is not in the vocabulary"):
        vocab.id("never-seen")
    assert vocab.id("b") == 2
    assert vocab.decode([2, 1, 0]) == ["b", "a", "UNK"]
    assert vocab.most_frequent(1) == ["a"]


def test_vocab_ties_keep_first_appearance_and_size_larger_than_corpus():
    vocab = talk_vocab("z y x y z".split(), 100)
    assert vocab.words == ["UNK", "z", "y", "x"]  # z and y tie at 2: z came first
    assert vocab.counts.tolist() == [0, 2, 2, 1]
    assert len(vocab) == 4


def test_vocab_size_larger_than_distinct_words_says_so(capsys):
    vocab = talk_vocab("a b a".split(), 50, verbose=True)
    assert len(vocab) == 3
    assert "only 2 distinct words" in capsys.readouterr().out


def test_literal_unk_in_text_counts_as_unknown():
    vocab = talk_vocab("UNK a a UNK b".split(), 10)
    assert vocab.words == ["UNK", "a", "b"]
    assert vocab.counts.tolist() == [2, 2, 1]


def test_one_builder_for_both_vocabularies():
    """The same words, cut by a minimum count without UNK (word2vec_optimized's vocabulary: words
    outside it are dropped from the ids) or by size with UNK (the talk's: they become id 0)."""
    words = "b a c a b a d e e".split()
    vocab, ids = wb.build_vocab(words, min_count=2)
    assert vocab.words == ["a", "b", "e"] and vocab.unk is None and ids.tolist() == [1, 0, 0, 1, 0, 2, 2]
    with pytest.raises(wb.UnknownWordError, match="Did you mean: e"):
        vocab.id("ee")
    vocab, ids = wb.build_vocab(words, min_count=2, max_size=3, unk="UNK")
    assert vocab.words == ["UNK", "a", "b"] and ids.tolist() == [2, 1, 0, 1, 2, 1, 0, 0, 0]
    assert vocab.counts.tolist() == [4, 3, 2] and vocab.total == len(words)


@pytest.mark.parametrize("size", [0, 1, -5, 2.5, "10", True])
def test_vocab_bad_size(size):
    with pytest.raises(wb.Word2VecError, match="vocabulary size"):
        talk_vocab(["a", "b"], size)


def test_vocab_empty_corpus():
    with pytest.raises(data.CorpusError, match="no words"):
        talk_vocab([], 10)


# --------------------------------------------------------------------------- skip-gram pairs
def brute_force_pairs(ids, window):
    out = []
    for i in range(len(ids)):
        for j in range(i - window, i + window + 1):
            if j != i and 0 <= j < len(ids):
                out.append((ids[i], ids[j]))
    return out


@pytest.mark.parametrize("window", [1, 2, 3, 7])
def test_pairs_match_brute_force(window):
    rng = np.random.default_rng(window)
    ids = rng.integers(0, 20, size=23).tolist()
    got = wb.skipgram_pairs(ids, window)
    assert got.dtype == np.int32 and got.shape[1] == 2
    assert [tuple(p) for p in got.tolist()] == brute_force_pairs(ids, window)


def test_dynamic_window_pairs_are_a_subset_in_the_same_order():
    ids = np.arange(30, dtype=np.int32)
    every = [tuple(p) for p in wb.skipgram_pairs(ids, 3).tolist()]
    spans = np.random.default_rng(0).integers(1, 4, size=len(ids))
    some = [tuple(p) for p in wb.skipgram_pairs(ids, 3, spans=spans).tolist()]
    assert some == [(t, c) for t, c in every if abs(t - c) <= spans[t]]  # ids are positions here
    assert len(some) < len(every)
    drawn = wb.skipgram_pairs(ids, 3, rng=np.random.default_rng(0))
    assert drawn.tolist() == [list(p) for p in some]  # rng draws the same spans


def test_pairs_of_the_quick_brown_fox():
    pairs = wb.show_pairs(wb.FOX_SENTENCE, window=1)
    words = wb.FOX_SENTENCE.split()
    assert pairs == brute_force_pairs(words, 1)
    # the talk's example: (quick, the), (quick, brown), (brown, quick), (brown, fox), ...
    assert pairs[:6] == [
        ("the", "quick"),
        ("quick", "the"),
        ("quick", "brown"),
        ("brown", "quick"),
        ("brown", "fox"),
        ("fox", "brown"),
    ]
    assert len(pairs) == 2 * (len(words) - 1)
    assert len(wb.show_pairs(wb.FOX_SENTENCE, window=2)) == len(brute_force_pairs(words, 2))


def test_pairs_bad_input():
    with pytest.raises(data.CorpusError, match="0 word"):
        wb.skipgram_pairs([], 2)
    with pytest.raises(data.CorpusError, match="at least 3 words"):
        wb.skipgram_pairs([1, 2], 2)
    with pytest.raises(wb.Word2VecError, match="window"):
        wb.skipgram_pairs([1, 2, 3], 0)


def test_dataset_batches_cover_the_pairs():
    pairs = wb.skipgram_pairs(np.arange(50), 2)
    ds = wb.pairs_dataset(pairs, batch_size=len(pairs), seed=1, repeat=False)
    ((t, c),) = list(ds)
    assert t.dtype == tf.int32 and t.shape == (len(pairs),)
    assert sorted(zip(t.numpy().tolist(), c.numpy().tolist())) == sorted(map(tuple, pairs.tolist()))
    with pytest.raises(wb.Word2VecError, match="smaller batch"):
        wb.pairs_dataset(pairs[:3], batch_size=8)


# --------------------------------------------------------------------------- model and training
def test_model_shapes_and_bad_sizes():
    m = wb.SkipGram(30, dim=8, num_sampled=5, seed=3)
    assert m.embedding.shape == (30, 8) and m.nce_weights.shape == (30, 8) and m.nce_biases.shape == (30,)
    assert {v.name.split(":")[0] for v in m.trainable_variables} == {"embedding", "nce_weights", "nce_biases"}
    with pytest.raises(wb.Word2VecError, match="smaller num_sampled"):
        wb.SkipGram(10, dim=8, num_sampled=64)
    with pytest.raises(wb.Word2VecError, match="dim"):
        wb.SkipGram(10, dim=0, num_sampled=2)


def test_loss_falls_on_a_tiny_repetitive_corpus(tmp_path):
    words = ("the cat sat on the mat . the dog ate the bone . " * 200).split()
    vocab = talk_vocab(words, 20)
    ds = wb.pairs_dataset(wb.skipgram_pairs(vocab.encode(words), 1), batch_size=32, seed=0)
    model = wb.SkipGram(len(vocab), dim=16, num_sampled=4, seed=0)
    first = float(np.mean([model.loss(t, c).numpy() for t, c in ds.take(5)]))
    result = wb.train(
        model,
        ds,
        steps=400,
        vocab=vocab,
        log_dir=tmp_path,
        eval_words=["cat"],
        eval_every=200,
        log_every=100,
        progress=False,
    )
    assert result.steps == 400 and len(result.history) == 4
    assert np.isfinite(result.final_loss)
    assert result.final_loss < 0.7 * first, (first, result.history)
    events = list(tmp_path.glob("events.out.tfevents.*"))
    assert len(events) == 1
    tags = {v.tag for e in tf.compat.v1.train.summary_iterator(str(events[0])) for v in e.summary.value}
    assert tags == {"loss"}


def test_train_rejects_unknown_eval_word():
    words = ("a b c d e f " * 30).split()
    vocab = talk_vocab(words, 10)
    ds = wb.pairs_dataset(wb.skipgram_pairs(vocab.encode(words), 1), batch_size=8, seed=0)
    with pytest.raises(wb.UnknownWordError, match="not in the vocabulary"):
        wb.train(
            wb.SkipGram(len(vocab), 4, 2), ds, 10, vocab, eval_words=["zebra"], eval_every=5, progress=False
        )


# --------------------------------------------------------------------------- nearest neighbours
@pytest.fixture
def hand_made():
    vocab = wb.Vocab(["UNK", "king", "queen", "apple", "pear", "kings"], [0, 5, 4, 3, 2, 1], unk="UNK")
    emb = np.array(
        [
            [0.0, 0.0, 1.0],  # UNK
            [1.0, 0.1, 0.0],  # king
            [0.9, 0.2, 0.0],  # queen: closest to king
            [0.0, 1.0, 0.0],  # apple
            [0.1, 2.0, 0.05],  # pear: long vector, same direction as apple (cosine ignores length)
            [-1.0, 0.0, 0.0],  # kings: opposite of king
        ],
        dtype=np.float32,
    )
    return vocab, emb


def test_nearest_by_cosine(hand_made):
    vocab, emb = hand_made
    near = wb.nearest(emb, vocab, "apple", k=2)
    assert [w for w, _ in near] == ["pear", "queen"]
    assert near[0][1] == pytest.approx(float(emb[4] @ emb[3] / np.linalg.norm(emb[4])), abs=1e-6)
    assert [w for w, _ in wb.nearest(emb, vocab, "king", k=10)] == ["queen", "pear", "apple", "kings"]
    assert wb.nearest_table(emb, vocab, ["king"], k=1) == "Nearest to king: queen"


def test_nearest_unknown_word_suggests_close_words(hand_made):
    vocab, emb = hand_made
    with pytest.raises(wb.UnknownWordError, match=r"'kingz' is not in the vocabulary.*Did you mean: king"):
        wb.nearest(emb, vocab, "kingz")
    with pytest.raises(wb.UnknownWordError, match="lower-cased"):
        wb.nearest(emb, vocab, "King")
    with pytest.raises(wb.UnknownWordError, match="outside the vocabulary"):
        wb.nearest(emb, vocab, "UNK")
    with pytest.raises(wb.Word2VecError, match="rows"):
        wb.nearest(emb[:3], vocab, "king")


# --------------------------------------------------------------------------- the exercise check
def test_check_nearest_to_right_and_wrong(hand_made, capsys):
    vocab, emb = hand_made
    assert wb.check_nearest_to(["queen", "pear"], emb, vocab, word="king", k=2) is True
    assert "Correct!" in capsys.readouterr().out
    assert (
        wb.check_nearest_to(["pear", "queen"], emb, vocab, word="king", k=2) is True
    )  # order does not matter
    assert wb.check_nearest_to([("queen", 0.9), ("pear", 0.1)], emb, vocab, word="king", k=2) is True
    assert wb.check_nearest_to([2, 4], emb, vocab, word="king", k=2) is True  # ids are fine
    assert wb.check_nearest_to(np.array(["queen", "pear"]), emb, vocab, word="king", k=2) is True
    capsys.readouterr()
    cases = [
        (["queen", "kings"], "not among the 2 nearest"),
        (["queen", "king"], "itself"),
        (["queen"], "expected 2 words, got 1"),
        (None, "None"),
        ("queen", "one string"),
        (["queen", 3.5], "neither a word nor a word id"),
        (["queen", "banana"], "not in the vocabulary"),
        (42, "expected a list of 2 words"),
    ]
    for answer, message in cases:
        assert wb.check_nearest_to(answer, emb, vocab, word="king", k=2) is False, answer
        out = capsys.readouterr().out
        assert out.startswith("Not yet") and message in out, (answer, out)


def test_check_nearest_to_accepts_unk_kept_or_left_out(capsys):
    vocab = wb.Vocab(["UNK", "a", "b", "c"], [9, 3, 2, 1], unk="UNK")
    emb = np.array([[1.0, 0.1], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.2]], dtype=np.float32)  # UNK is nearest to a
    assert wb.check_nearest_to(["UNK"], emb, vocab, word="a", k=1) is True
    assert wb.check_nearest_to(["b"], emb, vocab, word="a", k=1) is True  # UNK left out: b is next
    assert wb.check_nearest_to(["c"], emb, vocab, word="a", k=1) is False
    assert "Expected ['b']" in capsys.readouterr().out


def test_check_nearest_to_word_missing_from_vocabulary(hand_made, capsys):
    vocab, emb = hand_made
    assert wb.check_nearest_to(["queen"], emb, vocab, word="kingdom", k=1) is False
    out = capsys.readouterr().out
    assert "'kingdom' is not in this vocabulary" in out and "king" in out


# --------------------------------------------------------------------------- artifacts
def test_projector_export(tmp_path, hand_made):
    from google.protobuf import text_format
    from tensorboard.plugins import projector

    vocab, emb = hand_made
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        tf.summary.scalar("loss", 1.0, step=0)
    assert wb.projector_problems(tmp_path)  # nothing exported yet
    out = wb.export_projector(tmp_path, vocab, emb)
    out = wb.export_projector(tmp_path, vocab, emb * 2)  # re-running replaces, does not pile up
    config = text_format.Parse((tmp_path / "projector_config.pbtxt").read_text(), projector.ProjectorConfig())
    (entry,) = config.embeddings
    ckpt = tf.train.latest_checkpoint(str(tmp_path))
    assert ckpt is not None and out["checkpoint"].name == Path(ckpt).name
    shapes = dict(tf.train.list_variables(ckpt))
    assert entry.tensor_name in shapes and shapes[entry.tensor_name] == [len(vocab), 3]
    np.testing.assert_allclose(tf.train.load_checkpoint(ckpt).get_tensor(entry.tensor_name), emb * 2)
    rows = (tmp_path / entry.metadata_path).read_text().splitlines()
    assert rows == vocab.words  # one row per word, no header, row i = id i
    assert len(list(tmp_path.glob(wb.CHECKPOINT_NAME + "*.index"))) == 1
    assert wb.projector_problems(tmp_path) == []
    assert (
        workshop_config.tensorboard_command(tmp_path / "a" / "logs", tmp_path)
        == "tensorboard --logdir a/logs --host 127.0.0.1 --port 6006"
    )
    outside = tmp_path.parent / "elsewhere"
    assert workshop_config.tensorboard_command(outside, tmp_path).split()[2] == str(outside.resolve())


def test_projector_export_shape_mismatch(tmp_path, hand_made):
    vocab, emb = hand_made
    with pytest.raises(wb.Word2VecError, match="vocabulary"):
        wb.export_projector(tmp_path, vocab, emb[:2])


def test_save_load_round_trip(tmp_path, hand_made):
    vocab, emb = hand_made
    wb.save(tmp_path, vocab, emb)
    vocab2, emb2 = wb.load(tmp_path)
    assert vocab2.words == vocab.words and vocab2.counts.tolist() == vocab.counts.tolist()
    assert vocab2.unk == "UNK"
    np.testing.assert_array_equal(emb2, emb)
    assert emb2.dtype == np.float32
    # load_or_train finds them and does not train
    vocab3, emb3 = wb.load_or_train(tmp_path, verbose=False)
    assert vocab3.words == vocab.words
    with pytest.raises(FileNotFoundError, match="load_or_train"):
        wb.load(tmp_path / "nothing-here")


def test_load_or_train_trains_when_missing(tmp_path, monkeypatch):
    text = tmp_path / "corpus.txt"
    text.write_text("the cat sat on the mat and the dog sat on the log " * 100)
    vocab, emb = wb.load_or_train(
        tmp_path / "out", corpus=str(text), max_words=None, vocab_size=50, steps=50, verbose=False
    )
    assert (tmp_path / "out" / "vocab.tsv").exists() and (tmp_path / "out" / "embeddings.npy").exists()
    assert emb.shape == (len(vocab), 128) and len(vocab) == 9  # 8 distinct words + UNK


def test_corpus_errors(tmp_path, monkeypatch):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    with pytest.raises(data.CorpusError, match="no words"):
        wb.load_corpus(str(empty))
    with pytest.raises(data.CorpusError, match="no words"):
        wb.load_corpus([str(empty), str(empty)])
    with pytest.raises(data.CorpusError, match="neither a known corpus"):
        wb.load_corpus(str(tmp_path / "missing.txt"))
    with pytest.raises(wb.Word2VecError, match="max_words"):
        wb.load_corpus("movie_reviews", max_words=0)
    monkeypatch.setenv(wb.CORPUS_ENV, str(empty))
    choice = wb.choose_corpus(quick=True, quick_max_words=10)
    assert choice.corpora == [str(empty)] and choice.max_words == 10 and wb.CORPUS_ENV in choice.reason
    monkeypatch.delenv(wb.CORPUS_ENV)
    choice = wb.choose_corpus(quick=True)
    assert choice.corpora == ["movie_reviews"] and choice.max_words == wb.CORPUS_QUICK_MAX_WORDS


def test_several_corpora_are_read_one_after_the_other(tmp_path):
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("Hello world\n")
    two.write_text("again world\n")
    assert wb.load_corpus([str(one), str(two)]) == ["hello", "world", "again", "world"]
    assert wb.load_corpus([str(one), str(two)], max_words=3) == ["hello", "world", "again"]


def test_full_mode_falls_back_when_text8_is_unavailable(monkeypatch):
    def unavailable(name, quiet=False):
        raise data.DataUnavailableError(f"Could not get data set {name!r}. Tried:\n  nowhere")

    monkeypatch.delenv(wb.CORPUS_ENV, raising=False)
    monkeypatch.setattr(data, "fetch", unavailable)
    choice = wb.choose_corpus(quick=False, full_max_words=123)
    assert choice.corpora == ["movie_reviews"] and choice.max_words == 123
    assert "text8" in choice.reason and "tried nowhere" in choice.reason and "falling back" in choice.reason
    monkeypatch.setattr(data, "fetch", lambda name, quiet=False: None)
    choice = wb.choose_corpus(quick=False, full_max_words=123)
    assert choice.corpora == ["text8"] and choice.label == "text8 (first 123 words)"


def test_plot_tsne_writes_png(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    vocab = wb.Vocab(["UNK"] + words, [0] + list(range(40, 0, -1)), unk="UNK")
    fig = wb.plot_tsne(
        rng.normal(size=(41, 5)).astype(np.float32), vocab, n=30, path=tmp_path / "tsne.png", max_iter=250
    )
    assert (tmp_path / "tsne.png").stat().st_size > 1000
    assert len(fig.axes[0].texts) == 30
    import matplotlib.pyplot as plt

    plt.close(fig)


# --------------------------------------------------------------------------- the exported lesson cells
def test_exported_cells_are_the_modules_code():
    """The notebook's `#| export` cells are what the module runs (one source)."""
    from workshop_sections.tools import export

    nb = Path(wb.__file__).with_name("intro_word2vec.ipynb")
    (block,) = export.blocks_of(nb)
    assert export.run([nb], write=False)["stale"] == []
    for name in (
        "pairs_dataset",
        "SkipGram",
        "nce_batch_loss",
        "sgd_update",
        "train_step",
        "train_steps",
        "train",
        "nearest_ids",
    ):
        assert f"def {name}(" in block.text or f"class {name}(" in block.text, name


def test_sgd_update_moves_only_the_looked_up_rows():
    m = wb.SkipGram(10, dim=3, num_sampled=2, seed=1)
    before = m.embedding.numpy().copy()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.nn.embedding_lookup(m.embedding, [2, 5]))
    (grad,) = tape.gradient(loss, [m.embedding])
    assert isinstance(grad, tf.IndexedSlices)
    wb.sgd_update([m.embedding], [grad], 0.5)
    after = m.embedding.numpy()
    changed = np.where(np.any(after != before, axis=1))[0].tolist()
    assert changed == [2, 5]
    np.testing.assert_allclose(after[[2, 5]], before[[2, 5]] - 0.5, rtol=1e-6)
    dense = tf.Variable([1.0, 2.0])
    wb.sgd_update([dense], [tf.constant([0.5, -1.0])], 2.0)
    np.testing.assert_allclose(dense.numpy(), [0.0, 4.0])


def test_train_step_lowers_the_loss_of_its_batch_and_traces_once():
    m = wb.SkipGram(50, dim=8, num_sampled=5, seed=0)
    targets, contexts = tf.constant([1, 2, 3, 4]), tf.constant([2, 3, 4, 5])
    tf.random.set_seed(0)
    first = float(wb.train_step(m, targets, contexts))
    for _ in range(30):
        last = float(wb.train_step(m, targets, contexts))
    assert last < first
    ds = wb.pairs_dataset(wb.skipgram_pairs(np.arange(40) % 20, 1), batch_size=8, seed=0)
    it = iter(ds)
    traces = wb.train_steps.experimental_get_tracing_count()
    for n in (3, 5, 7):
        assert np.isfinite(float(wb.train_steps(m, it, tf.constant(n))))
    assert wb.train_steps.experimental_get_tracing_count() - traces <= 1  # one graph for every step count


def test_nearest_ids_matches_a_numpy_reference():
    rng = np.random.default_rng(3)
    emb = rng.normal(size=(30, 6)).astype(np.float32) * rng.uniform(0.1, 5, size=(30, 1)).astype(np.float32)
    normed = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    for word_id in (0, 7, 29):
        sims = normed @ normed[word_id]
        sims[word_id] = -np.inf
        want = np.argsort(-sims, kind="stable")[:5]
        values, ids = wb.nearest_ids(tf.constant(emb), word_id, 5)
        assert ids.numpy().tolist() == want.tolist() and word_id not in ids.numpy()
        np.testing.assert_allclose(values.numpy(), sims[want], atol=1e-5)


def test_nearest_accepts_a_variable_and_caps_k(hand_made):
    vocab, emb = hand_made
    near = wb.nearest(tf.Variable(emb), vocab, "king", k=50, include_unk=True)
    assert len(near) == 5 and "king" not in [w for w, _ in near] and "UNK" in [w for w, _ in near]
    with pytest.raises(wb.Word2VecError, match="k="):
        wb.nearest(emb, vocab, "king", k=0)


def test_train_without_log_dir_writes_nothing_and_bad_steps(tmp_path):
    words = ("a b c d e f " * 30).split()
    vocab = talk_vocab(words, 10)
    ds = wb.pairs_dataset(wb.skipgram_pairs(vocab.encode(words), 1), batch_size=8, seed=0)
    result = wb.train(wb.SkipGram(len(vocab), 4, 2), ds, 7, log_every=3, progress=False)
    assert [s for s, _ in result.history] == [3, 6, 7]
    for steps in (0, 2.5, "10"):
        with pytest.raises(wb.Word2VecError, match="steps"):
            wb.train(wb.SkipGram(len(vocab), 4, 2), ds, steps, progress=False)


# --------------------------------------------------------------------------- the exercises' checks
def _said(capsys):
    return capsys.readouterr().out


def _pairs_solution(ids, window):
    ids = tf.convert_to_tensor(ids)
    pieces = []
    for d in range(1, window + 1):
        pieces += [tf.stack([ids[:-d], ids[d:]], axis=1), tf.stack([ids[d:], ids[:-d]], axis=1)]
    return tf.concat(pieces, axis=0)


def _stub(*args):
    return None


@pytest.mark.parametrize(
    "answer, message",
    [
        (None, "still None"),
        (_stub, "returned None"),
        (
            lambda ids, w: tf.concat([tf.stack([ids[:-d], ids[d:]], axis=1) for d in range(1, w + 1)], 0),
            "only the contexts after each target",
        ),
        (lambda ids, w: tf.transpose(_pairs_solution(ids, w)), "stack the two columns with axis=1"),
        (
            lambda ids, w: tf.concat([tf.stack([ids[:-w], ids[w:]], 1), tf.stack([ids[w:], ids[:-w]], 1)], 0),
            "every offset from 1 to window",
        ),
        (lambda ids, w: tf.cast(_pairs_solution(ids, w), tf.float32), "integers"),
        (lambda ids, w: tf.concat([_pairs_solution(ids, w), tf.stack([ids, ids], 1)], 0), "with itself"),
        (lambda ids, w: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_check_skipgram_pairs(answer, message, capsys):
    assert wb.check_skipgram_pairs(answer) is False
    out = _said(capsys)
    assert out.startswith("Not yet: ") and message in out, out
    assert wb.check_skipgram_pairs(_pairs_solution) is True
    assert _said(capsys).startswith("Correct! ")


@pytest.mark.parametrize(
    "answer, message",
    [
        (None, "still None"),
        (_stub, "returned None"),
        (lambda u, v: tf.reduce_sum(u * v), "is the dot product"),
        (lambda u, v: u * v, "tf.reduce_sum"),
        (lambda u, v: tf.reduce_sum(tf.math.l2_normalize(u) * v), "one length only"),
        (lambda u, v: tf.constant(0.5), "should be 0.96"),
    ],
)
def test_check_cosine_similarity(answer, message, capsys):
    assert wb.check_cosine_similarity(answer) is False
    out = _said(capsys)
    assert out.startswith("Not yet: ") and message in out, out
    good = lambda u, v: tf.tensordot(u, v, 1) / (tf.norm(u) * tf.norm(v))  # noqa: E731
    assert wb.check_cosine_similarity(good) is True
    assert _said(capsys).startswith("Correct! ")


def _per_example(model, targets, contexts):
    return tf.nn.nce_loss(
        weights=model.nce_weights,
        biases=model.nce_biases,
        labels=tf.reshape(tf.cast(contexts, tf.int64), [-1, 1]),
        inputs=tf.nn.embedding_lookup(model.embedding, targets),
        num_sampled=model.num_sampled,
        num_classes=model.vocab_size,
    )


@pytest.mark.parametrize(
    "answer, message",
    [
        (None, "still None"),
        (_stub, "returned None"),
        (_per_example, "tf.reduce_mean"),
        (lambda m, t, c: tf.reduce_sum(_per_example(m, t, c)), "the sum over the batch"),
        (lambda m, t, c: tf.reduce_mean(_per_example(m, c, t)), "expected"),
        (lambda m, t, c: tf.constant(float(wb.nce_batch_loss(m, t, c))), "no gradient"),
    ],
)
def test_check_nce_loss(answer, message, capsys):
    assert wb.check_nce_loss(answer) is False
    out = _said(capsys)
    assert out.startswith("Not yet: ") and message in out, out
    assert wb.check_nce_loss(wb.nce_batch_loss) is True
    assert wb.check_nce_loss(lambda m, t, c: tf.reduce_mean(_per_example(m, t, c))) is True
    assert _said(capsys).count("Correct! ") == 2


def _normed_top(e, i, k):
    n = tf.math.l2_normalize(e, axis=1)
    return tf.math.top_k(tf.linalg.matvec(n, n[i]), k)


@pytest.mark.parametrize(
    "answer, message",
    [
        (None, "still None"),
        (_stub, "returned None"),
        (_normed_top, "among its own neighbours"),
        (
            lambda e, i, k: tf.math.top_k(tf.where(tf.range(8) == i, -np.inf, tf.linalg.matvec(e, e[i])), k),
            "largest dot products",
        ),
        (lambda e, i, k: wb.nearest_ids(e, i, k).indices, "expected (similarities, ids)"),
        (lambda e, i, k: wb.nearest_ids(e, i, k)[::-1], "integers"),
        (lambda e, i, k: (wb.nearest_ids(e, i, k)[0][::-1], wb.nearest_ids(e, i, k)[1][::-1]), "wrong order"),
    ],
)
def test_check_nearest_ids(answer, message, capsys):
    assert wb.check_nearest_ids(answer) is False
    out = _said(capsys)
    assert out.startswith("Not yet: ") and message in out, out
    take_one_more = lambda e, i, k: tuple(x[1:] for x in _normed_top(e, i, k + 1))  # noqa: E731
    assert wb.check_nearest_ids(wb.nearest_ids) is True
    assert wb.check_nearest_ids(take_one_more) is True
    assert _said(capsys).count("Correct! ") == 2


def test_corpus_metric_is_one_string_and_reads_back_to_the_corpora(tmp_path):
    """metrics.json is flat ([A2]): several corpora are one '+'-joined string, and word2vec_optimized
    reads intro's corpus back from it (make run once wrote a list there, and a joined string
    without the way back broke the next section)."""
    assert wb.corpus_metric(["movie_reviews", "news20"]) == "movie_reviews+news20"
    assert wb.corpus_metric("news20") == "news20"
    assert wb.corpus_metric(tmp_path / "c.txt") == str(tmp_path / "c.txt")
    assert wb.corpora_from_metric("movie_reviews+news20") == ["movie_reviews", "news20"]
    assert wb.corpora_from_metric("text8") == ["text8"]
    plus = tmp_path / "c++notes.txt"  # an existing file whose name holds a '+' stays whole
    plus.write_text("some words here\n")
    assert wb.corpora_from_metric(wb.corpus_metric(plus)) == [str(plus)]
    metrics = {"corpus": wb.corpus_metric(["movie_reviews", "news20"])}
    workshop_config.write_metrics("demo", metrics, tmp_path)
    back = workshop_config.read_metrics("demo", tmp_path)["corpus"]
    assert wb.corpora_from_metric(back) == ["movie_reviews", "news20"]
