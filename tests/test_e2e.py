"""End-to-end: what an attendee does, in a real (headless) browser.

JupyterLab from the project's environment runs the starter notebook through Run > Run All
Cells and must show the 129.98 product and no error; TensorBoard on the log folder that
intro_word2vec writes must list the loss chart and show the embedding, with its metadata, in
the projector. The instructor's live slideshow: RISE (jupyterlab-rise) starts from the
notebook toolbar, the first slide shows the notebook's title, and the talk's matrix product
runs inside the slideshow and shows 129.98 (same JupyterLab server, same page). Both servers
run on 127.0.0.1, free ports, and are stopped (whole process tree) at the end, also when a
test fails. Screenshots go to build/e2e/.

Runs with ``make e2e`` (Chromium required) and inside ``make test`` (skipped, with the reason,
when Chromium or playwright is missing; ``WORKSHOP_E2E=require`` turns the skip into a failure).
Browser: Debian's /usr/bin/chromium (or WORKSHOP_CHROMIUM) driven by playwright; nothing is
downloaded at test time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import textwrap
import time
from pathlib import Path

import e2e_helpers as h
import pytest

ROOT = h.ROOT
STARTER = ROOT / "workshop_sections" / "starter_tf_graph" / "starter_tf_graph.ipynb"
PRODUCT = "129.98"
W2V_SECTION = "intro_word2vec"
RISE_COPY = "rise_" + STARTER.name  # the slideshow's own copy: its own kernel, never the run-all one

pytestmark = pytest.mark.e2e


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def shot_on_failure(page, name: str):
    """Keep a screenshot of the page when the block fails (build/e2e/<name>-failed.png)."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            h.screenshot(page, f"{name}-failed")
        raise


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def browser():
    yield from h.chromium_or_skip()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies) and page per test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def make_w2v_logdir(artifacts: Path) -> dict:
    """artifacts/intro_word2vec/logs/ as the section writes it, made by the section's own code
    at a tiny size: fit (scalar 'loss' events) then export_projector (checkpoint, metadata.tsv,
    projector_config.pbtxt)."""
    from workshop_sections.intro_word2vec import word2vec_basic as w2v

    logdir = artifacts / W2V_SECTION / "logs"
    words = w2v.load_corpus("movie_reviews", max_words=20_000)
    vocab, model, _ = w2v.fit(
        words, vocab_size=300, dim=16, num_sampled=16, steps=200, log_dir=logdir, progress=False
    )
    w2v.export_projector(logdir, vocab, model.embeddings())
    problems = w2v.projector_problems(logdir)
    if problems:
        raise h.E2EError(f"intro_word2vec wrote a log folder the projector cannot show: {problems}")
    word = next(w for w in vocab.words[50:] if w.isalpha() and len(w) >= 4)
    return {"logdir": logdir, "points": len(vocab), "dim": 16, "word": word, "tensor": w2v.EMBEDDING_KEY}


@pytest.fixture(scope="module")
def tensorboard_starting(browser, tmp_path_factory):
    """Train the tiny word2vec and start TensorBoard on its logs in a background thread, so
    that it is ready by the time the JupyterLab tests are done. Stopped at the end."""
    work = tmp_path_factory.mktemp("tensorboard")
    started = {}

    def prepare():
        logs = make_w2v_logdir(work / "artifacts")
        server = started["server"] = h.tensorboard(logs["logdir"], work)
        server.start()
        h.wait_tensorboard_data(server)
        return logs, server

    job = h.Background(prepare, name="TensorBoard start-up")
    job.start()
    try:
        yield job
    finally:
        job.join(timeout=300)
        if "server" in started:
            started["server"].stop(check=not job.is_alive() and job.error is None)


@pytest.fixture(scope="module")
def tensorboard(tensorboard_starting):
    logs, server = tensorboard_starting.get(timeout=300)
    return {"url": f"http://127.0.0.1:{server.port}", "server": server, "logs": logs}


@pytest.fixture(scope="module")
def lab(browser, tensorboard_starting, tmp_path_factory):
    """JupyterLab on a temporary root holding a copy of the starter section (the repository's
    notebook is never opened, so never saved), a notebook whose second cell raises, and a
    second copy of the starter notebook for the RISE slideshow.
    (TensorBoard starts in the background meanwhile.)"""
    if not STARTER.exists():
        pytest.fail(f"{STARTER.relative_to(ROOT)} is missing: the e2e test runs that notebook")
    work = tmp_path_factory.mktemp("lab")
    root = work / "root"
    shutil.copytree(
        STARTER.parent,
        root / STARTER.parent.name,
        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"),
    )
    import nbformat

    boom = nbformat.v4.new_notebook()
    boom.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    boom.cells = [
        nbformat.v4.new_code_cell("x = 6 * 7\nprint(x)"),
        nbformat.v4.new_code_cell('raise ValueError("boom")'),
        nbformat.v4.new_code_cell("print('never reached')"),
    ]
    nbformat.write(boom, root / "boom.ipynb")
    shutil.copy2(STARTER, root / RISE_COPY)
    env = dict(os.environ)
    env["WORKSHOP_QUICK"] = "1"
    env["WORKSHOP_ARTIFACTS"] = str(work / "artifacts")  # the run leaves nothing in the repository
    server, token = h.jupyter_lab(root, work, env=env)
    with server:
        yield {"url": f"http://127.0.0.1:{server.port}", "token": token, "root": root, "server": server}


@pytest.fixture(scope="module")
def lab_page(browser, lab):
    """One logged-in JupyterLab page for the notebook tests (the app loads once; each test
    opens its notebook from the file browser, in a tab of its own)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        h.lab_login(page, lab["url"], lab["token"], next_path="/lab")
        page.locator(".jp-FileBrowser .jp-DirListing-item").first.wait_for(timeout=90_000)
        yield page
    finally:
        context.close()


# ----------------------------------------------------------------------------- JupyterLab
def test_lab_rejects_a_wrong_token(lab, page):
    with pytest.raises(h.LoginError, match="Invalid credentials"):
        h.lab_login(page, lab["url"], "not-" + lab["token"])
    assert "/login" in page.url


def test_lab_runs_the_starter_notebook(lab, lab_page):
    page = lab_page
    rel = f"{STARTER.parent.name}/{STARTER.name}"
    original = _digest(STARTER)
    copy = lab["root"] / rel
    before = _digest(copy)
    with shot_on_failure(page, "jupyterlab_starter_tf_graph"):
        h.open_from_file_browser(page, rel)
        state = h.run_all_cells(page, timeout=180)
        text = h.check_notebook(page, expect=[PRODUCT, "Correct!"])
    page.locator(".jp-OutputArea-output", has_text=PRODUCT).first.scroll_into_view_if_needed()
    h.screenshot(page, "jupyterlab_starter_tf_graph")  # the cell that shows the product
    assert state["kernel"].startswith("Python 3"), state
    assert "quick mode on" in text  # the kernel got the environment of the server
    assert _digest(STARTER) == original, "the test modified the repository's notebook"
    assert _digest(copy) == before, "the notebook was saved during the run"


def test_lab_check_fails_with_the_cell_error(lab_page):
    page = lab_page
    with shot_on_failure(page, "jupyterlab_cell_error"):
        h.open_from_file_browser(page, "boom.ipynb")
        state = h.run_all_cells(page)
    h.screenshot(page, "jupyterlab_cell_error")
    with pytest.raises(h.NotebookError) as failed:
        h.check_notebook(page, expect=["42"])
    message = str(failed.value)
    assert "ValueError: boom" in message
    assert 'raise ValueError("boom")' in message  # the failing cell's source
    assert "cell 1" in message
    assert state["prompts"][0] == "[1]:" and "never reached" not in h.output_text(page)


def test_rise_slideshow_shows_the_title_and_runs_a_cell(lab, lab_page):
    """The instructor's live slideshow: the notebook's RISE toolbar button opens it beside the
    notebook, the first slide is the title cell, and Shift+Enter runs the cells inside the
    slideshow up to the talk's matrix product, whose output (129.98) appears on its slide."""
    import nbformat

    page = lab_page
    nb = nbformat.read(lab["root"] / RISE_COPY, as_version=4)
    title = nb.cells[0].source.splitlines()[0].lstrip("#").strip()
    assert nb.cells[0].metadata["slideshow"]["slide_type"] == "slide"
    with shot_on_failure(page, "rise_slideshow"):
        h.open_from_file_browser(page, RISE_COPY)
        frame = h.start_rise_slideshow(page)
        first = h.rise_state(frame)
        assert first["heading"] == title, first  # the title slide, not the selected cell's
        state = h.rise_run_until(page, frame, PRODUCT)
        page.locator(h.RISE_FRAME).first.screenshot(path=str(h.BUILD / "rise_slideshow.png"))  # the slide
        h.screenshot(page, "rise_slideshow_in_jupyterlab")  # the notebook and its slideshow side by side
    assert state["id"] != first["id"], "the product is on a later slide than the title"
    assert "tf.matmul(m1, m2)" in state["text"], state  # the code cell is on the slide, with its output
    assert any(p.strip("[]: ").isdigit() for p in state["prompts"]), state["prompts"]


# ----------------------------------------------------------------------------- TensorBoard
def test_tensorboard_shows_the_loss_and_the_projector(tensorboard, page):
    w2v_logdir = tensorboard["logs"]
    with shot_on_failure(page, "tensorboard"):
        h.tensorboard_scalars(page, tensorboard["url"], "loss")
        h.screenshot(page, "tensorboard_scalars")
        shown = h.tensorboard_projector(page, w2v_logdir["word"])
        h.screenshot(page, "tensorboard_projector")
    assert shown["tensor"] == w2v_logdir["tensor"], shown
    assert shown["points"] == w2v_logdir["points"], shown
    assert shown["dimension"] == w2v_logdir["dim"], shown
    # the metadata is loaded: searching a word of metadata.tsv finds its point by its label
    assert shown["matches"] >= 1 and w2v_logdir["word"] in shown["labels"], shown


def test_tensorboard_scalars_check_fails_for_a_missing_tag(tensorboard, page):
    with pytest.raises(h.E2EError, match="no chart for the tag 'accuracy'"):
        h.tensorboard_scalars(page, tensorboard["url"], "accuracy", timeout=3)


# ----------------------------------------------------------------------------- clean stop
_SPAWNER = textwrap.dedent("""
    import subprocess, sys
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    # a child in a session of its own, as Jupyter starts its kernels
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), SimpleHTTPRequestHandler).serve_forever()
""")


def test_server_stop_leaves_no_process_and_frees_the_port(tmp_path):
    psutil = pytest.importorskip("psutil")
    port = h.free_port()
    server = h.Server(
        [sys.executable, "-c", _SPAWNER, str(port)],
        port,
        f"http://127.0.0.1:{port}/",
        tmp_path / "server.log",
        cwd=str(tmp_path),
        kill_timeout=3,
        name="spawner",
    )
    with pytest.raises(RuntimeError, match="inside"):
        with server:
            deadline = time.monotonic() + 10
            while len(psutil.Process(server.proc.pid).children()) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            tree = [server.proc.pid] + [c.pid for c in psutil.Process(server.proc.pid).children()]
            assert len(tree) == 3
            raise RuntimeError("a test failing inside the block")
    assert not h.port_in_use(port)
    alive = [
        pid for pid in tree if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    assert alive == [], f"left running: {alive}"


def test_server_that_exits_early_reports_its_log(tmp_path):
    port = h.free_port()
    server = h.Server(
        [sys.executable, "-c", "import sys; print('cannot start: bad flag'); sys.exit(3)"],
        port,
        f"http://127.0.0.1:{port}/",
        tmp_path / "server.log",
        name="broken",
    )
    with pytest.raises(h.E2EError, match="exited with code 3(.|\n)*cannot start: bad flag"):
        server.start()
    assert server.proc.poll() == 3
