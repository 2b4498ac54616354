"""Helpers of the mnist_softmax section: softmax regression on MNIST, as the 2016 talk built it.

    y = softmax(x W + b)        x: (batch, 784) pixels in [0, 1], W: (784, 10), b: (10,)

trained with plain gradient descent (learning rate 0.5) on mini-batches of 100, the loss
being the cross-entropy computed the numerically stable way
(``tf.nn.softmax_cross_entropy_with_logits``) rather than the talk's
``-reduce_sum(y_ * log(y))``.

The lesson is written in the notebook ``mnist_softmax.ipynb``: the model
(:class:`SoftmaxRegression`), the accuracy (Exercise 1's answer), both losses, the
``GradientTape`` step (:func:`make_train_step`) and the checkpoint calls are its cells
marked ``#| export``, copied into the block below by ``make export`` (one source; edit the
notebook, not the block). The training loop itself is a notebook cell. This module keeps
the plumbing: data preparation, the progress bar and timings (:class:`History`), the
learning-rate schedule, plots, :func:`load_or_train` and the exercise checks.

Later sections call :func:`load_or_train`: it restores the checkpoint this section saved
under ``artifacts/mnist_softmax/checkpoints/`` or, if there is none, trains a quick model
with the exported step.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from .. import config, data
from ..tools import checks

SECTION = "mnist_softmax"
BATCH_SIZE = 100
LEARNING_RATE = 0.5


# >>> BEGIN EXPORT from mnist_softmax.ipynb (`make export` writes this block: edit the notebook)
N_PIXELS, N_CLASSES = 784, 10  # 28 x 28 grey pixels in, one probability per digit out


class SoftmaxRegression(tf.Module):
    """softmax(x W + b): x float32 (batch, 784) in [0, 1] -> probabilities float32 (batch, 10).

    W (784, 10) and b (10,) are tf.Variable's that start at zero, as in the 2016 tutorial
    (a single linear layer has no symmetry to break). Inputs of another shape raise
    a ValueError (the input signature).
    """

    def __init__(self, name=None):
        super().__init__(name=name)
        self.W = tf.Variable(tf.zeros([N_PIXELS, N_CLASSES]), name="W")
        self.b = tf.Variable(tf.zeros([N_CLASSES]), name="b")

    @tf.function(input_signature=[tf.TensorSpec([None, N_PIXELS], tf.float32)])
    def logits(self, x):
        return tf.matmul(x, self.W) + self.b  # (batch, 10): the evidence for each digit

    @tf.function(input_signature=[tf.TensorSpec([None, N_PIXELS], tf.float32)])
    def __call__(self, x):
        return tf.nn.softmax(self.logits(x))  # (batch, 10): each row sums to 1

    @tf.function(input_signature=[tf.TensorSpec([None, N_PIXELS], tf.float32, name="x")])
    def serve(self, x):
        """The SavedModel signature: probabilities and the most probable class."""
        probabilities = self(x)
        return {"probabilities": probabilities, "classes": tf.argmax(probabilities, axis=1)}


def accuracy(probabilities, labels):
    """Fraction (float32 scalar) of rows whose most probable class is the one-hot label's class.

    probabilities, labels: (batch, classes); labels one-hot.
    """
    correct = tf.equal(tf.argmax(probabilities, axis=1), tf.argmax(labels, axis=1))
    return tf.reduce_mean(tf.cast(correct, tf.float32))


def naive_cross_entropy(labels, probabilities):
    """The talk's loss, mean over the batch of -sum(labels * log(probabilities)); labels and
    probabilities float32 (batch, classes). Fragile: a probability of exactly 0 gives nan or inf."""
    return tf.reduce_mean(-tf.reduce_sum(labels * tf.math.log(probabilities), axis=1))


def stable_cross_entropy(labels, logits):
    """The same mean cross-entropy (float32 scalar) from the logits (batch, classes), computed
    without overflow or log(0)."""
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def make_train_step(model, learning_rate):
    """A tf.function doing one step of plain gradient descent on a mini-batch of ``model``
    (a SoftmaxRegression): x float32 (batch, 784), y one-hot float32 (batch, 10) -> the loss
    before the step. The step size is the variable ``train_step.learning_rate``.
    Raises ValueError unless learning_rate > 0."""
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}.")
    rate = tf.Variable(learning_rate, dtype=tf.float32, trainable=False, name="learning_rate")

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, N_PIXELS], tf.float32),
            tf.TensorSpec([None, N_CLASSES], tf.float32),
        ]
    )
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = stable_cross_entropy(y, model.logits(x))
        grad_W, grad_b = tape.gradient(loss, [model.W, model.b])
        model.W.assign_sub(rate * grad_W)  # W <- W - learning_rate * dLoss/dW
        model.b.assign_sub(rate * grad_b)
        return loss

    train_step.learning_rate = rate
    return train_step


def save_checkpoint(model, directory, step=None):
    """Save the variables of ``model`` with tf.train.Checkpoint under ``directory`` (keeps the
    latest checkpoint only); returns the checkpoint's path prefix, e.g. .../ckpt-3000."""
    checkpoint = tf.train.Checkpoint(model=model)
    manager = tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=1)
    return manager.save(checkpoint_number=step)


def restore_checkpoint(directory, model=None):
    """A SoftmaxRegression (fresh, unless ``model`` is given) with the variables of the latest
    checkpoint in ``directory``. Raises FileNotFoundError when there is none."""
    path = tf.train.latest_checkpoint(str(directory))
    if path is None:
        raise FileNotFoundError(
            f"no checkpoint in {directory}. Run the mnist_softmax notebook "
            "(or softmax_model.load_or_train()) first."
        )
    model = model or SoftmaxRegression()
    tf.train.Checkpoint(model=model).restore(path).assert_existing_objects_matched()
    return model


# <<< END EXPORT


# --------------------------------------------------------------------------- data
def prepare(mnist: dict, train_size: int | None = None, test_size: int | None = None) -> dict:
    """MNIST from ``data.load_mnist()`` as the model wants it.

    Returns x_train/x_test float32 (N, 784) in [0, 1], y_train/y_test one-hot float32
    (N, 10), and labels_train/labels_test int64 (N,). ``train_size``/``test_size`` keep
    only the first N examples (quick mode). Raises ValueError on missing keys or when
    images and labels differ in number.
    """
    missing = {"x_train", "y_train", "x_test", "y_test"} - set(mnist)
    if missing:
        raise ValueError(f"prepare() needs the dict of data.load_mnist(); missing keys: {sorted(missing)}.")
    out = {}
    for split, size in (("train", train_size), ("test", test_size)):
        x, y = np.asarray(mnist[f"x_{split}"]), np.asarray(mnist[f"y_{split}"])
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x_{split} has {x.shape[0]} images but y_{split} has {y.shape[0]} labels.")
        if size is not None:
            x, y = x[:size], y[:size]
        out[f"x_{split}"] = flatten_images(x)
        out[f"labels_{split}"] = y.astype(np.int64)
        out[f"y_{split}"] = np.eye(N_CLASSES, dtype=np.float32)[y]
    return out


def flatten_images(images) -> np.ndarray:
    """uint8 images (N, 28, 28) or (N, 784) -> float32 (N, 784) in [0, 1].

    Raises ValueError for other shapes, or float pixels outside [0, 1]."""
    x = np.asarray(images)
    if x.ndim == 3 and x.shape[1:] == (28, 28):
        x = x.reshape(len(x), N_PIXELS)
    if x.ndim != 2 or x.shape[1] != N_PIXELS:
        raise ValueError(f"expected MNIST images of shape (N, 28, 28) or (N, 784), got {x.shape}.")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    x = x.astype(np.float32)
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise ValueError("float images must hold pixels in [0, 1]; pass the uint8 images or divide by 255.")
    return x


def mnist_dataset(
    x, y, batch_size: int = BATCH_SIZE, seed: int | None = None, repeat: bool = True
) -> tf.data.Dataset:
    """Shuffled mini-batches of ``(images, one-hot labels)``: float32 (batch, 784), (batch, 10).

    Repeats forever by default (then every batch is full). Raises ValueError when images
    and labels differ in number or ``batch_size`` < 1."""
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size, drop_remainder=repeat).prefetch(tf.data.AUTOTUNE)


def predict(model, images) -> np.ndarray:
    """Class predictions, int64 (N,), for images as uint8 (N, 28, 28) or float (N, 784) in [0, 1]."""
    x = flatten_images(images)
    return np.argmax(model(tf.constant(x)).numpy(), axis=1)


# --------------------------------------------------------------------------- training plumbing
def learning_rate_at(
    step: int, steps: int, learning_rate: float, final_learning_rate: float | None, decay_from: float = 0.5
) -> float:
    """The step size at ``step`` (1-based) of a run of ``steps``.

    Constant ``learning_rate`` when ``final_learning_rate`` is None (the talk); otherwise
    ``learning_rate`` up to ``decay_from * steps`` and then a linear decay that reaches
    ``final_learning_rate`` at the last step.
    """
    if final_learning_rate is None:
        return learning_rate
    start = int(steps * decay_from)
    if step <= start:
        return learning_rate
    frac = (step - start) / max(1, steps - start)
    return learning_rate + frac * (final_learning_rate - learning_rate)


@dataclass
class History:
    """What the notebook's training loop measured, with its progress bar.

    ``for step in history.progress(steps)`` yields 1..steps behind a tqdm bar;
    ``add_loss(loss)`` records a mini-batch loss (and the time since the step began: the
    evaluations are not counted in ``train_seconds``); ``add_evaluation(step, train, test)``
    records the accuracies, the mean loss since the last evaluation, and shows them on the bar.
    """

    steps: list = field(default_factory=list)
    loss: list = field(default_factory=list)  # mean mini-batch loss since the last evaluation
    train_accuracy: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    batch_loss: list = field(default_factory=list)  # every step
    train_seconds: float = 0.0  # gradient steps only (evaluations excluded)
    total_seconds: float = 0.0
    _since_eval: list = field(default_factory=list, repr=False)
    _step_start: float = field(default=0.0, repr=False)
    _bar: object = field(default=None, repr=False)

    def progress(self, steps: int, progress: bool = True, desc: str = "training"):
        """Yield the steps 1..``steps`` behind a progress bar; times the whole run."""
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}.")
        start = time.perf_counter()
        self._bar = config.progress(range(1, steps + 1), desc=desc, disable=not progress, unit="step")
        try:
            for step in self._bar:
                self._step_start = time.perf_counter()
                yield step
        finally:
            self._bar.close()
            self.total_seconds += time.perf_counter() - start

    def add_loss(self, loss) -> float:
        """Record one mini-batch loss (a scalar tensor or number); returns it as a float."""
        value = float(loss)  # waits for the step to finish
        self.train_seconds += time.perf_counter() - self._step_start
        self.batch_loss.append(value)
        self._since_eval.append(value)
        return value

    def add_evaluation(self, step: int, train_accuracy, test_accuracy) -> None:
        """Record the accuracies at ``step`` and the mean loss since the last evaluation."""
        self.steps.append(int(step))
        self.loss.append(float(np.mean(self._since_eval)) if self._since_eval else float("nan"))
        self.train_accuracy.append(float(train_accuracy))
        self.test_accuracy.append(float(test_accuracy))
        self._since_eval = []
        if self._bar is not None:
            self._bar.set_postfix(
                loss=f"{self.loss[-1]:.3f}",
                train=f"{self.train_accuracy[-1]:.3f}",
                test=f"{self.test_accuracy[-1]:.3f}",
            )

    def as_dict(self) -> dict:
        return {
            k: getattr(self, k)
            for k in ("steps", "loss", "train_accuracy", "test_accuracy", "train_seconds", "total_seconds")
        }


def train_quietly(
    model,
    data: dict,
    steps: int,
    learning_rate: float = LEARNING_RATE,
    final_learning_rate: float | None = 0.0,
    batch_size: int = BATCH_SIZE,
    seed: int | None = None,
) -> float:
    """Train ``model`` for ``steps`` mini-batches with the notebook's exported
    :func:`make_train_step` and schedule, without evaluations or bar; returns the test
    accuracy (for :func:`load_or_train`; the notebook writes its loop in a cell)."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    train_step = make_train_step(model, learning_rate)
    batches = mnist_dataset(data["x_train"], data["y_train"], batch_size, seed=seed).take(steps)
    for step, (x, y) in enumerate(batches, start=1):
        train_step.learning_rate.assign(learning_rate_at(step, steps, learning_rate, final_learning_rate))
        train_step(x, y)
    return float(accuracy(model(tf.constant(data["x_test"])), tf.constant(data["y_test"])))


# --------------------------------------------------------------------------- plots
def plot_examples(images, labels, n: int = 10, predictions=None):
    """The first ``n`` images with their labels (and predictions, if given) in one row."""
    x = flatten_images(images)[:n].reshape(-1, 28, 28)
    y = np.asarray(labels)
    y = np.argmax(y, axis=1) if y.ndim == 2 else y
    fig, axes = plt.subplots(1, len(x), figsize=(1.1 * len(x), 1.6))
    for i, ax in enumerate(np.atleast_1d(axes)):
        ax.imshow(x[i], cmap="gray_r")
        title = f"{y[i]}" if predictions is None else f"{y[i]} -> {predictions[i]}"
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_history(history: History):
    """Loss and accuracy curves side by side; returns the matplotlib figure."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax_loss.plot(np.arange(1, len(history.batch_loss) + 1), history.batch_loss, alpha=0.3, label="mini-batch")
    ax_loss.plot(
        history.steps,
        history.loss,
        marker="o",
        label=f"mean over {history.steps[0]} steps" if history.steps else "mean",
    )
    ax_loss.set(xlabel="step", ylabel="cross-entropy", title="loss")
    ax_loss.legend()
    ax_acc.plot(history.steps, history.train_accuracy, marker="o", label="train")
    ax_acc.plot(history.steps, history.test_accuracy, marker="s", label="test")
    ax_acc.set(xlabel="step", ylabel="accuracy", title="accuracy")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend()
    fig.tight_layout()
    return fig


def plot_weights(model):
    """The ten columns of W as 28x28 images (2x5 grid): red is evidence for the digit, blue against."""
    W = model.W.numpy()
    limit = float(np.abs(W).max()) or 1.0
    fig, axes = plt.subplots(2, 5, figsize=(11, 4.8))
    for digit, ax in enumerate(axes.flat):
        im = ax.imshow(W[:, digit].reshape(28, 28), cmap="seismic", vmin=-limit, vmax=limit)
        ax.set_title(str(digit))
        ax.axis("off")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
    return fig


# --------------------------------------------------------------------------- for later sections
def load_or_train(
    artifacts_dir=None,
    steps: int | None = None,
    quick: bool | None = None,
    seed: int | None = None,
    progress: bool = False,
):
    """The trained MNIST softmax model (a :class:`SoftmaxRegression`) for later sections.

    Restores ``<artifacts>/mnist_softmax/checkpoints`` if it is there; otherwise trains
    one with the notebook's step (``steps``, default 3000, or 300 on 10,000 images in quick
    mode; step size 0.5 decaying to 0 over the second half), saves the checkpoint, writes
    ``load_or_train.json`` and returns the model. ``progress`` is accepted for compatibility.
    """
    cfg_quick = config.is_quick() if quick is None else quick
    base = Path(artifacts_dir) if artifacts_dir else config.artifacts_dir()
    ckpt_dir = base / SECTION / "checkpoints"
    if tf.train.latest_checkpoint(str(ckpt_dir)):
        return restore_checkpoint(ckpt_dir)
    mnist = prepare(data.load_mnist(quiet=True), train_size=10_000 if cfg_quick else None)
    steps = steps or (300 if cfg_quick else 3000)
    model = SoftmaxRegression()
    test_accuracy = train_quietly(model, mnist, steps=steps, seed=seed, final_learning_rate=0.0)
    save_checkpoint(model, ckpt_dir, step=steps)
    (base / SECTION).mkdir(parents=True, exist_ok=True)
    (base / SECTION / "load_or_train.json").write_text(
        json.dumps({"steps": steps, "test_accuracy": test_accuracy, "quick": cfg_quick}, indent=2) + "\n"
    )
    return model


# --------------------------------------------------------------------------- exercise checks
# Small fixed inputs: a check's verdict depends only on the attendee's function.
_ACC_PROBS = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1], [0.2, 0.2, 0.6]]
_ACC_LABELS = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]]  # 3 of 5 right
_ACC_PROBS_2 = [[0.1, 0.9], [0.6, 0.4], [0.45, 0.55], [0.2, 0.8]]
_ACC_LABELS_2 = [[0, 1], [0, 1], [1, 0], [0, 1]]  # 2 of 4 right

_CE_LOGITS = [[200.0, 0.0, 0.0], [0.0, 200.0, 0.0], [1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]
_CE_LABELS = [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]

_STEP_X = [[1.0, 0.0, 0.5], [0.2, 1.0, 0.0], [0.0, 0.3, 1.0], [0.6, 0.6, 0.6]]
_STEP_LABELS = [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]]
_STEP_W = [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]]
_STEP_B = [0.1, -0.1]
_STEP_LR, _STEP_L2 = 0.5, 0.1


def _ce_rows(logits, labels) -> np.ndarray:
    """Per-example cross-entropy from logits in float64 (log-sum-exp), the reference of the checks."""
    z = np.asarray(logits, np.float64)
    y = np.asarray(labels, np.float64)
    top = z.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
    return lse - (y * z).sum(axis=1)


def _scalar(value, name: str) -> tuple[float | None, str | None]:
    """(the float, None) when ``value`` is one number, else (None, what is wrong)."""
    arr = checks.to_numpy(value)
    if arr is None or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        return None, f"{name} should return one number (a scalar tensor), got a {type(value).__name__}."
    if arr.size != 1:
        return None, (
            f"{name} returned shape {arr.shape}, one number wanted: average over the batch with "
            "tf.reduce_mean."
        )
    return float(arr.reshape(())), None


def check_accuracy(accuracy, verbose: bool = True) -> bool:
    """Check Exercise 1: ``accuracy(probabilities, labels)``, the fraction of images whose most
    probable class is the label.

    Calls it on two small fixed batches (float32 probabilities (N, C), one-hot labels (N, C));
    prints one "Correct! ..." or "Not yet: ..." line and returns True/False, never raises.
    """
    if msg := checks.placeholder("accuracy", accuracy):
        return checks.not_yet(msg, verbose)
    got, err = checks.call(
        accuracy, tf.constant(_ACC_PROBS, tf.float32), tf.constant(_ACC_LABELS, tf.float32)
    )
    if msg := _accuracy_problem(got, err, expected=0.6):
        return checks.not_yet(msg, verbose)
    got2, err = checks.call(
        accuracy, tf.constant(_ACC_PROBS_2, tf.float32), tf.constant(_ACC_LABELS_2, tf.float32)
    )
    value2, err2 = (None, err) if err else _scalar(got2, "accuracy")
    if err2 or abs(value2 - 0.5) > 1e-5:
        return checks.not_yet(
            "right on the first fixed batch but not on a second one (2 classes, 2 of 4 right): "
            f"{err2 or f'expected 0.5, got {value2:.4g}'}",
            verbose,
        )
    return checks.correct(
        "accuracy is 0.6 on 5 fixed images (3 right) and 0.5 on 4 more (2 right): argmax, equal, cast, mean.",
        verbose,
    )


def _accuracy_problem(got, err: str | None, expected: float) -> str | None:
    """What is wrong with ``got`` (or the error ``err``) as the accuracy ``expected`` on the first
    fixed batch; None when it is right."""
    if err and "bool" in err and "Mean" in err:
        return "tf.reduce_mean cannot average booleans: tf.cast(..., tf.float32) them first."
    if err:
        return err
    arr = checks.to_numpy(got)
    if arr is not None and arr.dtype == bool:
        return (
            "accuracy returned booleans: cast them to float32 (tf.cast(..., tf.float32)) and "
            "average with tf.reduce_mean."
        )
    value, err = _scalar(got, "accuracy")
    if err:
        return err
    if arr.dtype.kind in "iu":
        return (
            f"accuracy returned the integer {value:g}: cast the booleans to tf.float32 before "
            "tf.reduce_mean (the mean of integers rounds down)."
        )
    if not np.isfinite(value):
        return f"accuracy returned {value}: expected a fraction between 0 and 1."
    if abs(value - expected) <= 1e-5:
        return None
    if abs(value - 100 * expected) < 1e-3:
        return f"got {value:g}, a percentage: give a fraction between 0 and 1 ({expected})."
    if abs(value - (1 - expected)) < 1e-5:
        return (
            f"got {value:g}, the error rate: expected the accuracy, {expected} (3 of 5 "
            "right on the fixed batch)."
        )
    return (
        f"on 5 fixed images (3 right) expected {expected}, got {value:.4g}. Compare "
        "tf.argmax(probabilities, axis=1) with tf.argmax(labels, axis=1), cast to float32, "
        "average."
    )


def check_cross_entropy(cross_entropy, verbose: bool = True) -> bool:
    """Check Exercise 2: ``cross_entropy(logits, labels)``, the mean cross-entropy of a batch
    computed from the logits without forming log(0).

    Calls it on 4 fixed images (float32 logits (4, 3), one-hot labels (4, 3)), two of them
    with saturated logits (200 vs 0) where ``-reduce_sum(y_ * log(softmax))`` gives nan/inf,
    and compares with ``tf.nn.softmax_cross_entropy_with_logits``. Prints one line, returns
    True/False, never raises.
    """
    if msg := checks.placeholder("cross_entropy", cross_entropy):
        return checks.not_yet(msg, verbose)
    rows = _ce_rows(_CE_LOGITS, _CE_LABELS)
    expected = float(rows.mean())
    reference = float(
        tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits(
                labels=tf.constant(_CE_LABELS), logits=tf.constant(_CE_LOGITS)
            )
        )
    )
    got, err = checks.call(
        cross_entropy, tf.constant(_CE_LOGITS, tf.float32), tf.constant(_CE_LABELS, tf.float32)
    )
    if err:
        return checks.not_yet(err, verbose)
    value, err = _mean_loss(got, rows)
    if err:
        return checks.not_yet(err, verbose)
    if abs(value - expected) > 1e-3 * max(1.0, abs(expected)):
        return checks.not_yet(_wrong_mean_loss(value, expected, rows), verbose)
    return checks.correct(
        f"cross_entropy = {value:.4f} on 4 fixed images, finite on the confident ones "
        f"(0 and 200 for them), the same as tf.nn.softmax_cross_entropy_with_logits "
        f"({reference:.4f}).",
        verbose,
    )


def _mean_loss(got, rows: np.ndarray) -> tuple[float | None, str | None]:
    """(the one finite number ``cross_entropy`` returned, None), or (None, what is wrong): not a
    number, nan/inf, or the per-image losses ``rows`` instead of their mean."""
    arr = checks.to_numpy(got)
    if arr is None or not np.issubdtype(arr.dtype, np.number):
        return None, f"cross_entropy should return one number, got a {type(got).__name__}."
    if not np.all(np.isfinite(arr.astype(np.float64))):
        return None, (
            "the loss is nan or inf on confident logits (200 vs 0): there the softmax rounds to "
            "exactly 1 and 0 in float32 and log(0) = -inf. Stay with the logits: per image "
            "tf.reduce_logsumexp(logits, axis=1) - tf.reduce_sum(labels * logits, axis=1)."
        )
    if arr.shape == rows.shape and np.allclose(arr, rows, rtol=1e-4, atol=1e-4):
        return (
            None,
            "these are the right losses per image; return their mean over the batch (tf.reduce_mean).",
        )
    return _scalar(got, "cross_entropy")


def _wrong_mean_loss(value: float, expected: float, rows: np.ndarray) -> str:
    """Why the mean cross-entropy ``value`` is not ``expected`` (the mean of ``rows``)."""
    if abs(value - rows.sum()) < 1e-3 * rows.sum():
        return f"got {value:.4f}, the sum over the 4 images: take the mean (tf.reduce_mean), {expected:.4f}."
    if abs(value + expected) < 1e-3 * abs(expected):
        return (
            f"got {value:.4f}, the right size with the wrong sign: the cross-entropy is "
            "logsumexp(logits) - (logit of the true class), never negative."
        )
    return (
        f"on the 4 fixed images expected {expected:.4f} (the mean of "
        f"{np.round(rows, 4).tolist()}), got {value:.4f}."
    )


@dataclass(frozen=True)
class _StepReference:
    """Exercise 3's step worked out by hand in float64 on the fixed tiny model."""

    W0: np.ndarray  # (3, 2) before the step
    b0: np.ndarray  # (2,)
    grad_W_ce: np.ndarray  # dCE/dW, without the penalty
    grad_b: np.ndarray
    W1: np.ndarray  # after the step: W0 - lr * (dCE/dW + 2 * l2 * W0)
    b1: np.ndarray  # b0 - lr * dCE/db
    ce: float  # mean cross-entropy before the step
    loss: float  # ce + l2 * sum(W0 ** 2)


def _step_reference(lr: float = _STEP_LR, l2: float = _STEP_L2) -> _StepReference:
    """One step of gradient descent on the fixed model, by hand (softmax regression's gradient
    of the mean cross-entropy is x^T (p - y) / n)."""
    x, y = np.asarray(_STEP_X, np.float64), np.asarray(_STEP_LABELS, np.float64)
    W0, b0 = np.asarray(_STEP_W, np.float64), np.asarray(_STEP_B, np.float64)
    logits = x @ W0 + b0
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    ce = float(_ce_rows(logits, y).mean())
    d_logits = (p - y) / len(x)
    grad_W_ce, grad_b = x.T @ d_logits, d_logits.sum(axis=0)
    W1, b1 = W0 - lr * (grad_W_ce + 2 * l2 * W0), b0 - lr * grad_b
    return _StepReference(W0, b0, grad_W_ce, grad_b, W1, b1, ce, ce + l2 * float((W0**2).sum()))


def _close(a: np.ndarray, e: np.ndarray) -> bool:
    """Same shape and equal to float32 precision (rtol 1e-4, atol 1e-5)."""
    return a.shape == e.shape and np.allclose(a, e, rtol=1e-4, atol=1e-5)


def check_regularized_step(regularized_step, verbose: bool = True) -> bool:
    """Check Exercise 3: ``regularized_step(W, b, x, labels, learning_rate, l2)``, one step of
    gradient descent on ``mean cross-entropy(softmax(x W + b)) + l2 * sum(W ** 2)`` that updates
    the variables ``W`` (in, out) and ``b`` (out,) in place and returns the loss before the update.

    Runs it on fresh variables of a tiny fixed model (3 inputs, 2 classes, 4 examples,
    learning_rate 0.5, l2 0.1) and compares with the update computed by hand (float64).
    Prints one line, returns True/False, never raises.
    """
    if msg := checks.placeholder("regularized_step", regularized_step):
        return checks.not_yet(msg, verbose)
    ref = _step_reference()
    W = tf.Variable(np.asarray(_STEP_W, np.float32), name="W")
    b = tf.Variable(np.asarray(_STEP_B, np.float32), name="b")
    got, err = checks.call(
        regularized_step, W, b, tf.constant(_STEP_X), tf.constant(_STEP_LABELS), _STEP_LR, _STEP_L2
    )
    Wn, bn = W.numpy().astype(np.float64), b.numpy().astype(np.float64)
    if _close(Wn, ref.W0) and _close(bn, ref.b0):
        return checks.not_yet(
            (err + " Also: " if err else "") + "W and b did not change: update them in place with "
            "W.assign_sub(learning_rate * grad_W) and b.assign_sub(...) (`W = W - ...` only "
            "makes a new local tensor).",
            verbose,
        )
    if msg := _step_w_problem(Wn, ref) or _step_b_problem(bn, ref):
        return checks.not_yet(msg, verbose)
    if err:
        return checks.not_yet(f"W and b are updated right, but: {err}", verbose)
    value, err = _scalar(got, "regularized_step")
    if err:
        return checks.not_yet(err, verbose)
    if abs(value - ref.loss) > 1e-4:
        return checks.not_yet(_step_loss_problem(value, ref), verbose)
    return checks.correct(
        f"one step moved W and b as expected (W by learning_rate * (dCE/dW + 2 * l2 * W), b "
        f"without decay) and returned the loss {ref.loss:.4f}, penalty included.",
        verbose,
    )


def _step_w_problem(
    Wn: np.ndarray, ref: _StepReference, lr: float = _STEP_LR, l2: float = _STEP_L2
) -> str | None:
    """What is wrong with ``Wn``, W after the attendee's step; None when it is ``ref.W1``."""
    W0, grad = ref.W0, ref.grad_W_ce
    if _close(Wn, ref.W1):
        return None
    if _close(Wn, W0 - lr * grad):
        return (
            "W moved as without regularisation: add l2 * tf.reduce_sum(W * W) (or "
            "tf.square) to the loss inside the tape, so its gradient 2 * l2 * W joins in."
        )
    if _close(Wn, W0 - lr * (grad + l2 * W0)):
        return (
            "W moved with half the weight decay: the penalty is l2 * sum(W ** 2), whose "
            "gradient is 2 * l2 * W."
        )
    if _close(Wn, W0 + lr * (grad + 2 * l2 * W0)):
        return (
            "W moved uphill: gradient descent subtracts the gradient (W.assign_sub(learning_rate * grad_W))."
        )
    if _close(Wn, W0):
        return "b changed but W did not: update W too (W.assign_sub(learning_rate * grad_W))."
    worst = float(np.max(np.abs(Wn - ref.W1))) if Wn.shape == ref.W1.shape else float("nan")
    return (
        f"W after the step differs from W - learning_rate * (dCE/dW + 2 * l2 * W) (largest "
        f"difference {worst:.4g})."
    )


def _step_b_problem(
    bn: np.ndarray, ref: _StepReference, lr: float = _STEP_LR, l2: float = _STEP_L2
) -> str | None:
    """What is wrong with ``bn``, b after the attendee's step (W is right); None when it is ``ref.b1``."""
    if _close(bn, ref.b1):
        return None
    if _close(bn, ref.b0):
        return "W is right, but b did not change: update it too (b.assign_sub(learning_rate * grad_b))."
    if _close(bn, ref.b0 - lr * (ref.grad_b + 2 * l2 * ref.b0)):
        return (
            "W is right, but b was regularised too: weight decay applies to W only "
            "(the penalty is l2 * sum(W ** 2))."
        )
    return (
        f"W is right, but b after the step is {np.round(bn, 4).tolist()}, expected "
        f"{np.round(ref.b1, 4).tolist()}."
    )


def _step_loss_problem(value: float, ref: _StepReference) -> str:
    """Why the returned loss ``value`` is not ``ref.loss`` (W and b are right)."""
    if abs(value - ref.ce) < 1e-4:
        return (
            f"W and b are right, but the returned loss {value:.4f} lacks the penalty: "
            f"return cross-entropy + l2 * sum(W ** 2) = {ref.loss:.4f}."
        )
    return (
        f"W and b are right, but return the loss computed before the update, {ref.loss:.4f} "
        f"(got {value:.4f})."
    )
