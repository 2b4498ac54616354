"""The set-up doctor: is this machine ready for the workshop? (``make doctor``)

Checks Python, TensorFlow against the pin in requirements.txt, the TensorFlow build (CPU, or
``tensorflow[and-cuda]`` from ``make setup GPU=1``) and whether it sees a GPU, the Jupyter
kernel attendees will use (started for real: its Python, TensorFlow and one op in it), the
devices TensorFlow sees,
the data cache (every data set: verified, missing or corrupt; required or optional), the
ports JupyterLab (8888) and TensorBoard (6006) use on 127.0.0.1, and free disk space.
Prints one table with what to do for each problem, and exits 1 when something would stop
the workshop (a FAIL row); warnings alone exit 0 (``--strict`` makes them fail too).

    python -m workshop_sections.tools.doctor [--strict] [--no-tensorflow]
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import platform
import queue
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# config is the standard library alone: this module runs before `make setup` installs anything
# (``--write-requirements``), so every third-party import below stays inside its function.
from .. import config

OK, WARN, FAIL = "ok", "WARN", "FAIL"
MIN_PYTHON = (3, 11)  # the pins (numpy 2.4) need 3.11
PORTS = {8888: "JupyterLab (make lab)", 6006: "TensorBoard"}
DISK_FAIL_GB = 1.0
DISK_WARN_GB = 3.0
TF_DISTS = (
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-macos",
    "tensorflow-intel",
    "tf-nightly",
    "tf-nightly-cpu",
)


@dataclass
class Check:
    name: str
    status: str  # ok, WARN or FAIL
    found: str
    todo: str = ""


# --------------------------------------------------------------------------- python
def check_python(version_info: tuple | None = None) -> Check:
    v = tuple(version_info or sys.version_info[:3])
    found = ".".join(str(x) for x in v[:3])
    if v[:2] < MIN_PYTHON:
        return Check(
            "python",
            FAIL,
            found,
            f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ is needed (3.11 recommended): "
            "conda env create -f environment.yml, or make setup PYTHON=python3.11",
        )
    if v[:2] != (3, 11):
        return Check("python", OK, found + " (3.11 is the tested version)")
    return Check("python", OK, found)


# --------------------------------------------------------------------------- tensorflow
def tf_pin(requirements: Path | None = None) -> str | None:
    """The TensorFlow version pinned in requirements.txt (tensorflow-cpu==X or tensorflow==X)."""
    req = requirements or config.find_root() / "requirements.txt"
    if not req.exists():
        return None
    for line in req.read_text().splitlines():
        m = re.match(r"^\s*(tensorflow(?:-cpu)?(?:\[[^\]]*\])?)\s*==\s*([0-9][^\s;#]*)", line)
        if m:
            return m.group(2)
    return None


def installed_tf_version() -> str | None:
    """TensorFlow's version from the installed distribution, without importing it."""
    for dist in TF_DISTS:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _parse_version(text: str) -> tuple | None:
    m = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(x or 0) for x in m.groups()) if m else None


def check_tensorflow(version: str | None, pin: str | None) -> Check:
    fix = "make setup (or: pip install -r requirements.txt)"
    if not version:
        return Check("tensorflow", FAIL, "not installed", f"install the pinned packages: {fix}")
    got, want = _parse_version(version), _parse_version(pin or "")
    if got is None:
        return Check(
            "tensorflow",
            FAIL,
            f"version {version!r} not understood",
            f"reinstall TensorFlow {pin or ''}: {fix}".replace("  ", " "),
        )
    if want is None:
        return Check(
            "tensorflow",
            WARN,
            f"{version} (no pin found in requirements.txt)",
            "run the doctor from the repository folder",
        )
    if got[:2] == want[:2]:
        if got != want:
            return Check("tensorflow", OK, f"{version} (pin {pin}; same minor version)")
        return Check("tensorflow", OK, f"{version} (pin {pin})")
    if got[:2] < want[:2]:
        return Check(
            "tensorflow",
            FAIL,
            f"{version}, older than the pin {pin}",
            f"the notebooks need TensorFlow {want[0]}.{want[1]}: {fix}",
        )
    return Check(
        "tensorflow",
        WARN,
        f"{version}, newer than the pin {pin}",
        f"probably fine (CI runs the newest weekly); to match the tested set: {fix}",
    )


# --------------------------------------------------------------------------- GPU or CPU build
CUDA_MARKERS = ("nvidia-cudnn-cu12", "nvidia-cublas-cu12", "nvidia-cuda-runtime-cu12")


def has_tensorflow_cpu_wheel(system: str | None = None, machine: str | None = None) -> bool:
    """Whether PyPI has ``tensorflow-cpu`` wheels for this platform: Linux and Windows on x86_64
    only. On macOS (arm64) and Linux aarch64 the plain ``tensorflow`` wheel is the CPU build."""
    system = (system or platform.system()).lower()
    machine = (machine or platform.machine()).lower()
    return system in ("linux", "windows") and machine in ("x86_64", "amd64")


def requirements_for(
    gpu: bool, requirements: Path | None = None, *, system: str | None = None, machine: str | None = None
) -> list[str]:
    """The lines ``make setup`` installs: requirements.txt, whose ``tensorflow-cpu==X`` becomes
    ``tensorflow[and-cuda]==X`` with GPU=1 (CUDA and cuDNN wheels from PyPI, Linux), or
    ``tensorflow==X`` where tensorflow-cpu has no wheel (macOS, Linux aarch64), at the same version.
    Raises ValueError when requirements.txt pins no tensorflow-cpu."""
    # this checkout's own file, never WORKSHOP_ROOT's: make setup in a fresh clone installs its pins
    req = requirements or Path(__file__).resolve().parents[2] / "requirements.txt"
    lines = req.read_text().splitlines()
    cpu_wheel = has_tensorflow_cpu_wheel(system, machine)
    if not gpu and cpu_wheel:
        return lines
    out, swapped = [], False
    for line in lines:
        m = re.match(r"^\s*tensorflow-cpu\s*==\s*([0-9][^\s;#]*)", line)
        if m and gpu:
            out.append(
                f"tensorflow[and-cuda]=={m.group(1)}  # GPU=1: instead of tensorflow-cpu=={m.group(1)}"
            )
            swapped = True
        elif m:
            out.append(
                f"tensorflow=={m.group(1)}  # no tensorflow-cpu wheel on this platform: the same CPU build"
            )
            swapped = True
        else:
            out.append(line)
    if not swapped:
        raise ValueError(f"{req} pins no tensorflow-cpu==X to swap for tensorflow[and-cuda] or tensorflow")
    return out


def installed_tf_build() -> tuple[str | None, bool]:
    """(the installed TensorFlow distribution, whether the CUDA wheels of tensorflow[and-cuda]
    are installed)."""
    dist = None
    for name in TF_DISTS:
        try:
            metadata.version(name)
            dist = name
            break
        except metadata.PackageNotFoundError:
            continue
    cuda = False
    for name in CUDA_MARKERS:
        try:
            metadata.version(name)
            cuda = True
        except metadata.PackageNotFoundError:
            pass
    return dist, cuda


def check_build(dist: str | None, cuda: bool, devices: list[str] | None) -> Check:
    """Which TensorFlow build is installed and whether it sees a GPU (devices as from tf_devices)."""
    if dist is None:
        return Check("tensorflow build", FAIL, "none installed", "make setup (GPU=1 for an NVIDIA GPU)")
    gpus = [d for d in (devices or []) if d.upper().startswith("GPU")]
    if dist == "tensorflow-cpu":
        found = "tensorflow-cpu (CPU only)"
        if gpus:
            return Check(
                "tensorflow build",
                WARN,
                f"{found}, but {len(gpus)} GPU(s) are there",
                "to use the GPU: make setup GPU=1 (tensorflow[and-cuda], same version)",
            )
        return Check("tensorflow build", OK, found)
    found = f"{dist}{' with CUDA wheels' if cuda else ''}"
    if devices is None:
        return Check(
            "tensorflow build", FAIL, found + ", TensorFlow could not start", "fix the tensorflow row first"
        )
    if gpus:
        return Check("tensorflow build", OK, f"{found}, sees {', '.join(gpus)}")
    if cuda:
        return Check(
            "tensorflow build",
            WARN,
            f"{found}, sees no GPU",
            "check the NVIDIA driver (nvidia-smi); or go back to the CPU build: make setup GPU=0",
        )
    return Check("tensorflow build", OK, f"{found}, sees no GPU (CPU is fine)")


# --------------------------------------------------------------------------- the notebook kernel
KERNEL_PROBE = """
import json, sys
out = {"python": sys.executable, "version": sys.version.split()[0]}
try:
    import tensorflow as tf
    out["tensorflow"] = tf.__version__
    out["sum"] = float(tf.reduce_sum(tf.ones([3])).numpy())
except BaseException as exc:
    out["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
print("WORKSHOP_KERNEL " + json.dumps(out))
"""


def probe_kernel(kernel_name: str = "python3", timeout: float = 120.0) -> dict:
    """Start the Jupyter kernel ``kernel_name`` (as JupyterLab would), import TensorFlow in it
    and run one op. Returns {"python", "version", "tensorflow", "sum"} or {"error": ...} when the
    kernel cannot start, dies, or TensorFlow fails in it. The kernel talks over IPC sockets."""
    try:
        from .notebooks import kernel_manager  # noqa: PLC0415 (jupyter_client may be missing: a row)
    except ImportError as exc:
        return {"error": f"jupyter_client is not installed ({exc})"}
    with tempfile.TemporaryDirectory(prefix="workshop-doctor-") as sockets:
        return _probe(kernel_manager(sockets, kernel_name), kernel_name, timeout)


def _one_line(text: str, limit: int) -> str:
    """The first line of ``text``, at most ``limit`` characters."""
    return (text.splitlines() or [""])[0][:limit]


def _probe(km, kernel_name: str, timeout: float) -> dict:
    try:
        km.start_kernel(stderr=open(os.devnull, "w"), stdout=open(os.devnull, "w"))
    except Exception as exc:  # noqa: BLE001 - no such kernel spec, a broken argv
        return {
            "error": _one_line(f"the kernel {kernel_name!r} did not start: {type(exc).__name__}: {exc}", 200)
        }
    kc = km.client()
    kc.start_channels()
    try:
        try:
            kc.wait_for_ready(timeout=min(timeout, 60))
        except RuntimeError as exc:
            return {"error": f"the kernel {kernel_name!r} died while starting ({_one_line(str(exc), 120)})"}
        msg_id = kc.execute(KERNEL_PROBE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not km.is_alive():
                return {
                    "error": f"the kernel {kernel_name!r} died while importing TensorFlow "
                    "(a broken wheel, or too little memory)"
                }
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            content = msg.get("content", {})
            if msg["msg_type"] == "stream" and "WORKSHOP_KERNEL " in content.get("text", ""):
                line = content["text"].split("WORKSHOP_KERNEL ", 1)[1].splitlines()[0]
                return json.loads(line)
            if msg["msg_type"] == "error":
                return {"error": f"{content.get('ename')}: {content.get('evalue')}"[:200]}
        return {"error": f"the kernel {kernel_name!r} gave no answer within {timeout:.0f} s"}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def check_kernel(result: dict, expected_python: str | None = None, kernel_name: str = "python3") -> Check:
    """The notebook kernel's row from :func:`probe_kernel`'s result: FAIL when it did not start,
    died, runs another Python than this workshop's, or cannot run TensorFlow."""
    name = f"kernel {kernel_name}"
    fix_python = (
        f"use the workshop's kernel: make lab (JupyterLab from .venv), or register it: "
        f"{expected_python or '.venv/bin/python'} -m ipykernel install --user --name {kernel_name}"
    )
    if "python" not in result:
        return Check(name, FAIL, result.get("error", "no answer"), fix_python)
    found = f"Python {result['version']} at {result['python']}"
    if expected_python and os.path.realpath(result["python"]) != os.path.realpath(expected_python):
        return Check(name, FAIL, f"{found}: not this workshop's Python ({expected_python})", fix_python)
    if "error" in result:
        return Check(
            name,
            FAIL,
            f"{found}: TensorFlow fails there: {result['error']}",
            "reinstall in that Python: make setup (a fresh .venv: rm -rf .venv && make setup)",
        )
    return Check(name, OK, f"{found}, TensorFlow {result['tensorflow']} runs")


# --------------------------------------------------------------------------- devices
def tf_devices() -> list[str]:
    config.quiet_tensorflow()
    import tensorflow as tf  # noqa: PLC0415 (only here: the doctor runs before make setup installs it)

    return [f"{d.device_type}:{d.name.rsplit(':', 1)[-1]}" for d in tf.config.list_physical_devices()]


def check_devices(devices: list[str] | None, requested: str | None = None) -> Check:
    if devices is None:
        return Check("devices", FAIL, "TensorFlow could not start", "fix the tensorflow row first")
    gpus = [d for d in devices if d.upper().startswith("GPU")]
    found = ", ".join(devices) or "none"
    try:
        chosen = config.choose_device(
            gpus, requested if requested is not None else os.environ.get("WORKSHOP_DEVICE", "auto")
        )
    except config.DeviceError as exc:
        return Check("devices", FAIL, found, str(exc))
    if not gpus:
        return Check("devices", OK, f"{found} -> {chosen} (no GPU: fine on a laptop)")
    return Check("devices", OK, f"{found} -> {chosen}")


# --------------------------------------------------------------------------- data
def check_data(
    status: Callable[[str], str] | None = None, registry: dict | None = None, mirror: str | None = None
) -> list[Check]:
    from .. import data  # noqa: PLC0415 (numpy: the doctor runs before make setup installs it)

    status = status or data.status
    registry = registry if registry is not None else data.REGISTRY
    mirror = mirror if mirror is not None else (data.mirror() or "")
    rows = []
    for name, ds in registry.items():
        try:
            state = status(name)
        except Exception as exc:  # noqa: BLE001 - a broken cache must not crash the doctor
            state = f"error ({exc})"
        label = f"data: {name}"
        kind = "required" if ds.required else "optional"
        if state == "verified":
            rows.append(Check(label, OK, f"verified ({kind})"))
            continue
        if state == "corrupt":
            todo = (
                "the cached copy fails its checksum: "
                f"python -m workshop_sections.data fetch {name} (refetches it)"
            )
        elif ds.required:
            todo = (
                "make data (in the room: paste the mirror line your instructor gives first)"
                if not mirror
                else f"make data (uses the mirror {mirror})"
            )
        elif not any(f.urls for f in ds.files):
            todo = "optional (the benchmark corpus), only from a mirror: WORKSHOP_DATA_MIRROR"
        else:
            todo = f"optional (full-size runs): python -m workshop_sections.data fetch {name}"
        if not ds.required and state == "missing":
            rows.append(Check(label, OK, f"missing ({kind})", todo))
        else:
            rows.append(
                Check(label, FAIL if ds.required or state == "corrupt" else WARN, f"{state} ({kind})", todo)
            )
    return rows


# --------------------------------------------------------------------------- ports
def port_free(port: int, host: str = "127.0.0.1") -> tuple[bool, str]:
    """(free, why not) by binding the port the way a server would."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
        return True, ""
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return False, "in use"
        return False, exc.strerror or str(exc)
    finally:
        s.close()


def check_port(port: int, host: str = "127.0.0.1", purpose: str = "") -> Check:
    free, why = port_free(port, host)
    label = f"port {port}"
    if free:
        return Check(label, OK, f"free on {host}" + (f", for {purpose}" if purpose else ""))
    if port == 8888:
        todo = (
            "a JupyterLab you started already is fine; otherwise stop what listens there "
            "(lsof -i :8888), or make lab LAB_PORT=8890"
        )
    elif port == 6006:
        todo = (
            "a TensorBoard you started already is fine; otherwise stop it (lsof -i :6006), "
            "or tensorboard --port 6007 --host 127.0.0.1"
        )
    else:
        todo = f"stop what listens on {port} (lsof -i :{port})"
    return Check(label, WARN, f"{why} on {host}" + (f", wanted by {purpose}" if purpose else ""), todo)


# --------------------------------------------------------------------------- disk
def check_disk(path: Path | None = None, free_bytes: int | None = None) -> Check:
    path = Path(path or config.find_root())
    if free_bytes is None:
        free_bytes = shutil.disk_usage(path).free
    gb = free_bytes / 1e9
    found = f"{gb:.1f} GB free at {path}"
    if gb < DISK_FAIL_GB:
        return Check(
            "disk",
            FAIL,
            found,
            f"free at least {DISK_WARN_GB:.0f} GB (data, artifacts, checkpoints): "
            "make clean removes artifacts and build/",
        )
    if gb < DISK_WARN_GB:
        return Check(
            "disk",
            WARN,
            found,
            f"{DISK_WARN_GB:.0f} GB is comfortable; make clean frees artifacts/ and build/",
        )
    return Check("disk", OK, found)


# --------------------------------------------------------------------------- all
def run_checks(
    *,
    version_info=None,
    tf_version: str | None = "auto",
    pin: str | None = "auto",
    devices: list[str] | None | str = "auto",
    data_status=None,
    registry=None,
    ports: Iterable[int] = tuple(PORTS),
    host: str = "127.0.0.1",
    disk_free: int | None = None,
    with_tensorflow: bool = True,
    build="skip",
) -> list[Check]:
    """Every check; each argument injects a value instead of asking the machine (tests)."""
    rows = [check_python(version_info)]
    version = installed_tf_version() if tf_version == "auto" else tf_version
    rows.append(check_tensorflow(version, tf_pin() if pin == "auto" else pin))
    seen: list[str] | None = None
    if devices != "auto":
        seen = devices
        rows.append(check_devices(devices))
    elif not with_tensorflow:
        seen = []
        rows.append(Check("devices", OK, "not checked (--no-tensorflow)"))
    elif not version:
        rows.append(check_devices(None))
    else:
        try:
            seen = tf_devices()
            rows.append(check_devices(seen))
        except Exception as exc:  # noqa: BLE001 - report, don't crash
            rows.append(
                Check(
                    "devices",
                    FAIL,
                    _one_line(f"import tensorflow failed: {exc}", 120),
                    "reinstall: make setup (a fresh .venv: rm -rf .venv && make setup)",
                )
            )
    if build != "skip":
        dist, cuda = installed_tf_build() if build == "auto" else build
        rows.append(check_build(dist, cuda, seen))
    rows += check_data(data_status, registry)
    rows += [check_port(p, host, PORTS.get(p, "")) for p in ports]
    rows.append(check_disk(free_bytes=disk_free))
    return rows


def render(rows: list[Check]) -> str:
    widths = [
        max(len(h), *(len(getattr(r, a)) for r in rows))
        for h, a in (("check", "name"), ("status", "status"), ("found", "found"))
    ]
    name_w, status_w, found_w = widths[0], widths[1], min(widths[2], 60)
    head = f"{'check':<{name_w}}  {'status':<{status_w}}  {'found':<{found_w}}  what to do"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.name:<{name_w}}  {r.status:<{status_w}}  {r.found:<{found_w}}  {r.todo or '-'}".rstrip()
        )
    fails = sum(r.status == FAIL for r in rows)
    warns = sum(r.status == WARN for r in rows)
    if fails:
        lines.append(
            f"\n{fails} problem(s) would stop the workshop (FAIL): do what the last column says, "
            "then run make doctor again."
        )
    elif warns:
        lines.append(f"\nReady, with {warns} warning(s) worth a look.")
    else:
        lines.append("\nAll good: you are ready for the workshop.")
    return "\n".join(lines)


def exit_code(rows: list[Check], strict: bool = False) -> int:
    bad = {FAIL, WARN} if strict else {FAIL}
    return 1 if any(r.status in bad for r in rows) else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop_sections.tools.doctor", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
    parser.add_argument(
        "--no-tensorflow", action="store_true", help="do not import TensorFlow (skips the devices row)"
    )
    parser.add_argument(
        "--write-requirements",
        metavar="FILE",
        help="write the requirements make setup installs (with --gpu: tensorflow[and-cuda]) and exit",
    )
    parser.add_argument(
        "--kernel", default="python3", help="the Jupyter kernel attendees use (default python3)"
    )
    parser.add_argument(
        "--gpu", type=int, default=0, choices=(0, 1), help="with --write-requirements: 1 for the GPU build"
    )
    args = parser.parse_args(argv)
    if args.write_requirements:
        target = Path(args.write_requirements)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_text("\n".join(requirements_for(bool(args.gpu))) + "\n")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    rows = run_checks(with_tensorflow=not args.no_tensorflow, build="auto")
    if not args.no_tensorflow:
        rows.insert(3, check_kernel(probe_kernel(args.kernel), sys.executable, args.kernel))
    print(render(rows))
    return exit_code(rows, args.strict)


if __name__ == "__main__":
    sys.exit(main())
