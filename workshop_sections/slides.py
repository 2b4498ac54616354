"""reveal.js decks of the notebooks for presenting live (``make slides``).

    python -m workshop_sections.slides build [NB ...] [--cdn]   # build/slides/<nb>.slides.html
    python -m workshop_sections.slides metadata [NB ...] [--check]  # give cells default slide types

Every deck is made with ``jupyter nbconvert --to slides`` from the notebook's cells and
their ``slideshow`` metadata (cells without it get a default: a ``#``/``##`` heading starts
a slide, a ``###`` heading a sub-slide, anything else joins the slide before it).

Offline by default: reveal.js, RequireJS, jQuery and MathJax are taken from the npm registry
once (``npm pack``, pinned versions below) into ``build/slides/vendor/`` and the decks load
them from there, so ``build/slides/`` works in a room without internet (open the .html file
or serve the folder). Without npm, or with ``--cdn``, the decks load them from public CDNs.
"""
from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from . import notebooks

# npm packages the decks load (name, version, the folder they go to under vendor/)
VENDOR = (
    ("reveal.js", "4.0.2", "reveal.js"),  # the version nbconvert's reveal template is written for
    ("requirejs", "2.3.7", "requirejs"),
    ("jquery", "3.7.1", "jquery"),
    ("mathjax", "2.7.9", "mathjax"),  # MathJax 2 (nbconvert's template calls MathJax.Hub)
)
MERMAID_STUB = "export default { initialize() {} };\n"  # the template imports mermaid; decks need none
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)\s*")
HEADING_RE = re.compile(r"^\s*(#{1,6})\s+(.*)")


def default_slide_type(cell, index: int) -> str:
    """The slide type a cell gets when it has none."""
    if index == 0:
        return "slide"
    if cell.get("cell_type") == "markdown":
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        m = HEADING_RE.match(src)
        if m:
            return "slide" if len(m.group(1)) <= 2 else "subslide"
    return "-"


def set_default_metadata(nb) -> int:
    """Give every cell without ``slideshow.slide_type`` its default; return how many changed."""
    changed = 0
    for i, cell in enumerate(nb.cells):
        show = cell.metadata.get("slideshow") or {}
        if not show.get("slide_type"):
            cell.metadata["slideshow"] = {**show, "slide_type": default_slide_type(cell, i)}
            changed += 1
    return changed


def deck_title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                m = HEADING_RE.match(line)
                if m:
                    return re.sub(r"[*_`]", "", m.group(2)).strip()
            break
    return fallback


# --------------------------------------------------------------------------- vendored js
def vendor_dir(out: Path) -> Path:
    return out / "vendor"


def vendor(out: Path, quiet: bool = False) -> Path | None:
    """Make ``<out>/vendor/`` hold the pinned reveal.js & co. (from ``npm pack``); None when npm
    is missing or the registry cannot be reached (the decks then use the CDN)."""
    dest = vendor_dir(out)
    stamp = dest / ".versions"
    want = " ".join(f"{n}@{v}" for n, v, _ in VENDOR)
    if stamp.exists() and stamp.read_text().strip() == want:
        return dest
    npm = shutil.which("npm")
    if not npm:
        if not quiet:
            print("note: npm not found, the decks load reveal.js from a CDN (they need internet)", file=sys.stderr)
        return None
    out.mkdir(parents=True, exist_ok=True)
    # build the folder beside its place, then rename it in: a half-extracted vendor/ never shows
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory(dir=out, prefix=".vendor-") as stage:
        try:
            subprocess.run([npm, "pack", "--silent", *(f"{n}@{v}" for n, v, _ in VENDOR)], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=300)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            if not quiet:
                print(f"note: npm pack failed ({getattr(exc, 'stderr', '') or exc}); the decks load reveal.js "
                      "from a CDN (they need internet)", file=sys.stderr)
            return None
        staged = Path(stage) / "vendor"
        for name, version, folder in VENDOR:
            tgz = Path(tmp) / f"{name.replace('/', '-').lstrip('@')}-{version}.tgz"
            with tarfile.open(tgz) as tar:
                members = [m for m in tar.getmembers()
                           if m.name.startswith("package/") and (m.isfile() or m.isdir())
                           and "/unpacked/" not in m.name and "/png/" not in m.name]
                for m in members:
                    m.name = m.name[len("package/"):]
                tar.extractall(staged / folder, members=members, filter="data")
        (staged / "mermaid-stub.mjs").write_text(MERMAID_STUB)
        (staged / ".versions").write_text(want + "\n")
        if stamp.exists() and stamp.read_text().strip() == want:
            return dest  # another build finished first
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staged, dest)
    return dest


def nbconvert_args(vendored: bool) -> list[str]:
    common = ["--SlidesExporter.reveal_scroll=True"]  # long slides scroll instead of overflowing
    if not vendored:
        return common
    return common + [
        "--SlidesExporter.reveal_url_prefix=vendor/reveal.js",
        "--SlidesExporter.require_js_url=vendor/requirejs/require.js",
        "--SlidesExporter.jquery_url=vendor/jquery/dist/jquery.min.js",
        "--SlidesExporter.mathjax_url=vendor/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    ]  # mermaid_js_url is not configurable in nbconvert 7.17: offline_mermaid() rewrites it


MERMAID_IMPORT_RE = re.compile(r"import mermaid from '[^']*';")


def offline_mermaid(deck: Path) -> None:
    """Point the template's mermaid import at the local stub (no network request)."""
    text = deck.read_text(encoding="utf-8")
    new = MERMAID_IMPORT_RE.sub("import mermaid from './vendor/mermaid-stub.mjs';", text)
    if new != text:
        deck.write_text(new, encoding="utf-8")


# --------------------------------------------------------------------------- build
def deck_name(path: Path) -> str:
    return f"{path.stem}.slides.html"


def build(paths: list[Path] | None = None, out: Path | None = None, cdn: bool = False, quiet: bool = False) -> list[Path]:
    """Build one deck per notebook into ``out`` (default build/slides); return the decks."""
    import nbformat

    from . import config

    paths = list(paths) if paths is not None else notebooks.list_notebooks()
    out = Path(out) if out else config.find_root() / "build" / "slides"
    out.mkdir(parents=True, exist_ok=True)
    vendored = False if cdn else vendor(out, quiet) is not None
    decks = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            nb = copy.deepcopy(nb)
            set_default_metadata(nb)
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    cell.source = BADGE_RE.sub("", cell.source)  # a slide needs no Colab badge
            nb.metadata["title"] = deck_title(nb, path.stem)
            src = Path(tmp) / path.name
            nbformat.write(nb, src)
            cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "slides", *nbconvert_args(vendored),
                   "--output-dir", str(out), "--output", path.stem, str(src)]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            if res.returncode != 0:
                raise RuntimeError(f"nbconvert failed for {path}:\n{res.stderr[-2000:]}")
            deck = out / deck_name(path)
            if vendored:
                offline_mermaid(deck)
            decks.append(deck)
            if not quiet:
                print(f"{deck}  ({'offline' if vendored else 'CDN'} reveal.js)")
    write_index(out, decks)
    return decks


def write_index(out: Path, decks: list[Path]) -> Path:
    import html

    items = "".join(f'<li><a href="{html.escape(d.name)}">{html.escape(d.name)}</a></li>' for d in decks)
    index = out / "index.html"
    index.write_text(f"<!doctype html><meta charset='utf-8'><title>Workshop slides</title>"
                     f"<h1>Workshop slides</h1><ul>{items}</ul>\n")
    return index


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop_sections.slides", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="one reveal.js deck per notebook into build/slides/")
    b.add_argument("paths", nargs="*")
    b.add_argument("--out", default=None)
    b.add_argument("--cdn", action="store_true", help="load reveal.js from a CDN instead of build/slides/vendor/")
    m = sub.add_parser("metadata", help="give cells without slide metadata the default slide type")
    m.add_argument("paths", nargs="*")
    m.add_argument("--check", action="store_true", help="write nothing; exit 1 if a cell has no slide type")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.paths] or notebooks.list_notebooks()
    if args.cmd == "build":
        if not paths:
            print("no notebooks to build", file=sys.stderr)
            return 1
        decks = build(paths, Path(args.out) if args.out else None, cdn=args.cdn)
        print(f"{len(decks)} deck(s); present with: open {decks[0].parent / 'index.html'}")
        return 0
    import nbformat

    missing = 0
    for path in paths:
        text = path.read_text()
        nb = nbformat.reads(text, as_version=4)
        n = set_default_metadata(nb)
        missing += n
        if n and not args.check:
            path.write_text(nbformat.writes(nb) + "\n")
        if n:
            print(f"{path}: {n} cell(s) {'lack' if args.check else 'given'} a slide type")
    return 1 if (args.check and missing) else 0


if __name__ == "__main__":
    sys.exit(main())
