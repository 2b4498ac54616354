"""word2vec, optimised, with public TensorFlow 2 ops only (the helper of word2vec_optimized).

The 2016 workshop's ``word2vec_optimized.py`` needed custom C++ kernels (``skipgram_word2vec``
and ``neg_train_word2vec``) that TensorFlow dropped long ago. This module gets the same job
done with ordinary ops, and fast. The TensorFlow the section teaches is written in the
notebook ``word2vec_optimized.ipynb`` and exported into the block below the imports (``make
export``): :func:`subsample_keep_prob`, :func:`unigram_table`, :func:`draw_negatives`, the
compiled step (:func:`band_scores`, :func:`band_updates`, :func:`sgns_step`) and
:func:`make_train_run`. The rest of the module is the plumbing around them:

* **vocabulary** (:func:`build_vocab`): streamed over the corpus, most frequent word first,
  words seen fewer than ``min_count`` times dropped (as word2vec and gensim do);
* **subsampling** of frequent words with word2vec's formula (:func:`subsample_keep_prob`);
* **a dynamic window**: each centre word draws its window size uniformly from 1..``window``;
  pair generation is vectorised (:func:`skipgram_pairs`, :func:`window_matrix`);
* **negative sampling** from the unigram distribution raised to 0.75 (:func:`unigram_table`);
* **a streaming tf.data pipeline** in pure TensorFlow ops (:func:`make_dataset`);
* **the trainer** (:class:`Word2Vec`): plain SGD with a linearly decaying learning rate, as
  in word2vec. A step takes a run of consecutive words: each matrix row is read once per
  word and updated with one scatter-add per word; the scores are small dense matrix products
  (blocks of centres against their neighbourhoods); negatives are shared by small groups of
  neighbouring centres and re-weighted to word2vec's expected gradient. The whole step is
  compiled with XLA and a loop over many batches runs inside one compiled call. Each row's
  summed update in a batch is damped by its curvature so frequent words cannot blow up a
  large batch (see :class:`Word2Vec`);
* **evaluation**: :class:`Embeddings` with ``nearby`` and ``analogy`` (the talk's
  cat : kitten :: dog : ?) and analogy accuracy on questions-words restricted to the
  30,000 most frequent words, like gensim's ``evaluate_word_analogies``;
* **export** in the word2vec text format (:func:`save_vec`, readable by gensim's
  ``KeyedVectors.load_word2vec_format``) and in the workshop's own format
  (``vectors.npz`` + ``vocab.tsv``);
* :func:`train_embeddings` (used by the CLI and the notebook) and :func:`load_or_train`
  (used by later sections: loads ``artifacts/word2vec_optimized/vectors.vec`` or trains a
  quick version).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .. import config, data
from ..intro_word2vec.word2vec_basic import (  # the workshop's one vocabulary, corpus rule and word errors
    CORPUS_FULL_MAX_WORDS,  # noqa: F401 (re-exported: part of this section's API)
    CORPUS_QUICK_MAX_WORDS,
    UNK,
    Corpora,
    CorpusChoice,  # noqa: F401 (re-exported: part of this section's API)
    UnknownWordError,
    Vocab,
    Word2VecError,
    _is_source,
    build_vocab,
    choose_corpus,
    corpus_metric,
    iter_corpus_tokens,
    skipgram_pairs,  # noqa: F401 (re-exported: part of this section's API)
    suggest,
    window_matrix,  # noqa: F401 (re-exported: part of this section's API)
    window_offsets,  # noqa: F401 (re-exported: part of this section's API)
)
from ..intro_word2vec.word2vec_basic import check_window as _check_window
from ..tools import checks


def xla_cache_dir() -> Path | None:
    """Where compiled XLA programs are kept between runs, if anywhere: ``WORKSHOP_XLA_CACHE`` names
    a folder (``on``: ``$XDG_CACHE_HOME/tf-workshop/xla``, i.e. ``~/.cache/tf-workshop/xla``);
    unset, empty or ``off``: None, no cache.

    Off by default. It saves the 1.5-2 s compile of the training call in a later process (0.5 s
    to load instead), but TensorFlow 2.21 then prints two long ERROR lines on every warm start
    (``Error parsing text-format tensorflow.XlaSerializedCacheEntry`` and a ``cpu_aot_loader``
    line that warns of SIGILL because the compile-time CPU features list more than the host's),
    and a cache shared by machines with different CPUs (a home folder on NFS) could really run
    code the CPU lacks. ``make bench`` turns it on, in a folder of its own, for its warm row."""
    value = os.environ.get("WORKSHOP_XLA_CACHE", "").strip()
    if value.lower() in ("", "off", "0", "no"):
        return None
    if value.lower() in ("on", "1", "yes"):
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tf-workshop" / "xla"
    return Path(value).expanduser()


def use_xla_flags(cache: Path | None = None) -> str:
    """Add XLA's persistent compilation cache to ``TF_XLA_FLAGS``:
    ``--tf_xla_persistent_cache_directory`` = ``cache`` (default :func:`xla_cache_dir`, which is
    None unless ``WORKSHOP_XLA_CACHE`` asks for one), so that a later run loads the compiled
    training call instead of compiling it again. TensorFlow reads the flag when it starts (before
    its first op): set later, it is ignored. A flag already in ``TF_XLA_FLAGS`` wins. Returns the
    flags now set."""
    flags = os.environ.get("TF_XLA_FLAGS", "")
    cache = cache or xla_cache_dir()
    if cache is not None and "--tf_xla_persistent_cache_directory=" not in flags:
        flags = f"{flags} --tf_xla_persistent_cache_directory={cache}".strip()
    os.environ["TF_XLA_FLAGS"] = flags
    return flags


use_xla_flags()
config.quiet_tensorflow()  # import TensorFlow without its start-up noise (the exported cells use `tf`)
import tensorflow as tf  # noqa: E402


# >>> BEGIN EXPORT from word2vec_optimized.ipynb (`make export` writes this block: edit the notebook)
def subsample_keep_prob(counts, t=1e-3):
    """word2vec's probability of keeping each occurrence of a word when subsampling frequent words
    (Mikolov et al. 2013; the formula of the C tool and gensim): a word seen ``f`` times among
    ``N`` words is kept with probability ``min(1, (sqrt(f / (t N)) + 1) * t N / f)``.

    ``counts``: [V] word counts (any numbers). ``t``: the threshold (1e-3 in the C tool; 0 or
    None keeps every word). Returns a float64 tensor [V] of probabilities in (0, 1].
    """
    counts = tf.cast(counts, tf.float64)
    if not t:
        return tf.ones_like(counts)
    thresh = t * tf.reduce_sum(counts)
    keep = (tf.sqrt(counts / thresh) + 1.0) * thresh / counts
    return tf.minimum(keep, 1.0)


def unigram_table(counts, power=0.75, size=None):
    """word2vec's negative-sampling table (Mikolov et al. 2013; ``InitUnigramTable`` in the C
    tool): word ``w`` fills a share ``p_w = counts_w ** power / sum(counts ** power)`` of the
    table's slots, so a uniformly drawn slot is a sample from the unigram distribution raised
    to 0.75.

    ``counts``: [V] word counts; ``size``: slots (default ``max(1e6, 100 V)``).
    Returns an int32 tensor [size] of word ids, each word's slots together.
    """
    counts = tf.cast(counts, tf.float64)
    size = int(size or max(1_000_000, 100 * int(counts.shape[0])))
    p = counts**power
    p = p / tf.reduce_sum(p)
    bounds = tf.cumsum(p) * size  # word w owns the slots between bounds[w - 1] and bounds[w]
    slots = tf.range(size, dtype=tf.float64) + 0.5
    table = tf.searchsorted(bounds, slots, side="right", out_type=tf.int32)
    return tf.minimum(table, int(counts.shape[0]) - 1)  # rounding at the very end


def fmix32(h):
    """murmur3's 32-bit finaliser (Appleby, MurmurHash3 ``fmix32``): a bijection of uint32 in
    which every input bit flips each output bit with probability ~1/2. ``h``: uint32 tensor."""
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(16, tf.uint32)))
    h = h * tf.constant(0x85EBCA6B, tf.uint32)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(13, tf.uint32)))
    h = h * tf.constant(0xC2B2AE35, tf.uint32)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(16, tf.uint32)))


def uniform_slots(n, size, seed):
    """``n`` (a Python int) uniform int32 in ``[0, size)``, a pure function of ``seed`` (two
    int32s): counters ``0 .. n-1`` times the golden-ratio constant plus a key mixed from the seed,
    each mixed by :func:`fmix32` (a SplitMix-style generator, Steele et al. 2014), then scaled by
    a multiply-shift (Lemire 2019: ``size`` may be any int32; bias below ``size / 2**32``).
    Stateless like ``tf.random.stateless_uniform``, and several times cheaper in XLA on the CPU."""
    golden = tf.constant(0x9E3779B9, tf.uint32)
    s = tf.cast(seed, tf.uint32)
    key = fmix32(s[0] * golden + fmix32(s[1] + tf.constant(0x632BE5AB, tf.uint32)))
    h = fmix32(tf.cast(tf.range(n), tf.uint32) * golden + key)  # [n] uniform uint32
    scaled = tf.cast(h, tf.uint64) * tf.cast(size, tf.uint64)  # < size * 2**32
    return tf.cast(tf.bitwise.right_shift(scaled, tf.constant(32, tf.uint64)), tf.int32)


def draw_negatives(table, shape, seed):
    """Negative samples: uniform slots of the unigram table (``unigram_table``), gathered.

    Stateless random numbers (:func:`uniform_slots`; ``seed``: two int32s), so the draw can live
    inside the XLA-compiled step and the same seed gives the same words. Returns int32 ids of
    ``shape`` (a list of Python ints)."""
    slots = uniform_slots(int(np.prod(shape)), tf.shape(table)[0], seed)
    return tf.gather(table, tf.reshape(slots, shape))


def swap_last_axes(x):
    """``x`` [n, a, b] (three axes) -> [n, b, a] (a transpose), as one gather with constant indices.

    Why not ``tf.transpose``: XLA folds a transpose of a matrix product's result back into the
    product, which then writes its result in the order asked for; on the CPU, the small products
    of this step run ~1.7x faster when their result's last axis is the 16 centres (of a block, or
    of a group sharing negatives) (measured: ``benchmarks/README.md``). XLA leaves a gather alone."""
    n, a, b = x.shape
    idx = np.arange(a)[None, :] * b + np.arange(b)[:, None]  # [b, a]: where x[:, i, j] sits, flat
    return tf.gather(tf.reshape(x, [n, a * b]), tf.constant(idx, tf.int32), axis=1)


def band_scores(v, u, window, block):
    """The scores ``v_l . u_{l+o}`` of every centre ``l`` of a run with its ``2 window`` neighbours.

    ``v``: [L, d] the centres' word vectors; ``u``: [L + 2W, d] the output rows of the whole run
    (run row ``l + W`` is centre ``l``). Computed per block of ``block`` centres against their
    ``block + 2W`` run rows (small dense matrix products: XLA runs them far faster than
    ``L * 2W`` separate dot products), each block's result laid out [run row, centre] (the faster
    form: :func:`swap_last_axes` says why); the band of each centre's ``2W`` contexts is then
    picked out of it, in [centre, offset] order, with one gather of constant indices (no
    transpose). ``L`` must be a multiple of ``block`` and ``block >= 2W``.
    Returns ``(scores [L, 2W]`` for the offsets -W..-1, 1..W, ``v_blk [nb, Bk, d], u_blk [nb, R, d])``.
    """
    W, Bk = window, block
    L, d = v.shape
    nb, R = L // Bk, Bk + 2 * W
    u_blk = tf.concat(
        [
            tf.reshape(u[:L], [nb, Bk, d]),
            tf.reshape(tf.pad(u[Bk:], [[0, Bk - 2 * W], [0, 0]]), [nb, Bk, d])[:, : 2 * W],
        ],
        axis=1,
    )  # block k holds the run rows k*Bk .. k*Bk + R - 1
    v_blk = tf.reshape(v, [nb, Bk, d])
    scores = tf.einsum("nrd,nbd->nrb", u_blk, v_blk, name="band_scores")  # [nb, R, Bk]
    # centre b of a block is its run row b + W; its contexts are the run rows b .. b + 2W but b + W
    offsets = np.array([a for a in range(2 * W + 1) if a != W])  # run row b + a: offset a - W
    rows = np.arange(Bk)[:, None] + offsets[None, :]  # [Bk, 2W]
    idx = rows * Bk + np.arange(Bk)[:, None]  # where scores[:, row, b] sits in a block's flat scores
    band = tf.gather(tf.reshape(scores, [nb, R * Bk]), tf.constant(idx, tf.int32), axis=1)  # [nb, Bk, 2W]
    return tf.reshape(band, [L, 2 * W]), v_blk, u_blk


def band_updates(g, v_blk, u_blk, window):
    """The way back through :func:`band_scores`: with ``g`` [L, 2W] the gradient factor of each
    (centre, context) pair, ``dv_l = sum_o g[l, o] u_{l+o}`` [L, d] for the centres and
    ``du_r = sum of g[l, o] v_l`` over the pairs whose context is run row ``r`` [L + 2W, d],
    with the same small matrix products. Returns ``(dv, du)``."""
    nb, Bk, d = v_blk.shape
    W = window
    L, R = nb * Bk, Bk + 2 * W
    g_band = tf.concat([g[:, :W], tf.zeros([L, 1]), g[:, W:]], axis=1)
    g_band = tf.pad(tf.reshape(g_band, [nb, Bk, 2 * W + 1]), [[0, 0], [0, 0], [0, R - 2 * W]])
    g_blk = tf.reshape(tf.reshape(g_band, [nb, Bk * (R + 1)])[:, : Bk * R], [nb, Bk, R])  # back into blocks
    dv = tf.reshape(tf.einsum("nbr,nrd->nbd", g_blk, u_blk), [L, d])
    du_blk = tf.einsum("nbr,nbd->nrd", g_blk, v_blk)  # [nb, R, d]: block k's updates of its run rows
    du_tail = tf.reshape(tf.pad(du_blk[:, Bk:], [[0, 0], [0, Bk - 2 * W], [0, 0]]), [L, d])
    du = (
        tf.pad(tf.reshape(du_blk[:, :Bk], [L, d]), [[0, 2 * W], [0, 0]])
        + tf.pad(du_tail, [[Bk, 0], [0, 0]])[: L + 2 * W]
    )  # rows shared by two blocks get both parts
    return dv, du


def context_index(length, window):
    """Where each centre's contexts sit in its run: an int32 constant [L, 2W], row ``l`` holding
    the run rows ``l + W + o`` for the offsets ``o`` = -W..-1, 1..W (run row ``l + W`` is centre
    ``l``). A gather with it lines up every centre with its contexts; a segment sum with it adds
    what the pairs send back to each run row."""
    offsets = np.array([o for o in range(-window, window + 1) if o != 0])
    return tf.constant(np.arange(length)[:, None] + window + offsets[None, :], tf.int32)


def pair_mask(seq, span, window):
    """Which (centre, context) pairs of a run exist: ``m`` [L, 2W] float32, 1 where the offset
    (-W..-1, 1..W) is inside the centre's window size ``span`` and the context inside the corpus
    (``seq`` >= 0); and ``n_ctx`` [L], the contexts of each centre."""
    W, L = window, span.shape[0]
    reach = tf.constant([abs(o) for o in range(-W, W + 1) if o != 0])  # [2W] the offsets' distance
    m = tf.cast((span[:, None] >= reach) & (tf.gather(seq, context_index(L, W)) >= 0), tf.float32)
    return m, tf.reduce_sum(m, axis=1)


def shared_negatives(table, seq, m, v, out, seed, *, window, negatives, neg_group, neg_shared):
    """``neg_shared`` negatives per group of ``neg_group`` neighbouring centres, with their output
    rows ``un`` [N, Kg, d], their scores ``ln`` [N, G, Kg] against the group's centres ``v`` and
    their weights ``wn`` [N, G, Kg]: word2vec's ``negatives`` per pair in expectation, 0 for a
    negative that is a true context of the centre. Returns ``(neg, un, ln, wn)``."""
    W, G, Kg = window, neg_group, neg_shared
    L, d = v.shape
    N = L // G  # groups of centres sharing negatives
    neg = draw_negatives(table, [N, Kg], seed)  # [N, Kg]
    un = tf.gather(out, neg)  # [N, Kg, d]
    # [N, G, Kg], computed as [N, Kg, G] and swapped (the faster form: see swap_last_axes)
    ln = swap_last_axes(tf.einsum("nkd,ngd->nkg", un, tf.reshape(v, [N, G, d]), name="neg_logits"))
    ctx = tf.where(m > 0, tf.gather(seq, context_index(L, W)), -1)  # [L, 2W] each centre's contexts
    ctx = tf.reshape(ctx, [N, G, 1, 2 * W])
    hit = tf.reduce_any(tf.equal(neg[:, None, :, None], ctx), axis=3)  # a true context is no negative
    n_ctx = tf.reduce_sum(m, axis=1)
    wn = tf.where(hit, 0.0, 1.0) * tf.reshape(n_ctx * (negatives / Kg), [N, G, 1])
    return neg, un, ln, wn


def squared_norms(x):
    """``|row|^2`` of every row of ``x`` [..., d] -> [...]: a matrix-vector product with ones, which
    XLA's CPU backend runs ~7% faster per step than ``tf.reduce_sum(x * x, axis=-1)`` (a row sum
    that it splits into windowed partial sums)."""
    return tf.linalg.matvec(x * x, tf.ones([x.shape[-1]], x.dtype))


def curvature_scales(lp, ln, m, wn, v, u, un, c, rows, lr, vocab_size, window):
    """Damping of each row's summed update in a batch: ``1 / (1 + lr h)``, ``h`` the row's share of
    the loss's curvature, ``sum over its pairs of sigmoid'(score) |other vector|^2``. Returns the
    scales of the centre rows ``c`` [L] and of the output rows ``rows`` [L + 2W + N Kg]."""
    W, L, (N, G, _) = window, v.shape[0], ln.shape
    idx = context_index(L, W)  # [L, 2W]
    u2, v2 = squared_norms(u), squared_norms(v)  # [L + 2W], [L]
    sp, sn = tf.sigmoid(lp), tf.sigmoid(ln)
    curv, curv_n = sp * (1.0 - sp) * m, sn * (1.0 - sn) * wn  # sigmoid'(s) = s (1 - s)
    h_c = tf.reduce_sum(curv * tf.gather(u2, idx), axis=1) + tf.reshape(
        tf.reduce_sum(curv_n * squared_norms(un)[:, None, :], axis=2), [L]
    )
    h_run = tf.math.unsorted_segment_sum(curv * v2[:, None], idx, L + 2 * W)  # [L + 2W] per run row
    h_neg = tf.reduce_sum(curv_n * tf.reshape(v2, [N, G, 1]), axis=1)  # [N, Kg]
    H_c = tf.tensor_scatter_nd_add(tf.zeros([vocab_size]), c[:, None], h_c)  # summed over occurrences
    H_o = tf.tensor_scatter_nd_add(
        tf.zeros([vocab_size]), rows[:, None], tf.concat([h_run, tf.reshape(h_neg, [-1])], 0)
    )
    return 1.0 / (1.0 + lr * tf.gather(H_c, c)), 1.0 / (1.0 + lr * tf.gather(H_o, rows))


def count_scales(m, c, rows, vocab_size, window, neg_group, max_row_updates):
    """The other damping: each row's summed update scaled by ``min(1, max_row_updates / n)``,
    ``n`` its number of pair updates in the batch. Returns the scales of ``c`` and ``rows``."""
    W, L = window, m.shape[0]
    n_ctx = tf.reduce_sum(m, axis=1)
    ctx_pairs = tf.math.unsorted_segment_sum(m, context_index(L, W), L + 2 * W)  # pairs per run row
    n_neg = tf.shape(rows)[0] - (L + 2 * W)
    cnt_c = tf.tensor_scatter_nd_add(tf.zeros([vocab_size]), c[:, None], tf.cast(n_ctx > 0, tf.float32))
    cnt_o = tf.tensor_scatter_nd_add(
        tf.zeros([vocab_size]), rows[:, None], tf.concat([ctx_pairs, tf.fill([n_neg], float(neg_group))], 0)
    )
    sc_c = tf.minimum(1.0, max_row_updates / tf.maximum(tf.gather(cnt_c, c), 1.0))
    return sc_c, tf.minimum(1.0, max_row_updates / tf.maximum(tf.gather(cnt_o, rows), 1.0))


def measured_loss(lp, ln, m, wn, neg_group):
    """The batch's loss, ``-log sigmoid(score)`` of the positive pairs (``lp`` [L, 2W], mask ``m``)
    and ``-log sigmoid(-score)`` of the negatives (``ln`` [N, G, Kg], weights ``wn``). It is only
    reported, not used by the update, so it is measured on the first eighth of the centres (~1,500
    pairs per batch; all of them cost ~8% of the step). ``tf.math.log_sigmoid`` stays finite for
    any score (``log(sigmoid(s) + eps)`` did not: XLA folded ``1 - p + eps`` into ``1 - p``).
    Returns ``(loss_sum, pairs)`` of the centres measured."""
    Nm = max(1, ln.shape[0] // 8)  # groups of centres measured
    Lm = Nm * neg_group
    loss = -tf.reduce_sum(tf.math.log_sigmoid(lp[:Lm]) * m[:Lm])
    loss -= tf.reduce_sum(tf.math.log_sigmoid(-ln[:Nm]) * wn[:Nm])
    return loss, tf.reduce_sum(m[:Lm])


def sgns_step(
    emb,
    out,
    table,
    seq,
    span,
    lr,
    seed,
    *,
    window,
    negatives,
    neg_group=16,
    neg_shared=25,
    block=16,
    damping="curvature",
    max_row_updates=10.0,
    threads=1,
):
    """One batch of skip-gram with negative sampling (Mikolov et al. 2013) as one SGD update.

    ``emb``, ``out``: the [V, d] tables (word vectors, output weights) as tensors; ``table``:
    :func:`unigram_table`. ``seq`` [L + 2W] int32: a run of the subsampled corpus, -1 outside it
    (centre ``l`` is ``seq[l + W]``); ``span`` [L] int32: each centre's window size (1..W; 0 for
    padding); ``lr``: the learning rate; ``seed``: two int32s. ``damping``: "curvature"
    (:func:`curvature_scales`) or "count" (:func:`count_scales`); ``threads``: how many threads
    train at once (their updates of a row add up, so the damping counts each row's curvature
    once per thread).
    Returns ``(emb, out, loss_sum, pairs)``: the updated tables, the summed loss of the pairs of
    the batch's first eighth of centres (a sample: the loss is only reported) and their number.
    """
    W, V = window, tf.shape(emb)[0]
    x = tf.maximum(seq, 0)
    c = x[W:-W]  # the centre words
    v, u = tf.gather(emb, c), tf.gather(out, x)  # 1. each word of the run read once: [L, d], [L + 2W, d]
    m, _ = pair_mask(seq, span, W)  # [L, 2W]: which pairs exist
    # 2. positives: scores, then the gradient of log sigmoid(score), 1 - sigmoid(score)
    lp, v_blk, u_blk = band_scores(v, u, W, block)  # [L, 2W]
    dv, du = band_updates((1.0 - tf.sigmoid(lp)) * m * lr, v_blk, u_blk, W)  # [L, d], [L + 2W, d]
    # 3. negatives: the gradient of log sigmoid(-score) is -sigmoid(score)
    neg, un, ln, wn = shared_negatives(
        table, seq, m, v, out, seed, window=W, negatives=negatives, neg_group=neg_group, neg_shared=neg_shared
    )
    gn = -tf.sigmoid(ln) * wn * lr  # [N, G, Kg]
    dv += tf.reshape(tf.einsum("ngk,nkd->ngd", gn, un, name="neg_dv"), dv.shape)
    du_n = tf.einsum("ngk,ngd->nkd", gn, tf.reshape(v, [ln.shape[0], neg_group, -1]), name="neg_du")
    rows = tf.concat([x, tf.reshape(neg, [-1])], axis=0)  # the output rows to update
    upd = tf.concat([du, tf.reshape(du_n, [-1, du.shape[1]])], axis=0)
    # 4. damping: a row's summed update over the whole batch must not overshoot
    if damping == "count":
        sc_c, sc_o = count_scales(m, c, rows, V, W, neg_group, max_row_updates / threads)
    else:
        sc_c, sc_o = curvature_scales(lp, ln, m, wn, v, u, un, c, rows, lr * threads, V, W)
    loss, pairs = measured_loss(lp, ln, m, wn, neg_group)  # 5. only reported: not in the update
    # 6. scatter-adds into the tables: one per word read (the updates of repeated words add up)
    emb = tf.tensor_scatter_nd_add(emb, c[:, None], dv * sc_c[:, None])
    out = tf.tensor_scatter_nd_add(out, rows[:, None], upd * sc_o[:, None])
    return emb, out, loss, pairs


def make_train_run(table, *, jit=True, step=None, **step_options):
    """The compiled training call of one chunk of the corpus:
    ``run(emb, out, seqs [S, L + 2W], spans [S, L], lrs [S], n_batches, seed)`` applies ``step``
    (default :func:`sgns_step`) to the first ``n_batches`` batches, one after the other, on its
    own copies of the tables ``emb`` and ``out`` (tensors: a snapshot of the variables), inside one
    ``tf.function(jit_compile=True)`` call (XLA compiles the whole loop once).
    ``step_options`` go to the step. Returns ``(d_emb, d_out, loss_sum, pairs_sum)``: the
    chunk's changes of the two tables, for the caller to add to the variables, and the step's
    loss summed over the pairs it measured, and their number."""

    def run(emb, out, seqs, spans, lrs, n_batches, seed):
        step_fn = step or sgns_step

        def body(s, e, o, loss_sum, pairs_sum):
            e, o, loss, pairs = step_fn(
                e, o, table, seqs[s], spans[s], lrs[s], tf.stack([seed, s]), **step_options
            )
            return s + 1, e, o, loss_sum + loss, pairs_sum + pairs

        # an explicit while_loop: the number of batches stays a runtime value (a Python loop
        # would be unrolled, and a new count would compile again)
        _, e, o, loss_sum, pairs_sum = tf.while_loop(
            lambda s, *_: s < n_batches, body, (tf.constant(0), emb, out, tf.constant(0.0), tf.constant(0.0))
        )
        return e - emb, o - out, loss_sum, pairs_sum

    return tf.function(run, jit_compile=jit, autograph=False)


# <<< END EXPORT


SECTION = "word2vec_optimized"
DEFAULTS = dict(
    epochs=5,
    dim=128,
    window=5,
    negatives=5,
    min_count=5,
    subsample=1e-3,
    lr=0.025,
    min_lr=0.0001,
    batch_words=2048,
)
QUICK = dict(epochs=3, dim=64, max_words=CORPUS_QUICK_MAX_WORDS)  # the one corpus rule's quick cap


# =========================================================================== errors, vocabulary
# Word2VecError / UnknownWordError, Vocab, build_vocab (-> (vocab, ids)), suggest, Corpora and
# iter_corpus_tokens are imported above from intro_word2vec.word2vec_basic, their one home: this
# section builds its vocabulary with build_vocab(corpus, min_count=..., max_size=...) (no UNK entry).


# =========================================================================== sampling
def subsample(ids: np.ndarray, keep_prob: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The ids that survive subsampling: ``ids[rng.random(len(ids)) < keep_prob[ids]]``
    (``keep_prob`` from :func:`subsample_keep_prob`)."""
    ids = np.asarray(ids)
    return ids[rng.random(len(ids)) < np.asarray(keep_prob)[ids]]


def check_subsample(t):
    """``t`` if it is a valid subsampling threshold (a number >= 0, or None), else Word2VecError."""
    if t is not None and not (isinstance(t, (int, float, np.floating, np.integer)) and t >= 0):
        raise Word2VecError(f"the subsampling threshold t must be a number >= 0 (or 0/None: off), got {t!r}.")
    return t


# window_matrix, window_offsets and skipgram_pairs (an int32 (num_pairs, 2) array; pass ``rng`` for
# word2vec's dynamic window) are imported above from intro_word2vec.word2vec_basic.


def check_negatives(negatives: int, vocab_size: int) -> None:
    """Word2VecError unless ``negatives`` is a whole number in 1..vocab_size - 1."""
    if int(negatives) != negatives or negatives < 1:
        raise Word2VecError(f"negatives must be a positive whole number, got {negatives!r}.")
    if negatives >= vocab_size:
        raise Word2VecError(
            f"{negatives} negatives asked for, but the vocabulary has only {vocab_size} words: negative "
            f"samples must be words other than the true context, so use fewer than {vocab_size} "
            "(5-20 is usual), or a bigger corpus / lower min_count."
        )


def check_corpus(ids: np.ndarray, window: int) -> None:
    """CorpusError for an empty corpus or one not longer than the window (Word2VecError: bad window)."""
    _check_window(window)
    n = len(ids)
    if n == 0:
        raise data.CorpusError(
            "The corpus is empty (no word left after the vocabulary cut): "
            "give more text or a lower min_count."
        )
    if n <= window:
        raise data.CorpusError(
            f"The corpus has only {n} word(s), not more than the window ({window}): "
            "give more text or a smaller window."
        )


# =========================================================================== tf.data
def make_dataset(
    ids,
    counts,
    window: int = 5,
    batch_size: int = 16384,
    subsample: float | None = 1e-3,
    seed: int = 0,
    epochs: int = 1,
    chunk_size: int = 1 << 18,
    shuffle: bool = True,
):
    """A streaming ``tf.data.Dataset`` of ``(targets, contexts)`` int32 batches, pure TF ops.

    The corpus is cut into chunks of ``chunk_size`` words; each chunk (in parallel) is
    subsampled, gets a dynamic window per word, becomes skip-gram pairs and is shuffled;
    the pairs come out in batches of ``batch_size`` (the last batch of a chunk may be
    smaller). Random draws are stateless: same ``seed`` -> same pairs; each epoch differs.
    Works in ``tf.distribute`` input functions (no Python generator).
    """
    ids = np.asarray(ids, dtype=np.int32)
    check_corpus(ids, window)
    if batch_size < 1:
        raise Word2VecError(f"batch_size must be positive, got {batch_size}.")
    keep = tf.cast(subsample_keep_prob(counts, check_subsample(subsample)), tf.float32)
    ids_t = tf.constant(ids)
    n = len(ids)
    n_chunks = -(-n // chunk_size)

    def pairs_of(i):
        c = i % n_chunks
        chunk = ids_t[c * chunk_size : (c + 1) * chunk_size]
        s1 = tf.stack([tf.cast(seed, tf.int64), i * 3])
        u = tf.random.stateless_uniform(tf.shape(chunk), seed=s1)
        chunk = tf.boolean_mask(chunk, u < tf.gather(keep, chunk))
        m = tf.size(chunk)
        spans = tf.random.stateless_uniform(
            [m], seed=s1 + [0, 1], minval=1, maxval=window + 1, dtype=tf.int32
        )
        ts, cs = [], []
        for o in range(1, window + 1):
            k = tf.maximum(m - o, 0)
            left, right = chunk[:k], chunk[o : o + k]
            fwd = spans[:k] >= o  # centre left, context right
            bwd = spans[o : o + k] >= o  # centre right, context left
            ts += [tf.boolean_mask(left, fwd), tf.boolean_mask(right, bwd)]
            cs += [tf.boolean_mask(right, fwd), tf.boolean_mask(left, bwd)]
        t, cx = tf.concat(ts, 0), tf.concat(cs, 0)
        if shuffle:
            perm = tf.random.experimental.stateless_shuffle(tf.range(tf.size(t)), seed=s1 + [0, 2])
            t, cx = tf.gather(t, perm), tf.gather(cx, perm)
        return t, cx

    ds = tf.data.Dataset.range(int(epochs) * n_chunks)
    ds = ds.map(pairs_of, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.flat_map(lambda t, cx: _pair_batches(t, cx, batch_size))
    return ds.prefetch(tf.data.AUTOTUNE)


def _pair_batches(t, cx, batch_size: int):
    """A chunk's (targets, contexts) cut into a dataset of batches of ``batch_size`` pairs."""
    nb = (tf.size(t) + batch_size - 1) // batch_size
    return tf.data.Dataset.range(tf.cast(nb, tf.int64)).map(
        lambda b: (t[b * batch_size : (b + 1) * batch_size], cx[b * batch_size : (b + 1) * batch_size])
    )


# =========================================================================== embeddings
def _analogy_rows(questions, index: dict) -> tuple[list, list, int]:
    """The questions ``(section, a, b, c, d)`` as rows of 4 ids of ``index`` (lower-cased words),
    their sections, and the number skipped (a word outside ``index``)."""
    rows, sections, skipped = [], [], 0
    for q in questions:
        if len(q) != 5:
            raise Word2VecError(f"an analogy question must be (section, a, b, c, d), got {q!r}.")
        sec, *ws = q
        ids = [index.get(w.lower()) for w in ws]
        if any(i is None for i in ids):
            skipped += 1
            continue
        rows.append(ids)
        sections.append(sec)
    return rows, sections, skipped


class Embeddings:
    """Trained word vectors: ``words`` (most frequent first), ``vectors`` (float32),
    ``normalized`` (L2-normalised rows), ``nearby``, ``analogy``, ``evaluate_analogies``."""

    def __init__(self, words: Sequence[str], vectors, counts=None):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise Word2VecError(f"{len(words)} words but vectors of shape {vectors.shape}: they must match.")
        self.words = list(words)
        self.vectors = vectors
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self.index = {w: i for i, w in enumerate(self.words)}
        self._normalized = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index

    def __repr__(self) -> str:
        return f"Embeddings({len(self.words):,} words x {self.dim} dims)"

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def normalized(self) -> np.ndarray:
        if self._normalized is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            self._normalized = (self.vectors / np.maximum(norms, 1e-12)).astype(np.float32)
        return self._normalized

    def id(self, word: str) -> int:
        try:
            return self.index[word]
        except KeyError:
            w = str(word).lower()
            if w in self.index:
                return self.index[w]
            raise UnknownWordError(word, suggest(word, self.words)) from None

    def vector(self, word: str, normalized: bool = True) -> np.ndarray:
        i = self.id(word)
        return self.normalized[i] if normalized else self.vectors[i]

    def _top(self, query: np.ndarray, k: int, exclude: Iterable[int] = (), limit: int | None = None) -> list:
        m = self.normalized if limit is None else self.normalized[:limit]
        q = query / max(float(np.linalg.norm(query)), 1e-12)
        sims = m @ q
        for i in exclude:
            if i < len(sims):
                sims[i] = -np.inf
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.words[i], float(sims[i])) for i in top if np.isfinite(sims[i])]

    def nearby(self, words, k: int = 8) -> dict:
        """The ``k`` nearest words (cosine) of each word: ``{word: [(neighbour, similarity), ...]}``.
        A single string is accepted too."""
        if isinstance(words, str):
            words = [words]
        out = OrderedDict()
        for w in words:
            i = self.id(w)
            out[w] = self._top(self.normalized[i].copy(), k, exclude=[i])
        return out

    def show_nearby(self, words, k: int = 8) -> None:
        for w, near in self.nearby(words, k).items():
            print(f"{w:>12} -> " + ", ".join(f"{n} ({s:.2f})" for n, s in near))

    def analogy(self, a: str, b: str, c: str, k: int = 1, restrict_vocab: int | None = None):
        """a : b :: c : ?  (``cat : kitten :: dog : ?`` -> ``puppy``, with good vectors).

        The answer is the word nearest to ``b - a + c`` (unit vectors), never a, b or c.
        Returns the word when ``k == 1``, else a list of ``(word, similarity)``."""
        ia, ib, ic = self.id(a), self.id(b), self.id(c)
        n = self.normalized
        top = self._top(n[ib] - n[ia] + n[ic], k, exclude=[ia, ib, ic], limit=restrict_vocab)
        return top[0][0] if k == 1 else top

    def evaluate_analogies(self, questions=None, restrict_vocab: int = 30000, batch: int = 2048) -> dict:
        """Accuracy on analogy questions ``(section, a, b, c, d)`` (default: questions-words).

        Like gensim's ``evaluate_word_analogies``: only the ``restrict_vocab`` most frequent
        words are candidates; a question with a word outside them is skipped (and counted
        in ``skipped``); the answer is the nearest candidate to ``b - a + c`` other than a, b, c.
        Sections whose name starts with 'gram' are syntactic, the others semantic.
        Returns ``{overall, semantic, syntactic, correct, total, skipped, sections: {...}}``
        (accuracies as fractions; None where no question was answered).
        """
        if questions is None:
            questions = data.load_questions_words(quiet=True)
        limit = min(int(restrict_vocab), len(self.words)) if restrict_vocab else len(self.words)
        rows, sections, skipped = _analogy_rows(questions, {w: i for i, w in enumerate(self.words[:limit])})
        per_section: dict = OrderedDict()
        if rows:
            q = np.array(rows, dtype=np.int64)
            m = self.normalized[:limit]
            correct = np.zeros(len(q), dtype=bool)
            for s in range(0, len(q), batch):
                blk = q[s : s + batch]
                sims = (m[blk[:, 1]] - m[blk[:, 0]] + m[blk[:, 2]]) @ m.T
                for j in range(3):
                    sims[np.arange(len(blk)), blk[:, j]] = -np.inf
                correct[s : s + batch] = sims.argmax(axis=1) == blk[:, 3]
            for sec, ok in zip(sections, correct):
                c, t = per_section.get(sec, (0, 0))
                per_section[sec] = (c + int(ok), t + 1)

        def acc(pred):
            c = sum(v[0] for k, v in per_section.items() if pred(k))
            t = sum(v[1] for k, v in per_section.items() if pred(k))
            return (c / t if t else None), c, t

        overall, c_all, t_all = acc(lambda k: True)
        semantic, c_sem, t_sem = acc(lambda k: not k.startswith("gram"))
        syntactic, c_syn, t_syn = acc(lambda k: k.startswith("gram"))
        return {
            "overall": overall,
            "semantic": semantic,
            "syntactic": syntactic,
            "correct": c_all,
            "total": t_all,
            "skipped": skipped,
            "semantic_total": t_sem,
            "syntactic_total": t_syn,
            "restrict_vocab": limit,
            "sections": {
                k: {"correct": v[0], "total": v[1], "accuracy": v[0] / v[1]} for k, v in per_section.items()
            },
        }

    # ------------------------------------------------------------------ I/O
    def save(self, out_dir, vec: bool = True) -> Path:
        """The workshop's format (``vectors.npz`` + ``vocab.tsv``) and ``vectors.vec`` in ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        counts = self.counts if self.counts is not None else np.zeros(len(self.words), np.int64)
        np.savez(out / "vectors.npz", vectors=self.vectors, counts=counts)
        (out / "vocab.tsv").write_text(
            "".join(f"{w}\t{c}\n" for w, c in zip(self.words, counts)), encoding="utf-8"
        )
        if vec:
            save_vec(out / "vectors.vec", self.words, self.vectors)
        return out

    @classmethod
    def load(cls, out_dir) -> Embeddings:
        """Load the workshop's format (``vectors.npz`` + ``vocab.tsv``) from a folder."""
        out = Path(out_dir)
        if not (out / "vectors.npz").exists() or not (out / "vocab.tsv").exists():
            raise FileNotFoundError(
                f"{out} holds no vectors.npz + vocab.tsv: train first "
                "(python -m workshop_sections.word2vec_optimized --out DIR)."
            )
        z = np.load(out / "vectors.npz")
        words, counts = [], []
        for line in (out / "vocab.tsv").read_text(encoding="utf-8").splitlines():
            w, _, c = line.partition("\t")
            words.append(w)
            counts.append(int(c or 0))
        return cls(words, z["vectors"], counts)


def all_but_the_top(vectors, components: int = 2, fit_rows: int = 5000) -> np.ndarray:
    """Subtract the mean vector and the ``components`` strongest directions ("all-but-the-top",
    Mu & Viswanath 2018), fitted on the ``fit_rows`` most frequent words (the first rows).
    Vectors trained on little text share a few large common directions; this removes them.
    Used by the later sections (cnn_text_classification, distributed_tensorflow)."""
    v = np.asarray(vectors, dtype=np.float32)
    v = v - v.mean(axis=0, keepdims=True)
    if components:
        _, _, vt = np.linalg.svd(v[:fit_rows], full_matrices=False)
        top = vt[:components]
        v = v - (v @ top.T) @ top
    return v


def save_vec(path, words: Sequence[str], vectors) -> Path:
    """Write the word2vec text format: a ``"<count> <dim>"`` line, then ``word v1 ... vD`` lines."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(words) != vectors.shape[0]:
        raise Word2VecError(f"{len(words)} words but vectors of shape {vectors.shape}: they must match.")
    bad = [w for w in words if not w or any(ch.isspace() for ch in w)]
    if bad:
        raise Word2VecError(
            f"words must be non-empty and without spaces for the .vec format, e.g. {bad[0]!r}."
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{vectors.shape[0]} {vectors.shape[1]}\n")
        step = 4096
        for s in range(0, len(words), step):
            block = vectors[s : s + step]
            lines = [
                w + " " + " ".join(map(_fmt, row)) for w, row in zip(words[s : s + step], block.tolist())
            ]
            f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def load_vec(path, limit: int | None = None) -> Embeddings:
    """Read word vectors into :class:`Embeddings` with :func:`workshop_sections.data.load_word_vectors`:
    word2vec text (``.vec``, fastText's too), word2vec binary or GloVe text, gzipped or not;
    ``limit``: only the first ``limit`` words. Raises ``FileNotFoundError`` for a missing file and
    :class:`Word2VecError` (one line: the file, the line, the format expected) for a bad one."""
    path = Path(path)
    if str(path).strip() and not path.exists():
        raise FileNotFoundError(
            f"No vector file at {path}: train one with "
            f"python -m workshop_sections.word2vec_optimized --out {path.parent}."
        )
    try:
        words, vectors = data.load_word_vectors(path, limit=limit)
    except data.VectorFileError as exc:
        raise Word2VecError(str(exc)) from None
    return Embeddings(words, vectors)


# =========================================================================== the trainer
def _set_threads() -> int:
    """Use every core for TensorFlow's thread pools (before any op runs)."""
    cores = os.cpu_count() or 1
    try:
        tf.config.threading.set_intra_op_parallelism_threads(cores)
        tf.config.threading.set_inter_op_parallelism_threads(cores)
    except RuntimeError:
        pass  # TensorFlow already started: the pools exist (they default to all cores anyway)
    return cores


def default_threads() -> int:
    """Training threads by default: 2 on a machine with 2 cores or more, else 1."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


class Word2Vec:
    """Skip-gram with negative sampling, trained with compiled batched SGD on one or more threads.

    ``emb`` holds the input (word) vectors, ``out`` the output (context) weights. Use
    :meth:`train`, then :meth:`embeddings` for an :class:`Embeddings`.

    How a step works (:func:`sgns_step`, written in the notebook; all of it compiled with XLA
    by :func:`make_train_run`, a chunk of the corpus, about a hundred steps, per call):

    * a batch is a run of ``batch_words`` consecutive centre words of the subsampled corpus
      (plus ``window`` words of context on each side), each with its window size drawn in
      1..window. Both matrices are read **once per word**, not once per pair, and the
      updates of a row from all its pairs are summed before **one scatter-add per word**;
    * scores are small dense matrix products, blocks of 16 centres against their 16 + 2W
      run rows; the band of 2W + 1 diagonals is cut out with a reshape, and each centre's
      window size masks it. The updates go back through the same products;
    * negatives are drawn per group of ``neg_group`` neighbouring centres
      (``neg_shared`` of them, shared by the group: another small matrix product), each
      weighted so the expected gradient equals word2vec's ``negatives`` per pair;
    * a row's summed update in a batch is damped so a large batch cannot overshoot:
      ``damping="curvature"`` (default) divides it by ``1 + lr * h``, ``h`` the row's share of
      the loss's curvature; ``damping="count"`` scales it by ``min(1, max_row_updates / n)``.

    **Threads** (asynchronous data-parallel SGD, as the parameter-server workers of section 6,
    or Hogwild with a delay): a compiled call reads a snapshot of the two variables, trains a
    chunk on its own copy and returns the changes, which are then added to the variables
    (``assign_add``: the changes of concurrent chunks add up, none is lost). With ``threads=2``
    two Python threads take the chunks in turn and the two XLA executions run on two cores at
    once; a chunk does not see the changes of the chunk running beside it (a delay of one
    chunk, so chunks are smaller: ``chunk_words`` 2^17 instead of 2^18; and the damping counts
    each row's curvature once per thread, since their updates of a row add up). A chunk's learning
    rates and random draws come from its place in the corpus (as word2vec's
    ``word_count_actual``): the linear decay stays exact, and ``threads=1`` is deterministic.
    """

    def __init__(
        self,
        vocab: Vocab,
        dim: int = 128,
        window: int = 5,
        negatives: int = 5,
        seed: int = 0,
        batch_words: int = 2048,
        chunk_words: int | None = None,
        max_row_updates: float = 10.0,
        neg_group: int = 16,
        neg_shared: int | None = None,
        damping: str = "curvature",
        block: int | None = None,
        jit: bool = True,
        threads: int | None = None,
    ):
        """``batch_words`` centres per step (rounded to whole blocks of ``block``, 16 by default);
        the corpus is read in chunks of ``chunk_words`` words (one compiled call each; default
        2^18 with one thread, 2^17 with more); ``threads``: training threads (default
        :func:`default_threads`); see the class docstring."""
        _set_threads()
        self._check_options(vocab, dim, window, negatives, damping, threads)
        self.vocab, self.dim, self.window, self.negatives = vocab, int(dim), int(window), int(negatives)
        self.seed, self.neg_group, self.damping = int(seed), int(neg_group), damping
        self.threads = int(threads or default_threads())
        # centres per block of the score matrix products: a multiple of the negative groups,
        # at least 2 * window (a block's contexts reach 2 * window rows past it)
        self.block = max(int(block or 16), 2 * self.window)
        self.block = -(-self.block // self.neg_group) * self.neg_group
        self.batch_words = max(self.block, int(batch_words) // self.block * self.block)
        self.chunk_words = int(chunk_words or (1 << 18 if self.threads == 1 else 1 << 17))
        self.max_row_updates = float(max_row_updates)
        self.neg_shared = min(int(neg_shared or 5 * self.negatives), max(1, len(vocab) - 1))
        self.emb = tf.Variable(self._initial_vectors(), name="emb")
        self.out = tf.Variable(tf.zeros([len(vocab), self.dim]), name="out")
        self.table = tf.Variable(unigram_table(vocab.counts), trainable=False, name="unigram_table")
        # the options of the compiled step (sgns_step, exported from the notebook)
        self.step_options = dict(
            window=self.window,
            negatives=self.negatives,
            neg_group=self.neg_group,
            neg_shared=self.neg_shared,
            block=self.block,
            damping=self.damping,
            max_row_updates=self.max_row_updates,
            threads=self.threads,
        )
        # the compiled call (make_train_run): traced and compiled by XLA on its first call
        self.train_run = make_train_run(self.table, jit=jit, **self.step_options)
        self.compiled, self.compile_seconds = False, 0.0
        self.history: list = []

    @staticmethod
    def _check_options(vocab, dim, window, negatives, damping, threads) -> None:
        """Word2VecError for a bad dimension, window, number of negatives, damping or threads."""
        if int(dim) != dim or dim < 1:
            raise Word2VecError(f"dim must be a positive whole number, got {dim!r}.")
        _check_window(window)
        check_negatives(negatives, len(vocab))
        if damping not in ("curvature", "count"):
            raise Word2VecError(f"damping must be 'curvature' or 'count', got {damping!r}.")
        if threads is not None and (int(threads) != threads or threads < 1):
            raise Word2VecError(f"threads must be a positive whole number (or None), got {threads!r}.")

    def _initial_vectors(self) -> np.ndarray:
        """word2vec's start: word vectors uniform in [-0.5, 0.5) / dim (seeded), output weights 0."""
        rng = np.random.default_rng(self.seed)
        return (rng.random((len(self.vocab), self.dim), dtype=np.float32) - 0.5) / self.dim

    def compile(self) -> float:
        """Trace and XLA-compile :attr:`train_run` now (a call on an empty chunk: no batch runs, the
        variables are untouched), so that :meth:`train`'s words/s exclude the one-off compilation
        (which the persistent XLA cache, :func:`xla_cache_dir`, skips on a later run).
        Returns the seconds it took."""
        W, L = self.window, self.batch_words
        S = max(1, -(-self.chunk_words // L))
        start = time.perf_counter()
        self.train_run(
            self.emb.read_value(),
            self.out.read_value(),
            tf.fill([S, L + 2 * W], -1),
            tf.zeros([S, L], tf.int32),
            tf.zeros([S], tf.float32),
            tf.constant(0, tf.int32),
            tf.constant(0, tf.int32),
        )
        self.compiled = True
        self.compile_seconds = time.perf_counter() - start
        return self.compile_seconds

    def reset(self) -> None:
        """Back to the untrained start (same seed); the compiled call is kept."""
        self.emb.assign(self._initial_vectors())
        self.out.assign(tf.zeros_like(self.out))
        self.history = []

    def chunk_batches(
        self, raw: np.ndarray, keep: np.ndarray, rng: np.random.Generator, lr_start: float, lr_end: float
    ):
        """The batches of one chunk of raw words: subsampled, each centre with a window size
        drawn in 1..window, cut into runs of ``batch_words`` centres with ``window`` words of
        context on each side. Yields ``(seqs [S, L+2W], spans [S, L], lrs [S], n_batches)``."""
        W, L = self.window, self.batch_words
        sub = raw[rng.random(len(raw)) < keep[raw]]
        n = len(sub)
        if n < 2:
            return
        spans = rng.integers(1, W + 1, size=n)
        S = max(1, -(-self.chunk_words // L))  # batches per call (a fixed shape: one compilation)
        nb = -(-n // L)
        starts = np.arange(S) * L
        idx = starts[:, None] - W + np.arange(L + 2 * W)[None, :]
        seqs = np.where(
            (idx >= 0) & (idx < n) & (starts[:, None] < n), sub[np.clip(idx, 0, n - 1)], -1
        ).astype(np.int32)
        cidx = starts[:, None] + np.arange(L)[None, :]
        sp = np.where(cidx < n, spans[np.clip(cidx, 0, n - 1)], 0).astype(np.int32)
        frac = np.arange(S) / max(nb, 1)
        lrs = (lr_start + (lr_end - lr_start) * frac).astype(np.float32)
        yield seqs, sp, lrs, nb

    def train_chunk(self, seqs, spans, lrs, n_batches: int, seed: int) -> tuple[float, float]:
        """One compiled call (:attr:`train_run`) on a snapshot of the variables, then its changes
        added to them. Safe to call from several threads at once. Returns ``(loss_sum, pairs)``."""
        d_emb, d_out, loss, pairs = self.train_run(
            self.emb.read_value(),
            self.out.read_value(),
            tf.constant(seqs),
            tf.constant(spans),
            tf.constant(lrs),
            tf.constant(n_batches, tf.int32),
            tf.constant(seed, tf.int32),
        )
        self.emb.assign_add(d_emb)
        self.out.assign_add(d_out)
        return float(loss), float(pairs)

    def _run_chunk(self, k: int, raw: np.ndarray, keep: np.ndarray, lr_start: float, lr_end: float):
        """Chunk number ``k`` of the word stream (all epochs): its own random draws (seeded by
        ``seed`` and ``k``), its learning rates from ``lr_start`` to ``lr_end``. Returns
        ``(loss_sum, pairs)``."""
        rng = np.random.default_rng([self.seed + 1, k])
        loss = pairs = 0.0
        for seqs, spans, lrs, nb in self.chunk_batches(raw, keep, rng, lr_start, lr_end):
            l_, p_ = self.train_chunk(seqs, spans, lrs, nb, (self.seed * 7919 + k) % (2**31 - 1))
            loss, pairs = loss + l_, pairs + p_
        return loss, pairs

    def _check_ids(self, ids, epochs: int) -> np.ndarray:
        """``ids`` as int32, or Word2VecError / CorpusError for a corpus that cannot be trained on."""
        ids = np.asarray(ids, dtype=np.int32)
        check_corpus(ids, self.window)
        if ids.max() >= len(self.vocab) or ids.min() < 0:
            raise Word2VecError("ids hold values outside the vocabulary: build them with build_vocab.")
        if epochs < 1:
            raise Word2VecError(f"epochs must be at least 1, got {epochs}.")
        return ids

    def _run_threads(self, jobs: list, work, threads: int) -> list:
        """``work(job)`` for every job, taken in order by ``threads`` threads (the calling thread
        alone when 1). Returns the number of jobs each thread did; re-raises a thread's error."""
        lock, todo, done, errors = threading.Lock(), iter(jobs), [0] * threads, []

        def worker(t):
            try:
                while not errors:
                    with lock:
                        job = next(todo, None)
                    if job is None:
                        return
                    work(job)
                    done[t] += 1
            except BaseException as exc:  # handed to the calling thread
                errors.append(exc)

        if threads == 1:
            worker(0)
        else:
            pool = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
            try:
                for th in pool:
                    th.start()
                for th in pool:
                    th.join()
            finally:
                errors.append(None)  # an interrupt: the other threads stop after their chunk
        if errors and errors[0] is not None:
            raise errors[0]
        return done

    def train(
        self,
        ids,
        epochs: int = 1,
        lr: float = 0.025,
        min_lr: float = 0.0001,
        subsample: float | None = 1e-3,
        progress: bool = True,
        desc: str = "word2vec",
        callback=None,
    ) -> dict:
        """Train on ``ids`` (the corpus as vocabulary ids) for ``epochs`` epochs on the model's
        ``threads`` threads.

        The learning rate falls linearly from ``lr`` to ``min_lr`` over all the words of all
        epochs. A tqdm bar shows words/s. Returns ``{words_per_sec, seconds, words, loss: [...],
        threads, chunks_per_thread, cpu_seconds, cpu_utilisation, compile_seconds}`` (``loss``:
        mean loss per measured pair of each chunk, in corpus order (``sgns_step`` measures an
        eighth of them); ``cpu_utilisation``: process CPU time / wall time, 2.0 when two cores
        are busy throughout; ``compile_seconds``: the one-off XLA
        compilation before training, not in ``seconds``). ``callback(words_done, losses)`` after
        each chunk.
        """
        ids = self._check_ids(ids, epochs)
        keep = subsample_keep_prob(self.vocab.counts, check_subsample(subsample)).numpy()
        n, total = len(ids), len(ids) * epochs
        starts = [(e * n + s0, s0) for e in range(epochs) for s0 in range(0, n, self.chunk_words)]
        jobs = [(k, pos, s0) for k, (pos, s0) in enumerate(starts)]  # chunk k of the word stream
        lr_at = lambda words: max(lr * (1.0 - words / total), min_lr)  # noqa: E731
        if not self.compiled:
            self.compile()  # once, before the threads start
        losses, lock = {}, threading.Lock()
        bar = config.progress(
            total=total, unit="w", unit_scale=True, desc=desc, disable=not progress, dynamic_ncols=True
        )

        def work(job):
            k, pos, s0 = job
            raw = ids[s0 : s0 + self.chunk_words]
            loss, pairs = self._run_chunk(k, raw, keep, lr_at(pos), lr_at(pos + len(raw)))
            with lock:
                if pairs:
                    losses[pos] = loss / pairs
                last = max(losses, default=pos)  # the furthest chunk done (threads finish out of order)
                bar.set_postfix(loss=f"{losses.get(last, 0.0):.3f}", lr=f"{lr_at(last):.4f}", refresh=False)
                bar.update(len(raw))
                if callback is not None:
                    callback(bar.n, [losses[p] for p in sorted(losses)])

        start, cpu0 = time.perf_counter(), time.process_time()
        try:
            per_thread = self._run_threads(jobs, work, self.threads)
        finally:
            bar.close()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
        return self._result(total, seconds, cpu, [losses[p] for p in sorted(losses)], per_thread)

    def _result(self, words: int, seconds: float, cpu: float, losses: list, per_thread: list) -> dict:
        """The result of :meth:`train` (recorded in :attr:`history`); Word2VecError if it diverged."""
        if losses and not np.isfinite(losses[-1]):
            raise Word2VecError("training diverged (the loss is not finite): lower the learning rate.")
        result = {
            "words_per_sec": words / seconds,
            "seconds": seconds,
            "words": words,
            "loss": losses,
            "threads": len(per_thread),
            "chunks_per_thread": per_thread,
            "cpu_seconds": cpu,
            "cpu_utilisation": cpu / seconds,
            "compile_seconds": self.compile_seconds,
        }
        self.history.append(result)
        return result

    def embeddings(self) -> Embeddings:
        return Embeddings(self.vocab.words, self.emb.numpy(), self.vocab.counts)


# =========================================================================== one call
def train_embeddings(
    corpus="movie_reviews",
    epochs: int = 5,
    dim: int = 128,
    window: int = 5,
    negatives: int = 5,
    min_count: int = 5,
    out_dir=None,
    subsample: float = 1e-3,
    lr: float = 0.025,
    min_lr: float = 0.0001,
    batch_words: int = 2048,
    max_words: int | None = None,
    max_vocab: int | None = None,
    seed: int = 0,
    evaluate: bool = True,
    restrict_vocab: int = 30000,
    progress: bool = True,
    write_vec: bool = True,
    **trainer_options,
) -> tuple[Embeddings, dict]:
    """Build the vocabulary, train, evaluate analogies, and (with ``out_dir``) write
    ``vectors.vec``, ``vectors.npz``, ``vocab.tsv`` and ``metrics.json`` there.

    ``corpus``: a name/path or a list of them (several corpora are concatenated), or a
    ``data.CorpusScan`` of them started earlier (the CLI reads its corpus while it imports
    TensorFlow; ``vocab_seconds`` is then the wait for it, not the whole read).
    ``trainer_options`` go to :class:`Word2Vec` (``neg_group``, ``neg_shared``, ...).
    Returns ``(embeddings, metrics)``.
    """
    t0 = time.perf_counter()
    scan = corpus if isinstance(corpus, data.CorpusScan) else None
    sources = scan.sources if scan else [corpus] if _is_source(corpus) else list(corpus)
    if not sources:
        raise Word2VecError("no corpus given.")
    vocab, ids = build_vocab(
        scan or Corpora(sources), min_count=min_count, max_size=max_vocab, max_words=max_words
    )
    check_corpus(ids, window)
    check_negatives(negatives, len(vocab))
    t_vocab = time.perf_counter() - t0
    options = dict(dim=dim, window=window, negatives=negatives, seed=seed, batch_words=batch_words)
    model = Word2Vec(vocab, **options, **trainer_options)
    res = model.train(ids, epochs=epochs, lr=lr, min_lr=min_lr, subsample=subsample, progress=progress)
    emb = model.embeddings()
    metrics = _run_metrics(sources, ids, vocab, res, t_vocab)
    metrics.update({k: int(v) for k, v in options.items() if k in ("dim", "window", "negatives")})
    metrics.update(epochs=int(epochs), min_count=int(min_count), subsample=subsample)
    if evaluate:
        metrics.update(_analogy_metrics(emb, restrict_vocab))
    if out_dir is not None:
        out = Path(out_dir)
        emb.save(out, vec=write_vec)
        config.write_json(out / "metrics.json", metrics)  # atomic: a reader never sees half a file
    emb.metrics = metrics
    emb.loss_history = res["loss"]
    return emb, metrics


def _run_metrics(sources, ids, vocab, res: dict, t_vocab: float) -> dict:
    """The corpus, speed and loss figures of a :func:`train_embeddings` run."""
    return {
        "corpus": corpus_metric(sources),
        "corpus_words": int(len(ids)),
        "vocab_size": len(vocab),
        "words_per_sec": round(res["words_per_sec"], 1),
        "seconds": round(res["seconds"], 2),
        "vocab_seconds": round(t_vocab, 2),
        "final_loss": round(res["loss"][-1], 4) if res["loss"] else None,
        "cores": os.cpu_count(),
        "threads": res["threads"],
        "cpu_utilisation": round(res["cpu_utilisation"], 2),
        "compile_seconds": round(res["compile_seconds"], 2),
    }


def _analogy_metrics(emb: Embeddings, restrict_vocab: int) -> dict:
    """The analogy figures of a :func:`train_embeddings` run ({} without a questions-words file)."""
    try:
        ev = emb.evaluate_analogies(restrict_vocab=restrict_vocab)
    except data.DataError as exc:  # no questions-words file: train anyway
        print(f"(analogy evaluation skipped: {str(exc).splitlines()[0]})", file=sys.stderr)
        return {}
    return {
        "analogy_overall": ev["overall"],
        "analogy_semantic": ev["semantic"],
        "analogy_syntactic": ev["syntactic"],
        "analogy_questions": ev["total"],
        "analogy_skipped": ev["skipped"],
    }


def default_dir() -> Path:
    """This section's artifacts folder, ``artifacts/word2vec_optimized`` (where load_or_train looks)."""
    return config.artifacts_dir() / SECTION


def load_or_train(corpus=None, out_dir=None, quick: bool | None = None, **hparams) -> Embeddings:
    """The vectors of this section for later sections.

    Loads ``<out_dir>/vectors.vec`` (default ``artifacts/word2vec_optimized``) if it is
    there; otherwise trains a version on ``corpus`` (so a later notebook never fails
    because this one was not run), saves it there and returns it. ``corpus=None`` (the
    default) follows the notebook's rule, :func:`choose_corpus` (text8 capped in full mode
    when it can be had, else movie_reviews). ``quick`` (default: ``WORKSHOP_QUICK``) trains
    3 epochs of 64 dimensions on the first 800k words; otherwise 5 epochs of 128.
    ``hparams`` go to :func:`train_embeddings`.
    """
    out = Path(out_dir) if out_dir is not None else default_dir()
    vec = out / "vectors.vec"
    if vec.exists():
        try:
            if (out / "vectors.npz").exists() and (out / "vocab.tsv").exists():
                emb = Embeddings.load(out)
            else:
                emb = load_vec(vec)
            return emb
        except (Word2VecError, OSError, ValueError) as exc:
            print(f"Could not read {vec} ({exc}); training a new one.", file=sys.stderr)
    quick = config.is_quick() if quick is None else quick
    params = dict(QUICK) if quick else dict(epochs=5, dim=128)
    if corpus is None:
        choice = choose_corpus(quick)
        print(f"Corpus: {choice.label}: {choice.reason}.", file=sys.stderr)
        corpus, params["max_words"] = choice.corpora, choice.max_words
    params.update(hparams)
    print(
        f"No word2vec vectors at {vec}: training a {'quick ' if quick else ''}version on {corpus} "
        f"({params}).",
        file=sys.stderr,
    )
    emb, metrics = train_embeddings(corpus, out_dir=None, evaluate=False, **params)
    emb.save(out)
    config.write_json(out / "train_info.json", dict(metrics, quick=quick, fallback=True))
    return emb


# =========================================================================== which corpus
TALK_DEMOS = (("nearby", ("cat",)), ("analogy", ("cat", "kitten", "dog")))  # the talk's, on text8


# The corpus rule is word2vec_basic.choose_corpus (imported above): its default caps are this
# section's (the first 800,000 words of movie_reviews in quick mode; 7,000,000 words in full mode).


# =========================================================================== notebook helpers
def show_talk_demos(emb: Embeddings, k: int = 8) -> None:
    """Print the talk's two demos on these vectors: ``nearby("cat")`` (the talk, on text8: cats,
    dog, pet, kitten) and ``cat : kitten :: dog : ?`` (the talk: puppy). A word missing from the
    vocabulary is said so, with close spellings ("did you mean"), instead of raising."""
    try:
        emb.show_nearby(["cat"], k=k)
    except UnknownWordError as exc:
        print(f"{'cat':>12} -> (skipped: {exc})")
    show_analogies(emb, [("cat", "kitten", "dog")])


def available_corpora(wanted: Sequence[str] = ("movie_reviews", "news20")) -> list:
    """The corpora of ``wanted`` that can be had here (news20 comes only from a mirror)."""
    out = []
    for name in wanted:
        try:
            data.corpus_path(name)
            out.append(name)
        except data.DataError as exc:
            print(f"({name} is not available, training without it: {str(exc).splitlines()[0]})")
    if not out:
        raise data.CorpusError(f"None of the corpora {list(wanted)} is available: run `make data`.")
    return out


def show_analogies(emb: Embeddings, triples, k: int = 1) -> None:
    """Print ``a : b :: c : ?`` for each triple (words missing from the vocabulary are said so)."""
    for a, b, c in triples:
        try:
            print(f"{a:>10} : {b:<10} :: {c:>10} : {emb.analogy(a, b, c)}")
        except UnknownWordError as exc:
            print(f"{a:>10} : {b:<10} :: {c:>10} : (skipped: {exc})")


def show_evaluation(ev: dict) -> None:
    """Print analogy accuracy overall, semantic, syntactic and per section."""

    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    print(
        f"analogy accuracy: overall {pct(ev['overall'])}, semantic {pct(ev['semantic'])} "
        f"({ev['semantic_total']} questions), syntactic {pct(ev['syntactic'])} "
        f"({ev['syntactic_total']} questions); "
        f"{ev['skipped']} questions skipped (a word outside the {ev['restrict_vocab']:,} most frequent)"
    )
    for sec, s in ev["sections"].items():
        print(f"  {sec:<28} {s['correct']:>5} / {s['total']:<5} {100 * s['accuracy']:5.1f}%")


def write_tensorboard(log_dir, losses: Sequence[float], metrics: dict | None = None) -> Path:
    """The loss of each chunk (and the headline metrics as text) as TensorBoard scalars."""
    log_dir = Path(log_dir)
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        for i, loss in enumerate(losses):
            tf.summary.scalar("loss_per_pair", loss, step=i)
        for key, value in (metrics or {}).items():
            if isinstance(value, (int, float)) and value is not None:
                tf.summary.scalar(f"metrics/{key}", float(value), step=0)
    writer.flush()
    writer.close()
    return log_dir


def check_my_analogy(fn, emb: Embeddings, triples=None) -> bool:
    """The exercise's check: ``fn(a, b, c)`` must answer like :meth:`Embeddings.analogy`."""
    triples = triples or [
        ("man", "woman", "he"),
        ("good", "better", "bad"),
        ("big", "bigger", "small"),
        ("actor", "actress", "he"),
    ]
    triples = [t for t in triples if all(w in emb for w in t)][:3]
    if not callable(fn):
        print(f"Not yet: my_analogy should be a function of (a, b, c), got {type(fn).__name__}.")
        return False
    if not triples:
        print("Not yet: none of the check words is in this vocabulary (train on a bigger corpus).")
        return False
    for a, b, c in triples:
        expected = emb.analogy(a, b, c)
        try:
            got = fn(a, b, c)
        except Exception as exc:  # the attendee's code: report, never crash
            print(f"Not yet: my_analogy({a!r}, {b!r}, {c!r}) raised {type(exc).__name__}: {exc}")
            return False
        if not isinstance(got, str):
            print(
                f"Not yet: my_analogy({a!r}, {b!r}, {c!r}) should return a word (str), "
                f"got {type(got).__name__}: {got!r}."
            )
            return False
        if got in (a, b, c):
            print(
                f"Not yet: my_analogy({a!r}, {b!r}, {c!r}) returned {got!r}, one of the question's words: "
                "exclude a, b and c."
            )
            return False
        if got != expected:
            print(
                f"Not yet: for {a} : {b} :: {c} : ? expected {expected!r}, got {got!r}. "
                "Use the normalised vectors (emb.normalized), b - a + c, cosine similarity."
            )
            return False
    print(
        f"Correct! my_analogy agrees with emb.analogy on {len(triples)} questions, e.g. "
        f"{triples[0][0]} : {triples[0][1]} :: {triples[0][2]} : {emb.analogy(*triples[0])}."
    )
    return True


# =========================================================================== the hand-on from intro_word2vec
def intro_words_per_sec(metrics: dict | None, batch_size: int = 128, window: int = 2) -> float | None:
    """intro_word2vec's training speed in corpus words per second, from its ``metrics.json``:
    its own ``words_per_sec`` if it has one, else ``steps x batch_size`` pairs over ``2 window``
    pairs per word (it uses every pair of a window of ``window`` on each side) over ``seconds``.
    None when the figures are missing."""
    m = metrics or {}
    if m.get("words_per_sec"):
        return float(m["words_per_sec"])
    try:
        steps, seconds = float(m["steps"]), float(m["seconds"])
    except (KeyError, TypeError, ValueError):
        return None
    batch = float(m.get("batch_size", batch_size))
    pairs_per_word = 2 * float(m.get("window", window))
    return steps * batch / pairs_per_word / seconds if seconds > 0 else None


def vocab_from_words(
    words: Sequence[str], corpus="movie_reviews", max_words: int | None = None
) -> tuple[Vocab, np.ndarray]:
    """A given vocabulary (e.g. intro_word2vec's, ``UNK`` aside) on a corpus: ``(vocab, ids)``
    with the words in the given order, their counts in the first ``max_words`` words of
    ``corpus`` (a name or path), and the corpus as int32 ids (words outside the vocabulary dropped)."""
    words = [w for w in words if w != UNK]
    if not words:
        raise Word2VecError("the vocabulary is empty: give at least one word.")
    index = {w: i for i, w in enumerate(words)}
    parts = [
        np.fromiter((index[w] for w in chunk if w in index), dtype=np.int32)
        for chunk in iter_corpus_tokens(corpus, max_words)
    ]
    ids = np.concatenate(parts) if parts else np.zeros(0, np.int32)
    if len(ids) == 0:
        raise data.CorpusError(f"no word of the vocabulary occurs in {corpus}: is it the same corpus?")
    return Vocab(list(words), np.bincount(ids, minlength=len(words))), ids


# =========================================================================== exercise checks
def _tensor_answer(name: str, got, want_tf: str):
    """(array, None) when ``got`` is a TensorFlow tensor, else (None, a "not yet" message)."""
    if isinstance(got, np.ndarray) or not (tf.is_tensor(got) or isinstance(got, tf.Variable)):
        return None, (
            f"{name} returned a {type(got).__name__}; write it with TensorFlow ops ({want_tf}) "
            "so that it returns a tf.Tensor."
        )
    return got.numpy(), None


def check_keep_prob(fn) -> bool:
    """Exercise 1: ``fn(counts, t)`` is word2vec's subsampling keep probability, as a tensor."""
    if msg := checks.placeholder("subsample_keep_prob", fn):
        return checks.not_yet(msg)
    counts = np.array([50_000, 5_000, 500, 50, 5], dtype=np.int64)
    t = 1e-3
    got, err = checks.call(fn, counts, t)
    if err:
        return checks.not_yet(err)
    got, err = _tensor_answer("subsample_keep_prob", got, "tf.sqrt, tf.reduce_sum, tf.minimum")
    if err:
        return checks.not_yet(err)
    tn = t * counts.sum()
    want = np.minimum((np.sqrt(counts / tn) + 1) * tn / counts, 1.0)
    if got.shape != want.shape:
        return checks.not_yet(f"for 5 counts expected 5 probabilities, got shape {got.shape}.")
    got = got.astype(np.float64)
    if not np.all(np.isfinite(got)):
        return checks.not_yet(
            "the result holds nan or inf (divide the counts by the threshold t * N, not by 0)."
        )
    if np.any(got > 1 + 1e-9):
        return checks.not_yet(
            f"some probabilities are above 1 ({got.max():.3g}): cap them with tf.minimum(keep, 1.0)."
        )
    if np.allclose(got, np.minimum(np.sqrt(tn / counts), 1.0), rtol=1e-4):
        return checks.not_yet(
            "that is the paper's sqrt(t / f) alone; the C tool and gensim keep with "
            "sqrt(t / f) + t / f (f: the word's share of the corpus)."
        )
    if np.allclose(got, np.minimum((np.sqrt(counts / t) + 1) * t / counts, 1.0), rtol=1e-4):
        return checks.not_yet(
            "the threshold must be t times the corpus size N (tf.reduce_sum(counts)), not t alone."
        )
    ok, diff = checks.close(got, want, atol=1e-6, rtol=1e-4)
    if not ok:
        return checks.not_yet(
            f"for counts {counts.tolist()} with t = {t}: {diff}; expected {np.round(want, 4).tolist()}."
        )
    off, err = checks.call(fn, counts, 0)
    if err:
        return checks.not_yet(f"with t = 0 (no subsampling): {err}")
    off = checks.to_numpy(off)
    if off is None or off.shape != counts.shape or not np.allclose(off, 1.0):
        return checks.not_yet(
            "with t = 0 (no subsampling) every word should be kept: return tf.ones_like(counts)."
        )
    return checks.correct(
        f"for counts {counts.tolist()} (t = {t}) the keep probabilities are "
        f"{np.round(want, 3).tolist()}: the most frequent word is kept {want[0]:.1%} of the time."
    )


def check_unigram_table(fn) -> bool:
    """Exercise 2: ``fn(counts, power, size)`` is an int tensor in which word w fills ~p_w of the slots."""
    if msg := checks.placeholder("unigram_table", fn):
        return checks.not_yet(msg)
    counts = np.array([5000, 2000, 700, 300, 80, 20, 5], dtype=np.int64)
    size = 100_000
    got, err = checks.call(fn, counts, 0.75, size)
    if err:
        return checks.not_yet(err)
    got, err = _tensor_answer("unigram_table", got, "tf.cumsum, tf.searchsorted")
    if err:
        return checks.not_yet(err)
    if got.shape != (size,):
        return checks.not_yet(
            f"unigram_table(counts, 0.75, size={size:,}) should have {size:,} slots, got shape {got.shape}."
        )
    if not np.issubdtype(got.dtype, np.integer):
        return checks.not_yet(f"the slots should hold integer word ids (tf.int32), got {got.dtype}.")
    if got.min() < 0 or got.max() >= len(counts):
        return checks.not_yet(
            f"the slots hold ids from {got.min()} to {got.max()}, outside 0..{len(counts) - 1}."
        )
    share = np.bincount(got, minlength=len(counts)) / size
    p = counts**0.75 / (counts**0.75).sum()
    p1 = counts / counts.sum()
    tol = 0.006  # a table filled by random draws (tf.random.categorical) passes too
    if np.abs(share - p).max() > tol:
        if np.abs(share - p1).max() <= tol:
            return checks.not_yet("the shares follow the raw counts: raise them to the power 0.75 first.")
        if np.abs(share - share[::-1]).max() < tol and np.abs(share - p[::-1]).max() <= tol:
            return checks.not_yet(
                "the shares are reversed: the most frequent word (id 0) should fill the most slots."
            )
        return checks.not_yet(
            f"word 0 fills {share[0]:.3f} of the slots, expected {p[0]:.3f} "
            f"(shares {np.round(share, 3).tolist()} against {np.round(p, 3).tolist()})."
        )
    default, err = checks.call(fn, counts)
    if err:
        return checks.not_yet(f"with the default size: {err}")
    n = int(tf.size(default)) if tf.is_tensor(default) else len(np.asarray(default))
    if n != 1_000_000:
        return checks.not_yet(
            f"with the default size the table should have max(1e6, 100 V) = 1,000,000 slots, got {n:,}."
        )
    return checks.correct(
        f"each word fills its share of the {size:,} slots: {np.round(share, 3).tolist()} "
        f"(counts ** 0.75, normalised)."
    )


def check_pair_update(fn) -> bool:
    """Exercise 3: ``fn(v, u, negs, lr)`` -> the SGD updates (dv, du, dnegs) of one skip-gram
    negative-sampling pair."""
    if msg := checks.placeholder("sgns_pair_update", fn):
        return checks.not_yet(msg)
    v = tf.constant([0.3, -0.2, 0.5, 0.1])
    u = tf.constant([0.4, 0.1, -0.3, 0.2])
    negs = tf.constant([[0.2, 0.3, 0.1, -0.1], [-0.5, 0.2, 0.4, 0.3], [0.1, -0.4, 0.2, 0.6]])
    lr = 0.1
    got, err = checks.call(fn, v, u, negs, lr)
    if err:
        return checks.not_yet(err)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return checks.not_yet(
            f"return three updates (dv, du, dnegs), got {type(got).__name__}"
            + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
            + "."
        )
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    V, U, Nn = v.numpy().astype(np.float64), u.numpy().astype(np.float64), negs.numpy().astype(np.float64)
    g, gn = (1 - sig(V @ U)) * lr, -sig(Nn @ V) * lr
    want = (g * U + gn @ Nn, g * V, gn[:, None] * V[None, :])
    names = ("dv", "du", "dnegs")
    for name, x, w in zip(names, got, want):
        a = checks.to_numpy(x)
        if a is None:
            return checks.not_yet(f"{name} should be a tensor, got a {type(x).__name__}.")
        if a.shape != w.shape:
            return checks.not_yet(f"{name} should have shape {w.shape}, got {a.shape}.")
        if np.allclose(a, w, atol=1e-5):
            continue
        if np.allclose(a, -w, atol=1e-5):
            return checks.not_yet(
                f"{name} has the wrong sign: the updates are added (they climb the log-likelihood)."
            )
        if np.allclose(a, w / lr, atol=1e-4):
            return checks.not_yet(f"{name} is missing the learning rate lr.")
        if name == "dv" and np.allclose(a, g * U, atol=1e-5):
            return checks.not_yet(
                "dv has the true context's part but not the negatives' (- sum_k lr sigmoid(v.n_k) n_k)."
            )
        if name == "dv" and np.allclose(a, gn @ Nn, atol=1e-5):
            return checks.not_yet(
                "dv has the negatives' part but not the true context's (lr (1 - sigmoid(v.u)) u)."
            )
        return checks.not_yet(
            f"{name} is {np.round(a, 4).tolist()}, expected {np.round(w, 4).tolist()}: "
            "1 - sigmoid(score) for the true context, -sigmoid(score) for a negative."
        )
    return checks.correct(
        f"dv, du and dnegs are the SGD updates of the pair (the true context's factor "
        f"lr (1 - sigmoid(v.u)) = {g:.4f})."
    )


def _analogy_check_vectors():
    """Small fixed vectors of different lengths in which man : woman :: king : queen,
    big : bigger :: small : smaller and walk : walked :: swim : swam hold with cosine similarity;
    with the dot product the long "crown" answers the first, and without leaving out the
    question's words "swim" answers the third."""
    axes = np.eye(11, dtype=np.float32)
    male, female, royal, person, size_, comp, small_, other, motion, water, tense = axes
    vecs = {
        "man": person + male,
        "woman": person + female,
        "king": 2 * (royal + male),
        "queen": 0.5 * (royal + female),
        "big": size_,
        "bigger": 3 * (size_ + comp),
        "small": small_,
        "smaller": small_ + comp,
        "crown": 6 * (royal + 0.6 * female + 0.7 * male + 0.3 * other),
        "tree": other,
        "walk": motion,
        "walked": 2 * (motion + 0.1 * tense),
        "swim": water,
        "swam": 0.5 * (water + 0.3 * tense),
    }
    return list(vecs), np.stack(list(vecs.values()))


def check_analogy_ids(fn) -> bool:
    """Exercise 4: ``fn(vectors, a, b, c, k)`` -> [Q, k] ids nearest (cosine) to b - a + c, inputs
    excluded."""
    if msg := checks.placeholder("analogy_ids", fn):
        return checks.not_yet(msg)
    words, vectors = _analogy_check_vectors()
    ix = {w: i for i, w in enumerate(words)}
    qs = [
        ("man", "woman", "king", "queen"),
        ("big", "bigger", "small", "smaller"),
        ("walk", "walked", "swim", "swam"),
    ]
    a, b, c = (tf.constant([ix[q[j]] for q in qs], tf.int32) for j in range(3))
    got, err = checks.call(fn, tf.constant(vectors), a, b, c, 1)
    if err:
        return checks.not_yet(err)
    arr = checks.to_numpy(got)
    if arr is None or arr.shape != (len(qs), 1):
        return checks.not_yet(
            f"for {len(qs)} questions and k = 1 expected ids of shape ({len(qs)}, 1), got "
            f"{getattr(arr, 'shape', type(got).__name__)}."
        )
    for q, row in zip(qs, arr.astype(np.int64)):
        answer = words[int(row[0])] if 0 <= row[0] < len(words) else f"id {row[0]}"
        if answer in q[:3]:
            return checks.not_yet(
                f"{q[0]} : {q[1]} :: {q[2]} : ? answered {answer!r}, one of the question's words: "
                "give a, b and c a similarity of -inf before top_k."
            )
        if answer != q[3]:
            return checks.not_yet(
                f"{q[0]} : {q[1]} :: {q[2]} : ? answered {answer!r}, expected {q[3]!r}: normalise the "
                "vectors to unit length (cosine similarity, not the dot product) before b - a + c."
            )
    top3, err = checks.call(fn, tf.constant(vectors), a, b, c, 3)
    if err:
        return checks.not_yet(f"with k = 3: {err}")
    top3 = checks.to_numpy(top3)
    if top3 is None or top3.shape != (len(qs), 3):
        return checks.not_yet(
            f"with k = 3 expected ids of shape ({len(qs)}, 3), got {getattr(top3, 'shape', None)}."
        )
    if any(int(i) in (int(a[j]), int(b[j]), int(c[j])) for j, row in enumerate(top3) for i in row):
        return checks.not_yet("with k = 3 a question's own word is among the answers: exclude a, b and c.")
    return checks.correct(
        f"man : woman :: king : {words[int(arr[0, 0])]}, big : bigger :: small : "
        f"{words[int(arr[1, 0])]}, walk : walked :: swim : {words[int(arr[2, 0])]} (cosine, inputs excluded)."
    )
