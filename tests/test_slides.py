"""Slides: default slide metadata, the results on the slides, and a real deck in headless Chromium.

The browser tests build the MNIST deck once (module fixture) from a quick-mode execution of the
notebook (about 15-30 s), into build/slides-test/ (an instructor's build/slides/ decks are left
alone), then open it with playwright in Debian's Chromium: the title slide carries the quick-mode
mark, the "What the model learned" slide shows the weight images as an <img> of non-zero size,
and the "Train" slide shows the printed test accuracy, the number the run wrote to metrics.json.
Screenshots: build/slides/mnist_softmax.{title,weights,accuracy}.png.
"""

import json
import os
import re
from pathlib import Path

import e2e_helpers as h
import nbformat
import pytest

from workshop_sections.tools import notebooks, slides

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "slides"  # the presenter's decks; the screenshots go here (CI keeps them)
TEST_OUT = ROOT / "build" / "slides-test"  # the deck the tests build
MNIST = ROOT / "workshop_sections" / "mnist_softmax" / "mnist_softmax.ipynb"
WEIGHTS_HEADING = "What the model learned"
TRAIN_HEADING = "Train"


def tiny():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# Tiny deck: *tensors*\n\n[![Open In Colab](https://colab.research.google.com/"
            "assets/colab-badge.svg)](https://colab.research.google.com/github/o/r/blob/main/t.ipynb)\n\n"
            "What you will learn: $y = Wx + b$"
        ),
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
    assert [c.metadata["slideshow"]["slide_type"] for c in nb.cells] == [
        "slide",
        "-",
        "slide",
        "subslide",
        "fragment",
    ]
    assert slides.set_default_metadata(nb) == 0
    assert slides.deck_title(nb, "x") == "Tiny deck: tensors"


@pytest.mark.skipif(not notebooks.list_notebooks(), reason="no section notebooks yet")
@pytest.mark.parametrize("path", notebooks.list_notebooks(), ids=lambda p: p.parent.name)
def test_every_cell_of_the_section_notebooks_has_a_slide_type(path):
    nb = nbformat.read(path, as_version=4)
    missing = [i for i, c in enumerate(nb.cells) if not (c.metadata.get("slideshow") or {}).get("slide_type")]
    assert not missing, (
        f"{path.name}: cells {missing} have no slide type; "
        f"fix with: python -m workshop_sections.tools.slides metadata {path.relative_to(ROOT)}"
    )
    assert nb.cells[0].metadata["slideshow"]["slide_type"] == "slide", "the title cell must start a slide"


# --------------------------------------------------------------------------- results, without a kernel
def executed_tiny(quick=True, completed=True, record=True):
    nb = tiny()
    slides.set_default_metadata(nb)
    line = f"TensorFlow 2.x | device /CPU:0 | quick mode {'on' if quick else 'off'} | data data\n"
    nb.cells[1].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=line),
        nbformat.v4.new_output("stream", name="stderr", text="W0000 some warning\n"),
    ]
    bar, label, post = "a" * 32, "b" * 32, "c" * 32
    widget = {"model_id": "h" * 32, "version_major": 2, "version_minor": 0}
    nb.cells[4].outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "application/vnd.jupyter.widget-view+json": widget,
                "text/plain": "training:   0%|  | 0/300",
            },
        ),
        nbformat.v4.new_output("stream", name="stdout", text="test accuracy 0.9066\n"),
        nbformat.v4.new_output(
            "display_data",
            data={  # what %tensorboard leaves
                "text/html": '<iframe id="tensorboard-frame-1a2b" width="100%" height="800"></iframe>\n'
                "<script>\n"
                '(function() { const frame = document.getElementById("tensorboard-frame-1a2b");\n'
                'const url = new URL("/", window.location); const port = 6006; })();</script>',
                "text/plain": "<IPython.core.display.HTML object>",
            },
        ),
    ]
    state = {
        "h" * 32: {
            "model_name": "HBoxModel",
            "state": {"children": [f"IPY_MODEL_{label}", f"IPY_MODEL_{bar}", f"IPY_MODEL_{post}"]},
        },
        label: {"model_name": "HTMLModel", "state": {"value": "training:\u2007100%"}},
        bar: {"model_name": "FloatProgressModel", "state": {"value": 300.0, "max": 300.0}},
        post: {
            "model_name": "HTMLModel",
            "state": {"value": "\u2007300/300\u2007[00:00&lt;00:00,\u2007loss=0.317]"},
        },
    }
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    if record:
        nb.metadata["workshop"] = {"quick": quick, "completed": completed, "executed": "2026-01-01T00:00:00"}
    return nb


@pytest.mark.parametrize("record", [True, False], ids=["metadata", "config-cell line"])
@pytest.mark.parametrize("quick", [True, False], ids=["quick", "full"])
def test_run_mode_comes_from_the_metadata_or_the_config_cell(quick, record):
    mode = slides.run_mode(executed_tiny(quick=quick, record=record))
    assert mode == {"quick": quick, "completed": True if record else None}
    bare = tiny()
    assert slides.run_mode(bare) == {"quick": None, "completed": None}
    if not record:  # an older copy that stopped at an error
        failed = executed_tiny(quick=quick, record=False)
        failed.cells[4].outputs.append(
            nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])
        )
        assert slides.run_mode(failed) == {"quick": quick, "completed": False}


def test_outputs_for_slides_progress_bar_and_tensorboard_as_text_no_stderr_no_widget_script():
    nb = executed_tiny()
    slides.results_for_slides(nb)
    assert "widgets" not in nb.metadata, (
        "widget state would make nbconvert load the widget manager from a CDN"
    )
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not any("warning" in t for t in texts), "stderr belongs in the log, not on a slide"
    assert texts[-3] == "training: 100% |" + "#" * 20 + "| 300/300 [00:00<00:00, loss=0.317]\n"
    assert texts[-2] == "test accuracy 0.9066\n"
    assert "http://localhost:6006/" in texts[-1], "a TensorBoard frame would show file:/// in a deck"
    assert not any(
        "text/html" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )


@pytest.mark.parametrize(
    "quick,completed,expected",
    [
        (True, True, [slides.QUICK_MARK]),
        (False, True, []),
        (False, False, [slides.FAILED_MARK]),
        (True, False, [slides.QUICK_MARK, slides.FAILED_MARK]),
        (None, None, []),
    ],
)
def test_title_slide_is_marked_for_quick_and_failed_runs(quick, completed, expected):
    nb = executed_tiny()
    before = nb.cells[0].source
    assert slides.mark_title(nb, {"quick": quick, "completed": completed}) == expected
    title = nb.cells[0].source
    assert title.split("\n")[0] == before.split("\n")[0], "the heading stays the first line"
    assert title.count(slides.MARK_CLASS) == len(expected)
    assert (title == before) == (not expected)


def test_executed_copy_runs_the_notebook_only_when_missing_or_stale(tmp_path, monkeypatch):
    runs = []

    def fake_execute(path, out_path, env=None, timeout=1800):
        runs.append(dict(env))
        nb = executed_tiny(quick=env["WORKSHOP_QUICK"] == "1")
        nbformat.write(nb, out_path)
        return 0.1

    monkeypatch.setattr(notebooks, "execute", fake_execute)
    source = tmp_path / "tiny.ipynb"
    nbformat.write(tiny(), source)
    executed = tmp_path / "executed"
    executed.mkdir()
    out = slides.executed_copy(source, executed, quick=True, artifacts=tmp_path / "art", quiet=True)
    assert out == executed / "tiny.ipynb" and len(runs) == 1
    assert runs[0] == {"WORKSHOP_QUICK": "1", "WORKSHOP_ARTIFACTS": str(tmp_path / "art")}
    slides.executed_copy(source, executed, quiet=True)
    assert len(runs) == 1, "a current executed copy (make run's) is used as it is"
    os.utime(source, (out.stat().st_mtime + 10,) * 2)  # the notebook changed after the run
    slides.executed_copy(source, executed, quick=False, quiet=True)
    assert len(runs) == 2 and runs[1]["WORKSHOP_QUICK"] == "0"
    assert "WORKSHOP_ARTIFACTS" not in runs[1], "a full run writes the artifacts make run writes"


# --------------------------------------------------------------------------- the MNIST deck in Chromium
@pytest.fixture(scope="module")
def mnist_deck(tmp_path_factory):
    """The MNIST deck, built once from a fresh quick-mode execution of the notebook."""
    work = tmp_path_factory.mktemp("slides")
    TEST_OUT.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    shared = slides.vendor(OUT, quiet=True)  # one offline copy of reveal.js & co. for both folders
    link = TEST_OUT / "vendor"
    if shared is not None and not link.exists():
        link.symlink_to(os.path.relpath(shared, TEST_OUT))
    path = slides.build(
        [MNIST],
        TEST_OUT,
        quiet=True,
        executed_dir=work / "executed",
        quick=True,
        artifacts=work / "artifacts",
    )[0]
    run = nbformat.read(work / "executed" / MNIST.name, as_version=4)
    if slides.run_mode(run)["completed"] is not True:
        errors = [
            o for c in run.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
        ]
        detail = f"{errors[0].ename}: {errors[0].evalue}" if errors else "no error output"
        pytest.fail(f"the quick-mode run of {MNIST.name} stopped ({detail}); the deck has no results to test")
    metrics = json.loads((work / "artifacts" / "mnist_softmax" / "metrics.json").read_text())
    title = slides.deck_title(nbformat.read(MNIST, as_version=4), MNIST.stem)
    return path, title, metrics


def test_make_slides_builds_a_deck_that_works_offline(mnist_deck):
    path, title, _ = mnist_deck
    assert path == TEST_OUT / "mnist_softmax.slides.html" and path.exists()
    html = path.read_text()
    assert f"<title>{title}" in html.replace("&amp;", "&")
    assert "Open In Colab" not in html, "the Colab badge is left out of the slides"
    assert html.count("<img ") >= 3 and 'src="data:image/png;base64,' in html, "the figures are embedded"
    if not (TEST_OUT / "vendor" / ".versions").exists():
        pytest.skip("npm could not fetch reveal.js here: the deck loads it from a CDN")
    loads = re.findall(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)=["'](https?://[^"']+)""", html)
    loads += re.findall(r"""import \w+ from ['"](https?://[^'"]+)""", html)
    assert not loads, f"the offline deck still loads from the internet: {loads}"
    for rel in re.findall(r"""<(?:script|link)\b[^>]*\b(?:src|href)=["'](vendor/[^"'?]+)""", html):
        assert (TEST_OUT / rel).is_file(), f"the deck loads {rel}, which is not in the deck's folder"


@pytest.fixture(scope="module")
def browser():
    yield from h.chromium_or_skip()


@pytest.fixture
def deck_page(browser, mnist_deck):
    """The MNIST deck open on its title slide, reveal.js started."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(mnist_deck[0].as_uri())
        page.wait_for_selector(".reveal.ready", state="attached")  # reveal.js ran (offline copy or CDN)
        yield page
    finally:
        context.close()


def goto_slide(page, text: str):
    """Go to the (sub)slide whose text holds ``text`` as a presenter would (the URL's #/h/v,
    reveal.js's history), wait until it is the current one and return it."""
    hv = page.evaluate(
        """(text) => {
        const hs = [...document.querySelectorAll('.reveal .slides > section')];
        for (let h = 0; h < hs.length; h++) {
            const vs = [...hs[h].querySelectorAll(':scope > section')];
            for (let v = 0; v < vs.length; v++) if (vs[v].textContent.includes(text)) return [h, v];
        }
        return null; }""",
        text,
    )
    assert hv, f"no slide shows {text!r}"
    page.evaluate("([h, v]) => { location.hash = '#/' + h + '/' + v; }", hv)
    page.wait_for_selector(
        f".reveal .slides > section:nth-child({hv[0] + 1}).present > section:nth-child({hv[1] + 1}).present"
    )
    page.wait_for_timeout(900)  # the slide transition
    return page.locator(".reveal .slides > section.present > section.present")


def _ink_check(shot: Path):
    import matplotlib.image as mpimg
    import numpy as np

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (800, 1280)
    ink = (pixels.mean(axis=2) < 0.5).mean()  # share of dark pixels: letters, figures
    assert 0.002 < ink < 0.5, f"the screenshot looks blank or broken (dark share {ink:.4f})"
    assert float(np.std(pixels)) > 0.02
    return pixels


@pytest.mark.e2e
def test_deck_title_slide_shows_the_title_and_the_quick_mode_mark(deck_page, mnist_deck):
    _, title, _ = mnist_deck
    first = deck_page.locator(".reveal .slides > section.present > section.present")
    assert title.split(":")[0] in first.inner_text(), f"the title {title!r} is not on the first slide"
    mark = first.locator(f".{slides.MARK_CLASS}")
    assert mark.count() == 1 and mark.is_visible(), "a deck from a quick-mode run says so on its title slide"
    assert "Quick mode" in mark.inner_text()
    shot = OUT / "mnist_softmax.title.png"
    deck_page.screenshot(path=str(shot))
    _ink_check(shot)


@pytest.mark.e2e
def test_weights_slide_shows_the_learned_weight_images(deck_page):
    slide = goto_slide(deck_page, WEIGHTS_HEADING)
    images = slide.locator(".jp-OutputArea-output img")
    assert images.count() >= 1, "no figure on the weight-images slide"
    weights = images.first  # plot_weights' figure, right after its code
    box = weights.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, f"the weight images have no size: {box}"
    assert weights.evaluate(
        "img => img.complete && img.naturalWidth > 0 && img.src.startsWith('data:image/png')"
    )
    shot = OUT / "mnist_softmax.weights.png"
    deck_page.screenshot(path=str(shot))
    pixels = _ink_check(shot)
    red = (pixels[..., 0] > 0.6) & (pixels[..., 2] < 0.4)  # the red (and blue) weight maps are on screen
    blue = (pixels[..., 2] > 0.6) & (pixels[..., 0] < 0.4)
    assert red.mean() > 0.002 and blue.mean() > 0.002, "the screenshot does not show the weight images"


@pytest.mark.e2e
def test_train_slide_shows_the_printed_test_accuracy(deck_page, mnist_deck):
    _, _, metrics = mnist_deck
    slide = goto_slide(deck_page, "test accuracy 0.")
    assert slide.locator("h2").first.inner_text().strip() == TRAIN_HEADING, (
        "the accuracy is not on the Train slide"
    )
    printed = slide.locator(".jp-OutputArea-output pre", has_text="test accuracy")
    assert printed.count() == 1
    printed.scroll_into_view_if_needed()
    box = printed.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0 and printed.is_visible()
    m = re.search(r"test accuracy (0\.\d+)", printed.inner_text())
    assert m and float(m.group(1)) == pytest.approx(metrics["test_accuracy"], abs=1e-4), (
        "the slide shows another number than the run wrote to metrics.json"
    )
    deck_page.screenshot(path=str(OUT / "mnist_softmax.accuracy.png"))
