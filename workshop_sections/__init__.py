"""Diving into Machine Learning with TensorFlow 2: the workshop's importable helpers.

Each section lives in its own sub-package (one notebook + one helper module); the two
shared modules are :mod:`workshop_sections.config` (the shared config cell) and
:mod:`workshop_sections.data` (the data registry).
"""

SECTIONS = (
    "starter_tf_graph",
    "mnist_softmax",
    "intro_word2vec",
    "word2vec_optimized",
    "cnn_text_classification",
    "distributed_tensorflow",
)

REPO_URL = "https://github.com/tf-workshop/tensorflow-workshop"
"""Where the workshop lives on GitHub: the Colab badges and the Colab install use it."""
REPO_BRANCH = "main"
