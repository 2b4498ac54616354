"""Section 2, mnist_softmax: softmax regression on MNIST (notebook + softmax_model)."""
