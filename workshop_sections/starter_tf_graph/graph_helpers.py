"""Helpers of the starter_tf_graph section: the 2016 "starter TF graph" in TensorFlow 2.

What is here (the notebook shows the TensorFlow code itself; these are the parts that
would distract from it, and the parts the tests check):

* ``M1``, ``M2`` and :func:`starter_product`: the talk's ``[[6.2, 12.0, 5.9]] x
  [[9.3], [1.7], [8.8]]`` product (129.98).
* ``OP_CATEGORIES`` and :func:`op_categories_table`: the talk's table of op kinds with
  their TensorFlow 2 spelling.
* :func:`graph_ops` / :func:`op_types`: the operations of the graph a ``tf.function`` builds.
* :func:`write_graph` / :func:`logged_graph_ops`: that graph in TensorBoard (the command that
  opens it: ``config.tensorboard_command``).
* :func:`tf1_product`: the same product the TensorFlow 1 way (Graph + Session +
  placeholder + feed_dict), run inside its own ``tf.Graph`` so eager mode is untouched;
  written in the notebook (a ``#| export`` cell) and copied into the block below.
* the exercise checks, each taking only the attendee's function: :func:`check_add_m3`
  (the talk's m3 + m3 -> m4), :func:`check_accumulate` (a variable and ``assign_add``),
  :func:`check_tf1_add_to_itself` (Graph + Session + placeholder) and :func:`check_minimize`
  (gradient descent with ``GradientTape``).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from ..tools import checks


# >>> BEGIN EXPORT from starter_tf_graph.ipynb (`make export` writes this block: edit the notebook)
def tf1_product(m1_value, m2_value, print_it=False):
    """m1_value (n, 3) @ m2_value (3, 1) the TensorFlow 1 way: build a graph, run it in a Session.

    m1 is a placeholder fed through feed_dict, m2 a constant; everything lives in a
    tf.Graph of its own, so eager mode is untouched. With print_it a tf.print op (TF1's
    tf.Print) runs first. Returns a float32 NumPy array (n, 1).
    """
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():  # a graph of its own, not eager
        m1 = v1.placeholder(tf.float32, shape=[None, 3], name="m1")
        m2 = tf.constant(m2_value, dtype=tf.float32, name="m2")
        product = tf.matmul(m1, m2, name="product")
        if print_it:
            with tf.control_dependencies([tf.print("product =", product, output_stream=sys.stdout)]):
                product = tf.identity(product, name="product_printed")
        with v1.Session(graph=graph) as sess:
            return sess.run(product, feed_dict={m1: m1_value})


# <<< END EXPORT


M1 = [[6.2, 12.0, 5.9]]
M2 = [[9.3], [1.7], [8.8]]
EXPECTED_PRODUCT = 129.98  # 6.2*9.3 + 12.0*1.7 + 5.9*8.8

# The talk's slide "TensorFlow ops" (2016 op names) and where they live in TensorFlow 2.
OP_CATEGORIES: dict[str, tuple[str, str]] = {
    "Element-wise math": (
        "Add, Sub, Mul, Div, Exp, Log, Greater, Less, Equal",
        "tf.add / +, tf.multiply / *, tf.exp, tf.math.log, tf.greater, tf.equal",
    ),
    "Array": (
        "Concat, Slice, Split, Constant, Rank, Shape, Shuffle",
        "tf.concat, tf.slice / x[a:b], tf.split, tf.constant, tf.rank, tf.shape, tf.random.shuffle",
    ),
    "Matrix": ("MatMul, MatrixInverse, MatrixDeterminant", "tf.matmul / @, tf.linalg.inv, tf.linalg.det"),
    "Stateful": ("Variable, Assign, AssignAdd", "tf.Variable, v.assign, v.assign_add"),
    "Neural-net building blocks": (
        "SoftMax, Sigmoid, ReLU, Convolution2D, MaxPool",
        "tf.nn.softmax, tf.sigmoid, tf.nn.relu, tf.nn.conv2d, tf.nn.max_pool2d",
    ),
    "Checkpointing": (
        "Save, Restore",
        "tf.train.Checkpoint(...).save / .restore (tf.saved_model for whole programs)",
    ),
    "Queues and synchronization": (
        "Enqueue, Dequeue, MutexAcquire, MutexRelease",
        "tf.data pipelines replace queues (tf.queue still exists)",
    ),
    "Control flow": (
        "Merge, Switch, Enter, Leave, NextIteration",
        "tf.cond, tf.while_loop, or plain Python if/while inside tf.function (AutoGraph)",
    ),
}


def op_categories_table() -> str:
    """The op categories as a plain-text table (2016 op names next to the TF2 API)."""
    rows = [("category", "2016 ops", "TensorFlow 2")] + [(k, a, b) for k, (a, b) in OP_CATEGORIES.items()]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{c:<{w0}}  {a:<{w1}}  {b}" for c, a, b in rows]
    lines.insert(1, "-" * (w0 + w1 + 4 + max(len(r[2]) for r in rows)))
    return "\n".join(lines)


# --------------------------------------------------------------------------- the product
def starter_product(m1=M1, m2=M2) -> tf.Tensor:
    """``tf.matmul(m1, m2)`` of two constants: the talk's first graph, run eagerly."""
    return tf.matmul(tf.constant(m1, dtype=tf.float32), tf.constant(m2, dtype=tf.float32))


# --------------------------------------------------------------------------- graphs
def _as_graph(fn, args) -> tf.Graph:
    """The graph behind ``fn``: a tf.Graph, a ConcreteFunction, or a tf.function + args."""
    if isinstance(fn, tf.Graph):
        return fn
    if hasattr(fn, "graph") and isinstance(fn.graph, tf.Graph):  # ConcreteFunction
        return fn.graph
    if hasattr(fn, "get_concrete_function"):  # tf.function (polymorphic)
        return fn.get_concrete_function(*args).graph
    if callable(fn):
        raise TypeError(
            f"graph_ops needs a graph, but {getattr(fn, '__name__', fn)!r} is a plain Python function, "
            "which runs eagerly and builds no graph. Decorate it with @tf.function "
            "(or pass tf.function(fn)) and give example arguments or tf.TensorSpec's."
        )
    raise TypeError(
        f"graph_ops expects a tf.function, a ConcreteFunction or a tf.Graph, got {type(fn).__name__}."
    )


def graph_ops(fn, *args) -> list[tuple[str, str]]:
    """The ``(name, type)`` of every operation in the graph that ``fn`` builds.

    ``fn`` is a ``tf.function`` (then ``args`` are example tensors or ``tf.TensorSpec``'s
    that fix the input signature), a ConcreteFunction, or a ``tf.Graph``.
    """
    graph = _as_graph(fn, args)
    return [(op.name, op.type) for op in graph.get_operations()]


def op_types(fn, *args) -> Counter:
    """How many operations of each type the graph of ``fn`` holds."""
    return Counter(t for _, t in graph_ops(fn, *args))


def format_ops(ops: Iterable[tuple[str, str]]) -> str:
    """The op listing as a two-column table."""
    ops = list(ops)
    width = max([len(n) for n, _ in ops] + [4])
    return "\n".join(
        [f"{'name':<{width}}  type", "-" * (width + 16)] + [f"{n:<{width}}  {t}" for n, t in ops]
    )


def write_graph(fn, *args, logdir, name: str = "graph") -> Path:
    """Write the graph of ``fn(*args)`` to TensorBoard event files under ``logdir``.

    Uses ``tf.summary.trace_on`` / ``trace_export`` (the graph as it ran, shown by the
    Graphs dashboard under the run's "tag" menu) and also ``tf.summary.graph`` (the plain
    graph of the concrete function). ``fn`` is a tf.function or a plain Python function;
    it is traced afresh here because ``trace_on`` only records graphs traced after it.
    Returns the log folder.
    """
    if not callable(fn):
        raise TypeError(f"write_graph needs a function to trace, got {type(fn).__name__}.")
    python_fn = getattr(fn, "python_function", fn)
    fresh = tf.function(python_fn)
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    writer = tf.summary.create_file_writer(str(logdir))
    tf.summary.trace_off()  # in case an earlier cell left tracing on
    tf.summary.trace_on(graph=True, profiler=False)
    try:
        fresh(*args)
        with writer.as_default():
            tf.summary.trace_export(name=name, step=0)
            tf.summary.graph(fresh.get_concrete_function(*args).graph)
    finally:
        tf.summary.trace_off()
        writer.flush()
        writer.close()
    return logdir


def event_files(logdir) -> list[Path]:
    """The TensorBoard event files (``events.out.tfevents.*``) under ``logdir``, sorted; [] if none."""
    return sorted(Path(logdir).rglob("events.out.tfevents.*"))


def logged_graph_ops(logdir) -> list[str]:
    """Op types of the graphs written to ``logdir`` (read back from the event files)."""
    types: list[str] = []
    for path in event_files(logdir):
        acc = event_accumulator.EventAccumulator(str(path), size_guidance={"tensors": 0})
        acc.Reload()
        if acc.Tags().get("graph"):
            types.extend(node.op for node in acc.Graph().node)
    return types


def rounded(value, digits: int = 2):
    """A tensor's values as (nested) Python floats rounded to ``digits``: prints the same
    everywhere (float32 129.98 is 129.97999572753906 when printed in full)."""
    arr = np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    return np.round(arr, digits).tolist()


# --------------------------------------------------------------------------- the exercises
# Each check takes only the attendee's function and runs it on its own small fixed inputs.
M3 = [[1.5, 2.0], [3.0, 4.5]]


def _describe(value) -> str:
    if value is None:
        return "None"
    try:
        arr = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        if arr.dtype == object:
            return f"a {type(value).__name__}"
        if not np.issubdtype(arr.dtype, np.number):
            return f"{arr.tolist()!r} (shape {arr.shape})"
        return f"{np.round(arr.astype(np.float64), 4).tolist()} (shape {arr.shape})"
    except Exception:  # pragma: no cover - exotic objects
        return f"a {type(value).__name__}"


def _to_array(value):
    if value is None or callable(value) and not hasattr(value, "numpy"):
        return None
    try:
        arr = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    except Exception:
        return None
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        return None
    return arr.astype(np.float64)


def _near(a, b) -> bool:
    return a is not None and np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-5, atol=1e-5)


def check_add_m3(add_to_itself, verbose: bool = True) -> bool:
    """Check Exercise 1 (the talk's): ``add_to_itself(m3)`` adds ``m3`` to itself, stores the
    result in ``m4`` and returns both, ``(m3, m4)``.

    Calls the function on the fixed 2x2 float32 ``M3`` (and on a 1x3 matrix) and prints one
    "Correct! ..." or "Not yet: ..." line saying what is right or wrong; returns True/False and
    never raises. For a ``tf.function`` it also names the op its graph adds with.
    """
    if msg := checks.placeholder("add_to_itself", add_to_itself):
        return checks.not_yet(msg, verbose)
    m3 = tf.constant(M3)
    returned, err = checks.call(add_to_itself, m3)
    if err:
        return checks.not_yet(err, verbose)
    if msg := _m3_m4_problem(returned, np.asarray(M3, np.float64)):
        return checks.not_yet(msg, verbose)
    other = tf.constant([[1.0, -2.0, 0.25]])
    again, err = checks.call(add_to_itself, other)
    if (
        err
        or not isinstance(again, (tuple, list))
        or len(again) != 2
        or not _near(_to_array(again[1]), 2 * other.numpy())
    ):
        return checks.not_yet(
            "right for the 2x2 m3, but not for another input ([[1, -2, 0.25]]): add the "
            "argument m3 to itself, do not use fixed values.",
            verbose,
        )
    m4 = np.round(_to_array(returned[1]), 4).tolist()  # checked by _m3_m4_problem: a numeric (m3, m4)
    return checks.correct(
        f"m4 = m3 + m3 = {m4}, and you returned both{_add_graph_note(add_to_itself, m3)}.", verbose
    )


def _m3_m4_problem(returned, expected_m3: np.ndarray) -> str | None:
    """What is wrong with ``returned`` as the pair (m3, m4 = m3 + m3) for ``expected_m3``; None if right."""
    expected_m4 = expected_m3 + expected_m3
    if not isinstance(returned, (tuple, list)):
        if _near(_to_array(returned), expected_m4):
            return "that is m4 (m3 + m3) all right, but return both m3 and m4: `return m3, m4`."
        return f"return a pair (m3, m4); got {_describe(returned)}."
    if len(returned) != 2:
        return f"return exactly two things, (m3, m4); got {len(returned)}."
    got_m3, got_m4 = returned
    if got_m4 is None:
        return "m4 is None: store m3 + m3 in m4 (tf.add(m3, m3) or m3 + m3)."
    a3, a4 = _to_array(got_m3), _to_array(got_m4)
    if a3 is None:
        return f"the first value should be m3, got {_describe(got_m3)}."
    if a4 is None:
        return f"m4 should be a numeric tensor, got {_describe(got_m4)}."
    if _near(a3, expected_m4) and _near(a4, expected_m3):
        return "the order is swapped: return m3 first, then m4 (`return m3, m4`)."
    if not _near(a3, expected_m3):
        return f"the first value should be m3 unchanged, {_describe(expected_m3)}; got {_describe(a3)}."
    if a4.shape != expected_m4.shape:
        return (
            f"m4 should have the shape of m3, {expected_m3.shape}, got {a4.shape} "
            "(tf.matmul multiplies matrices; adding is tf.add or +)."
        )
    if _near(a4, expected_m3 @ expected_m3):
        return "m4 is m3 @ m3, a matrix product: add instead (tf.add(m3, m3) or m3 + m3)."
    if not _near(a4, expected_m4):
        return f"m4 should be m3 + m3 = {_describe(expected_m4)}; got {_describe(a4)}."
    return None


def _add_graph_note(add_to_itself, m3) -> str:
    """For a ``tf.function``, "; its graph computes m4 with AddV2" (the ops that add); else ""."""
    if not hasattr(add_to_itself, "get_concrete_function"):
        return ""
    try:
        kinds = sorted({t for _, t in graph_ops(add_to_itself, m3)} & {"Add", "AddV2", "Mul"})
    except Exception:  # pragma: no cover - the verdict does not depend on the listing
        return ""
    return f"; its graph computes m4 with {'/'.join(kinds)}" if kinds else ""


def check_accumulate(accumulate, verbose: bool = True) -> bool:
    """Check Exercise 2: ``accumulate(total, values)`` adds every element of ``values`` (float32,
    (n,)) to the variable ``total`` in place (``assign_add``) and returns its new value.

    Runs it on a fresh ``tf.Variable(100.0)`` and [1, 2, 3.5, 4], then on a fresh
    ``tf.Variable(-1.0)`` and [0.5, 0.5]. Prints one line, returns True/False, never raises.
    """
    if msg := checks.placeholder("accumulate", accumulate):
        return checks.not_yet(msg, verbose)
    values = tf.constant([1.0, 2.0, 3.5, 4.0])
    total = tf.Variable(100.0, name="total")
    returned, err = checks.call(accumulate, total, values)
    now = float(total.numpy())
    if now == 100.0:
        hint = (
            "total did not change: add to the variable itself with total.assign_add(value) "
            "(`total + value` or `total = ...` only makes a new tensor)."
        )
        return checks.not_yet(f"{err} Also: {hint}" if err else hint, verbose)
    if abs(now - 110.5) > 1e-4:
        if abs(now - 10.5) < 1e-4:
            return checks.not_yet(
                "total holds 10.5, the sum of the values, but it started at 100: add to it "
                "(assign_add) instead of replacing it (assign).",
                verbose,
            )
        if abs(now - 4.0) < 1e-4 or abs(now - 104.0) < 1e-4:
            return checks.not_yet(
                f"total holds {now:g}: only the last value counted. Add every value "
                "(for value in values: total.assign_add(value)).",
                verbose,
            )
        return checks.not_yet(
            f"total should go from 100 to 100 + 1 + 2 + 3.5 + 4 = 110.5, got {now:g}.", verbose
        )
    if err:
        return checks.not_yet(f"total is right (110.5), but: {err}", verbose)
    got = _to_array(returned)
    if got is None or got.size != 1 or abs(float(got.reshape(())) - 110.5) > 1e-4:
        return checks.not_yet(
            f"total is right (110.5), but return its new value (total.read_value()); got "
            f"{_describe(returned)}.",
            verbose,
        )
    second = tf.Variable(-1.0, name="total")
    returned2, err = checks.call(accumulate, second, tf.constant([0.5, 0.5]))
    if err or abs(float(second.numpy()) - 0.0) > 1e-5:
        return checks.not_yet(
            "right for the first variable, but a fresh one starting at -1 with values "
            f"[0.5, 0.5] should end at 0; got {float(second.numpy()):g}{(' (' + err + ')') if err else ''}.",
            verbose,
        )
    return checks.correct(
        "total went from 100 to 110.5 in place (assign_add) and you returned its value; a "
        "second variable works too.",
        verbose,
    )


def check_tf1_add_to_itself(tf1_add_to_itself, verbose: bool = True) -> bool:
    """Check Exercise 3: ``tf1_add_to_itself(value)`` builds a TensorFlow 1 graph (a placeholder
    m3, m4 = m3 + m3) in a ``tf.Graph`` of its own and runs it in a ``tf.compat.v1.Session``,
    feeding ``value`` (a nested list, float) through ``feed_dict``; returns the NumPy result.

    Calls it on ``M3``, counting the Session runs; prints one line, returns True/False, never raises.
    """
    if msg := checks.placeholder("tf1_add_to_itself", tf1_add_to_itself):
        return checks.not_yet(msg, verbose)
    session_cls = tf.compat.v1.Session
    original_run = session_cls.run
    runs = []

    def counting_run(self, *args, **kwargs):
        runs.append(kwargs.get("feed_dict", args[1] if len(args) > 1 else None))
        return original_run(self, *args, **kwargs)

    session_cls.run = counting_run
    try:
        returned, err = checks.call(tf1_add_to_itself, M3)
    finally:
        session_cls.run = original_run
    if not tf.executing_eagerly():
        return checks.not_yet(
            "eager mode is off now: build inside `with tf.Graph().as_default():` instead of "
            "tf.compat.v1.disable_eager_execution(). Restart the kernel.",
            verbose,
        )
    if err:
        return checks.not_yet(err, verbose)
    expected = 2 * np.asarray(M3)
    got = _to_array(returned)
    if got is None or not _near(got, expected):
        return checks.not_yet(
            f"for m3 = {M3} expected m4 = {expected.tolist()}, got {_describe(returned)}.", verbose
        )
    if not runs:
        return checks.not_yet(
            "the values are right, but no Session ran: that was eager TensorFlow 2. Build the "
            "graph (placeholder, tf.add) and run it with sess.run(m4, feed_dict={m3: value}).",
            verbose,
        )
    if not any(runs):
        return checks.not_yet(
            "a Session ran, but nothing was fed: make m3 a tf.compat.v1.placeholder and pass "
            "the value with feed_dict={m3: value}.",
            verbose,
        )
    if not isinstance(returned, np.ndarray):
        return checks.not_yet(
            f"return what sess.run gives back (a NumPy array), got a {type(returned).__name__}.", verbose
        )
    return checks.correct(
        f"a Session ran your graph with m3 fed through feed_dict: m4 = {expected.tolist()}; "
        "eager mode is still on outside it.",
        verbose,
    )


def check_minimize(minimize, verbose: bool = True) -> bool:
    """Check Exercise 4: ``minimize(w, steps, learning_rate)`` runs ``steps`` steps of gradient
    descent on the loss ``(w - 3) ** 2`` with ``tf.GradientTape``, updating the variable ``w``
    in place, and returns its final value.

    From w = 0 with 5 steps of 0.1, w must be 3 - 3 * 0.8 ** 5 = 2.01696; from w = 10 with 20
    steps of 0.25, 3 + 7 * 0.5 ** 20. Prints one line, returns True/False, never raises.
    """
    if msg := checks.placeholder("minimize", minimize):
        return checks.not_yet(msg, verbose)
    w = tf.Variable(0.0, name="w")
    returned, err = checks.call(minimize, w, 5, 0.1)
    now = float(w.numpy())
    expected = 3 - 3 * 0.8**5
    if now == 0.0:
        hint = (
            "w did not move: update the variable in place, w.assign_sub(learning_rate * gradient) "
            "(`w = w - ...` only makes a new tensor)."
        )
        return checks.not_yet(f"{err} Also: {hint}" if err else hint, verbose)
    if abs(now - expected) > 1e-4:
        return checks.not_yet(_wrong_w(now, expected), verbose)
    if err:
        return checks.not_yet(f"w is right ({now:.5f}), but: {err}", verbose)
    got = _to_array(returned)
    if got is None or got.size != 1 or abs(float(got.reshape(())) - expected) > 1e-4:
        return checks.not_yet(
            f"w is right ({now:.5f}), but return its final value (w.read_value()); got "
            f"{_describe(returned)}.",
            verbose,
        )
    w2 = tf.Variable(10.0, name="w")
    checks.call(minimize, w2, 20, 0.25)
    expected2 = 3 + 7 * 0.5**20
    if abs(float(w2.numpy()) - expected2) > 1e-4:
        return checks.not_yet(
            f"right for the first run, but from w = 10 with 20 steps of 0.25 w should be "
            f"{expected2:.5f}; got {float(w2.numpy()):.5f}: use the arguments steps and "
            "learning_rate.",
            verbose,
        )
    return checks.correct(
        f"5 steps of 0.1 took w from 0 to {expected:.5f} and 20 steps of 0.25 from 10 to "
        f"{expected2:.5f}: gradient descent towards the minimum at 3.",
        verbose,
    )


def _wrong_w(now: float, expected: float) -> str:
    """Why w ended at ``now`` instead of ``expected`` after 5 steps of 0.1 from w = 0."""
    if abs(now - 0.6) < 1e-4:
        return (
            "w = 0.6 is one step: repeat the step `steps` times (for _ in range(steps)), "
            "with a new GradientTape each time."
        )
    if now < 0:
        return (
            f"w went to {now:.4f}, away from the minimum at 3: gradient descent subtracts the "
            "gradient (w.assign_sub)."
        )
    if abs(now - (3 - 3 * 0.9**5)) < 1e-4:
        return (
            f"w = {now:.4f}: the steps are half as long as they should be; the gradient of "
            "(w - 3) ** 2 is 2 * (w - 3)."
        )
    return f"after 5 steps of 0.1 from w = 0, w should be 3 - 3 * 0.8 ** 5 = {expected:.5f}; got {now:.5f}."


def explain(value: Any) -> str:
    """One line about a tensor: dtype, shape and value (what the notebook prints)."""
    t = tf.convert_to_tensor(value)
    return f"{t.dtype.name} {tuple(t.shape)} {np.array2string(t.numpy(), precision=4)}"


__all__ = [
    "M1",
    "M2",
    "EXPECTED_PRODUCT",
    "OP_CATEGORIES",
    "op_categories_table",
    "starter_product",
    "graph_ops",
    "op_types",
    "format_ops",
    "write_graph",
    "event_files",
    "logged_graph_ops",
    "rounded",
    "tf1_product",
    "M3",
    "check_add_m3",
    "check_accumulate",
    "check_tf1_add_to_itself",
    "check_minimize",
    "explain",
]
