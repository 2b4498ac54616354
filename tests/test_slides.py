"""Slides: default slide metadata, and a real deck rendered in headless Chromium."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from workshop_sections import notebooks, slides

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "slides"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def tiny():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Tiny deck: *tensors*\n\n[![Open In Colab](https://colab.research.google.com/"
                                      "assets/colab-badge.svg)](https://colab.research.google.com/github/o/r/blob/main/t.ipynb)\n\n"
                                      "What you will learn: $y = Wx + b$"),
        nbformat.v4.new_code_cell(notebooks.CONFIG_CELL),
        nbformat.v4.new_markdown_cell("## Part one\ntext"),
        nbformat.v4.new_markdown_cell("### A detail"),
        nbformat.v4.new_code_cell("x = 1"),
    ]
    nb.cells[4].metadata["slideshow"] = {"slide_type": "fragment"}
    return nb


def test_default_slide_metadata_fills_only_what_is_missing():
    nb = tiny()
    assert slides.set_default_metadata(nb) == 4
    assert [c.metadata["slideshow"]["slide_type"] for c in nb.cells] == ["slide", "-", "slide", "subslide", "fragment"]
    assert slides.set_default_metadata(nb) == 0
    assert slides.deck_title(nb, "x") == "Tiny deck: tensors"


@pytest.mark.skipif(not notebooks.list_notebooks(), reason="no section notebooks yet")
@pytest.mark.parametrize("path", notebooks.list_notebooks(), ids=lambda p: p.parent.name)
def test_every_cell_of_the_section_notebooks_has_a_slide_type(path):
    nb = nbformat.read(path, as_version=4)
    missing = [i for i, c in enumerate(nb.cells) if not (c.metadata.get("slideshow") or {}).get("slide_type")]
    assert not missing, (f"{path.name}: cells {missing} have no slide type; "
                         f"fix with: python -m workshop_sections.slides metadata {path.relative_to(ROOT)}")
    assert nb.cells[0].metadata["slideshow"]["slide_type"] == "slide", "the title cell must start a slide"


def _chromium(args, tmp_path, timeout=120):
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,800",
           "--hide-scrollbars", "--virtual-time-budget=15000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    """One real deck (the first section notebook, or a tiny one before the sections exist)."""
    real = notebooks.list_notebooks()
    if real:
        source = real[0]
    else:
        source = tmp_path_factory.mktemp("nb") / "tiny_deck.ipynb"
        nbformat.write(tiny(), source)
    title = slides.deck_title(nbformat.read(source, as_version=4), source.stem)
    path = slides.build([source], OUT, quiet=True)[0]
    return source, title, path


def test_make_slides_builds_a_deck_that_works_offline(deck):
    source, title, path = deck
    assert path == OUT / f"{source.stem}.slides.html" and path.exists()
    html = path.read_text()
    assert f"<title>{title}" in html.replace("&amp;", "&")
    assert "Open In Colab" not in html, "the Colab badge is left out of the slides"
    if not (OUT / "vendor" / ".versions").exists():
        pytest.skip("npm could not fetch reveal.js here: the deck loads it from a CDN")
    loads = re.findall(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)=["'](https?://[^"']+)""", html)
    loads += re.findall(r"""import \w+ from ['"](https?://[^'"]+)""", html)
    assert not loads, f"the offline deck still loads from the internet: {loads}"
    for rel in re.findall(r"""<(?:script|link)\b[^>]*\b(?:src|href)=["'](vendor/[^"'?]+)""", html):
        assert (OUT / rel).is_file(), f"the deck loads {rel}, which is not in build/slides/"


@pytest.mark.e2e
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_deck_title_slide_renders_in_headless_chromium(deck, tmp_path):
    source, title, path = deck
    vendored = (OUT / "vendor" / ".versions").exists()
    dom = _chromium(["--dump-dom", path.as_uri()], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    first = re.search(r"<section\b.*?</section>", dom.stdout, re.S)
    assert first, "no slide <section> in the rendered page"
    text = re.sub(r"<[^>]+>", " ", first.group(0))
    assert title.split(":")[0] in text, f"the title {title!r} is not on the first slide"
    if vendored:
        assert re.search(r'class="reveal [^"]*\bready\b', dom.stdout), "reveal.js did not start (offline copy)"

    shot = OUT / f"{source.stem}.title.png"
    shot.unlink(missing_ok=True)
    res = _chromium([f"--screenshot={shot}", path.as_uri()], tmp_path)
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    import matplotlib.image as mpimg
    import numpy as np

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (800, 1280)
    ink = (pixels.mean(axis=2) < 0.5).mean()  # share of dark pixels: the title's letters
    assert 0.002 < ink < 0.5, f"the screenshot looks blank or broken (dark share {ink:.4f})"
    assert float(np.std(pixels)) > 0.02
