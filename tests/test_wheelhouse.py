"""The room mirror's wheelhouse: make wheelhouse, served by make serve-data, used by make setup.

The quick tests (in `make test`) check the pieces with fake downloads and a fake pip. The slow
one (`make test-wheelhouse`; not in `make test`: it downloads about 0.5 GB of wheels and
installs them, several minutes) builds this machine's wheelhouse, serves it on 127.0.0.1, and
runs `make setup` in a fresh clone with the package index unreachable: it must succeed from
the mirror alone.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from proc_helpers import stop

from workshop_sections.tools import serve_data as sd

ROOT = Path(__file__).resolve().parents[1]
PY = f"{sys.version_info.major}.{sys.version_info.minor}"


# ----------------------------------------------------------------------------- quick
def fake_downloader(missing: dict[str, set[str]]):
    """A pip download that 'fails' for the (platform tag, requirement) pairs in ``missing``
    and otherwise writes one small wheel per requirement."""
    calls = []

    def download(dest, tags, python, requirements):
        calls.append((tags[0], python, list(requirements)))
        for req in requirements:
            name = re.split(r"[=<>\[ ]", req)[0]
            if name in missing.get(tags[0], set()):
                return 1, f"ERROR: No matching distribution found for {req}"
        for req in requirements:
            name = re.split(r"[=<>\[ ]", req)[0].replace("-", "_")
            (Path(dest) / f"{name}-1.0-py3-none-any.whl").write_bytes(name.encode() * 10)
        return 0, ""

    download.calls = calls
    return download


def test_wheelhouse_per_platform_swaps_tensorflow_and_records_what_is_missing(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("# pins\ntensorflow-cpu==2.21.0\nnumpy==2.4.6  # arrays\n")
    fake = fake_downloader({"macosx_12_0_x86_64": {"tensorflow"}})  # TensorFlow 2.21 has no Intel Mac wheel
    notes = sd.build_wheelhouse(
        tmp_path / "wh",
        ["linux_x86_64", "macos_arm64", "macos_x86_64"],
        ["3.11", "3.12"],
        req,
        log=lambda *a: None,
        downloader=fake,
    )
    assert notes["linux_x86_64"]["pythons"] == ["3.11", "3.12"]
    assert notes["linux_x86_64"]["tensorflow"] == "tensorflow-cpu"
    assert notes["macos_arm64"]["tensorflow"] == "tensorflow"  # tensorflow-cpu has no macOS wheel
    assert notes["macos_x86_64"]["pythons"] == [] and set(notes["macos_x86_64"]["missing"]) == {
        "3.11",
        "3.12",
    }
    first = fake.calls[0]
    assert first[2] == ["tensorflow-cpu==2.21.0", "numpy==2.4.6", *sd.SETUP_EXTRAS]  # comments dropped
    # macOS asks for what make setup installs there (doctor.requirements_for), no failed try first
    assert [c for c in fake.calls if c[0] == "macosx_12_0_arm64"][0][2][0] == "tensorflow==2.21.0"
    assert (
        len(fake.calls) == 6
        and fake.calls[-1][0] == "macosx_12_0_x86_64"
        and fake.calls[-1][2][0] == "tensorflow==2.21.0"
    )
    # SHA256SUMS and the note beside the wheels
    folder = tmp_path / "wh" / "macos_arm64"
    sums = dict(reversed(ln.split("  ")) for ln in (folder / sd.SUMS).read_text().splitlines())
    assert set(sums) == {p.name for p in folder.glob("*.whl")} and "tensorflow-1.0-py3-none-any.whl" in sums
    assert json.loads((folder / sd.NOTE).read_text())["wheels"] == len(sums)


def test_served_wheelhouse_checks_the_sums_and_lists_hashes(tmp_path):
    folder = tmp_path / "wh" / "linux_x86_64"
    folder.mkdir(parents=True)
    good, bad = folder / "good-1.0-py3-none-any.whl", folder / "bad-1.0-py3-none-any.whl"
    good.write_bytes(b"good")
    bad.write_bytes(b"bad")
    (folder / sd.SUMS).write_text(f"{sd.sha256(good)}  {good.name}\n{'0' * 64}  {bad.name}\n")
    files, pages, report = sd.served_wheelhouse(tmp_path / "wh")
    assert files == {f"wheelhouse/linux_x86_64/{good.name}": good}
    page = pages["wheelhouse/linux_x86_64/"].decode()
    assert f'href="{good.name}#sha256={sd.sha256(good)}"' in page and bad.name not in page
    assert any("fails its checksum" in line and bad.name in line for line in report)
    assert sd.served_wheelhouse(tmp_path / "none") == ({}, {}, [])
    (tmp_path / "wh" / "macos_x86_64").mkdir()
    (tmp_path / "wh" / "macos_x86_64" / sd.SUMS).write_text("")  # nothing there for the pins
    files2, pages2, report2 = sd.served_wheelhouse(tmp_path / "wh")
    assert "wheelhouse/macos_x86_64/" not in pages2 and any("macos_x86_64/: no wheels" in r for r in report2)


def test_pip_install_prefers_the_mirror_and_falls_back_to_the_index(tmp_path, monkeypatch):
    house = tmp_path / "mirror" / "wheelhouse" / "linux_x86_64"
    house.mkdir(parents=True)
    (house / "x-1.0-py3-none-any.whl").write_bytes(b"x")
    monkeypatch.setattr(sd, "this_platform", lambda: "linux_x86_64")
    runs = []

    def run(codes):
        def fake(cmd):
            runs.append(cmd[4:])
            return codes.pop(0)

        return fake

    assert sd.pip_install(["-r", "req.txt"], mirror=str(tmp_path / "mirror"), run=run([0])) == 0
    assert runs == [["--no-index", "--find-links", str(house), "-r", "req.txt"]]  # the mirror alone
    runs.clear()
    assert sd.pip_install(["-r", "req.txt"], mirror=str(tmp_path / "mirror"), run=run([1, 0])) == 0
    assert runs[1] == ["--find-links", str(house), "-r", "req.txt"]  # the mirror lacks something: + index
    runs.clear()
    for mirror in ("", str(tmp_path), "http://127.0.0.1:9/"):  # none, no wheelhouse, unreachable
        assert sd.pip_install(["x"], mirror=mirror, run=run([0])) == 0
    assert runs == [["x"]] * 3


def test_make_setup_installs_through_the_mirror_aware_pip(tmp_path, make_dry_run):
    out = make_dry_run("setup", f"VENV={tmp_path / 'venv'}")
    assert f"serve_data pip install --quiet -r {tmp_path / 'venv'}/requirements-gpu0.txt" in out
    assert "serve_data pip install --quiet --no-deps -e ." in out
    out = make_dry_run("wheelhouse", "WHEELHOUSE_PYTHONS=3.11")
    assert (
        "serve_data wheelhouse --platforms linux_x86_64 linux_aarch64 macos_arm64 macos_x86_64 "
        "windows_x86_64 --pythons 3.11" in out
    )


# ----------------------------------------------------------------------------- slow: the real thing
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens there


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("WORKSHOP_WHEELHOUSE_TEST") != "1",
    reason="downloads and installs ~0.5 GB: make test-wheelhouse (WORKSHOP_WHEELHOUSE_TEST=1)",
)
def test_make_setup_succeeds_from_the_room_mirror_alone(tmp_path, mirror_server):
    plat = sd.this_platform()
    if plat is None or not plat.startswith("linux"):
        pytest.skip(f"builds the Linux wheelhouse; this machine is {plat}")
    data_dir = tmp_path / "room-data"
    note = _build_wheelhouse(data_dir, plat)
    server, url, printed = mirror_server(data_dir, stderr=(tmp_path / "server.log").open("w"), timeout=120)
    try:  # the server checks every wheel's sum before it prints its line
        assert url, f"the server printed no mirror line: {''.join(printed)}"
        page = urllib.request.urlopen(f"{url}/wheelhouse/{plat}/", timeout=10).read().decode()
        assert page.count("#sha256=") == note["wheels"]
        clone = tmp_path / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
        env = _env_without_the_index(url, tmp_path)
        t1 = time.monotonic()
        setup = subprocess.run(
            ["make", "setup", f"PYTHON={sys.executable}"],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        log = setup.stdout + setup.stderr
        assert setup.returncode == 0, log[-5000:]
        print(f"make setup from the mirror: {time.monotonic() - t1:.0f} s")
        assert f"pip: packages from the room mirror {url}/wheelhouse/{plat}/" in log
        assert "the rest from the package index" not in log, log[-3000:]
        pins = dict(
            ln.split("==")
            for ln in (ROOT / "requirements.txt").read_text().splitlines()
            if "==" in ln and not ln.startswith("#")
        )
        versions = _installed_versions(clone / ".venv" / "bin" / "python")
        assert versions == [pins["tensorflow-cpu"], pins["jupyterlab-rise"], "2.0.0"], versions
    finally:
        stop(server)
    served = (tmp_path / "server.log").read_text()
    wheel_get = r'"GET /wheelhouse/[^/]+/tensorflow_cpu-[^ ]+\.whl HTTP/1\.1" 200'
    assert re.search(wheel_get, served), served[-2000:]


def _build_wheelhouse(data_dir: Path, plat: str) -> dict:
    """`serve_data wheelhouse` for ``plat`` and this Python into ``data_dir/wheelhouse``; its note."""
    t0 = time.monotonic()
    built = subprocess.run(
        [sys.executable, "-m", "workshop_sections.tools.serve_data", "wheelhouse"]
        + ["--dest", str(data_dir / "wheelhouse"), "--platforms", plat, "--pythons", PY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    note = json.loads((data_dir / "wheelhouse" / plat / sd.NOTE).read_text())
    assert note["pythons"] == [PY], note
    print(
        f"\nwheelhouse {plat} Python {PY}: {note['wheels']} wheels, {note['bytes'] / 1e6:.0f} MB "
        f"in {time.monotonic() - t0:.0f} s"
    )
    return note


def _env_without_the_index(mirror: str, tmp_path: Path) -> dict:
    """This environment with WORKSHOP_DATA_MIRROR=``mirror`` and pip's index at a closed port
    (checked: pip cannot download from it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env.update(
        WORKSHOP_DATA_MIRROR=mirror,
        PIP_INDEX_URL=f"http://127.0.0.1:{_closed_port()}/simple",
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_CACHE_DIR="1",
        PIP_RETRIES="0",
        PIP_TIMEOUT="5",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp_path / "p"), "six"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode != 0, "the package index must be unreachable"
    return env


def _installed_versions(venv_python: Path) -> list[str]:
    """[tensorflow-cpu, jupyterlab-rise, tf-workshop] versions installed for ``venv_python``."""
    return subprocess.run(
        [
            str(venv_python),
            "-c",
            "import importlib.metadata as m; "
            "print(m.version('tensorflow-cpu'), m.version('jupyterlab-rise'), m.version('tf-workshop'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
