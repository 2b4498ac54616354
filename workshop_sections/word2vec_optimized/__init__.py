"""word2vec_optimized: fast word2vec with public TensorFlow 2 ops (see word2vec_fast).

The TensorFlow of the section (subsampling, the unigram table and negative sampler, the
compiled batched step) is written in word2vec_optimized.ipynb and exported into word2vec_fast."""

from .word2vec_fast import (  # noqa: F401
    DEFAULTS,
    Corpora,
    Embeddings,
    UnknownWordError,
    Vocab,
    Word2Vec,
    Word2VecError,
    build_vocab,
    draw_negatives,
    load_or_train,
    load_vec,
    make_dataset,
    make_train_run,
    save_vec,
    sgns_step,
    skipgram_pairs,
    subsample_keep_prob,
    train_embeddings,
    unigram_table,
    window_matrix,
)
