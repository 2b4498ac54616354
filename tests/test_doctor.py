"""The set-up doctor: each check on injected good and bad states, the table, the exit code."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from workshop_sections import data
from workshop_sections.tools import doctor

ROOT = Path(__file__).resolve().parents[1]


def statuses(**overrides):
    return lambda name: overrides.get(name, "verified")


def quiet_run(**kw):
    base = dict(
        version_info=(3, 11, 7),
        tf_version="2.21.0",
        pin="2.21.0",
        devices=["CPU:0"],
        data_status=statuses(),
        ports=(),
        disk_free=50 * 10**9,
    )
    base.update(kw)
    return doctor.run_checks(**base)


def row(rows, name):
    return next(r for r in rows if r.name == name)


def test_all_good_exits_zero():
    rows = quiet_run()
    assert doctor.exit_code(rows) == 0
    assert "All good" in doctor.render(rows)


@pytest.mark.parametrize(
    "version, status, words",
    [
        ("2.21.0", "ok", "pin 2.21.0"),
        ("2.21.3", "ok", "same minor"),
        ("2.15.1", "FAIL", "older than the pin"),
        ("1.15.0", "FAIL", "older than the pin"),
        ("2.22.0", "WARN", "newer than the pin"),
        ("banana", "FAIL", "not understood"),
        (None, "FAIL", "not installed"),
    ],
)
def test_tensorflow_version_against_the_pin(version, status, words):
    rows = quiet_run(tf_version=version, devices=["CPU:0"] if version else None)
    r = row(rows, "tensorflow")
    assert r.status == status and words in r.found
    if status == "FAIL":
        assert "make setup" in r.todo
        assert doctor.exit_code(rows) == 1


def test_pin_is_read_from_requirements(tmp_path):
    assert doctor.tf_pin(ROOT / "requirements.txt").startswith("2.21")
    req = tmp_path / "requirements.txt"
    req.write_text("numpy==2.0\ntensorflow[and-cuda]==2.19.1  # gpu\n")
    assert doctor.tf_pin(req) == "2.19.1"


def test_old_python_fails():
    r = doctor.check_python((3, 8, 10))
    assert r.status == "FAIL" and "3.11" in r.todo
    assert doctor.check_python((3, 10, 12)).status == "FAIL", "numpy 2.4 (pinned) has no Python 3.10 wheel"


def test_gpu_requested_but_absent_fails(monkeypatch):
    monkeypatch.setenv("WORKSHOP_DEVICE", "gpu")
    r = row(quiet_run(devices=["CPU:0"]), "devices")
    assert r.status == "FAIL" and "sees none" in r.todo
    monkeypatch.setenv("WORKSHOP_DEVICE", "auto")
    assert row(quiet_run(devices=["CPU:0", "GPU:0"]), "devices").found.endswith("/GPU:0")


def test_missing_and_corrupt_data(tmp_path, monkeypatch):
    rows = quiet_run(data_status=statuses(mnist="missing", questions_words="corrupt", text8="missing"))
    assert row(rows, "data: mnist").status == "FAIL" and "make data" in row(rows, "data: mnist").todo
    corrupt = row(rows, "data: questions_words")
    assert corrupt.status == "FAIL" and "fetch questions_words" in corrupt.todo
    text8 = row(rows, "data: text8")
    assert text8.status == "ok" and "optional" in text8.found
    assert doctor.exit_code(rows) == 1
    table = doctor.render(rows)
    assert "would stop the workshop" in table and "make data" in table


def test_real_data_status_on_an_empty_cache(tmp_path, monkeypatch):
    # no injection: the real data.status on a temp cache holding one corrupt file
    monkeypatch.setenv("WORKSHOP_DATA_DIR", str(tmp_path))
    (tmp_path / "questions-words.txt").write_text("not the analogies\n")
    rows = doctor.check_data(mirror="")
    assert row(rows, "data: mnist").found == "missing (required)"
    assert row(rows, "data: questions_words").found == "corrupt (required)"
    assert data.status("questions_words") == "corrupt"


def test_port_taken_by_a_real_listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        r = doctor.check_port(port)
        assert r.status == "WARN" and "in use" in r.found
        rows = quiet_run(ports=(port,))
        assert doctor.exit_code(rows) == 0 and doctor.exit_code(rows, strict=True) == 1
    finally:
        s.close()
    assert doctor.check_port(port).status == "ok"


def test_port_8888_advice_names_the_lab_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 8888))
    except OSError:
        pytest.skip("8888 is busy on this machine already")
    s.listen(1)
    try:
        r = doctor.check_port(8888, purpose="JupyterLab")
        assert r.status == "WARN" and "LAB_PORT" in r.todo
    finally:
        s.close()


def test_low_disk():
    assert doctor.check_disk(free_bytes=int(0.5e9)).status == "FAIL"
    assert doctor.check_disk(free_bytes=int(2e9)).status == "WARN"
    assert doctor.check_disk(free_bytes=int(20e9)).status == "ok"


def test_command_line_prints_one_table(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "WORKSHOP_DATA_DIR": str(tmp_path), "WORKSHOP_DATA_MIRROR": ""}
    out = subprocess.run(
        [sys.executable, "-m", "workshop_sections.tools.doctor", "--no-tensorflow"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1, out.stdout + out.stderr  # the empty cache misses required data
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["check", "status", "found", "what"]
    assert any(ln.startswith("data: mnist") and "FAIL" in ln for ln in lines)


# --------------------------------------------------------------------------- GPU switch (make setup GPU=1)
def test_gpu_switch_installs_tensorflow_and_cuda_at_the_pinned_version(tmp_path, make_dry_run):
    pin = doctor.tf_pin(ROOT / "requirements.txt")
    gpu = doctor.requirements_for(True)
    cpu = doctor.requirements_for(False)
    assert cpu == (ROOT / "requirements.txt").read_text().splitlines()
    assert any(line.startswith(f"tensorflow[and-cuda]=={pin}") for line in gpu)
    assert not any(line.startswith("tensorflow-cpu") for line in gpu)
    assert len(gpu) == len(cpu), "only the TensorFlow line changes"
    # the pip command lines make runs (dry run: nothing is installed)
    out = make_dry_run("setup", "GPU=1", f"VENV={tmp_path / 'venv'}")
    assert f"--write-requirements {tmp_path / 'venv'}/requirements-gpu1.txt --gpu 1" in out
    assert "pip uninstall --quiet -y tensorflow-cpu" in out
    assert f"pip install --quiet -r {tmp_path / 'venv'}/requirements-gpu1.txt" in out
    target = tmp_path / "req.txt"
    assert doctor.main(["--write-requirements", str(target), "--gpu", "1"]) == 0
    assert f"tensorflow[and-cuda]=={pin}" in target.read_text()
    out0 = make_dry_run("setup", "GPU=0", f"VENV={tmp_path / 'venv'}")
    assert "requirements-gpu0.txt --gpu 0" in out0 and "uninstall --quiet -y tensorflow " in out0


@pytest.mark.parametrize(
    "system, machine, wanted",
    [
        ("Linux", "x86_64", "tensorflow-cpu=="),
        ("Windows", "AMD64", "tensorflow-cpu=="),
        ("Darwin", "arm64", "tensorflow=="),
        ("Linux", "aarch64", "tensorflow=="),
    ],
)
def test_cpu_build_is_tensorflow_where_tensorflow_cpu_has_no_wheel(system, machine, wanted):
    pin = doctor.tf_pin(ROOT / "requirements.txt")
    lines = doctor.requirements_for(False, system=system, machine=machine)
    assert any(line.startswith(f"{wanted}{pin}") for line in lines)
    assert sum(line.startswith("tensorflow") and "==" in line for line in lines) == 1


def test_gpu_switch_without_a_cpu_pin_is_a_clear_error(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("numpy==2.0.0\n")
    with pytest.raises(ValueError, match="pins no tensorflow-cpu"):
        doctor.requirements_for(True, req)


@pytest.mark.parametrize(
    "dist, cuda, devices, status, words",
    [
        ("tensorflow-cpu", False, ["CPU:0"], "ok", "CPU only"),
        ("tensorflow-cpu", False, ["CPU:0", "GPU:0"], "WARN", "make setup GPU=1"),
        ("tensorflow", True, ["CPU:0", "GPU:0"], "ok", "sees GPU:0"),
        ("tensorflow", True, ["CPU:0"], "WARN", "nvidia-smi"),
        ("tensorflow", True, None, "FAIL", "could not start"),
        (None, False, None, "FAIL", "none installed"),
    ],
)
def test_build_row_says_which_tensorflow_and_whether_it_sees_a_gpu(dist, cuda, devices, status, words):
    rows = quiet_run(devices=devices if devices is not None else ["CPU:0"], build=(dist, cuda))
    r = row(rows, "tensorflow build")
    if devices is None:
        r = doctor.check_build(dist, cuda, None)
    assert r.status == status and words in (r.found + " " + r.todo)


# --------------------------------------------------------------------------- the notebook kernel
def _kernel_spec(tmp_path, name, argv):
    spec = tmp_path / "jupyter" / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        __import__("json").dumps({"argv": argv, "display_name": name, "language": "python"})
    )
    return tmp_path / "jupyter"


def test_kernel_without_tensorflow_is_a_fail_row_that_says_what_to_do(tmp_path, monkeypatch):
    no_tf = (
        "import sys; sys.modules['tensorflow'] = None; "
        "from ipykernel import kernelapp; kernelapp.launch_new_instance()"
    )
    monkeypatch.setenv(
        "JUPYTER_PATH",
        str(_kernel_spec(tmp_path, "notf", [sys.executable, "-c", no_tf, "-f", "{connection_file}"])),
    )
    result = doctor.probe_kernel("notf", timeout=60)
    assert result["python"] == sys.executable and "tensorflow" not in result, result
    r = doctor.check_kernel(result, sys.executable, "notf")
    assert r.status == "FAIL" and "TensorFlow fails there" in r.found and "make setup" in r.todo
    # the same kernel seen from another Python's doctor: the wrong interpreter is named
    other = doctor.check_kernel(result, "/opt/other/bin/python", "notf")
    assert (
        other.status == "FAIL"
        and "not this workshop's Python" in other.found
        and "ipykernel install" in other.todo
    )


def test_kernel_that_dies_is_a_fail_row(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "JUPYTER_PATH",
        str(
            _kernel_spec(
                tmp_path, "dies", [sys.executable, "-c", "raise SystemExit(3)", "-f", "{connection_file}"]
            )
        ),
    )
    r = doctor.check_kernel(doctor.probe_kernel("dies", timeout=20), sys.executable, "dies")
    assert r.status == "FAIL" and "died" in r.found
    r = doctor.check_kernel(
        doctor.probe_kernel("no-such-kernel", timeout=5), sys.executable, "no-such-kernel"
    )
    assert r.status == "FAIL" and "did not start" in r.found


def test_kernel_row_on_a_good_answer():
    good = {"python": sys.executable, "version": "3.11.7", "tensorflow": "2.21.0", "sum": 3.0}
    r = doctor.check_kernel(good, sys.executable)
    assert r.status == "ok" and "TensorFlow 2.21.0 runs" in r.found
