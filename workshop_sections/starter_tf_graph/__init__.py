"""Section 1, starter_tf_graph: tensors, ops, variables and graphs (notebook + graph_helpers)."""
