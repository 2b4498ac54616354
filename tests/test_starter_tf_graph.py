"""Unit tests of workshop_sections.starter_tf_graph.graph_helpers."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

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
    cmd = gh.tensorboard_command(logdir)
    assert cmd == f"tensorboard --logdir {logdir.resolve()} --host 127.0.0.1 --port 6006"
    assert gh.tensorboard_command(logdir, root=tmp_path, port=6007) == \
        "tensorboard --logdir logs --host 127.0.0.1 --port 6007"


def test_rounded_prints_the_talk_value():
    assert gh.rounded(gh.starter_product()) == [[129.98]]
    assert gh.rounded(tf.constant([1.23456, 2.0]), 3) == [1.235, 2.0]


def test_tf1_session_product_keeps_eager_mode():
    out = gh.tf1_product()
    assert out.shape == (1, 1)
    assert out[0, 0] == pytest.approx(129.98, abs=1e-4)
    batch = gh.tf1_product([[6.2, 12.0, 5.9], [1.0, 0.0, 0.0]], print_it=True)
    assert batch[:, 0] == pytest.approx([129.98, 9.3], abs=1e-4)
    assert tf.executing_eagerly()


def test_op_categories_table():
    table = gh.op_categories_table()
    for category in ("Element-wise math", "Matrix", "Stateful", "Control flow", "Checkpointing"):
        assert category in table
    assert "tf.while_loop" in table


# --------------------------------------------------------------------------- the check helper
M3 = [[1.0, 2.0], [3.0, 4.0]]


def test_check_accepts_the_solution(capsys):
    m3 = tf.constant(M3)
    assert gh.check_add_m3(m3, (m3, tf.add(m3, m3))) is True
    assert capsys.readouterr().out.startswith("Correct!")
    # also from a tf.function returning both, and from the function itself
    fn = tf.function(lambda m: (m, m + m))
    assert gh.check_add_m3(m3, fn(m3)) is True
    assert gh.check_add_m3(m3, fn) is True
    assert gh.check_add_m3(np.array(M3), [np.array(M3), np.array(M3) * 2]) is True


@pytest.mark.parametrize(
    "returned, words",
    [
        (None, "returned None"),
        ((tf.constant(M3), None), "m4 is None"),
        (tf.constant(M3) * 2, "return both"),
        ((tf.constant(M3), tf.constant(M3) * 3), "m3 + m3"),
        ((tf.constant(M3) * 2, tf.constant(M3)), "swapped"),
        ((tf.constant(M3), tf.constant(M3) * 2, tf.constant(M3)), "exactly two"),
        ((tf.constant(M3), tf.constant([[2.0, 4.0, 6.0, 8.0]])), "shape"),
        ((tf.constant(M3), "twice m3"), "numeric"),
        ((tf.constant([[9.0, 9.0], [9.0, 9.0]]), tf.constant(M3) * 2), "first value should be m3"),
        ("hello", "pair"),
    ],
)
def test_check_rejects_wrong_answers(returned, words, capsys):
    assert gh.check_add_m3(tf.constant(M3), returned) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:")
    assert words in out


def test_check_reports_a_failing_function(capsys):
    def broken(m3):
        raise RuntimeError("boom")

    assert gh.check_add_m3(tf.constant(M3), broken) is False
    assert "RuntimeError: boom" in capsys.readouterr().out


def test_check_with_missing_m3(capsys):
    assert gh.check_add_m3(None, (None, None)) is False
    assert "m3 should be a numeric tensor" in capsys.readouterr().out
