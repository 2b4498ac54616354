"""Section 3: the talk's basic word2vec (skip-gram with NCE loss) in TensorFlow 2.

The notebook is ``intro_word2vec.ipynb``; the logic lives in :mod:`.word2vec_basic`.
Later sections get the vocabulary and embeddings with ``word2vec_basic.load_or_train()``.
"""
