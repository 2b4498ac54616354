"""Tests of workshop_sections.word2vec_optimized (the fast word2vec helper, its CLI and formats)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from workshop_sections import data
from workshop_sections.word2vec_optimized import __main__ as cli
from workshop_sections.word2vec_optimized import word2vec_fast as w2v

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- helpers
def topic_corpus(n_words=30_000, seed=0):
    """Sentences drawn from 4 topics of 10 words each, plus 4 function words everywhere:
    words of one topic share contexts, so their vectors should end up close."""
    rng = np.random.default_rng(seed)
    topics = [[f"t{t}w{i}" for i in range(10)] for t in range(4)]
    glue = ["the", "a", "of", "and"]
    out = []
    while len(out) < n_words:
        words = topics[rng.integers(4)]
        for _ in range(12):
            out.append(words[rng.integers(10)] if rng.random() < 0.75 else glue[rng.integers(4)])
    return out


def brute_pairs(ids, window, spans):
    pairs = []
    for i in range(len(ids)):
        for j in range(len(ids)):
            if i != j and abs(i - j) <= spans[i]:
                pairs.append((int(ids[i]), int(ids[j])))
    return pairs


# --------------------------------------------------------------------------- vocabulary
def test_build_vocab_orders_by_count_then_first_appearance_and_drops_rare_words():
    words = "b a c a b a d e e".split()
    vocab, ids = w2v.build_vocab(words, min_count=2)
    assert vocab.words == ["a", "b", "e"]  # a:3, then b:2 (seen before e:2); c, d dropped
    assert vocab.counts.dtype == np.int64 and vocab.counts.tolist() == [3, 2, 2]
    assert vocab.index == {"a": 0, "b": 1, "e": 2} and len(vocab) == 3
    assert ids.dtype == np.int32
    assert ids.tolist() == [1, 0, 0, 1, 0, 2, 2]  # c and d dropped from the corpus
    v2, _ = w2v.build_vocab(words, min_count=1, max_size=2)
    assert v2.words == ["a", "b"]


def test_build_vocab_reads_a_corpus_file_and_several_corpora(tmp_path):
    p1, p2 = tmp_path / "one.txt", tmp_path / "two.txt"
    p1.write_text("Hello world. hello again, world!\n")
    p2.write_text("world peace\n")
    vocab, ids = w2v.build_vocab(str(p1), min_count=1)
    assert vocab.words[:2] == ["hello", "world"] and len(ids) == 5
    vocab2, ids2 = w2v.build_vocab([str(p1), str(p2)], min_count=1)
    assert vocab2.words[0] == "world" and vocab2.counts[0] == 3 and len(ids2) == 7


def test_bad_corpora_give_clear_errors(tmp_path):
    with pytest.raises(data.CorpusError, match="neither a known corpus"):
        w2v.build_vocab(str(tmp_path / "no_such_file.txt"))
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n ... \n")
    with pytest.raises(data.CorpusError, match="no words"):
        w2v.build_vocab(str(empty), min_count=1)
    with pytest.raises(data.CorpusError, match="no words"):
        w2v.build_vocab([], min_count=1)
    with pytest.raises(w2v.Word2VecError, match="lower min_count"):
        w2v.build_vocab("a b c".split(), min_count=5)
    with pytest.raises(data.CorpusError, match="not more than the window"):
        w2v.check_corpus(np.array([0, 1, 2], np.int32), window=5)
    with pytest.raises(data.CorpusError, match="empty"):
        w2v.make_dataset(np.zeros(0, np.int32), [1], window=2)


def test_too_many_negatives_is_an_error():
    vocab, _ = w2v.build_vocab("a b c d a b c d".split(), min_count=1)
    with pytest.raises(w2v.Word2VecError, match="only 4 words"):
        w2v.Word2Vec(vocab, dim=8, negatives=4)
    with pytest.raises(w2v.Word2VecError, match="only 4 words"):
        w2v.check_negatives(10, 4)


# --------------------------------------------------------------------------- pairs, subsampling
@pytest.mark.parametrize("window", [1, 2, 3])
def test_skipgram_pairs_match_a_brute_force_reference(window):
    ids = np.array([5, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], dtype=np.int32)
    spans = np.random.default_rng(7).integers(1, window + 1, size=len(ids))
    t, c = w2v.skipgram_pairs(ids, window, np.random.default_rng(7)).T
    assert t.dtype == np.int32 and c.dtype == np.int32
    assert Counter(zip(t.tolist(), c.tolist())) == Counter(brute_pairs(ids, window, spans))
    # the window matrix holds the same contexts, -1 where out of span or out of the corpus
    centers, ctx = w2v.window_matrix(ids, window, spans=spans)
    assert ctx.shape == (len(ids), 2 * window)
    for i in range(len(ids)):
        for k, o in enumerate(w2v.window_offsets(window)):
            ok = abs(o) <= spans[i] and 0 <= i + o < len(ids)
            assert ctx[i, k] == (ids[i + o] if ok else -1)


def test_dynamic_window_draws_every_size_uniformly():
    ids = np.arange(20_000, dtype=np.int32)  # all distinct: the pair's distance shows the span
    t, c = w2v.skipgram_pairs(ids, 4, np.random.default_rng(0)).T
    dist = np.abs(t - c)
    assert dist.min() == 1 and dist.max() == 4
    # P(distance d used) = P(span >= d) = (W - d + 1) / W
    share = np.bincount(dist, minlength=5)[1:] / (2 * len(ids))
    np.testing.assert_allclose(share, [1.0, 0.75, 0.5, 0.25], atol=0.02)


def test_subsampling_matches_word2vec_formula_and_a_brute_force_reference():
    counts = np.array([1000, 100, 10, 1], dtype=np.int64)
    t = 0.01
    keep = w2v.subsample_keep_prob(counts, t).numpy()
    assert keep.dtype == np.float64
    total = counts.sum()
    for f, p in zip(counts, keep):  # word2vec.c: (sqrt(f / (t N)) + 1) * (t N) / f
        assert p == pytest.approx(min(1.0, (np.sqrt(f / (t * total)) + 1) * (t * total) / f))
    assert keep[0] < keep[1] < 1.0 and keep[3] == 1.0
    assert np.all(w2v.subsample_keep_prob(counts, 0).numpy() == 1.0)
    with pytest.raises(w2v.Word2VecError, match=">= 0"):
        w2v.check_subsample(-1e-3)
    ids = np.repeat(np.arange(4), counts).astype(np.int32)
    kept = w2v.subsample(ids, keep, np.random.default_rng(3))
    draws = np.random.default_rng(3).random(len(ids))
    brute = [i for i, u in zip(ids, draws) if u < keep[i]]
    assert kept.tolist() == brute
    # over many draws the kept share of each word matches its probability
    big = np.repeat(np.arange(4), counts * 50).astype(np.int32)
    share = np.bincount(w2v.subsample(big, keep, np.random.default_rng(1)), minlength=4) / (counts * 50)
    np.testing.assert_allclose(share[:3], keep[:3], atol=0.02)


def test_make_dataset_yields_exactly_the_window_pairs():
    ids = np.arange(300, dtype=np.int32)
    counts = np.ones(300, np.int64)
    ds = w2v.make_dataset(ids, counts, window=1, batch_size=64, subsample=None, seed=1, chunk_size=100)
    pairs = []
    for t, c in ds:
        assert t.dtype.name == "int32" and t.shape[0] <= 64 and t.shape == c.shape
        pairs += list(zip(t.numpy().tolist(), c.numpy().tolist()))
    # window 1: each word with both neighbours inside its chunk of 100
    expected = {(i, j) for i in range(300) for j in (i - 1, i + 1) if 0 <= j < 300 and i // 100 == j // 100}
    assert len(pairs) == len(expected) and set(pairs) == expected
    # wider windows: every pair is within the window, and subsampling drops frequent words
    ds5 = w2v.make_dataset(ids, counts, window=5, batch_size=128, subsample=None, seed=2, chunk_size=100)
    t5 = np.concatenate([t.numpy() for t, _ in ds5])
    c5 = np.concatenate([c.numpy() for _, c in ds5])
    assert np.abs(t5 - c5).max() == 5 and np.abs(t5 - c5).min() == 1


# --------------------------------------------------------------------------- negatives
def test_negative_sampling_follows_counts_to_the_power_075():
    from scipy import stats

    counts = np.array([5000, 2000, 700, 300, 80, 20, 5], dtype=np.int64)
    table = w2v.unigram_table(counts, power=0.75, size=200_000).numpy()
    assert table.dtype == np.int32 and table.shape == (200_000,)
    p = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(np.bincount(table, minlength=7) / len(table), p, atol=1e-4)
    # the sampler the compiled step uses (XLA-compiled here too), against p: a chi-square test
    import tensorflow as tf

    draw = tf.function(
        lambda seed: w2v.draw_negatives(tf.constant(table), [400, 250], seed), jit_compile=True
    )
    draws = draw(tf.constant([3, 4])).numpy().ravel()
    observed = np.bincount(draws, minlength=7)
    chi2, pval = stats.chisquare(observed, p * len(draws))
    assert pval > 0.001, (observed, p * len(draws))
    # a wrong distribution (counts ** 1, no smoothing) is rejected by the same test
    p_raw = counts / counts.sum()
    assert stats.chisquare(observed, p_raw * len(draws))[1] < 1e-6


def test_uniform_slots_are_uniform_independent_and_a_pure_function_of_the_seed():
    """The step's counter-based generator (uniform_slots, exported from the notebook): in range,
    uniform, consecutive draws independent, the same under XLA, and a pure function of both
    seed numbers."""
    import tensorflow as tf
    from scipy import stats

    draw = lambda n, size, seed: w2v.uniform_slots(n, size, tf.constant(seed)).numpy()  # noqa: E731
    a = draw(200_000, 10, [3, 4])
    assert a.dtype == np.int32 and a.shape == (200_000,) and a.min() >= 0 and a.max() < 10
    assert stats.chisquare(np.bincount(a, minlength=10))[1] > 0.001
    pairs = np.bincount(a[:-1] * 10 + a[1:], minlength=100)  # (draw i, draw i + 1)
    assert stats.chisquare(pairs)[1] > 0.001, pairs.reshape(10, 10)
    # a large table (news20's 3.8M slots): all of it reachable, never past its end
    big = draw(400_000, 3_778_100, [0, 1])
    assert big.min() >= 0 and big.max() < 3_778_100 and big.max() > 3_700_000 and big.min() < 100_000
    # a pure function of the seed: the same seed gives the same draws, eager and compiled alike;
    # changing either number of the seed gives other draws (equal by chance: 1 in 1000)
    compiled = tf.function(lambda seed: w2v.uniform_slots(50_000, 1000, seed), jit_compile=True)
    ref = draw(50_000, 1000, [7, 9])
    np.testing.assert_array_equal(compiled(tf.constant([7, 9])).numpy(), ref)
    np.testing.assert_array_equal(draw(50_000, 1000, [7, 9]), ref)
    for other in ([7, 10], [8, 9], [9, 7]):
        assert np.mean(draw(50_000, 1000, other) == ref) < 0.005, other
    # nor the same numbers shifted: the streams of neighbouring seeds (the trainer's chunks and
    # batches count up) share no values beyond chance (~1 in 2**31 - 1 possible ones)
    wide = {tuple(s): set(draw(50_000, 2**31 - 1, s).tolist()) for s in ([7, 9], [8, 9], [7, 10], [6, 8])}
    for a_seed, b_seed in [((7, 9), (8, 9)), ((7, 9), (7, 10)), ((7, 9), (6, 8)), ((8, 9), (7, 10))]:
        assert len(wide[a_seed] & wide[b_seed]) < 20, (a_seed, b_seed)
    # fmix32: a bijection (distinct inputs stay distinct) that spreads a one-bit change
    x = tf.cast(tf.range(100_000), tf.uint32)
    h = w2v.fmix32(x).numpy()
    assert len(np.unique(h)) == 100_000
    flipped = w2v.fmix32(tf.bitwise.bitwise_xor(x, tf.constant(1 << 7, tf.uint32))).numpy()
    bits = np.unpackbits((h ^ flipped).view(np.uint8)).reshape(100_000, 32).sum(1)
    assert 15.5 < bits.mean() < 16.5, bits.mean()


def test_measured_loss_is_finite_and_exact_for_any_score_under_xla():
    """The reported loss (measured_loss, exported from the notebook) under XLA, as the compiled
    step runs it: exact -log sigmoid values on the measured first eighth of the centres, finite
    for scores far past float32's saturation (a ``log(1 - sigmoid(s) + 1e-30)`` version gave -inf
    under XLA at s >= 30 and stopped a full `make run` with "training diverged")."""
    import tensorflow as tf

    L, W, G, Kg = 64, 2, 4, 3  # 16 groups of 4 centres: the first 2 groups (8 centres) are measured
    rng = np.random.default_rng(0)
    lp = rng.normal(size=(L, 2 * W)).astype(np.float32)
    ln = rng.normal(size=(L // G, G, Kg)).astype(np.float32)
    lp[0, 0], lp[1, 1], ln[0, 0, 0], ln[1, 2, 1] = -200.0, -40.0, 200.0, 40.0  # saturated scores
    m = (rng.random((L, 2 * W)) < 0.7).astype(np.float32)
    m[0, 0] = m[1, 1] = 1.0
    wn = rng.random((L // G, G, Kg)).astype(np.float32)
    loss, pairs = tf.function(lambda *a: w2v.measured_loss(*a, neg_group=G), jit_compile=True)(lp, ln, m, wn)

    def softplus(x):  # -log sigmoid(-x), exactly, in float64
        return np.logaddexp(0.0, x.astype(np.float64))

    want = (softplus(-lp[:8]) * m[:8]).sum() + (softplus(ln[:2]) * wn[:2]).sum()
    assert np.isfinite(float(loss)) and float(loss) > 200.0  # the saturated pairs count in full
    np.testing.assert_allclose(float(loss), want, rtol=1e-5)
    assert float(pairs) == m[:8].sum()


@pytest.mark.parametrize("window,block", [(1, 2), (2, 4), (5, 16), (3, 8)])
def test_band_scores_are_the_per_offset_dot_products_eager_and_under_xla(window, block):
    """band_scores (exported from the notebook): the transposed block products and the gather of
    the band give every centre's dot product with each of its 2W neighbours, in offset order
    -W..-1, 1..W; swap_last_axes is a plain transpose. Eager and XLA-compiled (where the layout
    of the products is chosen) agree with NumPy."""
    import tensorflow as tf

    W, L, d = window, 4 * block, 3
    rng = np.random.default_rng(window)
    v = rng.normal(size=(L, d)).astype(np.float32)
    u = rng.normal(size=(L + 2 * W, d)).astype(np.float32)
    offsets = [o for o in range(-W, W + 1) if o != 0]
    want = np.stack([(v * u[W + o : W + o + L]).sum(1) for o in offsets], axis=1)  # [L, 2W]
    compiled = tf.function(lambda v, u: w2v.band_scores(v, u, W, block)[0], jit_compile=True)
    for got in (w2v.band_scores(v, u, W, block)[0], compiled(v, u)):
        assert got.shape == (L, 2 * W)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    x = rng.normal(size=(3, 5, 7)).astype(np.float32)
    swap = tf.function(w2v.swap_last_axes, jit_compile=True)
    for got in (w2v.swap_last_axes(tf.constant(x)), swap(tf.constant(x))):
        np.testing.assert_array_equal(got.numpy(), x.transpose(0, 2, 1))


# --------------------------------------------------------------------------- training
def test_compiled_step_matches_a_brute_force_sgd_reference():
    """One compiled batch (blocked score products, band cut by reshapes, summed scatter-adds)
    gives exactly the updates of plain per-pair SGD on the same pairs and negatives (row
    scaling off); with curvature damping, the same directions, each row's step shrunk."""

    rng = np.random.default_rng(0)
    vocab, ids = w2v.build_vocab([f"w{i}" for i in rng.integers(0, 50, size=3000)], min_count=1)
    W, L, lr, K = 3, 128, 0.1, 2
    shape = dict(dim=8, window=W, negatives=K, batch_words=L, chunk_words=256, neg_group=4, neg_shared=1)
    model = w2v.Word2Vec(vocab, damping="count", max_row_updates=1e9, **shape)
    model.out.assign(np.random.default_rng(1).normal(size=(len(vocab), 8)).astype(np.float32) * 0.3)
    model.table.assign(np.zeros_like(model.table.numpy()))  # every negative is word 0
    seqs, spans, lrs, _ = next(
        model.chunk_batches(ids[:256], np.ones(len(vocab)), np.random.default_rng(2), lr, lr)
    )
    E0, O0 = model.emb.numpy().copy(), model.out.numpy().copy()
    model.train_chunk(seqs, spans, lrs, 1, 0)  # the compiled call on a snapshot, then assign_add
    dE, dO = np.zeros_like(E0), np.zeros_like(O0)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    seq, span = seqs[0], spans[0]
    for i in range(L):
        c = seq[W + i]
        ctxs = [seq[W + i + o] for o in w2v.window_offsets(W) if abs(o) <= span[i] and seq[W + i + o] >= 0]
        for x in ctxs:
            g = (1 - sig(E0[c] @ O0[x])) * lr
            dE[c] += g * O0[x]
            dO[x] += g * E0[c]
        if ctxs and 0 not in ctxs:  # the shared negative, weighted to `negatives` per pair
            g = -sig(E0[c] @ O0[0]) * len(ctxs) * K * lr
            dE[c] += g * O0[0]
            dO[0] += g * E0[c]
    np.testing.assert_allclose(model.emb.numpy() - E0, dE, atol=1e-5)
    np.testing.assert_allclose(model.out.numpy() - O0, dO, atol=1e-5)
    damped = w2v.Word2Vec(vocab, damping="curvature", **shape)
    damped.emb.assign(E0)
    damped.out.assign(O0)
    damped.table.assign(np.zeros_like(damped.table.numpy()))
    damped.train_chunk(seqs, spans, lrs, 1, 0)
    for got, want in ((damped.emb.numpy() - E0, dE), (damped.out.numpy() - O0, dO)):
        rows = np.linalg.norm(want, axis=1) > 1e-6
        ratio = np.linalg.norm(got[rows], axis=1) / np.linalg.norm(want[rows], axis=1)
        cosine = (
            (got[rows] * want[rows]).sum(1)
            / np.linalg.norm(got[rows], axis=1)
            / np.linalg.norm(want[rows], axis=1)
        )
        assert np.all(ratio <= 1 + 1e-5) and np.all(ratio > 0.05) and np.all(cosine > 0.9999)
    with pytest.raises(w2v.Word2VecError, match="damping"):
        w2v.Word2Vec(vocab, dim=8, damping="newton")


@pytest.fixture(scope="module")
def trained():
    words = topic_corpus()
    vocab, ids = w2v.build_vocab(words, min_count=1)
    model = w2v.Word2Vec(vocab, dim=16, window=2, negatives=5, seed=0, batch_words=256, chunk_words=8192)
    result = model.train(ids, epochs=3, lr=0.05, subsample=None, progress=False)
    return model, result


def test_loss_falls_and_topic_words_end_up_close(trained):
    model, result = trained
    loss = result["loss"]
    assert all(np.isfinite(loss))
    # an untrained model (output weights 0) scores (1 + negatives) * log 2 per pair
    untrained = (1 + 5) * np.log(2)
    assert loss[0] < untrained and np.mean(loss[-3:]) < 0.75 * untrained, loss
    assert np.mean(loss[-3:]) < loss[0], loss
    assert result["words_per_sec"] > 0 and result["words"] == 3 * len(topic_corpus())
    emb = model.embeddings()
    assert emb.vectors.dtype == np.float32 and emb.vectors.shape == (44, 16)
    np.testing.assert_allclose(np.linalg.norm(emb.normalized, axis=1), 1.0, rtol=1e-5)
    near = [w for w, _ in emb.nearby("t2w3", k=5)["t2w3"]]
    assert sum(w.startswith("t2") for w in near) >= 4, near


def test_unknown_words_are_clear_errors_with_suggestions(trained):
    emb = trained[0].embeddings()
    with pytest.raises(w2v.UnknownWordError, match=r"'t2w33' is not in the vocabulary.*Did you mean: t2w3"):
        emb.nearby(["t2w33"])
    with pytest.raises(w2v.UnknownWordError, match="not in the vocabulary"):
        emb.analogy("t1w1", "zebra", "t2w2")
    assert isinstance(emb.analogy("t1w1", "t1w2", "t2w2"), str)


# --------------------------------------------------------------------------- analogies
def analogy_embeddings():
    """Hand-made vectors in which man:woman::king:queen and big:bigger::small:smaller hold
    exactly, while walk:walked::swim:? wrongly answers 'ran'."""
    axes = np.eye(8, dtype=np.float32)
    male, female, royal, person, size_, comp, small_, motion = axes
    vecs = {
        "man": person + male,
        "woman": person + female,
        "king": royal + male,
        "queen": royal + female,
        "big": size_,
        "bigger": size_ + comp,
        "small": small_,
        "smaller": small_ + comp,
        "walk": motion,
        "walked": motion + 0.2 * comp,
        "swim": motion + 0.1 * person,
        "ran": motion + 0.2 * comp + 0.1 * person + 0.05 * royal,
        "swam": -motion,
        "rare": 0.5 * (male + royal),
    }
    words = list(vecs)
    return w2v.Embeddings(words, np.stack([vecs[w] for w in words]))


QUESTIONS = [
    ("capital-world", "man", "woman", "king", "queen"),  # right
    ("family", "king", "queen", "man", "woman"),  # right
    ("gram3-comparative", "big", "bigger", "small", "smaller"),  # right
    ("gram7-past-tense", "walk", "walked", "swim", "swam"),  # wrong: 'ran' is nearer
    ("gram7-past-tense", "walk", "walked", "unknownword", "x"),  # skipped
    ("family", "man", "woman", "rare", "queen"),  # skipped with restrict_vocab=13
]


def test_analogy_and_nearby_on_hand_made_vectors():
    emb = analogy_embeddings()
    assert emb.analogy("man", "woman", "king") == "queen"
    top = emb.analogy("big", "bigger", "small", k=3)
    assert top[0][0] == "smaller" and len(top) == 3 and top[0][1] >= top[1][1]
    assert emb.nearby("king", k=2)["king"][0][0] in {"queen", "rare"}


def test_evaluate_analogies_counts_sections_and_skips():
    emb = analogy_embeddings()
    ev = emb.evaluate_analogies(QUESTIONS, restrict_vocab=13)  # 'rare' is the 14th word: outside
    assert ev["total"] == 4 and ev["skipped"] == 2 and ev["correct"] == 3
    assert ev["overall"] == pytest.approx(3 / 4)
    assert ev["semantic"] == pytest.approx(1.0) and ev["semantic_total"] == 2
    assert ev["syntactic"] == pytest.approx(1 / 2) and ev["syntactic_total"] == 2
    assert ev["sections"]["gram7-past-tense"] == {"correct": 0, "total": 1, "accuracy": 0.0}
    ev_all = emb.evaluate_analogies(QUESTIONS, restrict_vocab=100)
    assert ev_all["total"] == 5 and ev_all["skipped"] == 1


def test_evaluate_analogies_agrees_with_gensim(tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    emb = analogy_embeddings()
    path = w2v.save_vec(tmp_path / "a.vec", emb.words, emb.vectors)
    qfile = tmp_path / "q.txt"
    lines, last = [], None
    for sec, *ws in QUESTIONS:
        if sec != last:
            lines.append(f": {sec}")
            last = sec
        lines.append(" ".join(ws))
    qfile.write_text("\n".join(lines) + "\n")
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(path))
    score, sections = kv.evaluate_word_analogies(str(qfile), restrict_vocab=13)
    ours = emb.evaluate_analogies(QUESTIONS, restrict_vocab=13)
    assert ours["overall"] == pytest.approx(score)


# --------------------------------------------------------------------------- formats
def test_vec_round_trip_and_workshop_format(tmp_path):
    rng = np.random.default_rng(0)
    words = ["the", "cat", "kitten", "dog", "puppy", "naïve"]
    vectors = rng.normal(size=(6, 7)).astype(np.float32)
    path = w2v.save_vec(tmp_path / "v.vec", words, vectors)
    head = path.read_text(encoding="utf-8").splitlines()
    assert head[0] == "6 7" and head[2].split()[0] == "cat" and len(head[2].split()) == 8
    back = w2v.load_vec(path)
    assert back.words == words
    np.testing.assert_allclose(back.vectors, vectors, rtol=1e-5, atol=1e-6)
    emb = w2v.Embeddings(words, vectors, counts=[6, 5, 4, 3, 2, 1])
    emb.save(tmp_path / "ws")
    again = w2v.Embeddings.load(tmp_path / "ws")
    assert again.words == words and again.counts.tolist() == [6, 5, 4, 3, 2, 1]
    np.testing.assert_array_equal(again.vectors, vectors)
    with pytest.raises(FileNotFoundError, match="No vector file"):
        w2v.load_vec(tmp_path / "missing.vec")
    bad = tmp_path / "bad.vec"
    bad.write_text("hello world\n")
    with pytest.raises(w2v.Word2VecError, match="word2vec text format"):
        w2v.load_vec(bad)


def test_vec_file_loads_in_gensim(tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    words = ["alpha", "beta", "gamma"]
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    path = w2v.save_vec(tmp_path / "g.vec", words, vectors)
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(path), binary=False)
    assert kv.index_to_key == words
    np.testing.assert_allclose(kv.vectors, vectors, rtol=1e-5)
    kv.save_word2vec_format(str(tmp_path / "from_gensim.vec"))
    back = w2v.load_vec(tmp_path / "from_gensim.vec")
    assert back.words == words
    np.testing.assert_allclose(back.vectors, vectors, rtol=1e-5)


# --------------------------------------------------------------------------- CLI, load_or_train
def test_cli_trains_and_writes_vec_and_metrics(tmp_path, capsys):
    corpus = tmp_path / "topics.txt"
    corpus.write_text(" ".join(topic_corpus(12_000, seed=1)) + "\n")
    out = tmp_path / "out"
    code = cli.main(
        [
            "--corpus",
            str(corpus),
            *"--epochs 1 --dim 16 --window 2 --negatives 3 --min-count 1 --no-eval --quiet".split(),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["vocab_size"] == 44 and metrics["words_per_sec"] > 0 and metrics["seconds"] > 0
    emb = w2v.load_vec(out / "vectors.vec")
    assert len(emb.words) == 44 and emb.dim == 16
    # load_or_train finds the vectors and does not train again
    loaded = w2v.load_or_train(str(corpus), out_dir=out)
    assert loaded.words == emb.words


def test_build_vocab_takes_a_corpus_scan(tmp_path):
    """A scan (read ahead: in a child process in a command line, test_data) gives the very
    vocabulary and ids of the corpus itself."""
    corpus = tmp_path / "topics.txt"
    corpus.write_text(" ".join(topic_corpus(5_000, seed=2)) + "\n")
    want_vocab, want_ids = w2v.build_vocab(str(corpus), min_count=2, max_words=4_000)
    vocab, ids = w2v.build_vocab(data.CorpusScan(corpus, background=False), min_count=2, max_words=4_000)
    assert vocab.words == want_vocab.words and np.array_equal(ids, want_ids)


def test_cli_reads_its_corpus_while_it_imports_tensorflow(tmp_path):
    """The command line (a fresh process, as a user runs it): the package does not import
    TensorFlow by itself, the corpus is read in a child process during the import, and the
    vectors are the same as those of a run that reads the corpus in the process."""
    corpus = tmp_path / "topics.txt"
    corpus.write_text(" ".join(topic_corpus(12_000, seed=1)) + "\n")
    args = "--epochs 1 --dim 16 --window 2 --negatives 3 --min-count 1 --no-eval --quiet --threads 1"
    code = (
        "import sys\n"
        "import workshop_sections.word2vec_optimized as pkg\n"
        "from workshop_sections import data\n"
        "assert 'tensorflow' not in sys.modules, 'the package imported TensorFlow'\n"
        "started = []\n"
        "class Scan(data.CorpusScan):\n"
        "    def __init__(self, *a, **k):\n"
        "        super().__init__(*a, **k)\n"
        "        started.append((self.background, 'tensorflow' in sys.modules))\n"
        "data.CorpusScan = Scan\n"
        "from workshop_sections.word2vec_optimized.__main__ import main\n"
        f"argv = ['--corpus', {str(corpus)!r}, '--out', {str(tmp_path / 'cli')!r}, *{args.split()!r}]\n"
        "assert main(argv) == 0\n"
        "print('SCAN', started)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SCAN [(True, False)]" in proc.stdout  # in a child, started before TensorFlow
    assert cli.main(["--corpus", str(corpus), "--out", str(tmp_path / "here"), *args.split()]) == 0
    child = np.load(tmp_path / "cli" / "vectors.npz")
    here = np.load(tmp_path / "here" / "vectors.npz")
    assert sorted(child.files) == sorted(here.files)
    for name in child.files:
        np.testing.assert_array_equal(child[name], here[name])


def test_cli_reports_bad_input(tmp_path, capsys):
    code = cli.main(["--corpus", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "neither a known corpus" in capsys.readouterr().err
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("one two three\n")
    code = cli.main(["--corpus", str(tiny), "--min-count", "1", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "not more than the window" in capsys.readouterr().err
    small_vocab = tmp_path / "small.txt"
    small_vocab.write_text("one two three four " * 20 + "\n")
    code = cli.main(
        ["--corpus", str(small_vocab), "--min-count", "1", "--negatives", "5", "--out", str(tmp_path / "o")]
    )
    assert code == 2
    assert "only 4 words" in capsys.readouterr().err


def test_cli_help_gives_defaults_but_never_none():
    text = " ".join(cli.build_parser().format_help().split())
    assert "(default: None)" not in text
    assert "passes over the corpus (default: 5)" in text and "(default: curvature)" in text
    assert "training threads (default: 2 with 2 cores or more" in text


def test_cli_checks_out_and_max_words_before_reading(tmp_path, capsys):
    """An --out that cannot be written, or a --max-words under 1, fails at once (one line, exit 2),
    not after a whole run; and a failed run leaves no folder behind."""
    corpus = tmp_path / "topics.txt"
    corpus.write_text(" ".join(topic_corpus(3_000, seed=3)) + "\n")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for out, says in ((blocker / "sub", "cannot write there"), (Path("/proc/no/such"), "cannot write there")):
        assert cli.main(["--corpus", str(corpus), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: --out {out}: ") and says in err and len(err.splitlines()) == 1
    assert cli.main(["--corpus", str(corpus), "--max-words", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--max-words 0: give a positive number" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_interrupted_says_one_line_and_stops_its_reader(tmp_path):
    """Ctrl-C (SIGINT) during start-up or training: one line, exit status 130, no traceback, and
    no reader process left behind."""
    import signal  # noqa: PLC0415 (this test only)
    import time  # noqa: PLC0415

    corpus = tmp_path / "big.txt"
    corpus.write_text((" ".join(topic_corpus(200_000, seed=4)) + "\n") * 5)
    proc = subprocess.Popen(
        [sys.executable, "-m", "workshop_sections.word2vec_optimized", "--corpus", str(corpus)]
        + ["--epochs", "50", "--quiet", "--no-eval", "--out", str(tmp_path / "o")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # background jobs ignore it
    )
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert err.strip() == "interrupted (Ctrl-C)." and "Traceback" not in err
    leftover = subprocess.run(["pgrep", "-f", str(corpus)], capture_output=True, text=True).stdout.split()
    assert leftover == []


# ------------------------------------------------------------- the notebook's exports, checks, hand-on
def test_compile_leaves_the_variables_alone_and_reset_restores_the_start():
    vocab, ids = w2v.build_vocab(topic_corpus(5000), min_count=1)
    model = w2v.Word2Vec(vocab, dim=8, window=2, negatives=3, batch_words=64, chunk_words=1024)
    start = model.emb.numpy().copy()
    assert model.compile() > 0
    np.testing.assert_array_equal(model.emb.numpy(), start)
    assert not model.out.numpy().any()
    model.train(ids, epochs=1, progress=False)
    assert not np.allclose(model.emb.numpy(), start)
    model.reset()
    np.testing.assert_array_equal(model.emb.numpy(), start)
    assert not model.out.numpy().any()
    assert model.step_options["window"] == 2 and model.step_options["negatives"] == 3


def test_vocab_from_words_encodes_a_corpus_with_a_given_vocabulary(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat the end\n")
    vocab, ids = w2v.vocab_from_words(["UNK", "the", "cat", "dog"], str(corpus))
    assert vocab.words == ["the", "cat", "dog"] and vocab.counts.tolist() == [3, 1, 0]
    assert ids.tolist() == [0, 1, 0, 0]
    _, first = w2v.vocab_from_words(["the", "cat"], str(corpus), max_words=2)
    assert first.tolist() == [0, 1]
    with pytest.raises(data.CorpusError, match="no word of the vocabulary"):
        w2v.vocab_from_words(["zebra"], str(corpus))


def test_intro_words_per_sec_from_its_metrics():
    assert w2v.intro_words_per_sec({"words_per_sec": 1234.5}) == 1234.5
    # 1000 steps x 128 pairs / (2 x 2 pairs per word) / 10 s
    assert w2v.intro_words_per_sec({"steps": 1000, "seconds": 10}) == pytest.approx(3200)
    assert w2v.intro_words_per_sec({}) is None and w2v.intro_words_per_sec(None) is None


def _said(capsys, ok):
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    return ok, out


def test_exercise_checks_pass_the_exported_code_and_explain_wrong_answers(capsys):
    import tensorflow as tf

    # exercises 1 and 2 are the exported functions themselves
    assert _said(capsys, w2v.check_keep_prob(w2v.subsample_keep_prob))[1].startswith("Correct!")
    assert _said(capsys, w2v.check_unigram_table(w2v.unigram_table))[1].startswith("Correct!")

    def numpy_keep(counts, t=1e-3):
        return np.asarray(w2v.subsample_keep_prob(counts, t))

    ok, out = _said(capsys, w2v.check_keep_prob(numpy_keep))
    assert not ok and "TensorFlow ops" in out

    def uncapped(counts, t=1e-3):
        c = tf.cast(counts, tf.float64)
        tn = t * tf.reduce_sum(c)
        return (tf.sqrt(c / tn) + 1) * tn / c

    ok, out = _said(capsys, w2v.check_keep_prob(uncapped))
    assert not ok and "tf.minimum" in out

    def paper(counts, t=1e-3):
        c = tf.cast(counts, tf.float64)
        return tf.minimum(tf.sqrt(t * tf.reduce_sum(c) / c), 1.0)

    ok, out = _said(capsys, w2v.check_keep_prob(paper))
    assert not ok and "sqrt(t / f) + t / f" in out

    def raw_table(counts, power=0.75, size=None):
        return w2v.unigram_table(counts, power=1.0, size=size)

    ok, out = _said(capsys, w2v.check_unigram_table(raw_table))
    assert not ok and "power 0.75" in out

    def categorical_table(counts, power=0.75, size=None):
        logits = power * tf.math.log(tf.cast(counts, tf.float32))
        return tf.cast(
            tf.random.stateless_categorical(logits[None], size or 1_000_000, seed=[1, 2])[0], tf.int32
        )

    assert _said(capsys, w2v.check_unigram_table(categorical_table))[0]

    def pair_update(v, u, negs, lr):
        s, sn = tf.reduce_sum(v * u), tf.linalg.matvec(negs, v)
        g, gn = (1 - tf.sigmoid(s)) * lr, -tf.sigmoid(sn) * lr
        return g * u + tf.linalg.matvec(negs, gn, transpose_a=True), g * v, gn[:, None] * v[None, :]

    assert _said(capsys, w2v.check_pair_update(pair_update))[0]

    def flipped(v, u, negs, lr):
        return tuple(-x for x in pair_update(v, u, negs, lr))

    ok, out = _said(capsys, w2v.check_pair_update(flipped))
    assert not ok and "wrong sign" in out

    def no_negatives(v, u, negs, lr):
        dv, du, dn = pair_update(v, u, negs, lr)
        g = (1 - tf.sigmoid(tf.reduce_sum(v * u))) * lr
        return g * u, du, dn

    ok, out = _said(capsys, w2v.check_pair_update(no_negatives))
    assert not ok and "negatives'" in out

    def analogy(vectors, a, b, c, k=1, exclude=True, normalise=True):
        unit = tf.math.l2_normalize(vectors, axis=1) if normalise else vectors
        target = tf.gather(unit, b) - tf.gather(unit, a) + tf.gather(unit, c)
        sims = tf.matmul(target, unit, transpose_b=True)
        if exclude:
            inputs = tf.reduce_sum(tf.one_hot(tf.stack([a, b, c], axis=1), tf.shape(unit)[0]), axis=1)
            sims = tf.where(inputs > 0, -np.inf, sims)
        return tf.math.top_k(sims, k).indices

    assert _said(capsys, w2v.check_analogy_ids(analogy))[0]
    ok, out = _said(
        capsys, w2v.check_analogy_ids(lambda v, a, b, c, k=1: analogy(v, a, b, c, k, exclude=False))
    )
    assert not ok and "-inf" in out
    ok, out = _said(
        capsys, w2v.check_analogy_ids(lambda v, a, b, c, k=1: analogy(v, a, b, c, k, normalise=False))
    )
    assert not ok and "unit length" in out
    # placeholders: None, or the stub function of the exercise copy (returns None)
    for check in (w2v.check_keep_prob, w2v.check_unigram_table, w2v.check_pair_update, w2v.check_analogy_ids):
        assert _said(capsys, check(None))[1].startswith("Not yet")
        assert _said(capsys, check(lambda *a, **k: None))[1].startswith("Not yet")


def test_subsampling_and_negatives_agree_with_numpy_references():
    counts = np.array([40_000, 9_000, 1_200, 300, 7, 1], dtype=np.int64)
    keep = w2v.subsample_keep_prob(counts, 1e-3).numpy()
    tn = 1e-3 * counts.sum()
    np.testing.assert_allclose(keep, np.minimum((np.sqrt(counts / tn) + 1) * tn / counts, 1.0), rtol=1e-12)
    table = w2v.unigram_table(counts, size=50_000).numpy()
    p = counts**0.75 / (counts**0.75).sum()
    bounds = np.cumsum(p) * 50_000
    ref = np.minimum(np.searchsorted(bounds, np.arange(50_000) + 0.5, side="right"), len(counts) - 1)
    np.testing.assert_array_equal(table, ref)
    assert np.all(np.diff(table) >= 0), "each word's slots are together, most frequent first"
    assert len(w2v.unigram_table(counts).numpy()) == 1_000_000


def test_the_trainer_runs_the_step_exported_from_the_notebook(monkeypatch, tmp_path):
    """One source: Word2Vec (and so the CLI, the benchmark and load_or_train) traces the
    notebook's sgns_step through make_train_run, not a copy of it."""
    calls = []
    exported = w2v.sgns_step

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return exported(*args, **kwargs)

    monkeypatch.setattr(w2v, "sgns_step", spy)
    corpus = tmp_path / "topics.txt"
    corpus.write_text(" ".join(topic_corpus(4000)) + "\n")
    emb, metrics = w2v.train_embeddings(
        str(corpus),
        epochs=1,
        dim=8,
        window=2,
        negatives=3,
        min_count=1,
        evaluate=False,
        progress=False,
        batch_words=64,
    )
    assert (
        calls
        and calls[0]["window"] == 2
        and calls[0]["negatives"] == 3
        and calls[0]["damping"] == "curvature"
    )
    assert emb.vectors.shape == (metrics["vocab_size"], 8) == (44, 8)


# --------------------------------------------------------------------------- which corpus (issue 13 item 5)
def fake_corpus_entry(monkeypatch, name, tmp_path, text=None, member=None):
    """Replace the registry entry of ``name`` by one whose only address is a local file: a tiny
    zip (``member`` inside, like text8.zip) or gzip holding ``text``, or a missing file when
    ``text`` is None. No download is ever tried."""
    import dataclasses
    import gzip
    import hashlib
    import zipfile

    real = data.REGISTRY[name]
    rel = real.files[0].path
    src = tmp_path / "public" / rel
    src.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        if member:
            with zipfile.ZipFile(src, "w") as z:
                z.writestr(member, text)
        else:
            src.write_bytes(gzip.compress(text.encode()))
    sha = hashlib.sha256(src.read_bytes()).hexdigest() if src.exists() else "0" * 64
    size = src.stat().st_size if src.exists() else 1
    entry = data.DataFile(rel, (str(src),), sha, size)
    monkeypatch.setitem(data.REGISTRY, name, dataclasses.replace(real, files=(entry,)))
    return src


@pytest.fixture
def no_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKSHOP_DATA_MIRROR", raising=False)
    monkeypatch.setenv("WORKSHOP_DATA_DIR", str(tmp_path / "cache"))


def test_full_mode_trains_on_text8_when_it_can_be_fetched(tmp_path, monkeypatch, no_mirror):
    text = " ".join(["the cat sat with the kitten and the dog"] * 20)
    fake_corpus_entry(monkeypatch, "text8", tmp_path, text, member="text8")
    choice = w2v.choose_corpus(quick=False, full_max_words=50)
    assert choice.corpora == ["text8"] and choice.max_words == 50
    assert "text8" in choice.reason and "full mode" in choice.reason and "50" in choice.reason
    assert choice.label == "text8 (first 50 words)"
    vocab, ids = w2v.build_vocab(w2v.Corpora(choice.corpora), min_count=1, max_words=choice.max_words)
    assert len(ids) == 50 and "kitten" in vocab  # read from the fetched (fake) text8.zip
    assert w2v.choose_corpus(quick=False).max_words == w2v.CORPUS_FULL_MAX_WORDS


def test_full_mode_falls_back_to_movie_reviews_and_news20_only_from_a_mirror(
    tmp_path, monkeypatch, no_mirror
):
    fake_corpus_entry(monkeypatch, "text8", tmp_path, None)  # its address holds nothing
    fake_corpus_entry(monkeypatch, "news20", tmp_path, None)
    choice = w2v.choose_corpus(quick=False)
    assert choice.corpora == ["movie_reviews"] and choice.max_words == w2v.CORPUS_FULL_MAX_WORDS
    assert "text8" in choice.reason and "could not be had" in choice.reason
    assert "news20 is not in a data mirror" in choice.reason
    news20 = fake_corpus_entry(monkeypatch, "news20", tmp_path / "m", "some news words " * 10)
    mirror = tmp_path / "mirror"
    (mirror / "corpora").mkdir(parents=True)
    (mirror / "corpora" / "news20.txt.gz").write_bytes(news20.read_bytes())
    news20.unlink()  # only the mirror has it now
    monkeypatch.setenv("WORKSHOP_DATA_MIRROR", str(mirror))
    choice = w2v.choose_corpus(quick=False)
    assert choice.corpora == ["movie_reviews", "news20"] and "news20 from the data mirror" in choice.reason


def test_quick_mode_keeps_its_small_corpus_without_trying_a_download(monkeypatch):
    def no_fetch(name, quiet=False):
        raise AssertionError(f"quick mode tried to fetch {name}")

    monkeypatch.setattr(data, "fetch", no_fetch)
    choice = w2v.choose_corpus(quick=True)
    assert choice.corpora == ["movie_reviews"] and choice.max_words == w2v.QUICK["max_words"]
    assert "quick mode" in choice.reason


def test_default_vectors_of_later_sections_follow_the_same_rule(tmp_path, monkeypatch):
    from workshop_sections.cnn_text_classification import text_cnn

    seen = {}

    class Stop(Exception):
        pass

    def spy(corpus, **params):
        seen.update(params, corpus=corpus)
        raise Stop

    monkeypatch.setattr(w2v, "choose_corpus", lambda quick: w2v.CorpusChoice(["text8"], 123, "a test"))
    monkeypatch.setattr(w2v, "train_embeddings", spy)
    monkeypatch.setenv("WORKSHOP_ARTIFACTS", str(tmp_path / "artifacts"))
    with pytest.raises(Stop):
        text_cnn.load_vectors(None, quick=False)
    assert seen["corpus"] == ["text8"] and seen["max_words"] == 123 and seen["epochs"] == 5


def test_talk_demos_never_crash_on_missing_words(capsys):
    words = ["cat", "cats", "dog", "kitty", "pet", "puppy"]
    emb = w2v.Embeddings(words, np.random.default_rng(0).normal(size=(len(words), 8)))
    w2v.show_talk_demos(emb, k=3)
    out = capsys.readouterr().out
    assert "cat ->" in out and "'kitten' is not in the vocabulary" in out and "Did you mean: kitty" in out
    emb = w2v.Embeddings(["dog", "puppy", "pet"], np.eye(3))
    w2v.show_talk_demos(emb)
    assert "'cat' is not in the vocabulary" in capsys.readouterr().out
