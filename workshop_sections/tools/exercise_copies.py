"""Attendee exercise notebooks, generated from the solution notebooks (the one source).

In a solution notebook, the code an attendee should write sits between two marker lines
inside a code cell::

    # BEGIN SOLUTION (hint: multiply m1 by m2 with tf.matmul)
    m3 = tf.matmul(m1, m2)
    # END SOLUTION

and the next code cell is the "check your answer" cell, which calls a ``check_...`` helper
of the section module. ``make exercises`` writes ``exercises/<section>.ipynb`` in which every
such block becomes a numbered TODO with its hint and a placeholder for each name the
solution assigns (``m3 = None  # TODO 1``) or each function it defines (same signature,
returns None), with all outputs cleared. The check cells are kept as they are.

    python -m workshop_sections.tools.exercise_copies            # write exercises/ from every notebook
    python -m workshop_sections.tools.exercise_copies --check    # exit 1 if exercises/ is out of date
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import os
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .. import config
from . import notebooks

BEGIN_RE = re.compile(
    r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?:[ \t]*\((?:hint:)?[ \t]*(?P<hint>.*)\))?[ \t]*$"
)
END_RE = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
COLAB_RE = re.compile(
    r"(https://colab\.research\.google\.com/github/[^/\s)]+/[^/\s)]+/blob/[^/\s)]+/)[^\s)]+\.ipynb"
)
CHECK_CALL_RE = re.compile(r"\bcheck\w*\s*\(")
DEFAULT_HINT = "write the missing code"


class ExerciseError(ValueError):
    """A solution notebook whose markers cannot be turned into an exercise."""


@dataclass
class Exercise:
    number: int
    hint: str
    cell_index: int  # index of the cell in the solution notebook
    solution: str  # the code between the markers (indentation kept)
    names: list  # names the placeholders define
    check_index: int | None  # index of the check cell (the next code cell), or None
    stub: str = ""  # the lines that replaced the solution


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _parse_block(code: str) -> ast.Module | None:
    try:
        return ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None


def _target_names(target) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _target_names(elt)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []  # attributes and subscripts (obj.x = ..., d[k] = ...) need no placeholder


def placeholders(code: str, indent: str, number: int, hint: str) -> tuple[list[str], list[str]]:
    """(lines, names): the lines that replace a solution block (the TODO comment, then a
    placeholder per top-level name the block assigns, ``name = None``, or a stub per function
    it defines) and the names they define."""
    lines = [f"{indent}# TODO {number}: {hint}"]
    tree = _parse_block(code)
    seen: list[str] = []
    stubs: list[str] = []
    if tree is not None:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name in seen:
                    continue
                seen.append(node.name)
                args = ast.unparse(node.args)
                kw = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
                stubs.append(f"{indent}{kw} {node.name}({args}):\n{indent}    return None  # TODO {number}")
                continue
            if isinstance(node, ast.ClassDef):
                if node.name not in seen:
                    seen.append(node.name)
                    stubs.append(f"{indent}{node.name} = None  # TODO {number}")
                continue
            if isinstance(node, ast.Assign):
                targets = [n for t in node.targets for n in _target_names(t)]
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = _target_names(node.target)
            else:
                targets = []  # augmented assignments and calls keep the name that exists already
            for name in targets:
                if name not in seen:
                    seen.append(name)
                    stubs.append(f"{indent}{name} = None  # TODO {number}")
    if not stubs and indent:
        stubs.append(f"{indent}pass  # TODO {number}")  # keep an indented block valid Python
    return lines + stubs, seen


def find_blocks(source: str) -> list[tuple[int, int, str, str]]:
    """(begin line, end line, indent, hint) of each solution block in a cell's source."""
    lines = source.split("\n")
    blocks, open_at = [], None
    for i, line in enumerate(lines):
        m = BEGIN_RE.match(line)
        if m:
            if open_at is not None:
                raise ExerciseError(
                    f"line {i + 1}: BEGIN SOLUTION inside another solution block (line {open_at[0] + 1})"
                )
            hint = (m.group("hint") or "").strip() or DEFAULT_HINT
            open_at = (i, m.group("indent"), hint)
        elif END_RE.match(line):
            if open_at is None:
                raise ExerciseError(f"line {i + 1}: END SOLUTION without a BEGIN SOLUTION before it")
            blocks.append((open_at[0], i, open_at[1], open_at[2]))
            open_at = None
        elif "BEGIN SOLUTION" in line or "END SOLUTION" in line:
            raise ExerciseError(
                f"line {i + 1}: a solution marker must be a whole comment line, e.g. "
                f"'# BEGIN SOLUTION (hint: ...)' / '# END SOLUTION'; got {line.strip()!r}"
            )
    if open_at is not None:
        raise ExerciseError(f"line {open_at[0] + 1}: BEGIN SOLUTION has no END SOLUTION in the same cell")
    return blocks


def is_check_cell(cell) -> bool:
    """A check cell is a code cell that calls a ``check...(...)`` helper."""
    return cell.get("cell_type") == "code" and bool(CHECK_CALL_RE.search(_source(cell)))


def _next_code_cell(cells, index: int) -> int | None:
    for j in range(index + 1, len(cells)):
        if cells[j].get("cell_type") == "code":
            return j
    return None


def transform(nb, exercise_path: str | None = None):
    """(exercise notebook, list of Exercise) from a solution notebook (not modified)."""
    out = copy.deepcopy(nb)
    exercises: list[Exercise] = []
    number = 0
    check_indices = set()
    for index, cell in enumerate(out.cells):
        if cell.get("cell_type") == "code":
            source = _source(cell)
            try:
                blocks = find_blocks(source)
            except ExerciseError as exc:
                raise ExerciseError(f"cell {index}: {exc}") from None
            if blocks:
                lines = source.split("\n")
                new_lines, last = [], 0
                for begin, end, indent, hint in blocks:
                    number += 1
                    solution = "\n".join(lines[begin + 1 : end])
                    stub_lines, names = placeholders(solution, indent, number, hint)
                    new_lines += lines[last:begin] + stub_lines
                    last = end + 1
                    exercises.append(
                        Exercise(
                            number,
                            hint,
                            index,
                            solution,
                            names,
                            _next_code_cell(out.cells, index),
                            "\n".join(stub_lines),
                        )
                    )
                    if exercises[-1].check_index is not None:
                        check_indices.add(exercises[-1].check_index)
                new_lines += lines[last:]
                cell.source = "\n".join(new_lines)
            if index in check_indices:  # the solution's verified output is not the attendee's
                cell.source = "\n".join(
                    ln for ln in _source(cell).split("\n") if ln.strip() != "# NBVAL_CHECK_OUTPUT"
                )
            cell.outputs = []
            cell.execution_count = None
            for key in ("execution", "collapsed", "scrolled"):
                cell.metadata.pop(key, None)
        elif exercise_path and cell.get("cell_type") == "markdown":
            cell.source = COLAB_RE.sub(lambda m: m.group(1) + exercise_path, _source(cell))
    out.metadata.pop("widgets", None)
    return out, exercises


# --------------------------------------------------------------------------- hands-on rules
TF_IMPORT_RE = re.compile(r"^\s*from\s+(?:tensorflow|keras)[\w.]*\s+import\s+(.+)$", re.M)
TF_ALIAS_RE = re.compile(r"^\s*import\s+(?:tensorflow|keras)[\w.]*\s+as\s+(\w+)\s*$", re.M)


def tensorflow_names(nb) -> set[str]:
    """The names a notebook's code calls TensorFlow/Keras through: tf, keras, and every name
    imported from them (``from tensorflow import keras``, ``from keras import layers``)."""
    src = "\n".join(_source(c) for c in nb.cells if c.get("cell_type") == "code")
    names = {"tf", "keras"}
    for m in TF_IMPORT_RE.finditer(src):
        names |= {n.split(" as ")[-1].strip(" ()\\") for n in m.group(1).split(",") if n.strip(" ()\\")}
    names |= set(TF_ALIAS_RE.findall(src))
    return names


def tensorflow_line_re(names: set[str]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\s*[.(]")


def code_lines(source: str) -> list[str]:
    """The lines of a cell that count as code: not blank, not a comment, not an import or magic."""
    return [
        ln
        for ln in source.split("\n")
        if ln.strip() and not ln.strip().startswith(("#", "import ", "from ", "%", "!"))
    ]


def tensorflow_share(nb) -> tuple[int, int]:
    """(lines that call TensorFlow/Keras, code lines) over a notebook's code cells after the shared
    config cell (comments, blank lines, imports and magics aside)."""
    pattern = tensorflow_line_re(tensorflow_names(nb))
    cells = [c for c in nb.cells if c.get("cell_type") == "code"][1:]
    lines = [ln for c in cells for ln in code_lines(_source(c))]
    return sum(1 for ln in lines if pattern.search(ln)), len(lines)


def is_tensorflow_exercise(ex: Exercise, names: set[str]) -> bool:
    """Whether an exercise's solution is TensorFlow/Keras code (it calls tf, keras or a name from them)."""
    pattern = tensorflow_line_re(names)
    return any(pattern.search(ln) for ln in code_lines(ex.solution))


def check_cells_missing(exercises: list[Exercise], nb) -> list[str]:
    """Messages for solution blocks with no check cell right after them."""
    found = []
    for ex in exercises:
        j = ex.check_index
        if j is None or not is_check_cell(nb.cells[j]):
            got = "no code cell follows" if j is None else f"cell {j} calls no check...() helper"
            found.append(
                f"exercise {ex.number} (cell {ex.cell_index}, hint {ex.hint!r}): the next code cell must be "
                f"a check cell that calls a check_...() helper of the section module; {got}"
            )
    return found


def leaked_solution(exercises: list[Exercise], exercise_nb) -> list[str]:
    """Solution lines that are still in the exercise copy's cells (there must be none)."""
    found = []
    for cell in exercise_nb.cells:
        if "BEGIN SOLUTION" in _source(cell) or "END SOLUTION" in _source(cell):
            found.append("a solution marker is still in the exercise copy")
    for ex in exercises:
        cell_src = _source(exercise_nb.cells[ex.cell_index])
        stub = {ln.strip() for ln in ex.stub.split("\n")}
        for line in ex.solution.split("\n"):
            code = line.strip()
            if code and not code.startswith("#") and len(code) > 3 and code not in stub and code in cell_src:
                found.append(
                    f"exercise {ex.number}: the solution line {code!r} is still in cell {ex.cell_index}"
                )
    return found


# --------------------------------------------------------------------------- files
def exercise_name(path: Path, all_paths: list[Path]) -> str:
    """``<section>.ipynb``, or ``<section>-<stem>.ipynb`` when the section folder of ``path`` holds
    more than one of ``all_paths``."""
    section = path.parent.name
    same = [p for p in all_paths if p.parent.resolve() == path.parent.resolve()]
    return f"{section}.ipynb" if len(same) <= 1 else f"{section}-{path.stem}.ipynb"


def out_dir() -> Path:
    return config.find_root() / "exercises"


def intro_cell(solution_rel: str, n: int):
    cell = nbformat.v4.new_markdown_cell(
        f"> **Exercise copy.** Fill in the numbered `# TODO` ({n} in this notebook), then run the "
        '"check your answer" cell after it: it tells you what is right or what is still wrong. '
        "This file is generated by "
        f"`make exercises` from the solution notebook `{solution_rel}` (look there if you are stuck). "
        "Work in a copy of your own so that a `git pull` of an updated workshop never conflicts with "
        "your answers: "
        "`make my-work` copies every exercise notebook to `my-work/` (not tracked by git, never overwritten)."
    )
    cell.metadata["slideshow"] = {"slide_type": "-"}
    cell.metadata["tags"] = ["exercise-intro"]
    cell.pop("id", None)
    return cell


LINK_RE = re.compile(r"(\]\()(?P<target>[^)\s#]+)(?P<anchor>#[^)\s]*)?(\))")


def relink(markdown: str, solution: Path, copy_dir: Path, all_paths: list[Path]) -> str:
    """The markdown of a solution cell with its relative links made to work from ``copy_dir``
    (``exercises/``, and ``my-work/`` beside it): a link to another section's solution notebook
    becomes a link to that section's exercise copy, any other relative link is re-rooted. URLs
    and in-page anchors are left as they are."""
    copies = {p.resolve(): exercise_name(p, all_paths) for p in all_paths}

    def fix(m):
        target = m.group("target")
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("/"):
            return m.group(0)
        resolved = (solution.parent / target).resolve()
        if resolved in copies:
            new = copies[resolved]
        else:
            new = os.path.relpath(resolved, copy_dir.resolve()).replace(os.sep, "/")
        return f"{m.group(1)}{new}{m.group('anchor') or ''}{m.group(4)}"

    return LINK_RE.sub(fix, markdown)


def render(path: Path, all_paths: list[Path] | None = None) -> tuple[str, str, list[Exercise], list[str]]:
    """(file name, canonical text, exercises, problems) of the exercise copy of one notebook."""
    all_paths = all_paths if all_paths is not None else [path]
    name = exercise_name(path, all_paths)
    root = config.find_root()
    try:
        rel = path.resolve().relative_to(root).as_posix()
    except ValueError:
        rel = path.name
    nb = nbformat.read(path, as_version=4)
    out, exercises = transform(nb, exercise_path=f"exercises/{name}")
    problems = check_cells_missing(exercises, nb) + leaked_solution(exercises, out)
    if not exercises:
        problems.append(
            f"{rel} has no exercise: mark at least one code block with "
            "'# BEGIN SOLUTION (hint: ...)' / '# END SOLUTION', followed by a check cell"
        )
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = relink(cell.source, path, root / "exercises", all_paths)
    insert_at = 1 if out.cells and out.cells[0].cell_type == "markdown" else 0
    out.cells.insert(insert_at, intro_cell(rel, len(exercises)))
    # stable ids so regeneration is byte-identical
    for i, cell in enumerate(out.cells):
        cell["id"] = f"ex-{i:03d}"
    out.metadata["workshop"] = {
        "generated_from": rel,
        "generator": "python -m workshop_sections.tools.exercise_copies",
        "generated_sha256": content_hash(out),
    }
    return name, nbformat.writes(out) + "\n", exercises, [f"{path.name}: {p}" for p in problems]


def content_hash(nb) -> str:
    """sha256 of what an attendee writes in a notebook: the type and source of every cell, in order
    (outputs, execution counts and metadata aside, so running the cells is not a change)."""
    h = hashlib.sha256()
    for cell in nb.get("cells", []):
        h.update(cell.get("cell_type", "").encode() + b"\0" + _source(cell).encode("utf-8") + b"\0")
    return h.hexdigest()


def attendee_changed(path: Path) -> bool:
    """Whether the exercise copy at ``path`` holds work the generator did not write: its cells
    differ from the hash recorded when it was generated (or it carries no such record, or it is
    not a readable notebook). Running cells (outputs) is not a change."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    recorded = nb.get("metadata", {}).get("workshop", {}).get("generated_sha256")
    return recorded is None or recorded != content_hash(nb)


def generate(
    paths: list[Path] | None = None, dest: Path | None = None, write: bool = True, force: bool = False
) -> dict:
    """Render every notebook's exercise copy; write the changed ones, except copies an attendee
    has edited (:func:`attendee_changed`), which are kept unless ``force``. Returns
    {"written": [...], "stale": [...], "kept": [...], "problems": [...], "count": {name: n}}.
    A copy does not depend on which notebooks are asked for: names and links between sections
    are worked out against every section notebook."""
    every = notebooks.list_notebooks()
    paths = list(paths) if paths is not None else every
    known = {p.resolve() for p in every}
    all_paths = every + [p for p in paths if p.resolve() not in known]
    dest = dest or out_dir()
    result = {"written": [], "stale": [], "kept": [], "problems": [], "count": {}}
    for path in paths:
        try:
            name, text, exercises, problems = render(path, all_paths)
        except ExerciseError as exc:
            result["problems"].append(f"{path.name}: {exc}")
            continue
        result["problems"] += problems
        result["count"][name] = len(exercises)
        target = dest / name
        if not target.exists() or target.read_text() != text:
            result["stale"].append(name)
            if write and target.exists() and not force and attendee_changed(target):
                result["kept"].append(name)
                continue
            if write:
                dest.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
                result["written"].append(name)
    return result


def _copy_state(name: str, result: dict, check: bool) -> str:
    """What :func:`generate` did with the copy ``name``, in words."""
    if name in result["kept"]:
        return (
            "KEPT: it holds your edits, so it was not regenerated (copy your work to my-work/, then --force)"
        )
    if check and name in result["stale"]:
        return "out of date"
    return "written" if name in result["written"] else "up to date"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop_sections.tools.exercise_copies", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if exercises/ is out of date"
    )
    parser.add_argument("--out", default=None, help="folder of the exercise copies (default exercises/)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="also overwrite copies with edits of yours (they are kept otherwise)",
    )
    parser.add_argument("paths", nargs="*", help="solution notebooks (default: every section notebook)")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.paths] or None
    res = generate(paths, Path(args.out) if args.out else None, write=not args.check, force=args.force)
    for name, n in res["count"].items():
        print(f"exercises/{name}: {n} exercise(s), {_copy_state(name, res, args.check)}")
    if res["kept"]:
        print(
            f"kept {len(res['kept'])} copy(ies) with your edits: {', '.join(res['kept'])}. "
            "Keep your work in my-work/ (cp exercises/NAME.ipynb my-work/); "
            "`python -m workshop_sections.tools.exercise_copies --force` overwrites.",
            file=sys.stderr,
        )
    for p in res["problems"]:
        print(f"problem: {p}", file=sys.stderr)
    if args.check and res["stale"]:
        print("Run `make exercises` to regenerate the exercise copies.", file=sys.stderr)
        return 1
    return 1 if res["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
