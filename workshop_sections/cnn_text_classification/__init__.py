"""Kim's (2014) convolutional network for sentence classification on the MR polarity data.

The logic lives in :mod:`workshop_sections.cnn_text_classification.text_cnn`; the notebook
``cnn_text_classification.ipynb`` and the benchmark CLI
(``python -m workshop_sections.cnn_text_classification``) call it.
"""
