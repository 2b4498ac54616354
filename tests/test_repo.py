"""Repository conventions: pins in one place, the shared config cell, clean notebooks."""

import json
import re
from pathlib import Path

import pytest

from workshop_sections import SECTIONS
from workshop_sections.tools import notebooks

ROOT = Path(__file__).resolve().parents[1]


def pins():
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([0-9][^\s;]*)", line)
            assert m, f"requirements.txt: {line!r} is not an exact pin (name==version)"
            out[m.group(1).lower()] = m.group(2)
    return out


def test_requirements_are_exact_pins_of_the_workshop_stack():
    p = pins()
    for needed in (
        "tensorflow-cpu",
        "tensorboard",
        "numpy",
        "jupyterlab",
        "matplotlib",
        "scikit-learn",
        "kubernetes",
        "nbval",
        "pytest",
        "tqdm",
    ):
        assert needed in p, f"{needed} is not pinned in requirements.txt"
    assert p["tensorflow-cpu"].startswith("2.21.")


def test_environment_yml_agrees_with_requirements():
    env = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", env, re.M), "environment.yml must ask for python 3.11"
    assert re.search(r"^\s*-\s*-r requirements\.txt\s*$", env, re.M), (
        "environment.yml must install requirements.txt"
    )
    # any package environment.yml names itself must carry the same version as requirements.txt
    p = pins()
    for name, version in re.findall(r"^\s*-\s*([A-Za-z0-9_.\-]+)\s*[=]=?\s*([0-9][^\s]*)\s*$", env, re.M):
        if name.lower() not in ("python", "pip"):
            assert p.get(name.lower()) == version, (
                f"environment.yml pins {name}={version}, requirements.txt {p.get(name.lower())}"
            )


def test_every_section_has_one_notebook_and_a_helper_module():
    for section in SECTIONS:
        folder = ROOT / "workshop_sections" / section
        if not folder.exists():
            pytest.skip(f"section {section} not built yet")
        nbs = list(folder.glob("*.ipynb"))
        assert len(nbs) == 1, f"{section}: expected one notebook, found {[n.name for n in nbs]}"
        helpers = [p for p in folder.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
        assert helpers, f"{section}: no helper module"


def test_shared_config_cell_is_first_and_identical_everywhere():
    nbs = notebooks.list_notebooks()
    assert nbs, "no notebooks found"
    firsts = {nb.name: notebooks.first_code_cell(json.loads(nb.read_text())) for nb in nbs}
    assert len(set(firsts.values())) == 1, f"the shared config cell differs: {firsts}"
    assert next(iter(firsts.values())).strip() == notebooks.CONFIG_CELL


def test_notebooks_keep_no_unchecked_outputs():
    found = [msg for nb in notebooks.list_notebooks() for msg in notebooks.problems(nb)]
    assert not found, "\n".join(found) + "\nfix with: python -m workshop_sections.tools.notebooks clean"


def test_problems_detects_a_stray_output(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(notebooks.CONFIG_CELL), nbformat.v4.new_code_cell("print(1)")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells.append(nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(2)"))
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert notebooks.problems(path) == ["x.ipynb: cell 1 keeps outputs that nbval does not check"]
    notebooks.clean(path)
    assert notebooks.problems(path) == []
    kept = nbformat.read(path, as_version=4)
    assert kept.cells[2].outputs and not kept.cells[1].outputs


def test_makefile_has_the_documented_targets():
    make = (ROOT / "Makefile").read_text()
    for target in ("setup", "data", "run", "test", "lab", "doctor", "clean"):
        assert re.search(rf"^{target}:", make, re.M), f"Makefile has no {target} target"
    assert "127.0.0.1" in make  # lab listens on loopback only


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text()[:3000]
    assert "make run" in head and "make test" in head


def test_runner_kernels_talk_over_ipc_without_the_tcp_warning(tmp_path):
    """`make run` executes notebooks with kernels on Unix sockets: no "running over TCP without
    encryption" warning in its output, and the notebook still runs."""
    import subprocess
    import sys

    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\nprint('sum', 1 + 2)")]
    src = tmp_path / "tiny.ipynb"
    nbformat.write(nb, src)
    code = (
        "import sys; from pathlib import Path; from workshop_sections.tools import notebooks; "
        "notebooks.execute(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(src), str(tmp_path / "out.ipynb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "without encryption" not in proc.stderr + proc.stdout
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert out.cells[0].outputs[0]["text"] == "sum 3\n"
    assert not list(tmp_path.glob("kernel-ipc*")), "no socket files left behind"


def test_runner_leaves_no_server_a_notebook_started(tmp_path):
    """A notebook that starts a background server (as %tensorboard does) leaves nothing running
    once `make run`'s runner has executed it."""
    import os
    import subprocess
    import sys
    import time

    import nbformat

    pidfile = tmp_path / "server.pid"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import subprocess, sys\n"
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
            f"open({str(pidfile)!r}, 'w').write(str(p.pid))"
        )
    ]
    src = tmp_path / "server.ipynb"
    nbformat.write(nb, src)
    code = (
        "import sys; from pathlib import Path; from workshop_sections.tools import notebooks; "
        "notebooks.execute(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(src), str(tmp_path / "out.ipynb")], check=True, timeout=120
    )
    pid = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z":
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        raise AssertionError("the notebook's background process outlived the runner")
