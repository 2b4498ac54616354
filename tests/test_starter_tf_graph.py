"""Unit tests of workshop_sections.starter_tf_graph.graph_helpers."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from workshop_sections import config  # noqa: E402
from workshop_sections.starter_tf_graph import graph_helpers as gh  # noqa: E402


def test_starter_product_is_129_98():
    product = gh.starter_product()
    assert product.shape == (1, 1)
    assert product.dtype == tf.float32
    assert product.numpy()[0, 0] == pytest.approx(129.98, abs=1e-4)
    # by hand, so the constant in the module cannot drift from the arithmetic
    assert gh.EXPECTED_PRODUCT == pytest.approx(6.2 * 9.3 + 12.0 * 1.7 + 5.9 * 8.8)


def test_starter_product_other_inputs():
    out = gh.starter_product([[1.0, 2.0]], [[3.0], [4.0]])
    assert out.numpy().tolist() == [[11.0]]
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError)):
        gh.starter_product([[1.0, 2.0]], [[3.0], [4.0], [5.0]])


def test_graph_ops_lists_matmul_and_placeholders():
    @tf.function
    def f(a, b):
        return tf.matmul(a, b)

    ops = gh.graph_ops(f, tf.TensorSpec([1, 3], tf.float32), tf.TensorSpec([3, 1], tf.float32))
    types = [t for _, t in ops]
    assert types.count("Placeholder") == 2
    assert "MatMul" in types
    assert all(isinstance(n, str) and n for n, _ in ops)
    # a concrete function and its graph give the same listing
    cf = f.get_concrete_function(tf.TensorSpec([1, 3]), tf.TensorSpec([3, 1]))
    assert gh.graph_ops(cf) == ops
    assert gh.graph_ops(cf.graph) == ops


def test_graph_ops_sees_variables_and_softmax():
    w = tf.Variable(tf.ones([3, 2]))

    @tf.function
    def model(x):
        return tf.nn.softmax(tf.matmul(x, w))

    counts = gh.op_types(model, tf.TensorSpec([None, 3], tf.float32))
    assert counts["Softmax"] == 1
    assert counts["ReadVariableOp"] >= 1
    assert counts["MatMul"] == 1
    table = gh.format_ops(gh.graph_ops(model, tf.TensorSpec([None, 3], tf.float32)))
    assert "Softmax" in table and "MatMul" in table


def test_graph_ops_rejects_plain_python_function_clearly():
    def plain(a):
        return a + 1

    with pytest.raises(TypeError, match="tf.function"):
        gh.graph_ops(plain, tf.constant(1.0))
    with pytest.raises(TypeError, match="expects"):
        gh.graph_ops(42)


def test_write_graph_to_tensorboard(tmp_path):
    @tf.function
    def f(a, b):
        return tf.matmul(a, b) * 2.0

    f(tf.ones([1, 3]), tf.ones([3, 1]))  # already traced: write_graph must still record it
    logdir = gh.write_graph(f, tf.constant(gh.M1), tf.constant(gh.M2), logdir=tmp_path / "logs")
    assert gh.event_files(logdir), "no event file written"
    logged = gh.logged_graph_ops(logdir)
    assert "MatMul" in logged and "Mul" in logged
    cmd = config.tensorboard_command(logdir)
    assert cmd == f"tensorboard --logdir {logdir.resolve()} --host 127.0.0.1 --port 6006"
    assert (
        config.tensorboard_command(logdir, root=tmp_path, port=6007)
        == "tensorboard --logdir logs --host 127.0.0.1 --port 6007"
    )


def test_rounded_prints_the_talk_value():
    assert gh.rounded(gh.starter_product()) == [[129.98]]
    assert gh.rounded(tf.constant([1.23456, 2.0]), 3) == [1.235, 2.0]


def test_tf1_session_product_keeps_eager_mode():
    out = gh.tf1_product(gh.M1, gh.M2)
    assert isinstance(out, np.ndarray) and out.shape == (1, 1)
    assert out[0, 0] == pytest.approx(129.98, abs=1e-4)
    batch = gh.tf1_product([[6.2, 12.0, 5.9], [1.0, 0.0, 0.0]], gh.M2, print_it=True)
    assert batch[:, 0] == pytest.approx([129.98, 9.3], abs=1e-4)
    assert tf.executing_eagerly()
    with pytest.raises(ValueError):
        gh.tf1_product([[1.0, 2.0]], gh.M2)  # the placeholder wants 3 columns


def test_op_categories_table():
    table = gh.op_categories_table()
    for category in ("Element-wise math", "Matrix", "Stateful", "Control flow", "Checkpointing"):
        assert category in table
    assert "tf.while_loop" in table


# --------------------------------------------------------------------------- the exercise checks
def _line(capsys):
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    return out


def test_check_add_m3_accepts_the_solution(capsys):
    fn = tf.function(lambda m3: (m3, tf.add(m3, m3)))
    assert gh.check_add_m3(fn) is True
    out = _line(capsys)
    assert out.startswith("Correct!") and "AddV2" in out
    assert gh.check_add_m3(lambda m3: (m3, m3 + m3)) is True  # eager works too
    assert gh.check_add_m3(lambda m3: [m3.numpy(), m3.numpy() * 2]) is True


@pytest.mark.parametrize(
    "fn, words",
    [
        (None, "still None"),
        (lambda m3: None, "returned None"),
        (lambda m3: (m3, None), "m4 is None"),
        (lambda m3: m3 * 2, "return both"),
        (lambda m3: (m3, m3 * 3), "m3 + m3"),
        (lambda m3: (m3 * 2, m3), "swapped"),
        (lambda m3: (m3, m3 * 2, m3), "exactly two"),
        (lambda m3: (m3, tf.reshape(m3 * 2, [1, 4])), "shape"),
        (lambda m3: (m3, tf.matmul(m3, m3)), "matrix product"),
        (lambda m3: (m3, "twice m3"), "numeric"),
        (lambda m3: (tf.zeros_like(m3), m3 * 2), "first value should be m3"),
        (lambda m3: "hello", "pair"),
        (lambda m3: (m3, tf.constant([[3.0, 4.0], [6.0, 9.0]])), "another input"),
        (lambda m3: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_check_add_m3_rejects_wrong_answers(fn, words, capsys):
    assert gh.check_add_m3(fn) is False
    out = _line(capsys)
    assert out.startswith("Not yet:") and words in out, out


@tf.function
def _accumulate(total, values):
    for value in values:
        total.assign_add(value)
    return total.read_value()


def test_check_accumulate_accepts_the_solution(capsys):
    assert gh.check_accumulate(_accumulate) is True
    assert gh.check_accumulate(lambda t, v: t.assign_add(tf.reduce_sum(v))) is True  # no loop: fine too
    assert capsys.readouterr().out.startswith("Correct!")


@pytest.mark.parametrize(
    "fn, words",
    [
        (None, "still None"),
        (lambda t, v: None, "did not change"),
        (lambda t, v: t + tf.reduce_sum(v), "did not change"),
        (lambda t, v: t.assign(tf.reduce_sum(v)), "started at 100"),
        (lambda t, v: t.assign_add(v[-1]), "only the last value"),
        (lambda t, v: (t.assign_add(tf.reduce_sum(v)), None)[1], "total is right"),
        (lambda t, v: (t.assign_add(tf.reduce_sum(v)), "done")[1], "return its new value"),
        (lambda t, v: t.assign_add(tf.reduce_sum(v) * 2), "110.5"),
    ],
)
def test_check_accumulate_rejects_wrong_answers(fn, words, capsys):
    assert gh.check_accumulate(fn) is False
    out = _line(capsys)
    assert out.startswith("Not yet:") and words in out, out


def _tf1_add(value):
    graph = tf.Graph()
    with graph.as_default():
        m3 = tf.compat.v1.placeholder(tf.float32, shape=None)
        m4 = tf.add(m3, m3)
        with tf.compat.v1.Session(graph=graph) as sess:
            return sess.run(m4, feed_dict={m3: value})


def _tf1_constant(value):
    graph = tf.Graph()
    with graph.as_default():
        m3 = tf.constant(value)
        with tf.compat.v1.Session(graph=graph) as sess:
            return sess.run(m3 + m3)


def test_check_tf1_add_to_itself(capsys):
    assert gh.check_tf1_add_to_itself(_tf1_add) is True
    assert _line(capsys).startswith("Correct!")
    for fn, words in [
        (None, "still None"),
        (lambda v: None, "returned None"),
        (lambda v: tf.constant(v) * 2, "no Session ran"),
        (_tf1_constant, "nothing was fed"),
        (lambda v: _tf1_add(v) * 3, "expected m4"),
        (lambda v: _tf1_add(v).tolist(), "NumPy array"),
    ]:
        assert gh.check_tf1_add_to_itself(fn) is False
        out = _line(capsys)
        assert out.startswith("Not yet:") and words in out, (words, out)
    assert tf.executing_eagerly()
    assert tf.compat.v1.Session.run.__name__ == "run", "the check restores Session.run"


def _minimize(w, steps, learning_rate, factor=2.0, sign=1.0):
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = factor / 2 * (w - 3.0) ** 2
        w.assign_sub(sign * learning_rate * tape.gradient(loss, w))
    return w.read_value()


def test_check_minimize(capsys):
    import functools

    assert gh.check_minimize(_minimize) is True
    assert _line(capsys).startswith("Correct!")
    for fn, words in [
        (None, "still None"),
        (lambda w, s, lr: None, "did not move"),
        (lambda w, s, lr: _minimize(w, 1, lr), "one step"),
        (functools.partial(_minimize, sign=-1.0), "away from the minimum"),
        (functools.partial(_minimize, factor=1.0), "half as long"),
        (lambda w, s, lr: _minimize(w, s, lr) and None, "w is right"),
        (lambda w, s, lr: _minimize(w, 5, 0.1), "use the arguments"),
        (lambda w, s, lr: 1 / 0, "ZeroDivisionError"),
    ]:
        assert gh.check_minimize(fn) is False
        out = _line(capsys)
        assert out.startswith("Not yet:") and words in out, (words, out)
