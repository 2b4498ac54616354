"""Notebook housekeeping: find the section notebooks, keep them clean in git, run them all.

python -m workshop_sections.tools.notebooks run      # execute every notebook in workshop order
                                              # into build/executed/, then print the table
python -m workshop_sections.tools.notebooks report   # the table of artifacts/<section>/metrics.json
python -m workshop_sections.tools.notebooks clean [NB ...]  # strip outputs nbval does not check
python -m workshop_sections.tools.notebooks check    # exit 1 if a notebook breaks the conventions
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from .. import REPO_URL, SECTIONS, config


# The first code cell of every notebook. Its guard installs the workshop package on Colab
# (only there, only when it is missing); `python -m workshop_sections.tools.colab sync` rewrites it.
def config_cell(repo_url: str = REPO_URL) -> str:
    """The shared config cell, installing from ``git+<repo_url>`` on Colab. When that install
    fails (no repository at the address, no network) the cell stops with one message that says
    what to set, instead of pip's traceback."""
    return f"""\
# Workshop setup: device placement, seeds, quick mode, paths (same cell in every notebook)
import importlib.util
import subprocess
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("workshop_sections") is None:
    # on Colab only: install the workshop package from GitHub first (once per runtime)
    url = "{repo_url}"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "git+" + url], capture_output=True, text=True
    )
    if pip.returncode:  # say what to do, not pip's traceback
        raise SystemExit(
            f"Could not install the workshop from {{url}}: "
            f"{{(pip.stderr.strip().splitlines() or ['pip failed'])[-1]}}\\n"
            "Is the repository there? Its address is REPO_URL in workshop_sections/__init__.py: "
            "set it, run `python -m workshop_sections.tools.colab sync`, commit, and open the notebook again."
        )
from workshop_sections import config

cfg = config.setup()"""


CONFIG_CELL = config_cell()
CHECK_MARK = "NBVAL_CHECK_OUTPUT"


def package_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def list_notebooks(base: Path | None = None) -> list[Path]:
    """The section notebooks in workshop order (one per section folder that has one)."""
    base = base or package_dir()
    out = []
    for section in SECTIONS:
        folder = base / section
        nbs = sorted(p for p in folder.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        out.extend(nbs)
    return out


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def is_checked(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return CHECK_MARK in _source(cell) or "nbval-check-output" in tags


def first_code_cell(nb) -> str | None:
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            return _source(cell)
    return None


def problems(path: Path) -> list[str]:
    """What breaks the conventions: config cell, stored outputs, execution counts."""
    nb = json.loads(Path(path).read_text())
    found = []
    first = first_code_cell(nb)
    if first is None or first.strip() != CONFIG_CELL:
        found.append(f"{path.name}: the first code cell is not the shared config cell")
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs") and not is_checked(cell):
            found.append(f"{path.name}: cell {i} keeps outputs that nbval does not check")
        if cell.get("execution_count") is not None and not is_checked(cell):
            found.append(f"{path.name}: cell {i} keeps an execution count")
    return found


def clean(path: Path) -> bool:
    """Strip outputs and execution counts except in checked cells; write canonical JSON.
    Returns True when the file changed."""
    text = Path(path).read_text()
    nb = nbformat.reads(text, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            if not is_checked(cell):
                cell.outputs = []
                cell.execution_count = None
            else:  # keep only the outputs nbval compares; drop volatile stream noise (stderr)
                cell.outputs = [
                    o
                    for o in cell.outputs
                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                ]
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    nb.metadata.pop("widgets", None)
    new = nbformat.writes(nb) + "\n"
    if new != text:
        Path(path).write_text(new)
        return True
    return False


def execute(path: Path, out_path: Path, env: dict | None = None, timeout: int = 1800) -> float:
    """Execute a notebook headlessly in its own folder; write the executed copy; return seconds."""
    nb = nbformat.read(path, as_version=4)
    old_env = dict(os.environ)
    os.environ.update(env or {})
    try:
        with tempfile.TemporaryDirectory(prefix="workshop-kernel-") as sockets:
            km = kernel_manager(sockets)
            groups = []  # the kernel's process group: what it started (a %tensorboard server) too
            client = NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                km=km,
                resources={"metadata": {"path": str(path.parent)}},
                on_notebook_start=lambda **_: groups.append(_kernel_group(km)),
            )
            start = time.perf_counter()
            completed = False
            try:
                client.execute()
                completed = True
            finally:
                _stop_group(groups[0] if groups else None)
                # how this copy ran (slides.py marks decks made from a quick-mode or failed run)
                nb.metadata["workshop"] = {
                    "quick": config.is_quick(),
                    "completed": completed,
                    "executed": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                }
                out_path.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, out_path)
            return time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(old_env)


def _kernel_group(km) -> int | None:
    """The process group of ``km``'s kernel (jupyter_client starts it as a group leader)."""
    return getattr(getattr(km, "provisioner", None), "pgid", None)


def _stop_group(pgid: int | None) -> None:
    """Stop what a finished notebook's kernel left running in its process group (a TensorBoard
    started by ``%tensorboard``, helper processes): ``make run`` leaves no server behind."""
    if not pgid or not hasattr(os, "killpg") or pgid == os.getpgid(0):
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass


def kernel_manager(socket_dir: str, kernel_name: str = "python3"):
    """A Jupyter kernel manager whose kernel talks over Unix sockets in ``socket_dir`` (IPC, on
    this machine only) instead of TCP ports: nothing listens on the network, and ipykernel has no
    reason to warn "Kernel is running over TCP without encryption". TCP on Windows (no IPC there)."""
    if os.name == "nt":
        return KernelManager(kernel_name=kernel_name)
    return KernelManager(kernel_name=kernel_name, transport="ipc", ip=os.path.join(socket_dir, "kernel"))


def _fmt(value) -> str:
    if isinstance(value, bool):  # before int: True is an int
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.5g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def report(artifacts: Path | None = None, timings: dict | None = None) -> str:
    """One table of the headline figures every section wrote to metrics.json."""
    rows = []
    for section in SECTIONS:
        metrics = config.read_metrics(section, artifacts)
        secs = (timings or {}).get(section)
        if metrics is None:
            rows.append((section, "-", "(no metrics.json yet)"))
            continue
        figures = ", ".join(
            f"{k}={_fmt(v)}" for k, v in sorted(metrics.items()) if not isinstance(v, (dict, list))
        )
        rows.append((section, f"{secs:.0f}s" if secs else "-", figures))
    width = max(len(r[0]) for r in rows)
    lines = [
        f"{'section':<{width}}  {'run':>6}  headline figures (artifacts/<section>/metrics.json)",
        "-" * (width + 60),
    ]
    lines += [f"{s:<{width}}  {t:>6}  {f}" for s, t, f in rows]
    return "\n".join(lines)


def run_all(sections: list[str] | None = None, out: Path | None = None) -> int:
    """Execute the notebooks of ``sections`` (default all) in workshop order into ``out`` (default
    build/executed), stop at the first that fails, print the results table; 1 if one failed."""
    root = config.find_root()
    out = out or root / "build" / "executed"

    def shown(p: Path) -> str:
        return str(p.relative_to(root)) if p.is_relative_to(root) else str(p)

    timings, failed = {}, None
    for nb in list_notebooks():
        section = nb.parent.name
        if sections and section not in sections:
            continue
        mode = "quick" if config.is_quick() else "full"
        print(f"==> {section}: running {shown(nb)} ({mode} mode)", flush=True)
        try:
            timings[section] = execute(nb, out / nb.name)
        except Exception as exc:  # report which notebook failed, keep the executed copy
            failed = (section, exc)
            print(f"!! {section} failed; the executed copy is {out / nb.name}\n{exc}", file=sys.stderr)
            break
        print(f"    done in {timings[section]:.0f} s -> {shown(out / nb.name)}", flush=True)
    print()
    print(report(timings=timings))
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop_sections.tools.notebooks",
        description="Run the section notebooks in order (make run), print their results, and keep "
        "the committed notebooks clean.",
    )
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="{run,report,clean,check}")
    r = sub.add_parser("run", help="execute every notebook (or the sections named) and print the results")
    r.add_argument("--out", default=None, help="folder of the executed copies (default build/executed)")
    r.add_argument("sections", nargs="*", help="only these sections (default: all, in order)")
    sub.add_parser("report", help="print the results table from artifacts/<section>/metrics.json")
    c = sub.add_parser("clean", help="strip outputs except NBVAL_CHECK_OUTPUT cells; canonical JSON")
    c.add_argument("paths", nargs="*", help="notebooks (default: every section notebook)")
    sub.add_parser(
        "check",
        help="exit 1 if a notebook keeps unchecked outputs or is not canonical JSON "
        "(the other conventions are checked by tests/test_repo.py)",
    )
    args = parser.parse_args(argv)
    if args.cmd == "run":
        return run_all(args.sections, Path(args.out).resolve() if args.out else None)
    if args.cmd == "report":
        print(report())
        return 0
    if args.cmd == "clean":
        paths = [Path(p) for p in args.paths] or list_notebooks()
        for p in paths:
            if clean(p):
                print(f"cleaned {p}")
        return 0
    if args.cmd == "check":
        found = [msg for p in list_notebooks() for msg in problems(p)]
        firsts = {first_code_cell(json.loads(p.read_text())) for p in list_notebooks()}
        if len(firsts) > 1:
            found.append("the first code cell differs between notebooks")
        for msg in found:
            print(msg)
        return 1 if found else 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
