"""The lesson is in the cells: TensorFlow share, one source for shown-and-reused code, exercises.

- every section notebook: at least 10% of its code lines call TensorFlow/Keras;
- every module block exported from a notebook (`#| export` cells) is current;
- every section: >= 3 exercises, >= 2 of them TensorFlow/Keras code, each followed by a
  check cell that takes only the attendee's answer, whose stored (nbval-checked) output on
  the solution says "Correct!", and which says "Not yet" (no crash) on the placeholder.
"""

import ast
import contextlib
import importlib
import io
import json
import textwrap
from pathlib import Path

import nbformat
import pytest

from workshop_sections.tools import exercise_copies, export, notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebooks.list_notebooks()
MIN_TF_SHARE = 0.10


def _ids(p):
    return p.parent.name


# --------------------------------------------------------------------------- TensorFlow share
def test_tensorflow_share_counts_tf_keras_and_imported_names():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(notebooks.CONFIG_CELL),
        nbformat.v4.new_code_cell(
            "import tensorflow as tf\nfrom keras import layers, ops as K\n"
            "# a comment\n\nx = tf.constant(1)\ny = layers.Dense(3)\nz = K.sum(x)\n"
            "print(x)\nn = len([1])\n%matplotlib inline"
        ),
    ]
    assert exercise_copies.tensorflow_share(nb) == (3, 5)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_hands_on_tensorflow(path):
    nb = nbformat.read(path, as_version=4)
    tf_lines, lines = exercise_copies.tensorflow_share(nb)
    share = tf_lines / max(lines, 1)
    assert share >= MIN_TF_SHARE, (
        f"{path.name}: only {tf_lines} of {lines} code lines ({share:.0%}) call TensorFlow/Keras; the lesson "
        f"belongs in the cells (at least {MIN_TF_SHARE:.0%})"
    )


# --------------------------------------------------------------------------- one source
def _notebook(tmp_path, *sources, section="tiny"):
    folder = tmp_path / section
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = folder / f"{section}.ipynb"
    nbformat.write(nb, path)
    return path


def _module(path, body=""):
    path.write_text(
        "import math\n\n"
        + export.BEGIN_FMT.format(nb="tiny.ipynb")
        + "\n"
        + body
        + ("\n" if body else "")
        + export.END_LINE
        + "\n\n\ndef after():\n    return square(3)\n"
    )


def test_export_writes_marked_cells_into_the_module_block(tmp_path):
    nb = _notebook(
        tmp_path,
        "x = 1\nprint(x)",
        "#| export helper\ndef square(x):\n    # BEGIN SOLUTION (hint: multiply)\n    return x * x\n"
        "    # END SOLUTION",
        "#| export helper\nROOT_TWO = math.sqrt(2)",
    )
    mod = nb.parent / "helper.py"
    _module(mod)
    res = export.run([nb], write=False)
    assert res["stale"] == [mod]
    export.run([nb])
    text = mod.read_text()
    assert "def square(x):\n    return x * x\n\n\nROOT_TWO = math.sqrt(2)\n\n\n" + export.END_LINE in text
    assert "SOLUTION" not in text and "print(x)" not in text and "#| export" not in text
    ns = {}
    exec(compile(text, str(mod), "exec"), ns)
    assert ns["after"]() == 9, "the module runs the exported code"
    assert export.run([nb], write=False)["stale"] == [], "a second export changes nothing"


def test_export_detects_a_module_edited_behind_the_notebooks_back(tmp_path):
    nb = _notebook(tmp_path, "#| export helper\ndef square(x):\n    return x * x")
    mod = nb.parent / "helper.py"
    _module(mod)
    export.run([nb])
    mod.write_text(mod.read_text().replace("x * x", "x ** 2"))
    assert export.run([nb], write=False)["stale"] == [mod]
    assert export.main(["--check", str(nb)]) == 1


@pytest.mark.parametrize(
    "sources, message",
    [
        (["#| export helper\nprint('side effect')"], "only imports, def, class and assignments"),
        (["x = 1\n#| export helper\ndef f():\n    pass"], "must be the first line"),
        (["#| export nowhere\ndef f():\n    pass"], "does not exist"),
        (["#| export helper\ndef f(:\n    pass"], "not valid Python"),
    ],
)
def test_export_refuses_bad_cells_with_a_clear_message(tmp_path, sources, message):
    nb = _notebook(tmp_path, *sources)
    _module(nb.parent / "helper.py")
    with pytest.raises(export.ExportError, match=message):
        export.run([nb])


def test_export_refuses_a_module_without_its_block(tmp_path):
    nb = _notebook(tmp_path, "#| export helper\ndef f():\n    pass")
    (nb.parent / "helper.py").write_text("import math\n")
    with pytest.raises(export.ExportError, match="exactly one export block"):
        export.run([nb])


def test_section_modules_are_current_with_their_notebooks():
    res = export.run(NOTEBOOKS, write=False)
    assert res["stale"] == [], (
        f"out of date with the notebook cells marked '#| export': "
        f"{[str(m.relative_to(ROOT)) for m in res['stale']]}: run `make export`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_shown_and_reused_code_is_exported_not_copied(path):
    """A notebook that defines a function or class with the same name as one in its helper module
    must export it (one source): a silent copy would drift."""
    nb = nbformat.read(path, as_version=4)
    exported = {b.module.stem: b for b in export.blocks_of(path)}
    defined_in_cells = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or export.export_marker(cell.source)[0]:
            continue
        try:
            tree = ast.parse(
                "\n".join(ln for ln in cell.source.split("\n") if not ln.lstrip().startswith(("%", "!")))
            )
        except SyntaxError:
            continue
        defined_in_cells |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for module in sorted(path.parent.glob("*.py")):
        tree = ast.parse(module.read_text())
        in_module = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        block_names = set()
        if module.stem in exported:
            block_names = {
                n.name
                for n in ast.parse(exported[module.stem].text).body
                if isinstance(n, (ast.FunctionDef, ast.ClassDef))
            }
        copies = (defined_in_cells & in_module) - block_names
        assert not copies, (
            f"{path.name} defines {sorted(copies)} in a cell and {module.name} defines them too: "
            "mark the cell '#| export' so the module takes it from the notebook"
        )


# --------------------------------------------------------------------------- exercises
def _exercises(path):
    nb = nbformat.read(path, as_version=4)
    _, found = exercise_copies.transform(nb)
    return nb, found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_at_least_three_exercises_two_in_tensorflow_each_with_a_check(path):
    nb, found = _exercises(path)
    names = exercise_copies.tensorflow_names(nb)
    tf_ex = [ex.number for ex in found if exercise_copies.is_tensorflow_exercise(ex, names)]
    assert len(found) >= 3, f"{path.name}: {len(found)} exercise(s), at least 3 wanted"
    assert len(tf_ex) >= 2, (
        f"{path.name}: {len(tf_ex)} TensorFlow/Keras exercise(s) ({tf_ex}), at least 2 wanted"
    )
    assert exercise_copies.check_cells_missing(found, nb) == []


def _check_call_args(source):
    """Names the check cell passes to check helpers (literals and keyword literals aside)."""
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and "check" in ast.unparse(node.func).split(".")[-1]:
            for arg in list(node.args) + [k.value for k in node.keywords]:
                for sub in ast.walk(arg):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_check_cells_take_only_the_answer_and_pass_on_the_solution(path):
    nb, found = _exercises(path)
    for ex in found:
        check = nb.cells[ex.check_index]
        extra = _check_call_args(check.source) - set(ex.names)
        assert not extra, (
            f"{path.name} exercise {ex.number}: the check cell passes {sorted(extra)}, which the "
            f"exercise does not define ({ex.names}); a check takes only the attendee's answer"
        )
        assert notebooks.is_checked(check), (
            f"{path.name} exercise {ex.number}: mark the check cell "
            "'# NBVAL_CHECK_OUTPUT' so CI verifies the solution passes it"
        )
        text = "".join(
            o.get("text", "") for o in check.get("outputs", []) if o.get("output_type") == "stream"
        )
        assert text.startswith("Correct!"), (
            f"{path.name} exercise {ex.number}: the check cell's stored output "
            f"should start with 'Correct!' on the solution, got {text[:120]!r}"
        )


def _section_namespace(path):
    ns = {"__name__": "__check__"}
    exec("import numpy as np\nimport tensorflow as tf\nfrom tensorflow import keras", ns)
    for module in path.parent.glob("*.py"):
        if module.stem not in ("__init__", "__main__"):
            ns[module.stem] = importlib.import_module(f"workshop_sections.{path.parent.name}.{module.stem}")
    return ns


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_check_cells_say_not_yet_on_the_placeholders(path):
    """Run every check cell as the attendee first meets it: right after the untouched TODO."""
    nb, found = _exercises(path)
    base = _section_namespace(path)
    for ex in found:
        ns = dict(base)
        exec(textwrap.dedent(ex.stub), ns)  # the placeholders: names = None, stub functions returning None
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                result = exec(nb.cells[ex.check_index].source, ns)
            except Exception as exc:  # pragma: no cover - the failure message is the point
                pytest.fail(
                    f"{path.name} exercise {ex.number}: the check cell crashed on the placeholder: "
                    f"{type(exc).__name__}: {exc}"
                )
        said = out.getvalue()
        assert result is None and "Not yet" in said, (
            f"{path.name} exercise {ex.number}: on the placeholder the check cell should say 'Not yet: ...', "
            f"it printed {said!r}"
        )
        assert "Correct" not in said


def test_exercise_copies_drop_the_nbval_mark_of_check_cells():
    for path in NOTEBOOKS:
        name = exercise_copies.exercise_name(path, NOTEBOOKS)
        copy = json.loads((ROOT / "exercises" / name).read_text())
        for cell in copy["cells"]:
            assert "NBVAL_CHECK_OUTPUT" not in "".join(cell["source"]) or not exercise_copies.is_check_cell(
                cell
            )


def test_cells_after_an_open_exercise_go_on_with_the_reference(capsys):
    from workshop_sections.tools import checks

    def reference(x):
        return x * 2

    def stub(x):
        return None

    def check(fn):
        if msg := checks.placeholder("double", fn):
            return checks.not_yet(msg)
        got, err = checks.call(fn, 2)
        return checks.correct("ok") if got == 4 else checks.not_yet(err or f"got {got}")

    assert checks.answer_or_reference(stub, reference, 2, "double") is reference  # check never run
    assert "TODO 2 (double) is not solved yet" in capsys.readouterr().out
    check(stub)
    assert (
        not checks.solved(stub, 2, "double") and "its check has not said Correct" in capsys.readouterr().out
    )
    check(reference)
    assert checks.solved(reference) and checks.answer_or_reference(reference, stub, 2) is reference
    check(None)  # a placeholder records nothing
    assert checks.answer_or_reference(None, reference, 2) is reference
