"""Helpers of the mnist_softmax section: softmax regression on MNIST, as the 2016 talk built it.

    y = softmax(x W + b)        x: (batch, 784) pixels in [0, 1], W: (784, 10), b: (10,)

trained with plain gradient descent (learning rate 0.5) on mini-batches of 100, the loss
being the cross-entropy computed the numerically stable way
(``tf.nn.softmax_cross_entropy_with_logits``) rather than the talk's
``-reduce_sum(y_ * log(y))``; :func:`fragile_vs_stable` shows why.

Later sections call :func:`load_or_train`: it restores the checkpoint this section saved
under ``artifacts/mnist_softmax/checkpoints/`` or, if there is none, trains a quick model.
"""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

SECTION = "mnist_softmax"
N_PIXELS = 784
N_CLASSES = 10
BATCH_SIZE = 100
LEARNING_RATE = 0.5


# --------------------------------------------------------------------------- data
def prepare(mnist: dict, train_size: int | None = None, test_size: int | None = None) -> dict:
    """MNIST from ``data.load_mnist()`` as the model wants it.

    Returns x_train/x_test float32 (N, 784) in [0, 1], y_train/y_test one-hot float32
    (N, 10), and labels_train/labels_test int64 (N,). ``train_size``/``test_size`` keep
    only the first N examples (quick mode).
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
    """uint8 images (N, 28, 28) or (N, 784) -> float32 (N, 784) in [0, 1]."""
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


def make_dataset(x, y, batch_size: int = BATCH_SIZE, seed: int | None = None, repeat: bool = True) -> tf.data.Dataset:
    """Shuffled mini-batches of ``(images, one-hot labels)``; repeats forever by default."""
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size, drop_remainder=repeat).prefetch(tf.data.AUTOTUNE)


# --------------------------------------------------------------------------- the model
class SoftmaxRegression(tf.Module):
    """``softmax(x W + b)`` with ``W`` (784, 10) and ``b`` (10,) as ``tf.Variable``'s.

    Like the 2016 tutorial the weights start at zero (a single linear layer has no
    symmetry to break). ``logits(x)`` is ``x W + b``; calling the model gives the
    probabilities; ``serve`` is the SavedModel signature.
    """

    def __init__(self, n_inputs: int = N_PIXELS, n_classes: int = N_CLASSES, name: str | None = None):
        super().__init__(name=name)
        self.W = tf.Variable(tf.zeros([n_inputs, n_classes]), name="W")
        self.b = tf.Variable(tf.zeros([n_classes]), name="b")

    @tf.function(input_signature=[tf.TensorSpec([None, N_PIXELS], tf.float32, name="x")])
    def logits(self, x):
        return tf.matmul(x, self.W) + self.b

    @tf.function(input_signature=[tf.TensorSpec([None, N_PIXELS], tf.float32, name="x")])
    def __call__(self, x):
        return tf.nn.softmax(self.logits(x))

    @tf.function(input_signature=[tf.TensorSpec([None, N_PIXELS], tf.float32, name="x")])
    def serve(self, x):
        probabilities = tf.nn.softmax(self.logits(x))
        return {"probabilities": probabilities, "classes": tf.argmax(probabilities, axis=1)}


def predict(model, images) -> np.ndarray:
    """Class predictions (int64) for images as uint8 (N, 28, 28) or float (N, 784) in [0, 1]."""
    x = flatten_images(images)
    return np.argmax(model(tf.constant(x)).numpy(), axis=1)


# --------------------------------------------------------------------------- losses
def naive_cross_entropy(y_true, probabilities):
    """The talk's loss: ``mean(-reduce_sum(y_ * log(y), axis=1))``. Fragile: log(0) = -inf."""
    return tf.reduce_mean(-tf.reduce_sum(y_true * tf.math.log(probabilities), axis=1))


def stable_cross_entropy(y_true, logits):
    """The same cross-entropy from the logits, computed without overflow or log(0)."""
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_true, logits=logits))


def fragile_vs_stable(logits=None, labels=None) -> dict:
    """Both losses and their gradients on a tiny batch where the naive one breaks.

    The default batch: a confident *right* answer (logits 200 vs 0: softmax gives exactly
    1 and 0 in float32, so ``0 * log(0) = 0 * -inf = nan``) and a confident *wrong* one
    (``1 * log(0) = -inf``, loss inf). The stable loss gives 0 and 200.
    """
    if logits is None:
        logits = [[200.0, 0.0], [0.0, 200.0]]
        labels = [[1.0, 0.0], [1.0, 0.0]]
    logits = tf.Variable(tf.constant(logits, tf.float32))
    labels = tf.constant(labels, tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        probs = tf.nn.softmax(logits)
        naive_rows = -tf.reduce_sum(labels * tf.math.log(probs), axis=1)
        stable_rows = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        naive, stable = tf.reduce_mean(naive_rows), tf.reduce_mean(stable_rows)
    return {
        "probabilities": probs.numpy(),
        "naive_per_example": naive_rows.numpy(),
        "stable_per_example": stable_rows.numpy(),
        "naive_loss": float(naive),
        "stable_loss": float(stable),
        "naive_gradient_finite": bool(np.all(np.isfinite(tape.gradient(naive, logits).numpy()))),
        "stable_gradient_finite": bool(np.all(np.isfinite(tape.gradient(stable, logits).numpy()))),
    }


# --------------------------------------------------------------------------- training
def make_train_step(model: SoftmaxRegression, learning_rate: float = LEARNING_RATE):
    """A ``tf.function`` doing one step of plain gradient descent on a mini-batch; returns the loss.

    The step size lives in a variable, ``train_step.learning_rate``, so a schedule can
    change it between steps without retracing.
    """
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}.")
    lr = tf.Variable(learning_rate, dtype=tf.float32, trainable=False, name="learning_rate")

    @tf.function(input_signature=[tf.TensorSpec([None, N_PIXELS], tf.float32),
                                  tf.TensorSpec([None, N_CLASSES], tf.float32)])
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = stable_cross_entropy(y, model.logits(x))
        grad_W, grad_b = tape.gradient(loss, [model.W, model.b])
        model.W.assign_sub(lr * grad_W)     # W <- W - learning_rate * dLoss/dW
        model.b.assign_sub(lr * grad_b)
        return loss

    train_step.learning_rate = lr
    return train_step


def learning_rate_at(step: int, steps: int, learning_rate: float, final_learning_rate: float | None,
                     decay_from: float = 0.5) -> float:
    """Constant ``learning_rate``; with ``final_learning_rate``, linear decay to it over the
    steps after ``decay_from`` (a fraction of the run)."""
    if final_learning_rate is None:
        return learning_rate
    start = int(steps * decay_from)
    if step <= start:
        return learning_rate
    frac = (step - start) / max(1, steps - start)
    return learning_rate + frac * (final_learning_rate - learning_rate)


def accuracy(model, x, y) -> float:
    """Fraction of images whose most probable class is the label (``y`` one-hot or int)."""
    probs = model(x if isinstance(x, tf.Tensor) else tf.constant(x, tf.float32))
    y = np.asarray(y)
    labels = np.argmax(y, axis=1) if y.ndim == 2 else y
    return float(np.mean(np.argmax(probs.numpy(), axis=1) == labels))


@dataclass
class History:
    """What :func:`train` measured: evaluations every ``eval_every`` steps and the time."""

    steps: list = field(default_factory=list)
    loss: list = field(default_factory=list)  # mean mini-batch loss since the last evaluation
    train_accuracy: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    batch_loss: list = field(default_factory=list)  # every step
    train_seconds: float = 0.0  # gradient steps only (evaluations excluded)
    total_seconds: float = 0.0

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("steps", "loss", "train_accuracy", "test_accuracy",
                                               "train_seconds", "total_seconds")}


def train(model: SoftmaxRegression, data: dict, steps: int = 1000, batch_size: int = BATCH_SIZE,
          learning_rate: float = LEARNING_RATE, eval_every: int = 100, seed: int | None = None,
          logdir=None, progress: bool = True, final_learning_rate: float | None = None) -> History:
    """Train ``model`` on ``data`` (from :func:`prepare`) with mini-batch gradient descent.

    The step size is ``learning_rate`` throughout (the talk), or, with
    ``final_learning_rate``, ``learning_rate`` for the first half and then a linear decay to
    ``final_learning_rate``: with a constant 0.5 the test accuracy of the last step jitters
    by about half a percent from one evaluation to the next; the decay settles it.

    Every ``eval_every`` steps (and at the end) records train and test accuracy, shows
    them on the tqdm bar and, with ``logdir``, writes TensorBoard scalars.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    if eval_every < 1:
        raise ValueError(f"eval_every must be at least 1, got {eval_every}.")
    with warnings.catch_warnings():  # "IProgress not found" without ipywidgets: the text bar is fine
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    step_fn = make_train_step(model, learning_rate)
    # evaluation sets as tensors once (not re-converted at every evaluation)
    x_train_t, x_test_t = tf.constant(data["x_train"]), tf.constant(data["x_test"])
    batches = iter(make_dataset(data["x_train"], data["y_train"], batch_size, seed=seed))
    writer = tf.summary.create_file_writer(str(logdir)) if logdir else None
    hist = History()
    since_eval: list[float] = []
    start = time.perf_counter()
    bar = tqdm(range(1, steps + 1), desc="training", disable=not progress, unit="step")
    for step in bar:
        t0 = time.perf_counter()
        x, y = next(batches)
        if final_learning_rate is not None:
            step_fn.learning_rate.assign(learning_rate_at(step, steps, learning_rate, final_learning_rate))
        loss = float(step_fn(x, y))
        hist.train_seconds += time.perf_counter() - t0
        hist.batch_loss.append(loss)
        since_eval.append(loss)
        if step % eval_every == 0 or step == steps:
            train_acc = accuracy(model, x_train_t, data["y_train"])
            test_acc = accuracy(model, x_test_t, data["y_test"])
            hist.steps.append(step)
            hist.loss.append(float(np.mean(since_eval)))
            hist.train_accuracy.append(train_acc)
            hist.test_accuracy.append(test_acc)
            since_eval = []
            bar.set_postfix(loss=f"{hist.loss[-1]:.3f}", train=f"{train_acc:.3f}", test=f"{test_acc:.3f}")
            if writer:
                with writer.as_default(step=step):
                    tf.summary.scalar("loss", hist.loss[-1])
                    tf.summary.scalar("accuracy/train", train_acc)
                    tf.summary.scalar("accuracy/test", test_acc)
                    tf.summary.scalar("learning_rate", float(step_fn.learning_rate.numpy()))
    bar.close()
    if writer:
        writer.flush()
        writer.close()
    hist.total_seconds = time.perf_counter() - start
    return hist


# --------------------------------------------------------------------------- plots
def plot_examples(images, labels, n: int = 10, predictions=None):
    """The first ``n`` images with their labels (and predictions, if given) in one row."""
    import matplotlib.pyplot as plt

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
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax_loss.plot(np.arange(1, len(history.batch_loss) + 1), history.batch_loss, alpha=0.3, label="mini-batch")
    ax_loss.plot(history.steps, history.loss, marker="o", label=f"mean over {history.steps[0]} steps" if history.steps else "mean")
    ax_loss.set(xlabel="step", ylabel="cross-entropy", title="loss")
    ax_loss.legend()
    ax_acc.plot(history.steps, history.train_accuracy, marker="o", label="train")
    ax_acc.plot(history.steps, history.test_accuracy, marker="s", label="test")
    ax_acc.set(xlabel="step", ylabel="accuracy", title="accuracy")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend()
    fig.tight_layout()
    return fig


def plot_weights(model: SoftmaxRegression):
    """The ten columns of W as 28x28 images (2x5 grid): red is evidence for the digit, blue against."""
    import matplotlib.pyplot as plt

    W = model.W.numpy()
    limit = float(np.abs(W).max()) or 1.0
    fig, axes = plt.subplots(2, 5, figsize=(11, 4.8))
    for digit, ax in enumerate(axes.flat):
        im = ax.imshow(W[:, digit].reshape(28, 28), cmap="seismic", vmin=-limit, vmax=limit)
        ax.set_title(str(digit))
        ax.axis("off")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
    return fig


# --------------------------------------------------------------------------- saving
def save_checkpoint(model: SoftmaxRegression, directory, step: int | None = None) -> str:
    """Save W and b with ``tf.train.Checkpoint`` (keeps the latest one); returns its path."""
    directory = Path(directory)
    ckpt = tf.train.Checkpoint(model=model)
    manager = tf.train.CheckpointManager(ckpt, str(directory), max_to_keep=1)
    return manager.save(checkpoint_number=step)


def restore_checkpoint(directory_or_path, model: SoftmaxRegression | None = None) -> SoftmaxRegression:
    """A (fresh, unless given) model with the weights of the latest checkpoint in a folder
    (or of a checkpoint path). Clear error when there is none."""
    target = Path(directory_or_path)
    path = tf.train.latest_checkpoint(str(target)) if target.is_dir() else str(target)
    if not path or not (Path(path + ".index").exists()):
        raise FileNotFoundError(
            f"no checkpoint at {target}. Run the mnist_softmax notebook (or softmax_model.load_or_train()) first.")
    model = model or SoftmaxRegression()
    tf.train.Checkpoint(model=model).restore(path).assert_existing_objects_matched()
    return model


def export_saved_model(model: SoftmaxRegression, directory) -> Path:
    """``tf.saved_model.save`` with the ``serving_default`` signature (x -> probabilities, classes)."""
    directory = Path(directory)
    tf.saved_model.save(model, str(directory), signatures={"serving_default": model.serve})
    return directory


def load_saved_model(directory):
    """``tf.saved_model.load``; call ``.signatures['serving_default'](x=...)`` or the object itself."""
    directory = Path(directory)
    if not (directory / "saved_model.pb").exists():
        raise FileNotFoundError(f"no SavedModel in {directory} (saved_model.pb missing); export one first.")
    return tf.saved_model.load(str(directory))


def load_or_train(artifacts_dir=None, steps: int | None = None, quick: bool | None = None,
                  seed: int | None = None, progress: bool = False) -> SoftmaxRegression:
    """The trained MNIST softmax model for later sections.

    Restores ``<artifacts>/mnist_softmax/checkpoints`` if it is there; otherwise trains
    one (``steps``, default 3000, or 300 on 10,000 images in quick mode), saves the
    checkpoint and returns the model.
    """
    from .. import config, data

    cfg_quick = config.is_quick() if quick is None else quick
    base = Path(artifacts_dir) if artifacts_dir else config.artifacts_dir()
    ckpt_dir = base / SECTION / "checkpoints"
    if tf.train.latest_checkpoint(str(ckpt_dir)):
        return restore_checkpoint(ckpt_dir)
    mnist = prepare(data.load_mnist(quiet=True), train_size=10_000 if cfg_quick else None)
    steps = steps or (300 if cfg_quick else 3000)
    model = SoftmaxRegression()
    hist = train(model, mnist, steps=steps, eval_every=steps, seed=seed, progress=progress,
                 final_learning_rate=0.0)
    save_checkpoint(model, ckpt_dir, step=steps)
    (base / SECTION).mkdir(parents=True, exist_ok=True)
    (base / SECTION / "load_or_train.json").write_text(json.dumps(
        {"steps": steps, "test_accuracy": hist.test_accuracy[-1], "quick": cfg_quick}, indent=2) + "\n")
    return model


# --------------------------------------------------------------------------- exercise
def check_accuracy(my_accuracy, probabilities, labels, verbose: bool = True) -> bool:
    """Check the exercise: the accuracy of ``probabilities`` (N, 10) against ``labels``
    (one-hot (N, 10) or int (N,)). Prints what is right or wrong; returns True/False."""

    def say(ok: bool, msg: str) -> bool:
        if verbose:
            print(("Correct! " if ok else "Not yet: ") + msg)
        return ok

    probs = np.asarray(probabilities.numpy() if hasattr(probabilities, "numpy") else probabilities)
    y = np.asarray(labels.numpy() if hasattr(labels, "numpy") else labels)
    true = np.argmax(y, axis=1) if y.ndim == 2 else y
    expected = float(np.mean(np.argmax(probs, axis=1) == true))
    if my_accuracy is None:
        return say(False, "my_accuracy is None: compute it between the BEGIN/END lines.")
    try:
        value = np.asarray(my_accuracy.numpy() if hasattr(my_accuracy, "numpy") else my_accuracy)
    except Exception:
        return say(False, f"my_accuracy should be a number, got a {type(my_accuracy).__name__}.")
    if value.dtype == object or not np.issubdtype(value.dtype, np.number) and value.dtype != bool:
        return say(False, f"my_accuracy should be a number, got {type(my_accuracy).__name__} {my_accuracy!r}.")
    if value.size != 1:
        return say(False, f"my_accuracy should be one number, got shape {value.shape}: "
                          "average the per-image 0/1 correctness with tf.reduce_mean.")
    got = float(value.reshape(()))
    if value.dtype == bool or np.issubdtype(value.dtype, np.integer):
        return say(False, f"got the integer {got:g}: cast the booleans to float32 before averaging "
                          "(tf.cast(..., tf.float32)); the mean of integers rounds down.")
    if abs(got - expected) < 1e-4:
        return say(True, f"accuracy = {got:.4f} ({int(round(got * len(true)))} of {len(true)} images).")
    if abs(got * 100 - expected) < 1e-4 or abs(got - expected * 100) < 1e-2:
        return say(False, f"got {got:.4f}: give a fraction between 0 and 1, expected {expected:.4f}.")
    if abs(got - (1 - expected)) < 1e-4:
        return say(False, f"got {got:.4f}, which is the error rate: expected the accuracy {expected:.4f}.")
    return say(False, f"expected {expected:.4f}, got {got:.4f}. Compare tf.argmax(probabilities, axis=1) "
                      "with tf.argmax(labels, axis=1), cast to float32, average.")
