"""Unit tests of workshop_sections.mnist_softmax.softmax_model (small, fast: real MNIST subsets)."""

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from workshop_sections import data  # noqa: E402
from workshop_sections.mnist_softmax import softmax_model as sm  # noqa: E402


@pytest.fixture(scope="module")
def raw():
    try:
        return data.load_mnist(quiet=True)
    except data.DataError as exc:  # no cache, no mirror, no network
        pytest.skip(f"MNIST not available: {exc}")


@pytest.fixture(scope="module")
def mnist(raw):
    return sm.prepare(raw, train_size=5000, test_size=2000)


@pytest.fixture(scope="module")
def trained(mnist):
    tf.keras.utils.set_random_seed(0)
    model = sm.SoftmaxRegression()
    test_accuracy = sm.train_quietly(model, mnist, steps=200, seed=0)
    return model, test_accuracy


# --------------------------------------------------------------------------- data
def test_prepare_shapes_and_ranges(mnist):
    assert mnist["x_train"].shape == (5000, 784) and mnist["x_train"].dtype == np.float32
    assert mnist["x_test"].shape == (2000, 784)
    assert mnist["y_train"].shape == (5000, 10) and mnist["y_train"].dtype == np.float32
    assert 0.0 <= mnist["x_train"].min() and mnist["x_train"].max() <= 1.0
    assert np.all(mnist["y_train"].sum(axis=1) == 1.0)
    assert np.array_equal(np.argmax(mnist["y_test"], axis=1), mnist["labels_test"])


def test_prepare_and_flatten_reject_bad_input():
    with pytest.raises(ValueError, match="missing keys"):
        sm.prepare({"x_train": np.zeros((2, 28, 28), np.uint8)})
    with pytest.raises(ValueError, match=r"\(N, 28, 28\) or \(N, 784\)"):
        sm.flatten_images(np.zeros((3, 32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sm.flatten_images(np.full((2, 784), 255.0, np.float32))
    flat = sm.flatten_images(np.full((2, 28, 28), 255, np.uint8))
    assert flat.shape == (2, 784) and flat.max() == 1.0


def test_mnist_dataset_batches_of_100(mnist):
    ds = sm.mnist_dataset(mnist["x_train"], mnist["y_train"], seed=1)
    x, y = next(iter(ds))
    assert x.shape == (100, 784) and y.shape == (100, 10)
    with pytest.raises(ValueError, match="labels"):
        sm.mnist_dataset(mnist["x_train"], mnist["y_train"][:10])


# --------------------------------------------------------------------------- model
def test_model_shapes_and_probabilities():
    model = sm.SoftmaxRegression()
    assert model.W.shape == (784, 10) and model.b.shape == (10,)
    assert {v.name for v in model.trainable_variables} == {"W:0", "b:0"}
    x = tf.random.uniform([5, 784])
    assert model.logits(x).shape == (5, 10)
    probs = model(x).numpy()
    assert probs.shape == (5, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probs, 0.1, rtol=1e-6)  # zero weights: uniform
    with pytest.raises((TypeError, ValueError)):
        model(tf.zeros([5, 28, 28]))


def test_naive_loss_breaks_where_the_stable_one_does_not():
    logits = tf.Variable([[200.0, 0.0], [0.0, 200.0]])  # sure of 0, sure of 1
    labels = tf.constant([[1.0, 0.0], [1.0, 0.0]])  # both are 0: right, then wrong
    with tf.GradientTape(persistent=True) as tape:
        naive = sm.naive_cross_entropy(labels, tf.nn.softmax(logits))
        stable = sm.stable_cross_entropy(labels, logits)
    assert np.isnan(float(naive))  # 0 * log(0) = nan (and 1 * log(0) = -inf)
    assert not np.all(np.isfinite(tape.gradient(naive, logits).numpy()))
    assert float(stable) == pytest.approx(100.0)  # per image 0 and 200
    assert np.all(np.isfinite(tape.gradient(stable, logits).numpy()))


def test_both_losses_agree_on_tame_logits():
    logits = tf.constant([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
    labels = tf.constant([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    naive = sm.naive_cross_entropy(labels, tf.nn.softmax(logits))
    stable = sm.stable_cross_entropy(labels, logits)
    assert float(naive) == pytest.approx(float(stable), rel=1e-5)
    by_hand = np.mean(
        [np.log(np.exp([1.0, 2.0, 0.5]).sum()) - 2.0, np.log(np.exp([0.1, -1.0, 3.0]).sum()) - 0.1]
    )
    assert float(stable) == pytest.approx(by_hand, rel=1e-5)


def test_accuracy_of_probabilities_and_one_hot_labels():
    probs = tf.constant([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    labels = tf.constant([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    acc = sm.accuracy(probs, labels)
    assert acc.dtype == tf.float32 and acc.shape == ()
    assert float(acc) == pytest.approx(0.75)


# --------------------------------------------------------------------------- training
def test_loss_falls_over_a_few_steps(mnist):
    model = sm.SoftmaxRegression()
    step = sm.make_train_step(model, learning_rate=0.5)
    x, y = tf.constant(mnist["x_train"][:500]), tf.constant(mnist["y_train"][:500])
    losses = [float(step(x, y)) for _ in range(5)]
    assert losses[0] == pytest.approx(np.log(10), rel=1e-4)  # zero weights: uniform guess
    assert losses[-1] < losses[0] * 0.7
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert step.experimental_get_tracing_count() == 1


def test_train_step_is_gradient_descent_with_its_learning_rate_variable(mnist):
    model = sm.SoftmaxRegression()
    step = sm.make_train_step(model, learning_rate=0.5)
    x, y = tf.constant(mnist["x_train"][:50]), tf.constant(mnist["y_train"][:50])
    with tf.GradientTape() as tape:
        loss = sm.stable_cross_entropy(y, model.logits(x))
    grad_W = tape.gradient(loss, model.W).numpy()
    step.learning_rate.assign(0.25)
    step(x, y)
    np.testing.assert_allclose(model.W.numpy(), -0.25 * grad_W, rtol=1e-4, atol=1e-7)
    before = model.W.numpy().copy()
    step.learning_rate.assign(0.0)
    step(x, y)
    np.testing.assert_array_equal(model.W.numpy(), before)
    assert step.experimental_get_tracing_count() == 1, "changing the learning rate must not retrace"
    with pytest.raises(ValueError, match="learning_rate"):
        sm.make_train_step(model, learning_rate=-1.0)


def test_training_reaches_an_accuracy_floor(trained, mnist):
    model, test_accuracy = trained
    assert test_accuracy > 0.85
    assert test_accuracy == pytest.approx(float(sm.accuracy(model(mnist["x_test"]), mnist["y_test"])))
    with pytest.raises(ValueError, match="steps"):
        sm.train_quietly(sm.SoftmaxRegression(), mnist, steps=0)


def test_learning_rate_schedule():
    assert sm.learning_rate_at(10, 100, 0.5, None) == 0.5
    assert [sm.learning_rate_at(s, 100, 0.5, 0.0) for s in (1, 50, 75, 100)] == [0.5, 0.5, 0.25, 0.0]
    assert sm.learning_rate_at(20, 20, 0.5, 0.1) == pytest.approx(0.1)


def test_history_records_losses_evaluations_and_times():
    hist = sm.History()
    for step in hist.progress(30, progress=False):
        hist.add_loss(tf.constant(float(step)))
        if step % 10 == 0:
            hist.add_evaluation(step, tf.constant(0.5), 0.25)
    assert hist.steps == [10, 20, 30]
    assert hist.batch_loss == [float(s) for s in range(1, 31)]
    assert hist.loss == pytest.approx([5.5, 15.5, 25.5])  # mean since the last evaluation
    assert hist.train_accuracy == [0.5] * 3 and hist.test_accuracy == [0.25] * 3
    assert 0 < hist.train_seconds <= hist.total_seconds
    assert set(hist.as_dict()) == {
        "steps",
        "loss",
        "train_accuracy",
        "test_accuracy",
        "train_seconds",
        "total_seconds",
    }
    with pytest.raises(ValueError, match="steps"):
        next(iter(sm.History().progress(0)))


def test_plots(trained):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model, _ = trained
    fig = sm.plot_weights(model)
    assert len([ax for ax in fig.axes if ax.images]) == 10
    hist = sm.History()
    for step in hist.progress(4, progress=False):
        hist.add_loss(1.0 / step)
        if step % 2 == 0:
            hist.add_evaluation(step, 0.8, 0.7)
    fig2 = sm.plot_history(hist)
    assert len(fig2.axes) == 2
    fig3 = sm.plot_examples(np.zeros((4, 28, 28), np.uint8), [1, 2, 3, 4], predictions=[1, 2, 3, 5])
    assert [ax.get_title() for ax in fig3.axes] == ["1 -> 1", "2 -> 2", "3 -> 3", "4 -> 5"]
    plt.close("all")


# --------------------------------------------------------------------------- saving
def test_checkpoint_round_trip(tmp_path, trained, mnist):
    model, _ = trained
    path = sm.save_checkpoint(model, tmp_path / "ckpt", step=200)
    assert path.endswith("ckpt-200")
    fresh = sm.restore_checkpoint(tmp_path / "ckpt")
    assert fresh is not model
    x = tf.constant(mnist["x_test"][:300])
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        sm.restore_checkpoint(tmp_path / "nothing-here")


def test_saved_model_round_trip(tmp_path, trained, mnist):
    model, _ = trained
    tf.saved_model.save(model, str(tmp_path / "saved"), signatures={"serving_default": model.serve})
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    x = tf.constant(mnist["x_test"][:50])
    out = loaded.signatures["serving_default"](x=x)
    np.testing.assert_allclose(out["probabilities"].numpy(), model(x).numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(out["classes"].numpy(), np.argmax(model(x).numpy(), axis=1))
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6, atol=1e-7)


def test_predict_takes_raw_images(trained, raw):
    model, _ = trained
    pred = sm.predict(model, raw["x_test"][:200])
    assert pred.shape == (200,)
    assert np.mean(pred == raw["y_test"][:200]) > 0.8


def test_load_or_train_trains_then_restores(tmp_path):
    model = sm.load_or_train(artifacts_dir=tmp_path, steps=50, quick=True, seed=0)
    assert (tmp_path / "mnist_softmax" / "checkpoints").is_dir()
    info = json.loads((tmp_path / "mnist_softmax" / "load_or_train.json").read_text())
    assert info["steps"] == 50 and info["test_accuracy"] > 0.7
    again = sm.load_or_train(artifacts_dir=tmp_path, steps=50, quick=True)
    np.testing.assert_array_equal(again.W.numpy(), model.W.numpy())


# --------------------------------------------------------------------------- exercise checks
def _say(capsys):
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out  # one line
    return out


def _acc(p, y):
    return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(p, 1), tf.argmax(y, 1)), tf.float32))


def test_check_accuracy_right(capsys):
    assert sm.check_accuracy(_acc) is True
    assert _say(capsys).startswith("Correct!")


@pytest.mark.parametrize(
    "answer, words",
    [
        (None, "still None"),
        (lambda p, y: None, "returned None"),
        (lambda p, y: "0.6", "one number"),
        (lambda p, y: tf.cast(tf.equal(tf.argmax(p, 1), tf.argmax(y, 1)), tf.float32), "tf.reduce_mean"),
        (
            lambda p, y: tf.reduce_mean(tf.cast(tf.equal(tf.argmax(p, 1), tf.argmax(y, 1)), tf.int32)),
            "integer",
        ),
        (
            lambda p, y: tf.reduce_mean(tf.cast(tf.equal(tf.argmax(p, 1), tf.argmax(y, 1)), tf.bool)),
            "booleans",
        ),
        (lambda p, y: _acc(p, y) * 100, "percentage"),
        (lambda p, y: 1 - _acc(p, y), "error rate"),
        (lambda p, y: tf.constant(0.6), "second one"),
        (lambda p, y: tf.reduce_mean(tf.cast(tf.argmax(p, 1) == 1, tf.float32)), "expected 0.6"),
    ],
)
def test_check_accuracy_wrong(answer, words, capsys):
    assert sm.check_accuracy(answer) is False
    out = _say(capsys)
    assert out.startswith("Not yet:") and words in out, out


def _ce(z, y):
    return tf.reduce_mean(tf.reduce_logsumexp(z, axis=1) - tf.reduce_sum(y * z, axis=1))


def test_check_cross_entropy_right(capsys):
    assert sm.check_cross_entropy(_ce) is True
    assert sm.check_cross_entropy(lambda z, y: sm.stable_cross_entropy(y, z)) is True
    assert capsys.readouterr().out.startswith("Correct!")


@pytest.mark.parametrize(
    "answer, words",
    [
        (None, "still None"),
        (lambda z, y: None, "returned None"),
        (lambda z, y: sm.naive_cross_entropy(y, tf.nn.softmax(z)), "nan or inf"),
        (lambda z, y: tf.reduce_logsumexp(z, axis=1) - tf.reduce_sum(y * z, axis=1), "mean"),
        (lambda z, y: 4 * _ce(z, y), "sum over the 4 images"),
        (lambda z, y: -_ce(z, y), "wrong sign"),
        (lambda z, y: sm.stable_cross_entropy(z, y), "expected 50.91"),
        (lambda z, y: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_check_cross_entropy_wrong(answer, words, capsys):
    assert sm.check_cross_entropy(answer) is False
    out = _say(capsys)
    assert out.startswith("Not yet:") and words in out, out


def _step(
    W,
    b,
    x,
    labels,
    learning_rate,
    l2,
    penalty_on_b=False,
    decay=2.0,
    sign=1.0,
    update_b=True,
    in_place=True,
    return_ce=False,
):
    with tf.GradientTape() as tape:
        ce = sm.stable_cross_entropy(labels, tf.matmul(x, W) + b)
        loss = (
            ce + decay / 2 * l2 * tf.reduce_sum(W * W) + (l2 * tf.reduce_sum(b * b) if penalty_on_b else 0.0)
        )
    grad_W, grad_b = tape.gradient(loss, [W, b])
    if not in_place:
        W = W - learning_rate * grad_W  # noqa: F841 - the mistake under test
        return loss
    W.assign_sub(sign * learning_rate * grad_W)
    if update_b:
        b.assign_sub(learning_rate * grad_b)
    return ce if return_ce else loss


def test_check_regularized_step_right(capsys):
    assert sm.check_regularized_step(_step) is True
    assert sm.check_regularized_step(tf.function(_step)) is True
    assert capsys.readouterr().out.startswith("Correct!")


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"decay": 0.0}, "without regularisation"),
        ({"decay": 1.0}, "half the weight decay"),
        ({"sign": -1.0}, "uphill"),
        ({"in_place": False}, "did not change"),
        ({"update_b": False}, "b did not change"),
        ({"penalty_on_b": True}, "W only"),
        ({"return_ce": True}, "lacks the penalty"),
    ],
)
def test_check_regularized_step_wrong(kwargs, words, capsys):
    import functools

    assert sm.check_regularized_step(functools.partial(_step, **kwargs)) is False
    out = _say(capsys)
    assert out.startswith("Not yet:") and words in out, out


def test_check_regularized_step_placeholders(capsys):
    assert sm.check_regularized_step(None) is False
    assert "still None" in _say(capsys)

    def stub(W, b, x, labels, learning_rate, l2):
        return None

    assert sm.check_regularized_step(stub) is False
    assert "returned None" in _say(capsys)

    def loss_after(W, b, x, labels, learning_rate, l2):
        _step(W, b, x, labels, learning_rate, l2)
        return sm.stable_cross_entropy(labels, tf.matmul(x, W) + b) + l2 * tf.reduce_sum(W * W)

    assert sm.check_regularized_step(loss_after) is False
    assert "before the update" in _say(capsys)
