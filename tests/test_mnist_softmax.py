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
    hist = sm.train(model, mnist, steps=200, eval_every=100, seed=0, progress=False)
    return model, hist


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


def test_make_dataset_batches_of_100(mnist):
    ds = sm.make_dataset(mnist["x_train"], mnist["y_train"], seed=1)
    x, y = next(iter(ds))
    assert x.shape == (100, 784) and y.shape == (100, 10)
    with pytest.raises(ValueError, match="labels"):
        sm.make_dataset(mnist["x_train"], mnist["y_train"][:10])


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


def test_fragile_vs_stable_cross_entropy():
    out = sm.fragile_vs_stable()
    assert np.isnan(out["naive_per_example"][0])  # right and confident: 0 * log(0) = nan
    assert np.isinf(out["naive_per_example"][1])  # wrong and confident: log(0) = -inf
    assert not np.isfinite(out["naive_loss"]) and not out["naive_gradient_finite"]
    np.testing.assert_allclose(out["stable_per_example"], [0.0, 200.0], atol=1e-4)
    assert out["stable_loss"] == pytest.approx(100.0) and out["stable_gradient_finite"]


def test_both_losses_agree_on_tame_logits():
    logits = tf.constant([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
    labels = tf.constant([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    naive = sm.naive_cross_entropy(labels, tf.nn.softmax(logits))
    stable = sm.stable_cross_entropy(labels, logits)
    assert float(naive) == pytest.approx(float(stable), rel=1e-5)
    out = sm.fragile_vs_stable(logits.numpy().tolist(), labels.numpy().tolist())
    assert out["naive_loss"] == pytest.approx(out["stable_loss"], rel=1e-5)


# --------------------------------------------------------------------------- training
def test_loss_falls_over_a_few_steps(mnist):
    model = sm.SoftmaxRegression()
    step = sm.make_train_step(model, learning_rate=0.5)
    x, y = tf.constant(mnist["x_train"][:500]), tf.constant(mnist["y_train"][:500])
    losses = [float(step(x, y)) for _ in range(5)]
    assert losses[0] == pytest.approx(np.log(10), rel=1e-4)  # zero weights: uniform guess
    assert losses[-1] < losses[0] * 0.7
    assert all(b < a for a, b in zip(losses, losses[1:]))


def test_training_reaches_an_accuracy_floor(trained, mnist):
    model, hist = trained
    assert hist.steps == [100, 200]
    assert len(hist.batch_loss) == 200
    assert hist.test_accuracy[-1] > 0.85, hist.test_accuracy
    assert hist.test_accuracy[-1] == pytest.approx(sm.accuracy(model, mnist["x_test"], mnist["labels_test"]))
    assert np.mean(hist.batch_loss[-20:]) < np.mean(hist.batch_loss[:20])
    assert 0 < hist.train_seconds <= hist.total_seconds


def test_learning_rate_schedule():
    assert sm.learning_rate_at(10, 100, 0.5, None) == 0.5
    assert [sm.learning_rate_at(s, 100, 0.5, 0.0) for s in (1, 50, 75, 100)] == [0.5, 0.5, 0.25, 0.0]


def test_decay_reaches_the_final_learning_rate(tmp_path, mnist):
    from tensorboard.backend.event_processing import event_accumulator

    sm.train(sm.SoftmaxRegression(), mnist, steps=20, eval_every=10, progress=False,
             final_learning_rate=0.1, logdir=tmp_path)
    acc = event_accumulator.EventAccumulator(str(next(tmp_path.glob("events.out.tfevents.*"))))
    acc.Reload()
    rates = [float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors("learning_rate")]
    assert rates == pytest.approx([0.5, 0.1])


def test_train_rejects_bad_arguments(mnist):
    model = sm.SoftmaxRegression()
    with pytest.raises(ValueError, match="steps"):
        sm.train(model, mnist, steps=0, progress=False)
    with pytest.raises(ValueError, match="learning_rate"):
        sm.train(model, mnist, steps=5, learning_rate=-1.0, progress=False)


def test_tensorboard_scalars(tmp_path, mnist):
    from tensorboard.backend.event_processing import event_accumulator

    sm.train(sm.SoftmaxRegression(), mnist, steps=30, eval_every=10, logdir=tmp_path / "logs", progress=False)
    files = list((tmp_path / "logs").glob("events.out.tfevents.*"))
    assert files
    acc = event_accumulator.EventAccumulator(str(files[0]))
    acc.Reload()
    tags = set(acc.Tags()["tensors"])
    assert {"loss", "accuracy/train", "accuracy/test"} <= tags
    assert [e.step for e in acc.Tensors("accuracy/test")] == [10, 20, 30]


def test_plots(trained):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model, hist = trained
    fig = sm.plot_weights(model)
    assert len([ax for ax in fig.axes if ax.images]) == 10
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
    assert sm.accuracy(fresh, mnist["x_test"], mnist["y_test"]) == sm.accuracy(model, mnist["x_test"], mnist["y_test"])
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        sm.restore_checkpoint(tmp_path / "nothing-here")


def test_saved_model_round_trip(tmp_path, trained, mnist):
    model, _ = trained
    sm.export_saved_model(model, tmp_path / "saved")
    loaded = sm.load_saved_model(tmp_path / "saved")
    x = tf.constant(mnist["x_test"][:50])
    out = loaded.signatures["serving_default"](x=x)
    np.testing.assert_allclose(out["probabilities"].numpy(), model(x).numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(out["classes"].numpy(), np.argmax(model(x).numpy(), axis=1))
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6, atol=1e-7)
    with pytest.raises(FileNotFoundError, match="saved_model.pb"):
        sm.load_saved_model(tmp_path / "missing")


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


# --------------------------------------------------------------------------- exercise check
PROBS = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], np.float32)
LABELS = np.array([[1, 0], [0, 1], [0, 1], [0, 1]], np.float32)  # 3 of 4 right


def test_check_accuracy_right(capsys):
    assert sm.check_accuracy(tf.constant(0.75), PROBS, LABELS) is True
    assert sm.check_accuracy(0.75, PROBS, np.argmax(LABELS, axis=1)) is True
    assert capsys.readouterr().out.startswith("Correct!")


@pytest.mark.parametrize(
    "answer, words",
    [
        (None, "is None"),
        ("0.75", "should be a number"),
        (np.array([1.0, 1.0, 0.0, 1.0]), "one number"),
        (tf.constant(0, tf.int32), "integer"),
        (75.0, "fraction between 0 and 1"),
        (0.25, "error rate"),
        (0.5, "expected 0.7500, got 0.5000"),
    ],
)
def test_check_accuracy_wrong(answer, words, capsys):
    assert sm.check_accuracy(answer, PROBS, LABELS) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and words in out
