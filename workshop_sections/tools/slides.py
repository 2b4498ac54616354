"""reveal.js decks of the notebooks for presenting live (``make slides``).

    python -m workshop_sections.tools.slides build [NB ...] [--cdn] [--full]  # build/slides/<nb>.slides.html
    python -m workshop_sections.tools.slides metadata [NB ...] [--check]  # give cells default slide types

Every deck is made with ``jupyter nbconvert --to slides`` from the notebook's cells and
their ``slideshow`` metadata (cells without it get a default: a ``#``/``##`` heading starts
a slide, a ``###`` heading a sub-slide, anything else joins the slide before it).

The decks carry the results: each is built from the **executed** copy of its notebook,
``build/executed/<nb>.ipynb``, the one ``make run`` leaves there, so every figure (an embedded
``<img>``) and every printed result is on its slide, after the code that made it. Where that
copy is missing or older than the notebook, the notebook is executed first
(:func:`notebooks.execute`), in quick mode unless ``--full`` (quick-mode artifacts go to
``build/slides-artifacts/``, so they never replace those of a full ``make run``). How a copy ran
is read from its metadata (``workshop.quick``, written by ``notebooks.execute``) or, for copies
made before that, from the config cell's printed line (``quick mode on``); a deck from a
quick-mode run says so on its title slide, and so does one from a run that stopped with an error.
On the slides, progress-bar widgets become their final line of text, HTML outputs that run a
script (``%tensorboard``'s frame) become a line saying where to look, and stderr (warnings) is
left out: nothing on a slide needs the kernel or the network.

Offline by default: reveal.js, RequireJS, jQuery and MathJax are taken from the npm registry
once (``npm pack``, pinned versions below) into ``build/slides/vendor/`` and the decks load
them from there, so ``build/slides/`` works in a room without internet (open the .html file
or serve the folder). Without npm, or with ``--cdn``, the decks load them from public CDNs.
"""

from __future__ import annotations

import argparse
import copy
import html
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import nbformat

from .. import config
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
            print(
                "note: npm not found, the decks load reveal.js from a CDN (they need internet)",
                file=sys.stderr,
            )
        return None
    out.mkdir(parents=True, exist_ok=True)
    # build the folder beside its place, then rename it in: a half-extracted vendor/ never shows
    with (
        tempfile.TemporaryDirectory() as tmp,
        tempfile.TemporaryDirectory(dir=out, prefix=".vendor-") as stage,
    ):
        if not _npm_pack(npm, Path(tmp), quiet):
            return None
        staged = Path(stage) / "vendor"
        for name, version, folder in VENDOR:
            _extract_package(
                Path(tmp) / f"{name.replace('/', '-').lstrip('@')}-{version}.tgz", staged / folder
            )
        (staged / "mermaid-stub.mjs").write_text(MERMAID_STUB)
        (staged / ".versions").write_text(want + "\n")
        if stamp.exists() and stamp.read_text().strip() == want:
            return dest  # another build finished first
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staged, dest)
    return dest


def _npm_pack(npm: str, into: Path, quiet: bool) -> bool:
    """``npm pack`` the pinned :data:`VENDOR` packages into ``into``; False (with a note) if it fails."""
    try:
        subprocess.run(
            [npm, "pack", "--silent", *(f"{n}@{v}" for n, v, _ in VENDOR)],
            cwd=into,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        if not quiet:
            print(
                f"note: npm pack failed ({getattr(exc, 'stderr', '') or exc}); the decks load reveal.js "
                "from a CDN (they need internet)",
                file=sys.stderr,
            )
        return False
    return True


def _extract_package(tgz: Path, dest: Path) -> None:
    """Extract an npm tarball's ``package/`` into ``dest``, without the unpacked sources and PNGs."""
    with tarfile.open(tgz) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.name.startswith("package/")
            and (m.isfile() or m.isdir())
            and "/unpacked/" not in m.name
            and "/png/" not in m.name
        ]
        for m in members:
            m.name = m.name[len("package/") :]
        tar.extractall(dest, members=members, filter="data")


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


# --------------------------------------------------------------------------- results
QUICK_LINE_RE = re.compile(r"\bquick mode (on|off)\b")
MARK_CLASS = "workshop-run-mark"
QUICK_MARK = (
    "Quick mode: the results on these slides come from a short run (WORKSHOP_QUICK=1: less data, "
    "fewer steps), not the workshop's full numbers. For those: make run, then make slides."
)
FAILED_MARK = "This run stopped with an error: the slides after that cell show no results."


def run_mode(nb) -> dict:
    """How an executed notebook ran: ``{"quick": True/False/None, "completed": True/False/None}``.
    From ``metadata.workshop`` (written by :func:`notebooks.execute`), else quick from the config
    cell's printed line and completed False when an output is an error (None: unknown)."""
    info = nb.metadata.get("workshop") or {}
    quick, completed = info.get("quick"), info.get("completed")
    if quick is None:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for out in cell.get("outputs", []):
                m = QUICK_LINE_RE.search(out.get("text", "") if out.get("output_type") == "stream" else "")
                if m:
                    quick = m.group(1) == "on"
                    break
            if quick is not None or cell.get("outputs"):
                break  # only the first code cell that printed anything (the config cell)
    if completed is None and any(
        o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", [])
    ):
        completed = False  # an older copy that stopped at an error
    return {"quick": quick, "completed": completed}


def is_current(executed: Path, source: Path) -> bool:
    """The executed copy exists and is not older than its notebook."""
    return executed.exists() and executed.stat().st_mtime >= source.stat().st_mtime


def executed_copy(
    path: Path, executed_dir: Path, quick: bool = True, artifacts: Path | None = None, quiet: bool = False
) -> Path:
    """``<executed_dir>/<nb>.ipynb``, executed first (in quick or full mode) when missing or older than
    ``path``. A run that fails keeps its partial copy (the deck marks it); a notebook that could not be
    run at all raises."""
    out = Path(executed_dir) / path.name
    if is_current(out, path):
        return out
    env = {"WORKSHOP_QUICK": "1" if quick else "0"}
    if quick:  # a quick run never overwrites the artifacts a full `make run` left
        env["WORKSHOP_ARTIFACTS"] = str(artifacts or config.find_root() / "build" / "slides-artifacts")
    elif artifacts:
        env["WORKSHOP_ARTIFACTS"] = str(artifacts)
    if not quiet:
        why = "is older than the notebook" if out.exists() else "is missing"
        print(f"{out} {why}: executing {path.name} ({'quick' if quick else 'full'} mode) ...", flush=True)
    out.unlink(missing_ok=True)  # a stale copy must not pass for the new run if this one dies
    try:
        secs = notebooks.execute(path, out, env=env)
    except Exception as exc:  # noqa: BLE001 - the partial copy is shown, marked
        if not out.exists():
            raise
        print(
            f"note: {path.name} stopped with an error; its deck shows the results up to there\n"
            f"{str(exc)[-600:]}",
            file=sys.stderr,
        )
    else:
        if not quiet:
            print(f"    done in {secs:.0f} s", flush=True)
    return out


def _widget_text(states: dict, model_id: str, depth: int = 0) -> str:
    """The text a (tqdm) widget showed last: HTML/labels as text, a progress bar as #'s."""
    model = states.get(model_id) or {}
    name, st = model.get("model_name", ""), model.get("state") or {}
    if depth > 5:
        return ""
    if "Progress" in name and st.get("max"):
        done = max(0.0, min(1.0, (st.get("value") or 0) / st["max"]))
        return "|" + "#" * round(20 * done) + " " * (20 - round(20 * done)) + "|"
    if st.get("children"):
        parts = (_widget_text(states, c.replace("IPY_MODEL_", ""), depth + 1) for c in st["children"])
        return " ".join(p for p in parts if p)
    value = st.get("value")
    if isinstance(value, str):
        return (
            html.unescape(re.sub(r"<[^>]+>", "", value)).replace("\u2007", " ").replace("\u200b", "").strip()
        )
    return ""


def results_for_slides(nb) -> None:
    """Outputs fit for slides: stderr (warnings) dropped; a widget (progress bar) becomes its last text,
    so the deck needs no widget JavaScript (nor a CDN for it)."""
    states = (
        (nb.metadata.get("widgets") or {})
        .get("application/vnd.jupyter.widget-state+json", {})
        .get("state", {})
    )
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            data = out.get("data") or {}
            view = data.get("application/vnd.jupyter.widget-view+json")
            if view is not None:
                text = (
                    _widget_text(states, view.get("model_id", "")) or str(data.get("text/plain", "")).strip()
                )
                if text:
                    kept.append(nbformat.v4.new_output("stream", name="stdout", text=text + "\n"))
                continue
            page = data.get("text/html")
            if (
                isinstance(page, str) and "<script" in page
            ):  # live HTML (%tensorboard's iframe): not on a slide
                kept.append(
                    nbformat.v4.new_output("stream", name="stdout", text=live_output_note(page, data) + "\n")
                )
                continue
            kept.append(out)
        cell.outputs = kept
    nb.metadata.pop("widgets", None)


TENSORBOARD_FRAME_RE = re.compile(r'id="tensorboard-frame-.*?const port = (\d+)', re.S)


def live_output_note(page: str, data: dict) -> str:
    """What a slide shows instead of HTML that runs a script: %tensorboard's frame would point
    at file:/// in a deck (a listing of the presenter's disk), so it becomes a line of text."""
    m = TENSORBOARD_FRAME_RE.search(page)
    if m:
        return (
            "[TensorBoard ran here, inside the notebook; during the talk open "
            f"http://localhost:{m.group(1)}/ in a browser tab]"
        )
    plain = str(data.get("text/plain", "")).strip()
    if plain and not plain.startswith("<IPython.core.display"):
        return plain
    return "[an interactive output: it runs in the notebook, not on the slides]"


def mark_title(nb, mode: dict) -> list[str]:
    """Put what the reader must know about the run on the title slide; return the marks."""
    marks = []
    if mode.get("quick"):
        marks.append(QUICK_MARK)
    if mode.get("completed") is False:
        marks.append(FAILED_MARK)
    if not marks or not nb.cells:
        return marks
    style = (
        "border:3px solid #c0392b;border-radius:6px;padding:0.3em 0.6em;color:#c0392b;"
        "font-weight:bold;font-size:0.8em;background:#fdecea"
    )
    block = (
        "\n\n"
        + "\n".join(f'<p class="{MARK_CLASS}" style="{style}">{html.escape(m)}</p>' for m in marks)
        + "\n\n"
    )
    first = nb.cells[0]
    if first.cell_type == "markdown":
        lines = first.source.split("\n")
        at = next((i + 1 for i, line in enumerate(lines) if HEADING_RE.match(line)), 0)
        first.source = "\n".join(lines[:at]) + block + "\n".join(lines[at:])
    else:
        cell = nbformat.v4.new_markdown_cell(block.strip())
        cell.metadata["slideshow"] = {"slide_type": "slide"}
        first.metadata["slideshow"] = {"slide_type": "-"}
        nb.cells.insert(0, cell)
    return marks


# --------------------------------------------------------------------------- build
def deck_name(path: Path) -> str:
    return f"{path.stem}.slides.html"


def build(
    paths: list[Path] | None = None,
    out: Path | None = None,
    cdn: bool = False,
    quiet: bool = False,
    executed_dir: Path | None = None,
    quick: bool = True,
    artifacts: Path | None = None,
) -> list[Path]:
    """Build one deck per notebook into ``out`` (default build/slides) from its executed copy in
    ``executed_dir`` (default build/executed; executed first when missing or stale, in quick mode
    unless ``quick=False``); return the decks."""
    paths = list(paths) if paths is not None else notebooks.list_notebooks()
    root = config.find_root()
    out = Path(out) if out else root / "build" / "slides"
    executed_dir = Path(executed_dir) if executed_dir else root / "build" / "executed"
    out.mkdir(parents=True, exist_ok=True)
    vendored = False if cdn else vendor(out, quiet) is not None
    decks = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            path = Path(path)
            executed = executed_copy(path, executed_dir, quick=quick, artifacts=artifacts, quiet=quiet)
            nb = copy.deepcopy(nbformat.read(executed, as_version=4))
            mode = run_mode(nb)
            marks = slide_ready(nb, path.stem, mode)
            src = Path(tmp) / path.name
            nbformat.write(nb, src)
            deck = nbconvert_deck(src, out, path, vendored)
            decks.append(deck)
            if not quiet:
                ran = {True: "quick mode", False: "full mode", None: "mode not recorded"}[mode["quick"]]
                failed = ", stopped with an error" if mode["completed"] is False else ""
                print(
                    f"{deck}  (results of {executed} in {ran}{failed}; "
                    f"{'offline' if vendored else 'CDN'} reveal.js){' [marked]' if marks else ''}"
                )
    listed = [out / deck_name(p) for p in notebooks.list_notebooks() if (out / deck_name(p)).exists()]
    write_index(out, listed + [d for d in decks if d not in listed])  # every deck there, in workshop order
    return decks


def slide_ready(nb, fallback_title: str, mode: dict) -> list[str]:
    """Make an executed notebook fit for slides in place (slide types, no Colab badge, outputs
    fit for slides, a title, the run's marks on the title slide); return the marks."""
    set_default_metadata(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = BADGE_RE.sub("", cell.source)  # a slide needs no Colab badge
    results_for_slides(nb)
    nb.metadata["title"] = deck_title(nb, fallback_title)
    return mark_title(nb, mode)


def nbconvert_deck(src: Path, out: Path, notebook: Path, vendored: bool) -> Path:
    """``jupyter nbconvert --to slides`` of ``src`` (the slide-ready copy of ``notebook``) into
    ``out/<notebook>.slides.html``; raises RuntimeError with nbconvert's message when it fails."""
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "nbconvert",
        "--to",
        "slides",
        *nbconvert_args(vendored),
        "--output-dir",
        str(out),
        "--output",
        notebook.stem,
        str(src),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(f"nbconvert failed for {notebook}:\n{res.stderr[-2000:]}")
    deck = out / deck_name(notebook)
    if vendored:
        offline_mermaid(deck)
    return deck


def write_index(out: Path, decks: list[Path]) -> Path:
    items = "".join(f'<li><a href="{html.escape(d.name)}">{html.escape(d.name)}</a></li>' for d in decks)
    index = out / "index.html"
    index.write_text(
        f"<!doctype html><meta charset='utf-8'><title>Workshop slides</title>"
        f"<h1>Workshop slides</h1><ul>{items}</ul>\n"
    )
    return index


def _parser() -> argparse.ArgumentParser:
    """The ``build`` and ``metadata`` commands and their options."""
    parser = argparse.ArgumentParser(
        prog="python -m workshop_sections.tools.slides", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="one reveal.js deck per notebook into build/slides/")
    b.add_argument("paths", nargs="*")
    b.add_argument("--out", default=None)
    b.add_argument(
        "--cdn", action="store_true", help="load reveal.js from a CDN instead of build/slides/vendor/"
    )
    b.add_argument(
        "--full",
        action="store_true",
        help="execute missing or stale notebooks in full mode "
        "(default: quick mode, marked on the title slide)",
    )
    b.add_argument(
        "--executed", default=None, help="folder of the executed notebooks (default build/executed)"
    )
    m = sub.add_parser("metadata", help="give cells without slide metadata the default slide type")
    m.add_argument("paths", nargs="*")
    m.add_argument("--check", action="store_true", help="write nothing; exit 1 if a cell has no slide type")
    return parser


def default_metadata(paths: list[Path], check: bool) -> int:
    """Give the cells of ``paths`` that lack one their default slide type (``check``: write
    nothing); return how many cells lacked one."""
    missing = 0
    for path in paths:
        text = path.read_text()
        nb = nbformat.reads(text, as_version=4)
        n = set_default_metadata(nb)
        missing += n
        if n and not check:
            path.write_text(nbformat.writes(nb) + "\n")
        if n:
            print(f"{path}: {n} cell(s) {'lack' if check else 'given'} a slide type")
    return missing


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    paths = [Path(p) for p in args.paths] or notebooks.list_notebooks()
    if args.cmd == "metadata":
        missing = default_metadata(paths, args.check)
        return 1 if (args.check and missing) else 0
    if not paths:
        print("no notebooks to build", file=sys.stderr)
        return 1
    decks = build(
        paths,
        Path(args.out) if args.out else None,
        cdn=args.cdn,
        executed_dir=Path(args.executed) if args.executed else None,
        quick=not args.full,
    )
    print(f"{len(decks)} deck(s); present with: open {decks[0].parent / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
