"""Section 3: the talk's basic word2vec (skip-gram with NCE loss) in TensorFlow 2.

The lesson is written in ``intro_word2vec.ipynb``: its cells marked ``#| export`` (the
``tf.data`` pipeline, the ``SkipGram`` variables, the NCE loss, the update, the training step
and loop, the nearest-neighbour search) are exported into :mod:`.word2vec_basic`, which keeps
the plumbing around them (corpus, vocabulary, checks, plots, the projector files).
Later sections get the vocabulary and embeddings with ``word2vec_basic.load_or_train()``.
``word2vec_basic`` is also the one home of what the word2vec sections share: the word errors,
``Vocab`` / ``build_vocab``, ``skipgram_pairs`` and the corpus rule ``choose_corpus``.
"""
