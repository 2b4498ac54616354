"""Colab: a badge in every notebook's title cell, and the shared config cell kept identical.

    python -m workshop_sections.tools.colab sync [NB ...]    # badge + first code cell = CONFIG_CELL
    python -m workshop_sections.tools.colab check [NB ...]   # exit 1 if a notebook is not in sync

The badge opens ``<REPO_URL>/blob/<REPO_BRANCH>/<the notebook's path>`` in Colab. The shared
config cell (``notebooks.CONFIG_CELL``) starts with a guard that installs this package from
GitHub when it runs on Colab and does nothing anywhere else.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from .. import REPO_BRANCH, REPO_URL, config
from . import notebooks

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\((?P<url>[^)]*)\)")


def owner_repo(url: str = REPO_URL) -> str:
    m = re.match(r"^(?:https://github\.com/|git@github\.com:)([^/]+/[^/.]+?)(?:\.git)?/?$", url)
    if not m:
        raise ValueError(
            f"REPO_URL {url!r} is not a GitHub repository address (https://github.com/OWNER/REPO)"
        )
    return m.group(1)


def repo_path(path: Path, root: Path | None = None) -> str:
    root = root or config.find_root()
    return Path(path).resolve().relative_to(root.resolve()).as_posix()


def colab_url(rel_path: str) -> str:
    return f"https://colab.research.google.com/github/{owner_repo()}/blob/{REPO_BRANCH}/{rel_path}"


def badge(rel_path: str) -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(rel_path)})"


def badge_urls(nb) -> list[str]:
    return [
        m.group("url") for c in nb.cells if c.cell_type == "markdown" for m in BADGE_RE.finditer(c.source)
    ]


def set_badge(nb, rel_path: str) -> bool:
    """Put the badge in the title cell (after its first heading line); True if changed."""
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError("the first cell must be the markdown title cell")
    want = badge(rel_path)
    changed = False
    for i, cell in enumerate(nb.cells):  # one badge only, in the title cell
        if cell.cell_type == "markdown" and BADGE_RE.search(cell.source):
            new = (
                BADGE_RE.sub(want, cell.source)
                if i == 0
                else re.sub(r"\n*" + BADGE_RE.pattern + r"\n*", "\n\n", cell.source).strip()
            )
            if new != cell.source:
                cell.source, changed = new, True
    title = nb.cells[0]
    if want not in title.source:
        lines = title.source.split("\n")
        at = next((i + 1 for i, ln in enumerate(lines) if ln.lstrip().startswith("#")), 0)
        lines[at:at] = ["", want, ""] if at else [want, ""]
        title.source = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
        changed = True
    return changed


def set_config_cell(nb) -> bool:
    for cell in nb.cells:
        if cell.cell_type == "code":
            if cell.source != notebooks.CONFIG_CELL:
                cell.source = notebooks.CONFIG_CELL
                return True
            return False
    raise ValueError("the notebook has no code cell (the shared config cell is missing)")


def sync(path: Path, write: bool = True, root: Path | None = None) -> list[str]:
    """Badge + config cell of one notebook; returns what was (or would be) changed."""
    text = Path(path).read_text()
    nb = nbformat.reads(text, as_version=4)
    changes = []
    if set_badge(nb, repo_path(path, root)):
        changes.append("Colab badge")
    if set_config_cell(nb):
        changes.append("config cell")
    if changes and write:
        Path(path).write_text(nbformat.writes(nb) + "\n")
    return changes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop_sections.tools.colab", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "cmd",
        choices=("sync", "check"),
        help="sync: rewrite each notebook's badge and config cell; check: exit 1 if one is out of date",
    )
    parser.add_argument("paths", nargs="*", help="notebooks (default: every section notebook)")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.paths] or notebooks.list_notebooks()
    stale = 0
    for path in paths:
        changes = sync(path, write=args.cmd == "sync")
        if changes:
            stale += 1
            print(f"{path}: {'updated' if args.cmd == 'sync' else 'out of date'}: {', '.join(changes)}")
    if args.cmd == "check" and stale:
        print("Run: python -m workshop_sections.tools.colab sync", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
