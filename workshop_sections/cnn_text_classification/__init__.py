"""Kim's (2014) convolutional network for sentence classification on the MR polarity data.

The Keras model (Embedding, Conv1D branches, max-over-time pooling, dropout, max-norm
softmax), the word2vec-initialised Embedding and compile/fit settings are written in the
notebook ``cnn_text_classification.ipynb`` and exported (``#| export`` cells, ``make export``)
into :mod:`workshop_sections.cnn_text_classification.text_cnn`, which also keeps the data,
embedding preparation, training loop bookkeeping, plots and exercise checks. The benchmark
CLI (``python -m workshop_sections.cnn_text_classification``) runs that same code per fold.
"""
