"""Exercise copies: the transformation, and that exercises/ matches the solution notebooks."""

import ast
import json
from pathlib import Path

import nbformat
import pytest

from workshop_sections.tools import exercise_copies, notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebooks.list_notebooks()


def _code(src):
    return nbformat.v4.new_code_cell(src)


def tiny_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# Tiny\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            "(https://colab.research.google.com/github/o/r/blob/main/workshop_sections/tiny/tiny.ipynb)"
        ),
        _code(notebooks.CONFIG_CELL),
        _code(
            "import numpy as np\nm1 = np.ones((1, 2))\n"
            "# BEGIN SOLUTION (hint: multiply m1 by its transpose)\n"
            "m3 = m1 @ m1.T\n"
            "a, (b, *c) = 1, (2, 3)\n"
            "m3 += 0\n"
            "# END SOLUTION\n"
            "print(m3)"
        ),
        nbformat.v4.new_markdown_cell("Check your answer:"),
        _code("helpers.check_m3(m3)"),
        _code(
            "for i in range(2):\n"
            "    # BEGIN SOLUTION (hint: add i)\n"
            "    total = i + 1\n"
            "    # END SOLUTION\n"
            "# BEGIN SOLUTION\n"
            "def scale(x, factor=2, *, bias=0.0):\n"
            "    return x * factor + bias\n"
            "# END SOLUTION"
        ),
        _code("helpers.check_scale(scale)"),
    ]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="[[2.]]\n")]
    nb.cells[2].execution_count = 3
    return nb


def test_transform_numbers_todos_and_leaves_placeholders():
    nb = tiny_notebook()
    before = nbformat.writes(nb)
    out, found = exercise_copies.transform(nb, exercise_path="exercises/tiny.ipynb")
    assert nbformat.writes(nb) == before, "transform must not modify the solution notebook"
    assert [e.number for e in found] == [1, 2, 3]
    assert [e.hint for e in found] == ["multiply m1 by its transpose", "add i", exercise_copies.DEFAULT_HINT]
    assert out.cells[2].source == (
        "import numpy as np\nm1 = np.ones((1, 2))\n"
        "# TODO 1: multiply m1 by its transpose\n"
        "m3 = None  # TODO 1\n"
        "a = None  # TODO 1\nb = None  # TODO 1\nc = None  # TODO 1\n"
        "print(m3)"
    )
    assert out.cells[5].source == (
        "for i in range(2):\n"
        "    # TODO 2: add i\n"
        "    total = None  # TODO 2\n"
        "# TODO 3: write the missing code\n"
        "def scale(x, factor=2, *, bias=0.0):\n"
        "    return None  # TODO 3"
    )
    for cell in out.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)  # still valid Python
            assert cell.outputs == [] and cell.execution_count is None
    assert out.cells[4].source == "helpers.check_m3(m3)", "the check cell is kept as it is"
    assert "blob/main/exercises/tiny.ipynb" in out.cells[0].source, "the Colab badge points at the copy"
    assert exercise_copies.check_cells_missing(found, nb) == []
    assert exercise_copies.leaked_solution(found, out) == []


def test_a_solution_without_check_cell_is_reported():
    nb = tiny_notebook()
    nb.cells[4].source = "print(m3)"  # no check...() call
    _, found = exercise_copies.transform(nb)
    missing = exercise_copies.check_cells_missing(found, nb)
    assert len(missing) == 1 and "exercise 1" in missing[0] and "check" in missing[0]
    nb.cells = nb.cells[:6]  # the last block has no code cell after it at all
    _, found = exercise_copies.transform(nb)
    assert any("no code cell follows" in m for m in exercise_copies.check_cells_missing(found, nb))


def test_leaked_solution_is_detected():
    nb = tiny_notebook()
    out, found = exercise_copies.transform(nb)
    out.cells[2].source += "\nm3 = m1 @ m1.T"
    leaks = exercise_copies.leaked_solution(found, out)
    assert leaks and "m3 = m1 @ m1.T" in leaks[0]


@pytest.mark.parametrize(
    "src, message",
    [
        ("# BEGIN SOLUTION\nx = 1", "no END SOLUTION"),
        ("x = 1\n# END SOLUTION", "without a BEGIN"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "inside another"),
        ("x = 1  # BEGIN SOLUTION", "whole comment line"),
    ],
)
def test_broken_markers_give_a_clear_error(src, message):
    nb = tiny_notebook()
    nb.cells[2].source = src
    with pytest.raises(exercise_copies.ExerciseError, match=message):
        exercise_copies.transform(nb)


def test_generate_writes_then_reports_up_to_date(tmp_path):
    src = tmp_path / "workshop_sections" / "tiny" / "tiny.ipynb"
    src.parent.mkdir(parents=True)
    nbformat.write(tiny_notebook(), src)
    dest = tmp_path / "exercises"
    first = exercise_copies.generate([src], dest)
    assert first["written"] == ["tiny.ipynb"] and first["count"] == {"tiny.ipynb": 3}
    assert first["problems"] == []
    again = exercise_copies.generate([src], dest, write=False)
    assert again["stale"] == [], "regenerating must be byte-identical"
    (dest / "tiny.ipynb").write_text((dest / "tiny.ipynb").read_text().replace("TODO 1", "TODO one"))
    assert exercise_copies.generate([src], dest, write=False)["stale"] == ["tiny.ipynb"]


def test_a_notebook_without_exercise_is_a_problem(tmp_path):
    nb = tiny_notebook()
    nb.cells = nb.cells[:2]
    src = tmp_path / "tiny.ipynb"
    nbformat.write(nb, src)
    res = exercise_copies.generate([src], tmp_path / "out", write=False)
    assert any("has no exercise" in p for p in res["problems"])


# --------------------------------------------------------------------------- the real notebooks
needs_notebooks = pytest.mark.skipif(not NOTEBOOKS, reason="no section notebooks yet")


@needs_notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_section_notebook_has_checked_exercises_and_a_current_copy(path):
    name, text, found, problems = exercise_copies.render(path, NOTEBOOKS)
    assert not problems, "\n".join(problems)
    assert found, f"{path.name} has no exercise"
    committed = ROOT / "exercises" / name
    assert committed.exists(), f"exercises/{name} is missing: run `make exercises`"
    assert committed.read_text() == text, f"exercises/{name} is out of date: run `make exercises`"
    copy = json.loads(committed.read_text())
    for cell in copy["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        assert "BEGIN SOLUTION" not in src and "END SOLUTION" not in src
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"exercises/{name} keeps outputs"
            ast.parse("\n".join(ln for ln in src.split("\n") if not ln.lstrip().startswith(("%", "!"))))
    for ex in found:
        assert f"# TODO {ex.number}: {ex.hint}" in text


@needs_notebooks
def test_a_copy_made_alone_is_the_copy_made_with_all_the_others(tmp_path):
    """`exercise_copies --force <one notebook>` (what a section's author runs) writes the same copy
    as `make exercises`: names and links to other sections do not depend on the notebooks asked for."""
    for path in NOTEBOOKS:
        res = exercise_copies.generate([path], tmp_path, force=True)
        (name,) = res["count"]
        assert (tmp_path / name).read_text() == exercise_copies.render(path, NOTEBOOKS)[1], name


@needs_notebooks
def test_no_stray_exercise_copies():
    expected = {exercise_copies.exercise_name(p, NOTEBOOKS) for p in NOTEBOOKS}
    present = {p.name for p in (ROOT / "exercises").glob("*.ipynb")}
    assert present <= expected, f"exercise copies without a solution notebook: {sorted(present - expected)}"


@needs_notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_check_cells_call_helpers_that_exist(path):
    import importlib

    nb = nbformat.read(path, as_version=4)
    _, found = exercise_copies.transform(nb)
    for ex in found:
        if ex.check_index is None:
            continue  # reported by the test above
        tree = ast.parse(nb.cells[ex.check_index].source)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and "check" in node.func.attr
            ):
                module_file = path.parent / f"{node.func.value.id}.py"
                if module_file.exists():
                    module = importlib.import_module(
                        f"workshop_sections.{path.parent.name}.{node.func.value.id}"
                    )
                    assert callable(getattr(module, node.func.attr, None)), (
                        f"exercise {ex.number}: the check cell calls {node.func.value.id}.{node.func.attr}, "
                        f"which {module_file.name} does not define"
                    )


# --------------------------------------------------------------------------- attendees' work is kept
def test_regenerating_keeps_a_copy_the_attendee_edited(tmp_path, capsys):
    src = tmp_path / "workshop_sections" / "tiny" / "tiny.ipynb"
    src.parent.mkdir(parents=True)
    nbformat.write(tiny_notebook(), src)
    dest = tmp_path / "exercises"
    exercise_copies.generate([src], dest)
    copy_path = dest / "tiny.ipynb"
    # running the cells (outputs, counts) is not an edit: an updated solution still regenerates it
    nb = nbformat.read(copy_path, as_version=4)
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="Not yet\n")]
    nb.cells[3].execution_count = 1
    nbformat.write(nb, copy_path)
    assert not exercise_copies.attendee_changed(copy_path)
    solution = nbformat.read(src, as_version=4)
    solution.cells[2].source = solution.cells[2].source.replace("print(m3)", "print('m3 =', m3)")
    nbformat.write(solution, src)
    res = exercise_copies.generate([src], dest)
    assert res["written"] == ["tiny.ipynb"] and res["kept"] == []
    # an answer typed in is an edit: the copy is kept, and said so
    nb = nbformat.read(copy_path, as_version=4)
    nb.cells[3].source = nb.cells[3].source.replace("m3 = None  # TODO 1", "m3 = m1 @ m1.T  # my answer")
    nbformat.write(nb, copy_path)
    mine = copy_path.read_text()
    assert exercise_copies.attendee_changed(copy_path)
    solution.cells[2].source += "\n# updated"
    nbformat.write(solution, src)
    res = exercise_copies.generate([src], dest)
    assert res["kept"] == ["tiny.ipynb"] and res["written"] == []
    assert copy_path.read_text() == mine, "the attendee's answer must survive `make exercises`"
    assert exercise_copies.main(["--out", str(dest), str(src)]) == 0
    assert "KEPT" in capsys.readouterr().out
    assert copy_path.read_text() == mine
    # --force overwrites, on purpose
    res = exercise_copies.generate([src], dest, force=True)
    assert res["written"] == ["tiny.ipynb"] and "my answer" not in copy_path.read_text()


def test_a_copy_without_a_generation_record_is_treated_as_the_attendees(tmp_path):
    path = tmp_path / "old.ipynb"
    nbformat.write(tiny_notebook(), path)
    assert exercise_copies.attendee_changed(path)
    path.write_text("{not json")
    assert exercise_copies.attendee_changed(path)


def test_no_notebook_prints_its_own_code_instead_of_teaching_it():
    for path in NOTEBOOKS:
        assert "getsource" not in path.read_text(), (
            f"{path.name}: inspect.getsource prints module code; "
            "write the code in the cell instead (#| export if it is reused)"
        )


def test_readme_tells_attendees_where_to_keep_their_work():
    readme = (ROOT / "README.md").read_text()
    assert "make my-work" in readme and "my-work/" in (ROOT / ".gitignore").read_text()


def test_links_in_the_copies_work_from_the_exercises_folder(tmp_path):
    sections = tmp_path / "workshop_sections"
    a, b = sections / "a" / "a.ipynb", sections / "b" / "b.ipynb"
    md = (
        "[next](../b/b.ipynb) [readme](../../README.md#setup) [web](https://x.org/a.ipynb) "
        "[here](#top) [helper](a_helper.py)"
    )
    out = exercise_copies.relink(md, a, tmp_path / "exercises", [a, b])
    assert out == (
        "[next](b.ipynb) [readme](../README.md#setup) [web](https://x.org/a.ipynb) "
        "[here](#top) [helper](../workshop_sections/a/a_helper.py)"
    )


@needs_notebooks
def test_every_relative_link_in_the_exercise_copies_resolves():
    import re

    for path in NOTEBOOKS:
        name = exercise_copies.exercise_name(path, NOTEBOOKS)
        copy = json.loads((ROOT / "exercises" / name).read_text())
        for cell in copy["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            for target in re.findall(r"\]\(([^)\s#]+)", "".join(cell["source"])):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                    continue
                assert (ROOT / "exercises" / target).exists(), (
                    f"exercises/{name}: the link {target} leads nowhere"
                )
