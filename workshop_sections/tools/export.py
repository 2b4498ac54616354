"""One source for code that a notebook teaches and a module reuses: notebook cells -> module.

The workshop's rule (the way d2l's ``#@save`` and nbdev's ``#| export`` work): the code a
section teaches is written in the notebook, where attendees read and edit it. When a later
section, a CLI, a benchmark or a test needs the same code, the cell is marked for export
with a first line ::

    #| export

and ``make export`` copies every marked cell, in notebook order, into the section's helper
module, between two marker lines that the module holds once::

    # >>> BEGIN EXPORT from mnist_softmax.ipynb (written by `make export`: edit the notebook, not this block)
    ...
    # <<< END EXPORT

``#| export NAME`` sends a cell to another module of the same section folder (``NAME.py``)
instead of the default helper module (:data:`HELPER_MODULES`). The module's own code stays
outside the block: its imports (the exported cells can use them), plumbing, plots, checks
and CLIs. The exported text is the cell's source with the marker line and the exercise
markers (``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines; the solution code stays) removed.

An exported cell may hold only definitions: imports, ``def``, ``class``, assignments and
docstrings (no calls at top level, no ``%magic``), so that importing the module has no side
effects. ``python -m workshop_sections.tools.export --check`` (and ``tests/test_hands_on.py`` in
``make test``) fails when a module's block differs from its notebook's cells.

    python -m workshop_sections.tools.export            # rewrite the blocks that are out of date
    python -m workshop_sections.tools.export --check    # exit 1 and name the stale modules
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from . import notebooks

EXPORT_RE = re.compile(r"^#\|\s*export(?:\s+(?P<module>[A-Za-z_]\w*))?\s*$")
SOLUTION_MARK_RE = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION\b.*$")
BEGIN_FMT = "# >>> BEGIN EXPORT from {nb} (`make export` writes this block: edit the notebook)"
END_LINE = "# <<< END EXPORT"
BEGIN_RE = re.compile(r"^# >>> BEGIN EXPORT from (?P<nb>\S+) .*$")

# The helper module of each section: where `#| export` cells go unless the marker names another.
HELPER_MODULES = {
    "starter_tf_graph": "graph_helpers",
    "mnist_softmax": "softmax_model",
    "intro_word2vec": "word2vec_basic",
    "word2vec_optimized": "word2vec_fast",
    "cnn_text_classification": "text_cnn",
    "distributed_tensorflow": "distributed_word2vec",
}

ALLOWED_NODES = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
)


class ExportError(ValueError):
    """A marked cell or a module block that cannot be exported (the message says which and why)."""


@dataclass
class Block:
    """The exported cells of one notebook for one module."""

    notebook: Path
    module: Path
    text: str  # the block's body: the cells' code, joined by two blank lines
    cells: list  # indices of the exported cells in the notebook


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def export_marker(source: str) -> tuple[bool, str | None]:
    """(is the cell marked, module name or None for the default) from a cell's source."""
    first = source.split("\n", 1)[0].strip()
    m = EXPORT_RE.match(first)
    return (True, m.group("module")) if m else (False, None)


def exported_code(source: str) -> str:
    """The code a marked cell contributes: without the marker line and the solution markers."""
    lines = source.split("\n")[1:]
    lines = [ln for ln in lines if not SOLUTION_MARK_RE.match(ln)]
    return "\n".join(lines).strip("\n")


def _check_definitions_only(code: str, where: str) -> None:
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise ExportError(f"{where}: not valid Python ({exc.msg}, line {exc.lineno})") from None
    for node in tree.body:
        if isinstance(node, ALLOWED_NODES):
            continue
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            continue  # a docstring or a comment-like string
        raise ExportError(
            f"{where}: line {node.lineno} is a {type(node).__name__}, but an exported cell may hold "
            "only imports, def, class and assignments (move the rest to a cell that is not exported)"
        )


def blocks_of(notebook: Path) -> list[Block]:
    """The export blocks of one solution notebook, one per target module (possibly none)."""
    notebook = Path(notebook)
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    section = notebook.parent.name
    found: dict[str, Block] = {}
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        marked, module = export_marker(source)
        if not marked:
            if "#| export" in source:
                raise ExportError(
                    f"{notebook.name} cell {index}: '#| export' must be the first line of the cell"
                )
            continue
        module = module or HELPER_MODULES.get(section)
        if module is None:
            raise ExportError(
                f"{notebook.name} cell {index}: no helper module is known for section {section!r}; "
                "name one: '#| export MODULE'"
            )
        code = exported_code(source)
        _check_definitions_only(code, f"{notebook.name} cell {index}")
        target = notebook.parent / f"{module}.py"
        block = found.setdefault(module, Block(notebook, target, "", []))
        block.text = f"{block.text}\n\n\n{code}" if block.text else code
        block.cells.append(index)
    return list(found.values())


def _split_module(text: str, module: Path) -> tuple[str, str, str, str | None]:
    """(before, current body, after, notebook named in the BEGIN line) of a module's block."""
    lines = text.split("\n")
    begins = [i for i, ln in enumerate(lines) if BEGIN_RE.match(ln)]
    ends = [i for i, ln in enumerate(lines) if ln.strip() == END_LINE]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ExportError(
            f"{module}: needs exactly one export block, a line '{BEGIN_FMT.format(nb='NOTEBOOK')}' and "
            f"a later line '{END_LINE}' (found {len(begins)} BEGIN and {len(ends)} END lines)"
        )
    b, e = begins[0], ends[0]
    body = "\n".join(lines[b + 1 : e]).strip("\n")
    return "\n".join(lines[:b]), body, "\n".join(lines[e + 1 :]), BEGIN_RE.match(lines[b]).group("nb")


def render_module(block: Block) -> tuple[str, str]:
    """(current text, text with the block brought up to date) of the block's module."""
    if not block.module.exists():
        raise ExportError(f"{block.notebook.name} exports into {block.module.name}, which does not exist")
    text = block.module.read_text(encoding="utf-8")
    before, _, after, _ = _split_module(text, block.module)
    # two blank lines around the block, as ruff format lays out top-level definitions
    before = before.rstrip("\n") + "\n\n"
    after = "\n\n" + after.lstrip("\n")
    new = "\n".join([before, BEGIN_FMT.format(nb=block.notebook.name), block.text, "", "", END_LINE, after])
    return text, new


def run(notebook_paths, write: bool = True) -> dict:
    """Bring every module block up to date with its notebook (or, with write=False, only compare).

    Returns {"written": [module paths], "stale": [module paths], "blocks": [Block]}.
    Raises ExportError for a broken marker, a cell that is not definitions only, a module
    without its block, or a module block whose notebook exports nothing any more.
    """
    result = {"written": [], "stale": [], "blocks": []}
    targets: set[Path] = set()
    for nb in notebook_paths:
        for block in blocks_of(nb):
            result["blocks"].append(block)
            targets.add(block.module.resolve())
            old, new = render_module(block)
            if old != new:
                result["stale"].append(block.module)
                if write:
                    block.module.write_text(new, encoding="utf-8")
                    result["written"].append(block.module)
    # a module that still holds a block whose notebook no longer exports anything into it
    for nb in notebook_paths:
        for module in sorted(Path(nb).parent.glob("*.py")):
            if module.resolve() in targets:
                continue
            text = module.read_text(encoding="utf-8")
            if any(BEGIN_RE.match(ln) for ln in text.split("\n")):
                raise ExportError(
                    f"{module}: holds an export block, but no cell of {Path(nb).name} is marked "
                    f"'#| export {module.stem}' any more: mark the cells again or remove the block"
                )
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop_sections.tools.export", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a module is out of date"
    )
    parser.add_argument("paths", nargs="*", help="solution notebooks (default: every section notebook)")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.paths] or notebooks.list_notebooks()
    try:
        res = run(paths, write=not args.check)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for block in res["blocks"]:
        state = ("out of date" if args.check else "written") if block.module in res["stale"] else "up to date"
        print(f"{block.notebook.name} -> {block.module.name}: {len(block.cells)} cell(s), {state}")
    if args.check and res["stale"]:
        names = ", ".join(str(m) for m in res["stale"])
        print(
            f"error: out of date with their notebooks: {names}. Run `make export` "
            "(edit the notebook's '#| export' cells, never the block in the module).",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
