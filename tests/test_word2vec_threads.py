"""Two-thread training of word2vec_optimized (issue 15): the compiled call trains a chunk on a
snapshot of the variables and returns its changes; two threads take the chunks in turn.

Not timed (speed is measured in benchmarks/bench_word2vec.py): these tests check that both
threads train, that two threads reach the quality of one, and that one thread is deterministic.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from workshop_sections.word2vec_optimized import word2vec_fast as w2v


def topic_corpus(n_words: int, seed: int = 0) -> list:
    """Sentences from 6 topics of 12 words each, with 4 function words everywhere: words of one
    topic share their contexts, so their vectors should end up close."""
    rng = np.random.default_rng(seed)
    topics = [[f"t{t}w{i}" for i in range(12)] for t in range(6)]
    glue = ["the", "a", "of", "and"]
    out: list = []
    while len(out) < n_words:
        words = topics[rng.integers(len(topics))]
        out += [words[rng.integers(12)] if rng.random() < 0.75 else glue[rng.integers(4)] for _ in range(12)]
    return out


def topic_precision(emb: w2v.Embeddings, k: int = 5) -> float:
    """Share of the k nearest neighbours of each topic word that are words of its own topic."""
    words = [w for w in emb.words if w.startswith("t")]
    near = emb.nearby(words, k=k)
    return float(np.mean([sum(n.startswith(w.split("w")[0] + "w") for n, _ in near[w]) / k for w in words]))


SETTINGS = dict(dim=24, window=3, negatives=5, seed=3, batch_words=256, chunk_words=2048)


@pytest.fixture(scope="module")
def corpus():
    return w2v.build_vocab(topic_corpus(60_000), min_count=1)


@pytest.fixture(scope="module")
def runs(corpus):
    """The same corpus and settings trained with one thread and with two."""
    vocab, ids = corpus
    out = {}
    for threads in (1, 2):
        model = w2v.Word2Vec(vocab, threads=threads, **SETTINGS)
        result = model.train(ids, epochs=2, lr=0.05, subsample=None, progress=False)
        out[threads] = model, result
    return out


def test_both_threads_train_and_every_chunk_is_trained_once(runs, corpus):
    _, ids = corpus
    chunks = 2 * -(-len(ids) // SETTINGS["chunk_words"])  # 2 epochs
    one, two = runs[1][1], runs[2][1]
    assert one["threads"] == 1 and one["chunks_per_thread"] == [chunks]
    assert two["threads"] == 2 and len(two["chunks_per_thread"]) == 2
    assert sum(two["chunks_per_thread"]) == chunks, two["chunks_per_thread"]
    assert min(two["chunks_per_thread"]) >= 1, "the second thread trained no chunk"
    assert len(two["loss"]) == chunks and two["words"] == one["words"] == 2 * len(ids)
    assert two["cpu_seconds"] > 0 and two["cpu_utilisation"] > 0


def test_two_threads_reach_the_quality_of_one(runs):
    untrained = (1 + SETTINGS["negatives"]) * np.log(2)  # output weights 0: every score 0
    quality = {}
    for threads, (model, result) in runs.items():
        loss = result["loss"]
        assert all(np.isfinite(loss)) and loss[0] < untrained, (threads, loss[:3])
        assert np.mean(loss[-5:]) < 0.8 * loss[0], (threads, loss)
        quality[threads] = topic_precision(model.embeddings())
    assert quality[1] > 0.9, quality  # topic words end up near each other
    assert quality[2] >= quality[1] - 0.05, quality
    last = {t: np.mean(r["loss"][-5:]) for t, (_, r) in runs.items()}
    assert abs(last[2] - last[1]) < 0.03 * last[1], last


def test_one_thread_is_deterministic_and_two_threads_change_the_vectors(runs, corpus):
    vocab, ids = corpus
    again = w2v.Word2Vec(vocab, threads=1, **SETTINGS)
    again.train(ids, epochs=2, lr=0.05, subsample=None, progress=False)
    np.testing.assert_array_equal(again.emb.numpy(), runs[1][0].emb.numpy())
    np.testing.assert_array_equal(again.out.numpy(), runs[1][0].out.numpy())
    # the same chunks, their own seeds: two threads differ from one only by the chunks' delay
    assert not np.array_equal(runs[2][0].emb.numpy(), runs[1][0].emb.numpy())


def test_one_thread_equals_the_chunks_run_one_by_one(corpus):
    """train is train_chunk over the chunks in corpus order, each with its own random draws and the
    learning rates of its place in the word stream (the linear decay over all epochs)."""
    vocab, ids = corpus
    ids = ids[:5000]
    model = w2v.Word2Vec(vocab, threads=1, **SETTINGS)
    model.train(ids, epochs=2, lr=0.05, min_lr=0.001, subsample=None, progress=False)
    by_hand = w2v.Word2Vec(vocab, threads=1, **SETTINGS)
    keep, total, cw = np.ones(len(vocab)), 2 * len(ids), SETTINGS["chunk_words"]
    lr_at = lambda words: max(0.05 * (1 - words / total), 0.001)  # noqa: E731
    starts = [(e * len(ids) + s0, s0) for e in range(2) for s0 in range(0, len(ids), cw)]
    for k, (pos, s0) in enumerate(starts):
        raw = ids[s0 : s0 + cw]
        by_hand._run_chunk(k, raw, keep, lr_at(pos), lr_at(pos + len(raw)))
    np.testing.assert_array_equal(model.emb.numpy(), by_hand.emb.numpy())


def test_threads_option_is_checked_and_has_a_default(corpus):
    vocab, _ = corpus
    with pytest.raises(w2v.Word2VecError, match="threads"):
        w2v.Word2Vec(vocab, dim=8, threads=0)
    model = w2v.Word2Vec(vocab, dim=8)
    assert model.threads == (2 if (os.cpu_count() or 1) >= 2 else 1) == w2v.default_threads()
    assert model.chunk_words == (1 << 17 if model.threads > 1 else 1 << 18)


def test_xla_flags_keep_what_is_set_and_add_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=1")
    flags = w2v.use_xla_flags(tmp_path / "xla")
    assert flags == f"--tf_xla_auto_jit=1 --tf_xla_persistent_cache_directory={tmp_path / 'xla'}"
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_persistent_cache_directory=/elsewhere")
    assert w2v.use_xla_flags(tmp_path / "xla") == "--tf_xla_persistent_cache_directory=/elsewhere"
    monkeypatch.setenv("WORKSHOP_XLA_CACHE", str(tmp_path / "mine"))
    assert w2v.xla_cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("WORKSHOP_XLA_CACHE", "on")
    assert w2v.xla_cache_dir() == tmp_path / "xdg" / "tf-workshop" / "xla"
    monkeypatch.setenv("TF_XLA_FLAGS", "")
    for off in ("off", ""):  # off by default: warm starts print alarming lines (see xla_cache_dir)
        monkeypatch.setenv("WORKSHOP_XLA_CACHE", off)
        assert w2v.xla_cache_dir() is None and w2v.use_xla_flags() == ""
    monkeypatch.delenv("WORKSHOP_XLA_CACHE")
    assert w2v.xla_cache_dir() is None
