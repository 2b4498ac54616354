"""word2vec_optimized: fast word2vec with public TensorFlow 2 ops (see word2vec_fast).

The TensorFlow of the section (subsampling, the unigram table and negative sampler, the
compiled batched step) is written in word2vec_optimized.ipynb and exported into word2vec_fast.

The names below are loaded on first use (PEP 562), so that ``python -m
workshop_sections.word2vec_optimized`` starts reading its corpus before it imports TensorFlow."""

import importlib

__all__ = [
    "DEFAULTS",
    "Corpora",
    "Embeddings",
    "UnknownWordError",
    "Vocab",
    "Word2Vec",
    "Word2VecError",
    "build_vocab",
    "draw_negatives",
    "load_or_train",
    "load_vec",
    "make_dataset",
    "make_train_run",
    "save_vec",
    "sgns_step",
    "skipgram_pairs",
    "subsample_keep_prob",
    "train_embeddings",
    "unigram_table",
    "uniform_slots",
    "window_matrix",
]


def __getattr__(name: str):
    if name == "word2vec_fast":
        return importlib.import_module(".word2vec_fast", __name__)
    if name in __all__:
        return getattr(importlib.import_module(".word2vec_fast", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | {"word2vec_fast"})
