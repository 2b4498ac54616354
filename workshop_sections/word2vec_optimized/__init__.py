"""word2vec_optimized: fast word2vec with public TensorFlow 2 ops (see word2vec_fast)."""
from .word2vec_fast import (  # noqa: F401
    DEFAULTS, Corpora, Embeddings, UnknownWordError, Vocab, Word2Vec, Word2VecError, build_vocab,
    load_or_train, load_vec, make_dataset, save_vec, skipgram_pairs, subsample_keep_prob,
    train_embeddings, unigram_table, window_matrix,
)
