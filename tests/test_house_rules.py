"""House rules for the code in workshop_sections/ (CONTRIBUTING.md, "Code"): no function over 60
lines [S2], and ruff configured and run the way the contributing guide says [S1].

Fast on purpose: no TensorFlow import, no notebook run (the rules are read from the source text).
"""

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workshop_sections"
MAX_FUNCTION_LINES = 60


def function_lengths(path: Path) -> list[tuple[int, str, int]]:
    """``(line, qualified name, length)`` of every function and method in ``path``, nested ones too.

    The length runs from the ``def`` line to the function's last line (``end_lineno``), docstring and
    blank lines included; decorators above the ``def`` are not counted."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((child.lineno, name, child.end_lineno - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def long_functions(paths, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``file:line name (N lines)`` for every function in ``paths`` longer than ``limit`` lines."""
    out = []
    for path in paths:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        for line, name, length in function_lengths(path):
            if length > limit:
                out.append(f"{shown}:{line} {name} ({length} lines)")
    return out


def test_no_function_in_workshop_sections_is_longer_than_60_lines():
    """[S2] Every function and method in workshop_sections/ (tools/ included) is at most 60 lines long,
    from its def line to its last line, docstring included."""
    paths = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    assert paths, "no Python files found under workshop_sections/"
    offenders = long_functions(paths)
    assert not offenders, (
        f"{len(offenders)} function(s) longer than {MAX_FUNCTION_LINES} lines (CONTRIBUTING.md [S2]): "
        "split each into named steps (small private functions with one-line docstrings); "
        "do not drop docstrings or cram lines.\n  " + "\n  ".join(offenders)
    )


def _function_of(lines: int) -> str:
    """A function whose def line to last line is exactly ``lines`` lines long (docstring included)."""
    body = [f"    x{i} = {i}" for i in range(lines - 3)]
    return "\n".join(["def f():", '    """Doc."""', *body, "    return 0"]) + "\n"


def test_length_check_flags_61_lines_and_passes_60(tmp_path):
    """[S2] The checker itself: a 61-line function (and a 61-line method nested in a class, decorated)
    is reported with its file, line and length; a 60-line one is not."""
    ok = tmp_path / "ok.py"
    ok.write_text(_function_of(60))
    assert function_lengths(ok) == [(1, "f", 60)]
    assert long_functions([ok]) == []

    too_long = tmp_path / "too_long.py"
    method = "".join("    " + line + "\n" for line in _function_of(61).splitlines())
    too_long.write_text("import functools\n\n\nclass K:\n    @functools.cache\n" + method)
    assert long_functions([too_long]) == [f"{too_long}:6 K.f (61 lines)"]


def test_ruff_is_pinned_configured_and_run_by_make_test_and_make_lint():
    """[S1] ruff is pinned in requirements.txt, configured in pyproject.toml (line length 110, the rule
    sets the contributing guide names, exercises/ excluded) and run by `make test` and `make lint` as
    `ruff check .` and `ruff format --check .`. (The lint itself runs in `make test`, before pytest, so
    it is not run a second time here.)"""
    assert re.search(r"^ruff==\d+\.\d+\.\d+\s*$", (ROOT / "requirements.txt").read_text(), re.M), (
        "ruff is not pinned (ruff==X.Y.Z) in requirements.txt"
    )
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert ruff.get("line-length") == 110, "pyproject.toml [tool.ruff] line-length must be 110"
    assert "exercises" in " ".join(ruff.get("extend-exclude", []) + ruff.get("exclude", [])), (
        "exercises/ (generated copies) must be excluded from ruff"
    )
    selected = set(ruff.get("lint", {}).get("select", []))
    for rule in ("E", "W", "F", "I", "UP", "B", "PLC0415"):
        assert rule in selected, f"pyproject.toml [tool.ruff.lint] select lacks {rule}"
    make = (ROOT / "Makefile").read_text()
    for target in ("test", "lint"):
        m = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", make, re.M)
        assert m, f"Makefile has no {target} target"
        recipe = m.group(1)
        assert "ruff check ." in recipe and "ruff format --check ." in recipe, (
            f"make {target} must run `ruff check .` and `ruff format --check .`"
        )
