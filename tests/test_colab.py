"""Colab: badges that match each notebook's path, and the guarded install in the config cell."""

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from workshop_sections import REPO_URL
from workshop_sections.tools import colab, exercise_copies, notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebooks.list_notebooks()


def test_owner_repo_comes_from_repo_url():
    assert colab.owner_repo("https://github.com/a-b/c_d") == "a-b/c_d"
    assert colab.owner_repo("https://github.com/a/b.git") == "a/b"
    with pytest.raises(ValueError, match="not a GitHub repository"):
        colab.owner_repo("https://example.org/x")
    assert colab.colab_url("workshop_sections/s/n.ipynb") == (
        f"https://colab.research.google.com/github/{colab.owner_repo()}/blob/main/workshop_sections/s/n.ipynb"
    )


def test_set_badge_inserts_after_the_heading_and_replaces_a_wrong_one():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\nWhat you will learn"),
        nbformat.v4.new_code_cell(notebooks.CONFIG_CELL),
    ]
    assert colab.set_badge(nb, "workshop_sections/s/n.ipynb")
    lines = nb.cells[0].source.split("\n")
    assert lines[0] == "# Title" and lines[2] == colab.badge("workshop_sections/s/n.ipynb")
    assert not colab.set_badge(nb, "workshop_sections/s/n.ipynb"), "idempotent"
    assert colab.set_badge(nb, "workshop_sections/t/m.ipynb")
    assert colab.badge_urls(nb) == [colab.colab_url("workshop_sections/t/m.ipynb")]


def test_config_cell_guard_installs_only_on_colab(monkeypatch):
    cell = notebooks.CONFIG_CELL
    assert REPO_URL in cell and "google.colab" in cell
    guard = cell.split("from workshop_sections import config")[0]
    calls = []
    monkeypatch.setattr(
        subprocess, "run", lambda cmd, **kw: calls.append(cmd) or types.SimpleNamespace(returncode=0)
    )
    exec(compile(guard, "<config cell>", "exec"), {})
    assert calls == [], "outside Colab the guard must do nothing"
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)  # package not installed yet
    exec(compile(guard, "<config cell>", "exec"), {})
    assert len(calls) == 1
    assert calls[0][:4] == [sys.executable, "-m", "pip", "install"] and f"git+{REPO_URL}" in calls[0]


def test_config_cell_guard_says_what_to_set_when_the_install_fails(tmp_path, monkeypatch):
    """On Colab, with no repository at the address (here a folder that holds none), the cell stops
    with one message naming the address and what to set, not with pip's traceback."""
    missing = (tmp_path / "no-repo-here").as_uri()
    guard = notebooks.config_cell(missing).split("from workshop_sections import config")[0]
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "workshop_sections" else real_find_spec(name, *a),
    )
    with pytest.raises(SystemExit) as stop:
        exec(compile(guard, "<config cell>", "exec"), {})  # runs pip for real: git cannot clone it
    message = str(stop.value)
    assert message.startswith(f"Could not install the workshop from {missing}: ")
    assert "REPO_URL in workshop_sections/__init__.py" in message
    assert "python -m workshop_sections.tools.colab sync" in message
    assert "Traceback" not in message and len(message.splitlines()) == 2


@pytest.mark.skipif(not NOTEBOOKS, reason="no section notebooks yet")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_every_notebook_has_a_badge_matching_its_path(path):
    nb = nbformat.read(path, as_version=4)
    rel = path.relative_to(ROOT).as_posix()
    assert colab.badge_urls(nb) == [colab.colab_url(rel)], (
        f"fix with: python -m workshop_sections.tools.colab sync {rel}"
    )
    assert colab.BADGE_RE.search(nb.cells[0].source), "the badge belongs in the title cell"
    assert notebooks.first_code_cell(nb) == notebooks.CONFIG_CELL


@pytest.mark.skipif(not NOTEBOOKS, reason="no section notebooks yet")
def test_exercise_copies_have_a_badge_matching_their_path():
    for path in NOTEBOOKS:
        name = exercise_copies.exercise_name(path, NOTEBOOKS)
        copy = ROOT / "exercises" / name
        if copy.exists():
            nb = nbformat.read(copy, as_version=4)
            assert colab.badge_urls(nb) == [colab.colab_url(f"exercises/{name}")]


def test_sync_rewrites_the_config_cell_and_the_badge(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\nWhat you will learn"),
        nbformat.v4.new_code_cell(
            "# an old config cell\nfrom workshop_sections import config\ncfg = config.setup()"
        ),
        nbformat.v4.new_code_cell("x = 1"),
    ]
    path = tmp_path / "workshop_sections" / "s" / "n.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    assert colab.sync(path, write=False, root=tmp_path) == ["Colab badge", "config cell"]
    assert colab.sync(path, root=tmp_path) == ["Colab badge", "config cell"]
    assert colab.sync(path, root=tmp_path) == []
    got = nbformat.read(path, as_version=4)
    assert got.cells[1].source == notebooks.CONFIG_CELL and got.cells[2].source == "x = 1"
    assert colab.badge_urls(got) == [colab.colab_url("workshop_sections/s/n.ipynb")]
