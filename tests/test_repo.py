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


# --------------------------------------------------------------------------- CONTRIBUTING.md's rules
# Each test below checks one rule of CONTRIBUTING.md and names its id ([N1], [A2], ...) in its docstring;
# test_every_rule_in_contributing_names_a_test_that_exists ties the two together. Rules other test files
# already check are only referenced there (tests/test_hands_on.py, test_exercises.py, test_colab.py, ...).

CONTRIBUTING = ROOT / "CONTRIBUTING.md"
RULE_ID = re.compile(r"\*\*\[([A-Z]\d+)\]")
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def notebook_path(section: str) -> Path:
    return ROOT / "workshop_sections" / section / f"{section}.ipynb"


def cells(section: str, kind: str | None = None) -> list[str]:
    """The sources of a section notebook's cells (only ``kind`` cells when given), in order."""
    nb = json.loads(notebook_path(section).read_text())
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb["cells"]
        if kind is None or c["cell_type"] == kind
    ]


def exercise_count(section: str) -> int:
    return sum("# BEGIN SOLUTION" in src for src in cells(section, "code"))


def rules_and_their_tests(text: str) -> dict[str, list[tuple[str, str]]]:
    """``{rule id: [(test file, test name), ...]}`` from CONTRIBUTING.md: a rule runs from its
    ``**[ID]`` to the next rule or heading."""
    out: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("#"):
            current = None
        m = RULE_ID.match(line)
        if m:
            current = m.group(1)
            assert current not in out, f"CONTRIBUTING.md: rule [{current}] is defined twice"
            out[current] = []
        if current:
            out[current].extend(TEST_REF.findall(line))
    return out


def defined_tests(path: Path) -> set[str]:
    """The names of the test functions (and test methods) defined in ``path``."""
    import ast

    tree = ast.parse(path.read_text())
    return {
        n.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test_")
    }


def test_every_rule_in_contributing_names_a_test_that_exists():
    """[D2] Every rule in CONTRIBUTING.md has an id and names at least one test; every test it names
    exists; every rule id a test's docstring claims is a rule of the page."""
    text = CONTRIBUTING.read_text()
    rules = rules_and_their_tests(text)
    assert len(rules) >= 20, f"CONTRIBUTING.md: only {len(rules)} rules found ({sorted(rules)})"
    problems = [f"[{rule}] names no test" for rule, refs in rules.items() if not refs]
    for rule, refs in rules.items():
        for file, name in refs:
            if not (ROOT / file).exists():
                problems.append(f"[{rule}] names {file}, which does not exist")
            elif name not in defined_tests(ROOT / file):
                problems.append(f"[{rule}] names {file}::{name}, which is not a test there")
    claimed = set()
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        claimed |= set(re.findall(r'"""\[([A-Z]\d+)\]', path.read_text()))
    problems += [f"a test claims rule [{rule}], which CONTRIBUTING.md lacks" for rule in claimed - set(rules)]
    assert not problems, "CONTRIBUTING.md and the tests disagree:\n  " + "\n  ".join(problems)


def test_rule_parser_reads_ids_and_the_tests_each_rule_names():
    """[D2] The parser behind the rule check: a rule runs to the next rule or heading; a rule without a
    test comes out empty (and so fails the check above); an id defined twice is an error."""
    text = (
        "## Names\n\n**[N1] One.** text `tests/test_a.py::test_x`,\n`tests/test_b.py::test_y`.\n\n"
        "**[N2] Two.** no test here\n## Code\n`tests/test_c.py::test_z` outside any rule\n"
    )
    assert rules_and_their_tests(text) == {
        "N1": [("tests/test_a.py", "test_x"), ("tests/test_b.py", "test_y")],
        "N2": [],
    }
    with pytest.raises(AssertionError, match=r"\[N1\] is defined twice"):
        rules_and_their_tests("**[N1] a** `tests/t.py::test_a`\n**[N1] b**\n")


def test_section_folder_notebook_exercise_copy_and_artifacts_share_one_name():
    """[N1] [A1] One name per section: the folder, its notebook, its exercise copy and the SECTION under
    which the notebook writes its artifacts (cfg.artifacts(SECTION), nothing else)."""
    problems = []
    for section in SECTIONS:
        if not notebook_path(section).exists():
            problems.append(f"{section}: no workshop_sections/{section}/{section}.ipynb")
            continue
        if not (ROOT / "exercises" / f"{section}.ipynb").exists():
            problems.append(f"{section}: no exercises/{section}.ipynb")
        code = "\n".join(cells(section, "code"))
        m = re.search(r"^SECTION = (.+)$", code, re.M)
        if not m:
            problems.append(f"{section}: the notebook sets no SECTION")
        elif m.group(1) != repr(section).replace("'", '"'):
            module = re.fullmatch(r"(\w+)\.SECTION", m.group(1))
            source = ROOT / "workshop_sections" / section / f"{module.group(1)}.py" if module else None
            if not (source and source.exists() and f'\nSECTION = "{section}"' in source.read_text()):
                problems.append(f"{section}: SECTION = {m.group(1)} is not {section!r}")
        if not re.search(r"^ARTIFACTS = cfg\.artifacts\(SECTION\)", code, re.M):
            problems.append(
                f"{section}: the notebook does not name its folder ARTIFACTS = cfg.artifacts(SECTION)"
            )
        others = set(re.findall(r"cfg\.artifacts\(([^)]*)\)", code)) - {"SECTION"}
        if others:
            problems.append(f"{section}: writes under cfg.artifacts of {sorted(others)} too")
    assert not problems, "\n".join(problems)


def test_a_public_name_is_defined_in_one_section_module_only():
    """[N2] One name for one thing: a public class or function is defined in one section module only
    (the shared protocol, main / load_or_train / default_dir, aside)."""
    import ast
    from collections import defaultdict

    shared = {"main", "load_or_train", "default_dir"}
    where = defaultdict(list)
    for section in SECTIONS:
        for path in sorted((ROOT / "workshop_sections" / section).glob("*.py")):
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                    where[node.name].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    repeated = {name: places for name, places in where.items() if len(places) > 1 and name not in shared}
    assert not repeated, (
        "one name, one thing (CONTRIBUTING.md [N2]): import the one definition, or give the different "
        "things names that say how they differ:\n  "
        + "\n  ".join(f"{name}: {', '.join(places)}" for name, places in sorted(repeated.items()))
    )


def test_notebook_opens_with_title_badge_prerequisites_time_and_objectives():
    """[O1] The first cell is markdown: a # title, the Colab badge, Prerequisites, Time, and learning
    objectives that name every exercise (Exercise 1 .. n)."""
    problems = []
    for section in SECTIONS:
        nb = json.loads(notebook_path(section).read_text())
        first = nb["cells"][0]
        text = "".join(first["source"])
        if first["cell_type"] != "markdown" or not text.startswith("# "):
            problems.append(f"{section}: the first cell is not a markdown cell starting with a # title")
            continue
        for what, pattern in (
            ("the Colab badge", r"colab-badge\.svg"),
            ("**Prerequisites:** (this spelling in every notebook)", r"^\*\*Prerequisites:\*\* "),
            ("**Time:** (this spelling in every notebook)", r"^\*\*Time:\*\* "),
            ("the heading **What you will learn**", r"^\*\*What you will learn\*\*$"),
            ("a list of learning objectives", r"^[-*] "),
        ):
            if not re.search(pattern, text, re.M):
                problems.append(f"{section}: the opening cell has no {what}")
        n = exercise_count(section)
        named = {int(k) for k in re.findall(r"Exercises? (\d+)", text)}
        named |= {int(k) for k in re.findall(r"Exercises \d+ and (\d+)", text)}
        missing = sorted(set(range(1, n + 1)) - named)
        if missing:
            problems.append(f"{section}: the learning objectives do not name Exercise(s) {missing} of {n}")
        if named - set(range(1, n + 1)):
            problems.append(f"{section}: the objectives name exercises it lacks: {sorted(named)} of {n}")
    assert not problems, "\n".join(problems)


def test_last_markdown_cell_says_whats_next_and_links_the_next_section():
    """[C1] The last markdown cell has a ## What's next heading that links the next section's notebook
    (the last section: the README)."""
    problems = []
    for i, section in enumerate(SECTIONS):
        last = cells(section, "markdown")[-1]
        if not re.search(r"^## What's next\s*$", last, re.M):
            problems.append(f"{section}: the last markdown cell has no '## What's next' heading")
            continue
        after = last.split("## What's next", 1)[1]
        if i + 1 < len(SECTIONS):
            target = f"../{SECTIONS[i + 1]}/{SECTIONS[i + 1]}.ipynb"
        else:
            target = "../../README.md"
        if f"]({target})" not in after:
            problems.append(f"{section}: What's next does not link {target}")
    assert not problems, "\n".join(problems)


def test_each_notebook_writes_its_metrics_once_under_its_section():
    """[A2] Each notebook calls config.write_metrics(SECTION, ...) exactly once."""
    for section in SECTIONS:
        code = "\n".join(cells(section, "code"))
        calls = re.findall(r"write_metrics\(\s*([^,\s)]+)", code)
        assert calls == ["SECTION"], f"{section}: write_metrics calls {calls}, expected one with SECTION"


METRIC_KEY = re.compile(r"[a-z][a-z0-9_]*")


def metrics_problems(metrics) -> list[str]:
    """What breaks [A2] in one metrics.json object: not flat, not scalars, keys not snake_case, NaN or
    infinite numbers, accuracies outside 0..1 (percent instead of a fraction)."""
    import math

    if not isinstance(metrics, dict):
        return [f"not a JSON object but {type(metrics).__name__}"]
    out = []
    for key, value in metrics.items():
        if not METRIC_KEY.fullmatch(key):
            out.append(f"{key!r}: keys are snake_case")
        if isinstance(value, (dict, list)):
            out.append(f"{key!r}: {type(value).__name__} (values are numbers, booleans, strings or null)")
        elif isinstance(value, float) and not math.isfinite(value):
            out.append(f"{key!r}: {value} is not a finite number")
        elif isinstance(value, str) and len(value) > 80:
            out.append(f"{key!r}: a string of {len(value)} characters (keep it short)")
        elif "acc" in key and isinstance(value, (int, float)) and not isinstance(value, bool):
            if not 0 <= value <= 1:
                out.append(f"{key!r}: {value} is not a fraction in 0..1")
    return out


def test_metrics_check_catches_nested_values_and_bad_names():
    """[A2] [S5] The metrics.json check fails on what the rule forbids and passes a good object."""
    good = {
        "test_accuracy": 0.92,
        "steps": 300,
        "quick": True,
        "corpus": "text8",
        "intro_words_per_sec": None,
    }
    assert metrics_problems(good) == []
    assert metrics_problems([1, 2]) == ["not a JSON object but list"]
    found = metrics_problems({"Accuracy": 0.9, "losses": [1.0, 0.5], "test_acc": 92.4, "loss": float("nan")})
    assert len(found) == 4, found
    assert any("'losses': list" in p for p in found) and any("92.4" in p for p in found)


def test_metrics_files_are_flat_objects_of_scalars():
    """[A2] Every artifacts/<section>/metrics.json found (make run's, make test's, the slides') is one
    flat object of scalars. Skips on a fresh clone, where no notebook has run yet."""
    roots = [ROOT / "artifacts", ROOT / "build" / "test-artifacts", ROOT / "build" / "slides-artifacts"]
    found = [
        root / s / "metrics.json" for root in roots for s in SECTIONS if (root / s / "metrics.json").exists()
    ]
    if not found:
        pytest.skip("no metrics.json yet (make run, or the notebooks under make test, write them)")
    problems = [
        f"{path.relative_to(ROOT)}: {p}"
        for path in found
        for p in metrics_problems(json.loads(path.read_text()))
    ]
    assert not problems, "\n".join(problems)


def test_tensorboard_logs_live_in_logs_under_the_section_and_one_command_shows_them():
    """[A3] Each notebook keeps its TensorBoard runs in a logs/ folder under its artifacts folder, and no
    module or markdown cell writes its own `tensorboard --logdir` (config.tensorboard_command does)."""
    handwritten = re.compile(r"(?<!%)\btensorboard --logdir")
    problems = []
    for section in SECTIONS:
        code = "\n".join(cells(section, "code"))
        if not re.search(r'/ "logs"', code):
            problems.append(f'{section}: no <artifacts folder> / "logs" TensorBoard folder in the notebook')
        for i, text in enumerate(cells(section, "markdown")):
            if handwritten.search(text):
                problems.append(f"{section}: markdown cell {i} writes the TensorBoard command by hand")
        if handwritten.search(code):
            problems.append(f"{section}: a code cell writes the TensorBoard command by hand")
    for path in sorted((ROOT / "workshop_sections").rglob("*.py")):
        if path.name != "config.py" and handwritten.search(path.read_text()):
            problems.append(f"{path.relative_to(ROOT)}: writes the TensorBoard command by hand")
    assert not problems, "\n".join(problems) + "\nuse config.tensorboard_command(log_dir, cfg.root)"


def test_sections_that_hand_on_have_load_or_train():
    """[A4] The sections whose results a later one reads have a load_or_train, and the readers call it."""
    hands_on = {
        "mnist_softmax": ("softmax_model", None),
        "intro_word2vec": ("word2vec_basic", "word2vec_optimized"),
        "word2vec_optimized": ("word2vec_fast", "cnn_text_classification"),
    }
    for section, (module, reader) in hands_on.items():
        source = (ROOT / "workshop_sections" / section / f"{module}.py").read_text()
        assert re.search(r"^def load_or_train\(", source, re.M), (
            f"{section}: {module}.py has no load_or_train"
        )
        if reader:
            folder = ROOT / "workshop_sections" / reader
            text = "".join(p.read_text() for p in sorted(folder.glob("*.py")) + [notebook_path(reader)])
            assert f"{module}.load_or_train" in text, f"{reader} does not load {section}'s results"


def test_cells_carry_no_tags_and_markers_are_first_line_comments():
    """[M2] No cell has tags; NBVAL markers are a code cell's first line; the kernel is python3."""
    problems = []
    for section in SECTIONS:
        nb = json.loads(notebook_path(section).read_text())
        if nb["metadata"].get("kernelspec", {}).get("name") != "python3":
            problems.append(f"{section}: kernelspec name is not python3")
        if nb["metadata"].get("kernelspec", {}).get("display_name") != "Python 3 (ipykernel)":
            problems.append(f"{section}: kernelspec display_name is not 'Python 3 (ipykernel)'")
        for i, cell in enumerate(nb["cells"]):
            if cell.get("metadata", {}).get("tags"):
                problems.append(f"{section}: cell {i} has tags {cell['metadata']['tags']}")
            lines = "".join(cell["source"]).splitlines()
            marked = [n for n, line in enumerate(lines) if "NBVAL_" in line]
            if marked and (
                cell["cell_type"] != "code" or marked != [0] or not lines[0].startswith("# NBVAL_")
            ):
                problems.append(f"{section}: cell {i} has an NBVAL marker that is not its first line")
    assert not problems, "\n".join(problems)


def test_notebooks_are_stored_as_nbformat_writes_them():
    """[M3] Committed notebooks are canonical nbformat JSON (what notebooks clean writes): small diffs."""
    import nbformat

    for path in notebooks.list_notebooks():
        text = path.read_text()
        assert nbformat.writes(nbformat.reads(text, as_version=4)) + "\n" == text, (
            f"{path.name} is not stored as nbformat writes it: "
            "python -m workshop_sections.tools.notebooks clean"
        )


def test_notebooks_size_their_runs_with_quick_mode():
    """[Q1] Every notebook with something to shrink sizes its run with cfg.pick(full, quick) or cfg.quick."""
    nothing_to_shrink = {"starter_tf_graph"}  # the tour takes 6 s in both modes
    for section in SECTIONS:
        code = "\n".join(cells(section, "code"))
        uses = "cfg.pick(" in code or "cfg.quick" in code
        if section in nothing_to_shrink:
            assert not uses, f"{section} now uses quick mode: drop it from nothing_to_shrink"
        else:
            assert uses, f"{section}: no cfg.pick(full, quick) or cfg.quick: quick mode cannot shrink it"


def test_public_functions_of_section_modules_have_docstrings():
    """[S3] Every public function and class of the sections' helper modules has a docstring (CLI entry
    points aside: their --help documents them)."""
    import ast

    cli = {"main", "build_parser", "parse_args"}
    missing = []
    for section in SECTIONS:
        for path in sorted((ROOT / "workshop_sections" / section).glob("*.py")):
            for node in ast.parse(path.read_text()).body:
                if (
                    isinstance(node, (ast.FunctionDef, ast.ClassDef))
                    and not node.name.startswith("_")
                    and node.name not in cli
                    and ast.get_docstring(node) is None
                ):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not missing, f"{len(missing)} public name(s) without a docstring:\n  " + "\n  ".join(missing)


TEXT_SUFFIXES = (".md", ".py", ".ipynb", ".yml", ".yaml", ".toml", ".txt")
TOOLS = ("notebooks", "export", "exercise_copies", "checks", "slides", "doctor", "serve_data", "colab")


def git_files() -> list[str]:
    import subprocess

    try:
        out = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return out.splitlines()


def test_tooling_lives_in_its_own_package():
    """[S4] workshop_sections/ holds config.py, data.py, the section folders and tools/; the tools are
    run as python -m workshop_sections.tools.<name> (checks is a library); no tracked file names a
    tool by its old path."""
    package = ROOT / "workshop_sections"
    files = git_files()
    tracked = {f.split("/")[1] for f in files if f.startswith("workshop_sections/")}
    tracked |= {p.name for p in package.iterdir() if p.suffix == ".py"}  # untracked modules count too
    expected = {"__init__.py", "config.py", "data.py", "tools", *SECTIONS}
    assert tracked == expected, (
        "[S4] workshop_sections/ holds only config.py, data.py, tools/ and the section folders; "
        f"unexpected: {sorted(tracked - expected)}, missing: {sorted(expected - tracked)}. "
        "Tooling goes in workshop_sections/tools/, shared code in config.py or data.py (CONTRIBUTING.md)."
    )
    for tool in TOOLS:
        source = (package / "tools" / f"{tool}.py").read_text()
        if tool != "checks":
            assert 'if __name__ == "__main__"' in source, f"tools/{tool}.py cannot run as python -m"
    names = "|".join(TOOLS + ("exercises",))
    old = re.compile(rf"workshop_sections\.({names})\b|workshop_sections/({names})\.py")
    stale = []
    for name in files:
        path = ROOT / name
        text_file = path.suffix in TEXT_SUFFIXES or path.name == "Makefile"
        if text_file and not name.startswith("exercises/") and path.is_file():
            stale += [f"{name}: {m.group(0)}" for m in old.finditer(path.read_text(errors="replace"))]
    assert not stale, "old paths of the tools (now in workshop_sections/tools/):\n  " + "\n  ".join(stale)


def layout_entries(readme: str) -> tuple[set[str], set[str]]:
    """The paths the README's Layout block names: (top level, inside workshop_sections/). Entries
    start a line (top level) or are indented two spaces under workshop_sections/ (one level down);
    deeper-indented lines continue a description."""
    m = re.search(r"^## Layout\n.*?^```\n(.*?)^```", readme, re.M | re.S)
    assert m, "README.md has no fenced block under ## Layout"
    top, inner = set(), set()
    parent = None
    for line in m.group(1).splitlines():
        if re.match(r"\S", line):
            parent = line.split()[0]
            top.add(parent.rstrip("/"))
        elif re.match(r"  \S", line) and parent == "workshop_sections/":
            inner.add(line.split()[0].rstrip("/"))
    return top, inner


LAYOUT_IGNORES = {".gitignore", ".github", ".ci"}  # dotfiles: git and CI set-up, not the workshop


def test_readme_layout_matches_the_tree():
    """[D1] The README's Layout block names every top-level entry git tracks (LAYOUT_IGNORES aside) and every
    entry of workshop_sections/; every path it names exists or is git-ignored output."""
    import subprocess

    top, inner = layout_entries((ROOT / "README.md").read_text())
    files = git_files()
    tracked_top = {f.split("/")[0] for f in files} - LAYOUT_IGNORES
    tracked_inner = {f.split("/")[1] for f in files if f.startswith("workshop_sections/")}
    problems = [f"{p} is tracked but not in the Layout" for p in sorted(tracked_top - top)]
    problems += [
        f"workshop_sections/{p} is tracked but not in the Layout" for p in sorted(tracked_inner - inner)
    ]
    for path in sorted(top) + [f"workshop_sections/{p}" for p in sorted(inner)]:
        if not (ROOT / path).exists():
            ignored = subprocess.run(["git", "check-ignore", "-q", path + "/"], cwd=ROOT).returncode == 0
            if not ignored:
                problems.append(f"the Layout names {path}, which neither exists nor is git-ignored output")
    assert not problems, "README.md ## Layout is out of date:\n  " + "\n  ".join(problems)


def test_each_section_folder_has_a_readme_that_links_its_notebooks():
    """[D3] workshop_sections/<section>/README.md: its fixed headings, links to the notebook and the
    exercise copy (every relative link resolves), one line per exercise, an existing tests/ file."""
    headings = [
        "## What you learn",
        "## Time",
        "## Reads and hands on",
        "## Run it",
        "## Exercises",
        "## Tests",
    ]
    problems = []
    for section in SECTIONS:
        path = ROOT / "workshop_sections" / section / "README.md"
        if not path.exists():
            problems.append(f"{section}: no README.md")
            continue
        text = path.read_text()
        found = [h for h in re.findall(r"^## .+$", text, re.M) if h in headings]
        if found != headings:
            problems.append(f"{section}/README.md: headings {found}, expected {headings}")
        for target in (f"{section}.ipynb", f"../../exercises/{section}.ipynb"):
            if f"]({target})" not in text:
                problems.append(f"{section}/README.md does not link {target}")
        for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not re.match(r"[a-z]+:", link) and not (path.parent / link).exists():
                problems.append(f"{section}/README.md: the link {link} does not resolve")
        exercises = text.split("## Exercises", 1)[-1].split("\n## ", 1)[0]
        listed = len(re.findall(r"^\d+\. ", exercises, re.M))
        if listed != exercise_count(section):
            problems.append(
                f"{section}/README.md lists {listed} exercises, the notebook has {exercise_count(section)}"
            )
        for test_file in re.findall(r"tests/(test_\w+\.py)", text):
            if not (ROOT / "tests" / test_file).exists():
                problems.append(f"{section}/README.md names tests/{test_file}, which does not exist")
        if not re.search(r"tests/test_\w+\.py", text):
            problems.append(f"{section}/README.md names no tests/ file")
    assert "](CONTRIBUTING.md)" in (ROOT / "README.md").read_text(), "README.md does not link CONTRIBUTING.md"
    assert not problems, "\n".join(problems)


def test_commands_in_the_docs_name_modules_that_exist():
    """[D1] Every `python -m workshop_sections...` in the README, CONTRIBUTING.md and the folder READMEs
    names a module or package (with __main__.py) that exists."""
    docs = [ROOT / "README.md", CONTRIBUTING, *sorted((ROOT / "workshop_sections").glob("*/README.md"))]
    problems = []
    for doc in docs:
        for module in set(re.findall(r"python -m (workshop_sections(?:\.\w+)*)(?![.\w])", doc.read_text())):
            base = ROOT / module.replace(".", "/")
            if not (base.with_suffix(".py").exists() or (base / "__main__.py").exists()):
                problems.append(f"{doc.relative_to(ROOT)}: python -m {module} does not exist")
    assert not problems, "\n".join(problems)
