"""Section 6: word2vec on a parameter-server cluster, on 127.0.0.1 and on Kubernetes.

The lesson is ``distributed_tensorflow.ipynb`` (its ``#| export`` cells are the chief's code).

- :mod:`.distributed_word2vec`  the one entry point (role from ``TF_CONFIG``) and the sharded model
- :mod:`.cluster`               TF_CONFIG checks, the chief's wait for its peers, run folders (no TensorFlow)
- :mod:`.launcher`              a local cluster of processes (chief + ps + workers) on free ports
- :mod:`.k8s_client`            create / watch / stream logs / delete the job with the ``kubernetes`` client
"""
