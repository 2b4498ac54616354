"""Unit tests of the cnn_text_classification section (text_cnn.py and its CLI)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workshop_sections.cnn_text_classification import text_cnn as tc
from workshop_sections.cnn_text_classification.__main__ import _fold_ids
from workshop_sections.cnn_text_classification.__main__ import main as cli_main


# --------------------------------------------------------------------------- helpers
def read_vec(path):
    """Test-only fallback reader of the word2vec text format (the section uses word2vec_fast)."""
    try:
        from workshop_sections.word2vec_optimized import word2vec_fast
    except ImportError:
        word2vec_fast = None
    if word2vec_fast is not None:
        return word2vec_fast.load_vec(path)

    class Emb:
        pass

    lines = path.read_text().splitlines()[1:]
    emb = Emb()
    emb.words = [ln.split()[0] for ln in lines]
    emb.vectors = np.array([[float(x) for x in ln.split()[1:]] for ln in lines], dtype=np.float32)
    return emb


@pytest.fixture
def vec_file(tmp_path):
    rng = np.random.default_rng(1)
    words = ["good", "bad", "film", "boring", "great"]
    vectors = rng.normal(0, 0.3, size=(len(words), 6)).astype(np.float32)
    path = tmp_path / "tiny.vec"
    path.write_text(
        f"{len(words)} 6\n"
        + "".join(w + " " + " ".join(f"{x:.6f}" for x in v) + "\n" for w, v in zip(words, vectors))
    )
    return path, dict(zip(words, vectors))


@pytest.fixture(scope="module")
def tiny_classifier():
    vocab = tc.build_sentence_vocab([["good", "film"], ["bad", "film"], ["great", "fun", "good"]])
    tc.keras.utils.set_random_seed(0)
    model = tc.build_model(len(vocab), embed_dim=8, maps=4)
    return tc.TextClassifier(model, vocab)


# --------------------------------------------------------------------------- tokenisation
def test_clean_str_splits_contractions_and_punctuation_like_kim():
    assert tc.tokenize("Isn't it great? A gripping, beautifully-shot film!") == [
        "is",
        "n't",
        "it",
        "great",
        "?",
        "a",
        "gripping",
        ",",
        "beautifully",
        "shot",
        "film",
        "!",
    ]
    assert tc.tokenize("the director's film (2002) we've seen") == [
        "the",
        "director",
        "'s",
        "film",
        "(",
        "2002",
        ")",
        "we",
        "'ve",
        "seen",
    ]
    assert tc.clean_str("  MIXED   Case \t text ") == "mixed case text"


def test_tokenize_folds_accents_repairs_mojibake_and_drops_other_scripts():
    assert tc.tokenize("très naïve café") == ["tres", "naive", "cafe"]
    assert tc.tokenize("the clichÃ©s disappear") == ["the", "cliches", "disappear"]  # UTF-8 read as Latin-1
    assert tc.tokenize("映画 ok") == ["ok"]
    assert tc.tokenize("") == [] and tc.tokenize("...") == []
    with pytest.raises(TypeError, match="expected a string"):
        tc.clean_str(None)


# --------------------------------------------------------------------------- vocabulary + padding
def test_vocab_reserves_pad_and_unk_and_orders_by_frequency():
    vocab = tc.build_sentence_vocab([["b", "a", "a"], ["c", "a", "b"]])
    assert vocab.words == ["<pad>", "<unk>", "a", "b", "c"]
    assert vocab.encode(["a", "zzz", "c"]) == [2, 1, 4]
    assert vocab.decode([2, 3, 0, 0]) == ["a", "b"]
    assert "a" in vocab and "zzz" not in vocab
    assert tc.build_sentence_vocab([["b", "a", "a"]], min_count=2).words == ["<pad>", "<unk>", "a"]
    again = tc.SentenceVocab.from_json(json.loads(json.dumps(vocab.to_json())))
    assert again.words == vocab.words


def test_vocab_extra_words_are_appended_once_and_capped():
    vocab = tc.build_sentence_vocab([["a", "b"]], extra_words=["b", "x", "y", "z"], max_extra=2)
    assert vocab.words == ["<pad>", "<unk>", "a", "b", "x", "y"]
    assert "x" not in vocab.counts  # extra words are not training words


def test_pad_truncates_and_zero_pads():
    x = tc.pad([[5, 6, 7], [1], []], max_len=2)
    assert x.dtype == np.int32 and x.tolist() == [[5, 6], [1, 0], [0, 0]]
    assert tc.pad([[3, 4]], max_len=4).tolist() == [[3, 4, 0, 0]]
    with pytest.raises(ValueError):
        tc.pad([[1]], max_len=0)


def test_bucketed_batches_pad_to_the_smallest_bucket_and_keep_every_sentence():
    assert tc.bucket_lengths(56) == [8, 16, 24, 32, 40, 48, 56]
    ids = [[1] * n for n in (3, 9, 20, 56, 80)]
    b = tc.BucketBatches(ids, np.arange(5), batch_size=2, max_len=56, shuffle=True, seed=0)
    shapes = {}
    for i in range(len(b)):
        x, y = b[i]
        for row, label in zip(x, y):
            shapes[int(label)] = x.shape[1]
            assert int(row.sum()) == min(len(ids[label]), 56)  # the ids survive, padding is zero
    assert shapes == {0: 8, 1: 16, 2: 24, 3: 56, 4: 56}
    assert sorted(b.order().tolist()) == [0, 1, 2, 3, 4]


# --------------------------------------------------------------------------- splits
def test_split_indices_are_disjoint_stratified_and_fixed():
    labels = np.array([0, 1] * 100)
    tr, dv, te = tc.split_indices(labels, fold=3, folds=10)
    assert len(set(tr) | set(dv) | set(te)) == 200 and len(tr) + len(dv) + len(te) == 200
    assert len(te) == 20 and labels[te].mean() == 0.5
    again = tc.split_indices(labels, fold=3, folds=10)
    assert all((a == b).all() for a, b in zip((tr, dv, te), again))
    tests = np.concatenate([tc.split_indices(labels, fold=k, folds=5)[2] for k in range(5)])
    assert sorted(tests.tolist()) == list(range(200))  # k folds: every example tested once
    with pytest.raises(ValueError, match="fold must be between"):
        tc.split_indices(labels, fold=10, folds=10)


def test_load_split_quick_subset_is_balanced():
    s = tc.load_split(limit=400)
    assert len(s.train_texts) + len(s.dev_texts) + len(s.test_texts) == 400
    assert abs(s.train_labels.mean() - 0.5) < 0.05
    assert s.train_tokens[0] == tc.tokenize(s.train_texts[0])
    assert "train" in s.summary()


# --------------------------------------------------------------------------- embeddings
def test_embedding_matrix_known_word_gets_its_vector_unknown_a_random_one(vec_file):
    path, vectors = vec_file
    emb = read_vec(path)
    vocab = tc.build_sentence_vocab([["good", "film", "film", "plot"], ["bad", "zzzz"]])
    matrix, cov = tc.embedding_matrix(vocab, emb, seed=0)
    assert matrix.shape == (len(vocab), 6) and matrix.dtype == np.float32
    for w in ("good", "film", "bad"):
        np.testing.assert_allclose(matrix[vocab.index[w]], vectors[w], atol=1e-5)
    a = np.sqrt(3) * np.asarray(emb.vectors).std()
    for w in ("plot", "zzzz", "<unk>"):
        row = matrix[vocab.index[w]]
        assert np.all(np.abs(row) <= a + 1e-6) and np.abs(row).sum() > 0
    assert not np.allclose(matrix[vocab.index["plot"]], matrix[vocab.index["zzzz"]])
    assert np.all(matrix[0] == 0)  # padding
    assert (cov.vocab_words, cov.words_found, cov.tokens, cov.tokens_found) == (5, 3, 6, 4)
    assert "3 of 5" in str(cov)
    other, _ = tc.embedding_matrix(vocab, emb, seed=1)
    assert not np.allclose(other[vocab.index["plot"]], matrix[vocab.index["plot"]])  # random, seeded


def test_postprocess_vectors_centres_removes_the_top_direction_and_equalises_lengths():
    rng = np.random.default_rng(0)
    common = rng.normal(size=16)
    freq_scale = np.linspace(5, 1, 400)[:, None]  # frequent words (first rows) get longer vectors
    raw = (rng.normal(size=(400, 16)) + 3 * common) * freq_scale
    out = tc.postprocess_vectors(raw, remove_top=1)
    assert out.shape == raw.shape and out.dtype == np.float32
    target = 0.25 / np.sqrt(3) * np.sqrt(16)  # the average length of a CNN-rand vector
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), target, rtol=1e-5)
    centred = raw - raw.mean(0)
    top = np.linalg.svd(centred, full_matrices=False)[2][0]
    assert np.abs(out @ top).max() < 1e-4  # nothing left along the strongest direction
    kept = tc.postprocess_vectors(raw, remove_top=0, norm=1.0)  # only centred and rescaled
    cos = np.sum(kept * centred, axis=1) / np.linalg.norm(centred, axis=1)
    np.testing.assert_allclose(cos, 1.0, rtol=1e-5)
    for bad, match in ((np.ones(5), "2 or more rows"), (raw[:1], "2 or more rows")):
        with pytest.raises(ValueError, match=match):
            tc.postprocess_vectors(bad)
    with pytest.raises(ValueError, match="remove_top"):
        tc.postprocess_vectors(raw, remove_top=16)


def test_vector_stats_show_the_common_direction_and_the_frequency_lengths():
    rng = np.random.default_rng(0)
    raw = (rng.normal(size=(3000, 8)) + 4 * rng.normal(size=8)) * np.linspace(4, 1, 3000)[:, None]
    st = tc.vector_stats(raw, bands=(1000,))
    assert list(st["length_by_frequency_rank"]) == ["1-1,000", "1,001-3,000"]
    first, rest = st["length_by_frequency_rank"].values()
    assert first > 1.5 * rest and st["top_direction_variance"] > 0.5 and st["mean_vector_length"] > 5
    table = tc.vector_stats_table(raw)
    assert "raw" in table and "processed" in table and "frequency rank 1-1,000" in table
    after = tc.vector_stats(tc.postprocess_vectors(raw), bands=(1000,))
    assert after["mean_vector_length"] < 0.2 * st["mean_vector_length"]
    np.testing.assert_allclose(
        list(after["length_by_frequency_rank"].values()), 0.25 / np.sqrt(3) * np.sqrt(8), rtol=1e-5
    )


def test_embedding_matrix_with_postprocessing_uses_the_processed_vectors(vec_file):
    path, _ = vec_file
    emb = read_vec(path)
    vocab = tc.build_sentence_vocab([["good", "film", "plot"]])
    matrix, _ = tc.embedding_matrix(vocab, emb, seed=0, postprocess=True)
    processed = tc.postprocess_vectors(np.asarray(emb.vectors), remove_top=1)
    for w in ("good", "film"):
        np.testing.assert_allclose(matrix[vocab.index[w]], processed[list(emb.words).index(w)], atol=1e-6)
    a = np.sqrt(3) * processed.std()  # an unknown word: random, at the scale of the processed vectors
    assert 0 < np.abs(matrix[vocab.index["plot"]]).max() <= a + 1e-6


def test_contraction_pieces_get_the_vector_of_their_word2vec_form():
    lookup = {"not": 0, "s": 1, "film": 2, "are": 3}
    assert tc.vector_index("film", lookup) == 2
    assert tc.vector_index("n't", lookup) == 0  # Kim's "is n't" -> "not"
    assert tc.vector_index("'s", lookup) == 1 and tc.vector_index("film'", lookup) == 2
    assert tc.vector_index("'re", lookup) == 3
    assert tc.vector_index(",", lookup) is None and tc.vector_index("'ll", lookup) is None


def test_load_vectors_missing_file_says_how_to_make_one(tmp_path):
    pytest.importorskip("workshop_sections.word2vec_optimized.word2vec_fast")
    with pytest.raises(FileNotFoundError, match="word2vec_optimized"):
        tc.load_vectors(tmp_path / "none.vec")


# --------------------------------------------------------------------------- the model
def test_model_output_shape_any_length_and_kim_layers():
    model = tc.build_model(50, embed_dim=8)
    for length in (8, 56):
        out = np.asarray(model(np.ones((4, length), dtype=np.int32)))
        assert out.shape == (4, 2)
        np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
    convs = [layer for layer in model.layers if isinstance(layer, tc.layers.Conv1D)]
    assert sorted(c.kernel_size[0] for c in convs) == [3, 4, 5] and all(c.filters == 100 for c in convs)
    assert model.get_layer("dropout").rate == 0.5
    assert isinstance(model.get_layer("softmax").kernel_constraint, tc.keras.constraints.MaxNorm)
    with pytest.raises(ValueError, match="widest filter"):
        tc.build_model(50, max_len=4)


def test_model_pads_both_ends_of_a_sentence_like_kim():
    model = tc.build_model(50, embed_dim=8)
    assert tuple(model.get_layer("edge_padding").padding) == (4, 4)  # widest filter (5) - 1
    x = model.get_layer("edge_padding")(np.ones((1, 2, 8), dtype=np.float32))
    assert x.shape == (1, 10, 8) and float(np.abs(np.asarray(x)[0, :4]).sum()) == 0.0
    assert np.asarray(model(np.array([[3, 7]], dtype=np.int32))).shape == (
        1,
        2,
    )  # 2 words fill a 5-word filter
    plain = tc.build_model(50, embed_dim=8, edge_padding=0)
    assert "edge_padding" not in [layer.name for layer in plain.layers]


def test_model_with_pretrained_embeddings_static_and_tuned():
    matrix = np.random.default_rng(0).normal(size=(20, 6)).astype(np.float32)
    static = tc.build_model(20, embeddings=matrix, trainable=False)
    np.testing.assert_allclose(static.get_layer("embedding").get_weights()[0], matrix)
    assert not static.get_layer("embedding").trainable
    assert tc.build_model(20, embeddings=matrix, trainable=True).get_layer("embedding").trainable
    with pytest.raises(ValueError, match="rows"):
        tc.build_model(21, embeddings=matrix)


def test_build_model_is_the_notebooks_kim_cnn():
    """build_model only checks arguments and picks the embedding: the layers are kim_cnn's."""
    wrapped = tc.build_model(40, embed_dim=8)
    direct = tc.kim_cnn(tc.random_embedding(40, 8))
    assert [layer.name for layer in wrapped.layers] == [layer.name for layer in direct.layers]
    assert wrapped.count_params() == direct.count_params() == 40 * 8 + 3 * 100 * 8 * 4 + 300 + 300 * 2 + 2
    assert tc.build_model(40, embed_dim=8, trainable=False).get_layer("embedding").trainable is False
    with pytest.raises(ValueError, match="at least one word"):
        tc.build_model(2)


def test_word2vec_embedding_starts_from_the_matrix_and_survives_save_and_load(tmp_path):
    matrix = np.random.default_rng(0).normal(size=(30, 5)).astype(np.float32)
    model = tc.kim_cnn(tc.word2vec_embedding(matrix, trainable=False), maps=4)
    np.testing.assert_allclose(model.get_layer("embedding").get_weights()[0], matrix)
    assert not model.get_layer("embedding").trainable_weights
    path = tmp_path / "m.keras"
    model.save(path)
    again = tc.keras.models.load_model(path)
    np.testing.assert_allclose(again.get_layer("embedding").get_weights()[0], matrix)
    import zipfile

    config = zipfile.ZipFile(path).read("config.json")
    assert len(config) < 20_000, "the matrix is stored as a weight, not in the layer config"


def test_compile_cnn_and_training_callbacks(tmp_path):
    model = tc.compile_cnn(tc.kim_cnn(tc.random_embedding(20, 4), maps=2), learning_rate=0.01)
    assert isinstance(model.optimizer, tc.keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    cbs = tc.training_callbacks(tmp_path / "logs", patience=3)
    stop = [c for c in cbs if isinstance(c, tc.keras.callbacks.EarlyStopping)][0]
    assert stop.patience == 3 and stop.monitor == "val_accuracy" and stop.restore_best_weights
    assert any(isinstance(c, tc.keras.callbacks.TensorBoard) for c in cbs)
    assert len(tc.training_callbacks()) == 1  # no log_dir, no TensorBoard


def test_kim_cnn_widths_maps_and_no_edge_padding():
    model = tc.kim_cnn(tc.random_embedding(20, 4), widths=(2, 3), maps=5, edge_padding=0, num_classes=3)
    convs = [layer for layer in model.layers if isinstance(layer, tc.layers.Conv1D)]
    assert sorted(c.kernel_size[0] for c in convs) == [2, 3] and all(c.filters == 5 for c in convs)
    assert "edge_padding" not in [layer.name for layer in model.layers]
    assert np.asarray(model(np.ones((2, 3), dtype=np.int32))).shape == (2, 3)


def test_train_cnn_learns_a_toy_task():
    rng = np.random.default_rng(0)
    filler = ["the", "movie", "was", "a", "plot", "and", "it"]

    def sentences(n):
        texts, labels = [], []
        for i in range(n):
            y = i % 2
            words = list(rng.choice(filler, 6)) + [("great" if y else "awful")]
            rng.shuffle(words)
            texts.append(" ".join(words))
            labels.append(y)
        return texts, np.array(labels)

    split = tc.Split(*sentences(150), *sentences(40), *sentences(40))
    r = tc.train_cnn(split, embed_dim=16, epochs=3, patience=3, seed=0, progress=False)
    assert r.history["loss"][-1] < r.history["loss"][0]
    assert r.test_accuracy >= 0.9 and r.epochs == 3
    assert r.classifier.predict("a great movie").label == "positive"


def test_fit_and_evaluate_trains_a_compiled_model_and_writes_tensorboard_logs(tmp_path):
    rng = np.random.default_rng(1)
    words = ["the", "film", "was", "a", "plot", "it"]
    texts = [" ".join(list(rng.choice(words, 5)) + ["great" if i % 2 else "awful"]) for i in range(230)]
    labels = np.arange(230) % 2
    split = tc.Split(texts[:150], labels[:150], texts[150:190], labels[150:190], texts[190:], labels[190:])
    vocab = tc.build_sentence_vocab(split.train_tokens)
    tc.keras.utils.set_random_seed(0)
    model = tc.compile_cnn(tc.kim_cnn(tc.random_embedding(len(vocab), 16)))
    logs = tmp_path / "run"
    (logs / "old").mkdir(parents=True)  # a previous run's curves are replaced
    r = tc.fit_and_evaluate("random", model, vocab, split, epochs=3, patience=3, log_dir=logs, progress=False)
    assert r.epochs == 3 and r.history["loss"][-1] < r.history["loss"][0]
    assert r.test_accuracy >= 0.9 and r.details["best_epoch"] >= 1 and r.details["vocab"] == len(vocab)
    assert (logs / "train").is_dir() and (logs / "validation").is_dir() and not (logs / "old").exists()
    assert r.classifier.model is model


# --------------------------------------------------------------------------- predict's bad input
@pytest.mark.parametrize(
    "bad, match",
    [("", "empty"), ("   \n", "empty"), ("映画は素晴らしい", "no words"), (None, "a str"), (42, "a str")],
)
def test_predict_rejects_unusable_input_with_a_clear_error(tiny_classifier, bad, match):
    with pytest.raises(tc.PredictError, match=match):
        tiny_classifier.predict(bad)


def test_predict_answers_odd_but_usable_input(tiny_classifier):
    p = tiny_classifier.predict("a gripping, beautifully shot film")
    assert p.label in tc.LABELS and 0 <= p.p_positive <= 1 and p.known == 1 and not p.truncated
    oov = tiny_classifier.predict("xqzt blorf")
    assert oov.known == 0 and "no word is in the vocabulary" in oov.note
    long = tiny_classifier.predict("good " * 10_000)
    assert long.truncated and long.tokens == 10_000 and "first 56" in long.note
    accents = tiny_classifier.predict("très bon film")
    assert accents.known == 1 and accents.label in tc.LABELS
    both = tiny_classifier.predict(["good film", "bad film"])
    assert [type(x) for x in both] == [tc.Prediction] * 2
    assert len(repr(long)) < 200  # never dumps 10,000 words


# --------------------------------------------------------------------------- save and reload
def test_save_and_reload_give_the_same_predictions(tiny_classifier, tmp_path):
    texts = ["good film", "bad film", "great fun " * 40, "unknown words only"]
    before = tiny_classifier.predict_proba(texts)
    path = tiny_classifier.save(tmp_path / "clf.keras")
    assert (tmp_path / "clf.vocab.json").exists()
    again = tc.TextClassifier.load(path)
    np.testing.assert_allclose(again.predict_proba(texts), before, atol=1e-6)
    assert again.vocab.words == tiny_classifier.vocab.words and again.max_len == tiny_classifier.max_len
    (tmp_path / "clf.vocab.json").unlink()
    with pytest.raises(FileNotFoundError, match="clf.vocab.json"):
        tc.TextClassifier.load(path)
    with pytest.raises(ValueError, match=".keras"):
        tiny_classifier.save(tmp_path / "clf.h5")


# --------------------------------------------------------------------------- baseline, exercise, CLI
def test_tfidf_baseline_beats_chance_on_a_small_slice():
    split = tc.load_split(limit=1000)
    r = tc.tfidf_baseline(split, Cs=(1.0, 4.0))
    assert r.test_accuracy > 0.6 and r.details["C"] in (1.0, 4.0)
    cm = tc.confusion(r.classifier, split.test_texts, split.test_labels)
    assert cm.shape == (2, 2) and cm.sum() == len(split.test_texts)


def _each_says_not_yet(check, cases, capsys):
    """Every (answer, words) case: the check returns False and says "Not yet: ...words..."."""
    for answer, said in cases:
        assert check(answer) is False
        out = capsys.readouterr().out
        assert out.startswith("Not yet:") and said in out, out


def test_check_conv_branch_accepts_the_answer_and_explains_wrong_ones(capsys):
    assert tc.check_conv_branch(lambda x, w, m: tc.conv_branch(x, w, m)) is True
    assert capsys.readouterr().out.startswith("Correct!")
    cases = [
        (None, "still None"),
        (lambda x, w, m: None, "returned None"),
        (lambda x, w, m: tc.layers.Conv1D(m, w, activation="relu")(x), "GlobalMaxPooling1D"),
        (
            lambda x, w, m: tc.layers.GlobalMaxPooling1D()(tc.layers.Conv1D(m, 3, activation="relu")(x)),
            "kernel size",
        ),
        (
            lambda x, w, m: tc.layers.GlobalMaxPooling1D()(tc.layers.Conv1D(100, w, activation="relu")(x)),
            "`maps`",
        ),
        (lambda x, w, m: tc.layers.GlobalMaxPooling1D()(tc.layers.Conv1D(m, w)(x)), "relu"),
        (
            lambda x, w, m: tc.layers.GlobalAveragePooling1D()(tc.layers.Conv1D(m, w, activation="relu")(x)),
            "averages",
        ),
        (lambda x, w, m: 1 / 0, "ZeroDivisionError"),
    ]
    _each_says_not_yet(tc.check_conv_branch, cases, capsys)


def test_check_max_over_time_names_the_usual_mistakes(capsys):
    tf = pytest.importorskip("tensorflow")
    assert tc.check_max_over_time(lambda h: tf.reduce_max(h, axis=1)) is True
    assert capsys.readouterr().out.startswith("Correct!")
    cases = [
        (None, "still None"),
        (lambda h: None, "returned None"),
        (lambda h: tf.reduce_max(h, axis=2), "over the filters"),
        (lambda h: tf.reduce_max(h, axis=0), "over the batch"),
        (lambda h: tf.reduce_max(h), "one number"),
        (lambda h: tf.reduce_max(h, axis=1, keepdims=True), "keepdims"),
        (lambda h: tf.reduce_mean(h, axis=1), "average"),
        (lambda h: tf.reduce_min(h, axis=1), "values differ"),
    ]
    _each_says_not_yet(tc.check_max_over_time, cases, capsys)


def test_check_pretrained_embedding_checks_weights_and_trainable(capsys):
    assert tc.check_pretrained_embedding(tc.word2vec_embedding) is True
    assert capsys.readouterr().out.startswith("Correct!")
    const = lambda m, t: tc.layers.Embedding(
        *m.shape,
        trainable=t,  # noqa: E731
        embeddings_initializer=tc.keras.initializers.Constant(m),
    )
    assert tc.check_pretrained_embedding(const) is True
    capsys.readouterr()
    cases = [
        (None, "still None"),
        (lambda m, t: None, "returned None"),
        (lambda m, t: tc.layers.Embedding(*m.shape, trainable=t), "random"),
        (lambda m, t: tc.layers.Embedding(*m.shape, weights=m), "trainable=True"),
        (lambda m, t: tc.layers.Embedding(m.shape[1], m.shape[0], trainable=t), "rows, columns"),
        (lambda m, t: tc.layers.Dense(3), "Embedding"),
    ]
    _each_says_not_yet(tc.check_pretrained_embedding, cases, capsys)


def test_check_max_norm_agrees_with_keras_and_names_the_usual_mistakes(capsys):
    tf = pytest.importorskip("tensorflow")
    assert tc.check_max_norm(lambda w, c: tc.keras.constraints.MaxNorm(c)(w)) is True
    assert capsys.readouterr().out.startswith("Correct!")
    cases = [
        (None, "still None"),
        (lambda w, c: None, "returned None"),
        (lambda w, c: w * tf.minimum(1.0, c / (tf.norm(w, axis=1, keepdims=True) + 1e-7)), "rows"),
        (lambda w, c: w * c / (tf.norm(w, axis=0, keepdims=True) + 1e-7), "also the short ones"),
        (
            lambda w, c: (
                w / tf.norm(w, axis=0, keepdims=True) * tf.minimum(tf.norm(w, axis=0, keepdims=True), c)
            ),
            "nan",
        ),
        (lambda w, c: w * tf.minimum(1.0, 3.0 / (tf.norm(w, axis=0, keepdims=True) + 1e-7)), "argument c"),
        (lambda w, c: tf.norm(w, axis=0), "shape"),
    ]
    _each_says_not_yet(tc.check_max_norm, cases, capsys)


def test_cli_fold_ids_and_tfidf_run(tmp_path, capsys):
    assert _fold_ids("0-2,5", 10) == [0, 1, 2, 5] and _fold_ids(None, 10) is None
    with pytest.raises(SystemExit):
        _fold_ids("12", 10)
    assert (
        cli_main(
            ["--init", "tfidf", "--folds", "3", "--fold-ids", "0-1", "--limit", "600", "--out", str(tmp_path)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "tfidf" in out and "test acc mean" in out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    v = metrics["variants"]["tfidf"]
    assert len(v["runs"]) == 2 and 0.5 < v["mean_accuracy"] <= 1 and metrics["protocol"]["folds"] == 3
    with pytest.raises(SystemExit):
        cli_main(["--init", "bogus"])


def test_cli_runs_on_other_folds_merge_into_one_table(tmp_path, capsys):
    args = ["--init", "tfidf", "--folds", "3", "--limit", "600", "--out", str(tmp_path)]
    assert cli_main(args + ["--fold-ids", "0"]) == 0
    assert cli_main(args + ["--fold-ids", "1-2"]) == 0
    v = json.loads((tmp_path / "metrics.json").read_text())["variants"]["tfidf"]
    assert v["fold_ids"] == [0, 1, 2] and len(v["runs"]) == 3
    first = v["fold_means"]["0"]
    assert cli_main(args + ["--fold-ids", "0"]) == 0  # the same fold again replaces, not adds
    v = json.loads((tmp_path / "metrics.json").read_text())["variants"]["tfidf"]
    assert len(v["runs"]) == 3 and v["fold_means"]["0"] == first
    assert cli_main(["--init", "tfidf", "--folds", "2", "--limit", "600", "--out", str(tmp_path)]) == 0
    v = json.loads((tmp_path / "metrics.json").read_text())["variants"]["tfidf"]
    assert v["fold_ids"] == [0, 1] and v["folds"] == 2  # another protocol starts a fresh table


def test_cli_word2vec_run_prints_the_vectors_coverage(tmp_path, capsys):
    words = ["the", "a", "film", "movie", "good", "bad", "is", "it", "not", "and"]
    vec = tmp_path / "tiny.vec"
    rng = np.random.default_rng(0)
    vec.write_text(
        f"{len(words)} 8\n"
        + "".join(w + " " + " ".join(f"{x:.3f}" for x in rng.normal(size=8)) + "\n" for w in words)
    )
    args = ["--init", "word2vec-static", "--vectors", str(vec), "--limit", "200", "--epochs", "1"]
    assert cli_main(args + ["--seeds", "1", "--out", str(tmp_path / "bench")]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "word2vec covers" in ln)
    assert line.lstrip().startswith("fold  1/10:") and "training-vocabulary words" in line
    covered, of = (
        int(x.replace(",", "")) for x in line.split("covers ")[1].split(" training")[0].split(" of ")
    )
    assert 0 < covered < of  # a few words (and n't -> not) of the fold's many training words


def test_merge_runs_keeps_other_runs_and_replaces_the_same_fold_and_seed():
    from workshop_sections.cnn_text_classification.__main__ import merge_runs

    old = [{"fold": 0, "seed": 0, "test_accuracy": 0.7}, {"fold": 1, "seed": 0, "test_accuracy": 0.8}]
    new = [{"fold": 1, "seed": 0, "test_accuracy": 0.9}, {"fold": 1, "seed": 1, "test_accuracy": 0.6}]
    merged = merge_runs(old, new)
    assert [(r["fold"], r["seed"], r["test_accuracy"]) for r in merged] == [
        (0, 0, 0.7),
        (1, 0, 0.9),
        (1, 1, 0.6),
    ]
