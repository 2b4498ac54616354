"""Helpers of the starter_tf_graph section: the 2016 "starter TF graph" in TensorFlow 2.

What is here (the notebook shows the TensorFlow code itself; these are the parts that
would distract from it, and the parts the tests check):

* ``M1``, ``M2`` and :func:`starter_product`: the talk's ``[[6.2, 12.0, 5.9]] x
  [[9.3], [1.7], [8.8]]`` product (129.98).
* ``OP_CATEGORIES`` and :func:`op_categories_table`: the talk's table of op kinds with
  their TensorFlow 2 spelling.
* :func:`graph_ops` / :func:`op_types`: the operations of the graph a ``tf.function`` builds.
* :func:`write_graph` / :func:`logged_graph_ops` / :func:`tensorboard_command`: that graph
  in TensorBoard.
* :func:`tf1_product`: the same product the TensorFlow 1 way (Graph + Session +
  placeholder + feed_dict), run inside its own ``tf.Graph`` so eager mode is untouched.
* :func:`check_add_m3`: the check cell of the exercise (add m3 to itself, store it in m4,
  return both).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import tensorflow as tf

M1 = [[6.2, 12.0, 5.9]]
M2 = [[9.3], [1.7], [8.8]]
EXPECTED_PRODUCT = 129.98  # 6.2*9.3 + 12.0*1.7 + 5.9*8.8

# The talk's slide "TensorFlow ops" (2016 op names) and where they live in TensorFlow 2.
OP_CATEGORIES: dict[str, tuple[str, str]] = {
    "Element-wise math": ("Add, Sub, Mul, Div, Exp, Log, Greater, Less, Equal",
                          "tf.add / +, tf.multiply / *, tf.exp, tf.math.log, tf.greater, tf.equal"),
    "Array": ("Concat, Slice, Split, Constant, Rank, Shape, Shuffle",
              "tf.concat, tf.slice / x[a:b], tf.split, tf.constant, tf.rank, tf.shape, tf.random.shuffle"),
    "Matrix": ("MatMul, MatrixInverse, MatrixDeterminant",
               "tf.matmul / @, tf.linalg.inv, tf.linalg.det"),
    "Stateful": ("Variable, Assign, AssignAdd",
                 "tf.Variable, v.assign, v.assign_add"),
    "Neural-net building blocks": ("SoftMax, Sigmoid, ReLU, Convolution2D, MaxPool",
                                   "tf.nn.softmax, tf.sigmoid, tf.nn.relu, tf.nn.conv2d, tf.nn.max_pool2d"),
    "Checkpointing": ("Save, Restore",
                      "tf.train.Checkpoint(...).save / .restore (tf.saved_model for whole programs)"),
    "Queues and synchronization": ("Enqueue, Dequeue, MutexAcquire, MutexRelease",
                                   "tf.data pipelines replace queues (tf.queue still exists)"),
    "Control flow": ("Merge, Switch, Enter, Leave, NextIteration",
                     "tf.cond, tf.while_loop, or plain Python if/while inside tf.function (AutoGraph)"),
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
    if hasattr(fn, "graph") and isinstance(getattr(fn, "graph"), tf.Graph):  # ConcreteFunction
        return fn.graph
    if hasattr(fn, "get_concrete_function"):  # tf.function (polymorphic)
        return fn.get_concrete_function(*args).graph
    if callable(fn):
        raise TypeError(
            f"graph_ops needs a graph, but {getattr(fn, '__name__', fn)!r} is a plain Python function, "
            "which runs eagerly and builds no graph. Decorate it with @tf.function "
            "(or pass tf.function(fn)) and give example arguments or tf.TensorSpec's."
        )
    raise TypeError(f"graph_ops expects a tf.function, a ConcreteFunction or a tf.Graph, got {type(fn).__name__}.")


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
    return "\n".join([f"{'name':<{width}}  type", "-" * (width + 16)] + [f"{n:<{width}}  {t}" for n, t in ops])


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
    return sorted(Path(logdir).rglob("events.out.tfevents.*"))


def logged_graph_ops(logdir) -> list[str]:
    """Op types of the graphs written to ``logdir`` (read back from the event files)."""
    from tensorboard.backend.event_processing import event_accumulator

    types: list[str] = []
    for path in event_files(logdir):
        acc = event_accumulator.EventAccumulator(str(path), size_guidance={"tensors": 0})
        acc.Reload()
        if acc.Tags().get("graph"):
            types.extend(node.op for node in acc.Graph().node)
    return types


def tensorboard_command(logdir, root=None, port: int = 6006) -> str:
    """The command that shows ``logdir`` in TensorBoard on this machine only (127.0.0.1).

    With ``root`` (the repository root, ``cfg.root``) the path is given relative to it,
    for a terminal opened there; otherwise the path is absolute.
    """
    logdir = Path(logdir).resolve()
    shown = str(logdir)
    if root is not None:
        try:
            shown = str(logdir.relative_to(Path(root).resolve()))
        except ValueError:
            pass
    return f"tensorboard --logdir {shown} --host 127.0.0.1 --port {port}"


def rounded(value, digits: int = 2):
    """A tensor's values as (nested) Python floats rounded to ``digits``: prints the same
    everywhere (float32 129.98 is 129.97999572753906 when printed in full)."""
    arr = np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    return np.round(arr, digits).tolist()


# --------------------------------------------------------------------------- TF1 side by side
def tf1_product(m1_value=M1, m2=M2, print_it: bool = False) -> np.ndarray:
    """The product the TensorFlow 1 way: build a graph, then run it in a Session.

    ``m1`` is a placeholder fed through ``feed_dict``; ``m2`` a constant. Everything is
    built inside ``with tf.Graph().as_default()`` so the notebook's eager mode is not touched.
    With ``print_it`` a ``tf.print`` op (TF1's ``tf.Print``) runs as a control dependency.
    """
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        m1 = v1.placeholder(tf.float32, shape=[None, 3], name="m1")
        m2_const = tf.constant(m2, dtype=tf.float32, name="m2")
        product = tf.matmul(m1, m2_const, name="product")
        if print_it:
            # In graph mode an op runs only if something depends on it: make the output depend on the print.
            print_op = tf.print("product =", product)
            with tf.control_dependencies([print_op]):
                product = tf.identity(product, name="product_printed")
        with v1.Session(graph=graph) as sess:
            return sess.run(product, feed_dict={m1: np.asarray(m1_value, dtype=np.float32)})


# --------------------------------------------------------------------------- the exercise
def _describe(value) -> str:
    if value is None:
        return "None"
    try:
        arr = np.asarray(value)
        if arr.dtype == object:
            return f"a {type(value).__name__}"
        return f"{np.array2string(arr, precision=4)} (shape {arr.shape})"
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


def check_add_m3(m3, returned, verbose: bool = True) -> bool:
    """Check the exercise: a function that adds ``m3`` to itself, stores it in ``m4`` and
    returns both, ``(m3, m4)``.

    ``m3`` is the input you gave the function, ``returned`` what the function returned
    (or the function itself: it is then called with ``m3``). Prints what is right or
    wrong and returns True/False. Any value is accepted, right or wrong.
    """

    def say(ok: bool, msg: str) -> bool:
        if verbose:
            print(("Correct! " if ok else "Not yet: ") + msg)
        return ok

    expected_m3 = _to_array(m3)
    if expected_m3 is None:
        return say(False, f"m3 should be a numeric tensor, got {_describe(m3)}. Run the cell that defines m3 first.")
    expected_m4 = expected_m3 + expected_m3

    if callable(returned) and not hasattr(returned, "numpy"):
        try:
            returned = returned(m3)
        except Exception as exc:  # the attendee's function failed: say how
            return say(False, f"calling your function with m3 raised {type(exc).__name__}: {exc}")

    if returned is None:
        return say(False, "your function returned None. Return both tensors: `return m3, m4`.")
    if not isinstance(returned, (tuple, list)):
        got = _to_array(returned)
        if got is not None and got.shape == expected_m4.shape and np.allclose(got, expected_m4):
            return say(False, "that is m4 (m3 + m3) all right, but return both m3 and m4: `return m3, m4`.")
        return say(False, f"return a pair (m3, m4); got {_describe(returned)}.")
    if len(returned) != 2:
        return say(False, f"return exactly two things, (m3, m4); got {len(returned)}.")

    got_m3, got_m4 = returned
    if got_m4 is None:
        return say(False, "m4 is None: store m3 + m3 in m4 (tf.add(m3, m3) or m3 + m3).")
    a3, a4 = _to_array(got_m3), _to_array(got_m4)
    if a3 is None:
        return say(False, f"the first value should be m3, got {_describe(got_m3)}.")
    if a4 is None:
        return say(False, f"m4 should be a numeric tensor, got {_describe(got_m4)}.")
    if a3.shape == expected_m4.shape and np.allclose(a3, expected_m4) and a4.shape == expected_m3.shape \
            and np.allclose(a4, expected_m3) and not np.allclose(expected_m3, 0):
        return say(False, "the order is swapped: return m3 first, then m4 (`return m3, m4`).")
    if a3.shape != expected_m3.shape or not np.allclose(a3, expected_m3):
        return say(False, f"the first value should be m3 unchanged, {_describe(expected_m3)}; got {_describe(a3)}.")
    if a4.shape != expected_m4.shape:
        return say(False, f"m4 should have the shape of m3, {expected_m3.shape}, got {a4.shape} "
                          "(tf.matmul multiplies matrices; adding is tf.add or +).")
    if not np.allclose(a4, expected_m4):
        return say(False, f"m4 should be m3 + m3 = {_describe(expected_m4)}; got {_describe(a4)}.")
    return say(True, f"m4 = m3 + m3 = {np.array2string(a4, precision=4)}, and you returned both.")


def explain(value: Any) -> str:
    """One line about a tensor: dtype, shape and value (what the notebook prints)."""
    t = tf.convert_to_tensor(value)
    return f"{t.dtype.name} {tuple(t.shape)} {np.array2string(t.numpy(), precision=4)}"


__all__ = [
    "M1", "M2", "EXPECTED_PRODUCT", "OP_CATEGORIES", "op_categories_table", "starter_product",
    "graph_ops", "op_types", "format_ops", "write_graph", "event_files", "logged_graph_ops",
    "tensorboard_command", "rounded", "tf1_product", "check_add_m3", "explain",
]
