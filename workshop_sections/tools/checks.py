"""The words of every exercise's "check your answer" cell, shared by all sections.

A check helper (``check_...`` in a section's helper module) takes only what the attendee
wrote (the names the exercise's placeholders define: a value, or a function it calls on its
own small, fixed inputs), so its verdict does not depend on how long the notebook trained.
It prints one line that starts with ``Correct!`` or ``Not yet:`` and says in plain words
what is right or what is still wrong, and returns True/False. It never raises on a wrong
answer: an exception inside the attendee's function is reported as "Not yet".

    from workshop_sections.tools import checks
    def check_double(fn):
        if (msg := checks.placeholder("double", fn)):
            return checks.not_yet(msg)
        got, err = checks.call(fn, tf.constant([1.0, 2.0]))
        if err:
            return checks.not_yet(err)
        ...
        return checks.correct("double([1, 2]) = [2, 4].")
"""

from __future__ import annotations

import traceback

import numpy as np

CORRECT = "Correct! "
NOT_YET = "Not yet: "

# The verdict of the last check run on each answer: id(answer) -> (answer, passed). A check
# helper starts with placeholder(name, answer), which makes that answer the current one; its
# correct()/not_yet() records the verdict. Later cells ask solved()/answer_or_reference().
_VERDICTS: dict[int, tuple] = {}
_current = None


def _record(ok: bool) -> None:
    global _current
    if _current is not None:
        _VERDICTS[id(_current)] = (_current, ok)
    _current = None


def correct(message: str, verbose: bool = True) -> bool:
    """Print ``Correct! <message>``; return True."""
    _record(True)
    if verbose:
        print(CORRECT + message)
    return True


def not_yet(message: str, verbose: bool = True) -> bool:
    """Print ``Not yet: <message>``; return False."""
    _record(False)
    if verbose:
        print(NOT_YET + message)
    return False


def solved(answer, todo: int | None = None, name: str | None = None, verbose: bool = True) -> bool:
    """Whether the last check run on ``answer`` said Correct. When it did not (the TODO is still
    open, the check said Not yet, or the check cell was not run since the answer was written),
    prints one line saying so (naming ``TODO <todo>`` and ``name`` when given) and returns False:
    cells after an exercise that need a working answer use it to skip or to go on without it."""
    entry = _VERDICTS.get(id(answer))
    if entry is not None and entry[0] is answer and entry[1]:
        return True
    if verbose:
        what = (
            f"TODO {todo}" + (f" ({name})" if name else "") if todo is not None else (name or "the exercise")
        )
        why = (
            "its check has not said Correct yet"
            if entry is not None and entry[0] is answer
            else "run its check cell after writing it"
        )
        print(f"Note: {what} is not solved yet ({why}).")
    return False


def answer_or_reference(answer, reference, todo: int | None = None, name: str | None = None):
    """``answer`` when its check said Correct, else the workshop's ``reference`` (with a one-line
    note), so the rest of the notebook runs while an exercise is still open."""
    if solved(answer, todo, name, verbose=False):
        return answer
    what = f"TODO {todo}" + (f" ({name})" if name else "") if todo is not None else (name or "the exercise")
    print(
        f"Note: {what} is not solved yet, so this cell goes on with the workshop's version; "
        "solve it, run its check, then re-run this cell to use yours."
    )
    return reference


def placeholder(name: str, value) -> str | None:
    """The "not yet" message when ``value`` is still the exercise copy's placeholder (None),
    else None. Makes ``value`` the answer whose verdict the check records."""
    global _current
    _current = value
    if value is None:
        return f"`{name}` is still None: write the code at its # TODO, run that cell, then this one."
    return None


def call(fn, *args, **kwargs):
    """(result, None) from ``fn(*args, **kwargs)``, or (None, message) when it is not callable,
    raises, or returns None. The message names the exception and the attendee's line."""
    name = getattr(fn, "__name__", "your function")
    if fn is None:
        return None, "the function is still None: define it at its # TODO and run that cell."
    if not callable(fn):
        return None, f"{name} should be a function, got a {type(fn).__name__}."
    try:
        out = fn(*args, **kwargs)
    except Exception as exc:  # the attendee's code: report it, never crash the check cell
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.endswith("checks.py")]
        where = f" (at: {frames[-1].line})" if frames and frames[-1].line else ""
        return None, f"{name} raised {type(exc).__name__}: {exc}{where}".replace("\n", " ")
    if out is None:
        return None, f"{name} returned None: is the `return` line still missing?"
    return out, None


def to_numpy(value) -> np.ndarray | None:
    """A NumPy array from a tensor, a variable, an array or a number (None when it cannot be one)."""
    try:
        value = value.numpy() if hasattr(value, "numpy") else value
        arr = np.asarray(value)
    except Exception:
        return None
    if arr.dtype == object:
        return None
    return arr


def close(got, expected, atol: float = 1e-4, rtol: float = 1e-4) -> tuple[bool, str]:
    """(same shape and values within tolerance, a plain-words difference) of two arrays."""
    g, e = to_numpy(got), np.asarray(expected)
    if g is None:
        return False, f"expected a tensor of shape {e.shape}, got a {type(got).__name__}"
    if g.shape != e.shape:
        return False, f"expected shape {e.shape}, got {g.shape}"
    if not np.all(np.isfinite(g.astype(np.float64))):
        return False, "the result holds nan or inf"
    if not np.allclose(g, e, atol=atol, rtol=rtol):
        worst = float(np.max(np.abs(g.astype(np.float64) - e)))
        return False, f"the shape is right ({g.shape}) but the values differ (largest difference {worst:.4g})"
    return True, ""
