"""Serve the verified data cache to the room over http (``make serve-data``).

    python -m workshop_sections.tools.serve_data [--host 127.0.0.1] [--port 8000] [--data-dir DIR]

Only files whose checksum passes are served, at the registry's relative paths (the layout
``WORKSHOP_DATA_MIRROR`` expects), so attendees fetch from the instructor's laptop instead
of the internet. The default host is 127.0.0.1 (this machine only); for the room, the
instructor passes ``--host 0.0.0.0`` explicitly (``make serve-data DATA_HOST=0.0.0.0``).
It prints the line attendees paste, e.g. ``export WORKSHOP_DATA_MIRROR=http://192.168.1.20:8000``.
Stop it with Ctrl-C.

The Python packages too (the room's wheelhouse), beside the data:

    python -m workshop_sections.tools.serve_data wheelhouse [--dest data/wheelhouse] \
        [--platforms ...] [--pythons ...]
    python -m workshop_sections.tools.serve_data pip install <pip install arguments>

``wheelhouse`` (``make wheelhouse``) downloads the pinned wheels (requirements.txt, plus pip
and setuptools for the set-up itself) for each platform attendees bring, with ``pip download
--platform/--python-version/--only-binary=:all:``, into ``<data>/wheelhouse/<platform>/`` with
a ``SHA256SUMS`` file and a ``wheelhouse.json`` note (what was downloaded, for which Pythons,
what could not be). The server then serves every wheel whose checksum passes at
``/wheelhouse/<platform>/<file>``, and ``/wheelhouse/<platform>/`` as a pip ``--find-links``
page whose links carry ``#sha256=`` (pip checks them). ``pip install`` (what ``make setup``
runs) installs from the room mirror alone when ``WORKSHOP_DATA_MIRROR`` points at one with a
wheelhouse for this machine, then from the mirror plus the package index if the mirror lacks
something, and from the index alone when there is no mirror.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import platform as _platform
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .doctor import requirements_for  # the standard library alone, like this module

ROOT = Path(__file__).resolve().parents[2]


def _data():
    """The data registry (imported on use: ``pip install`` runs in a bare venv, before numpy)."""
    from .. import data  # noqa: PLC0415 (numpy: `pip install` runs before make setup installs it)

    return data


def verified_files(cache: Path | None = None) -> dict[str, Path]:
    """{registry path: local file} of every cached file whose checksum passes."""
    data = _data()
    cache = Path(cache) if cache else data.cache_dir()
    out = {}
    for ds in data.REGISTRY.values():
        for entry in ds.files:
            local = cache / entry.path
            if local.is_file() and data.check_file(local, entry)[0]:
                out[entry.path] = local
    return out


def skipped_files(cache: Path, served: dict[str, Path]) -> list[str]:
    return [
        e.path
        for ds in _data().REGISTRY.values()
        for e in ds.files
        if (cache / e.path).exists() and e.path not in served
    ]


class MirrorHandler(BaseHTTPRequestHandler):
    server_version = "tf-workshop-mirror/1.0"
    files: dict[str, Path] = {}
    pages: dict[str, bytes] = {}  # wheelhouse/<platform>/: pip's --find-links page
    mirror_line = ""

    def _target(self) -> Path | None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        return self.files.get(path)

    def _page(self) -> bytes | None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        return self.pages.get(path) or self.pages.get(path.rstrip("/") + "/")

    def _index(self) -> bytes:
        items = "".join(
            f'<li><a href="/{html.escape(p)}">{html.escape(p)}</a> ({f.stat().st_size:,} bytes)</li>'
            for p, f in sorted(self.files.items())
        )
        return (
            f"<!doctype html><title>Workshop data mirror</title><h1>Workshop data mirror</h1>"
            f"<p>Paste into your terminal, then run <code>make data</code>:</p>"
            f"<pre>export {html.escape(self.mirror_line)}</pre><ul>{items}</ul>"
        ).encode()

    def _send(self, body_file: Path | None, head_only: bool) -> None:
        page = self._page()
        if self.path in ("/", "/index.html") or page is not None:
            body = self._index() if page is None else page
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head_only:
                self.wfile.write(body)
            return
        if body_file is None:
            self.send_error(HTTPStatus.NOT_FOUND, "not a verified file of the workshop data")
            return
        size = body_file.stat().st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if not head_only:
            with open(body_file, "rb") as f:
                try:
                    shutil.copyfileobj(f, self.wfile, 1 << 20)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the attendee cancelled

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._send(self._target(), head_only=False)

    def do_HEAD(self):  # noqa: N802
        self._send(self._target(), head_only=True)

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{self.address_string()} {fmt % args}\n")
        sys.stderr.flush()


def room_addresses(host: str) -> list[str]:
    """The addresses attendees can use: ``host`` itself, or this machine's IPv4 addresses
    (from its host name, no traffic sent) when it listens on all interfaces."""
    if host not in ("0.0.0.0", ""):
        return [host]
    found = []
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addr = info[4][0]
            if not addr.startswith("127.") and addr not in found:
                found.append(addr)
    except OSError:
        pass
    return found or [socket.gethostname()]


def make_server(
    host: str, port: int, files: dict[str, Path], pages: dict[str, bytes] | None = None
) -> ThreadingHTTPServer:
    handler = type("Handler", (MirrorHandler,), {"files": dict(files), "pages": dict(pages or {})})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


# ----------------------------------------------------------------------------- wheelhouse
# The platforms attendees bring: pip --platform tags (glibc 2.28+ on Linux: Ubuntu 20.04,
# Debian 10, RHEL 8 and newer; macOS 12+) and the TensorFlow distribution for the pin there.
# tensorflow-cpu has no macOS wheels (nor Linux aarch64 ones): the same version of
# `tensorflow` stands in there, by the rule make setup follows (PLATFORM_MACHINES below).
_LINUX = ("manylinux_2_28_{a}", "manylinux_2_27_{a}", "manylinux_2_24_{a}", "manylinux2014_{a}")
WHEEL_PLATFORMS = {
    "linux_x86_64": [t.format(a="x86_64") for t in _LINUX],
    "linux_aarch64": [t.format(a="aarch64") for t in _LINUX],
    "macos_arm64": ["macosx_12_0_arm64"],
    "macos_x86_64": ["macosx_12_0_x86_64"],
    "windows_x86_64": ["win_amd64"],
}
PYTHONS = ("3.11", "3.12", "3.13")  # the pins' Pythons: numpy 2.4.6 has no wheel for 3.10
SETUP_EXTRAS = [
    "pip",
    "setuptools>=77",
]  # make setup upgrades pip; `pip install -e .` builds with pyproject's setuptools>=77
SUMS = "SHA256SUMS"
NOTE = "wheelhouse.json"


def this_platform() -> str | None:
    """The wheelhouse folder for this machine (a key of WHEEL_PLATFORMS), None if none fits."""
    machine = _platform.machine().lower()
    arch = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}.get(machine)
    if sys.platform.startswith("linux") and arch:
        return f"linux_{arch}"
    if sys.platform == "darwin" and arch:
        return "macos_arm64" if arch == "aarch64" else "macos_x86_64"
    if sys.platform == "win32" and arch == "x86_64":
        return "windows_x86_64"
    return None


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pip_error(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("ERROR")]
    return lines[-1] if lines else (stderr.strip().splitlines() or ["pip download failed"])[-1]


def download(dest: Path, tags: list[str], python: str, requirements: list[str], pip: list[str] | None = None):
    """``pip download`` of ``requirements`` for one platform and Python into ``dest``; returns
    (exit code, pip's error line or '')."""
    pip = pip or [sys.executable, "-m", "pip"]
    cmd = [
        *pip,
        "download",
        "--quiet",
        "--only-binary=:all:",
        "--python-version",
        python,
        "--implementation",
        "cp",
        "--dest",
        str(dest),
    ]
    for tag in tags:
        cmd += ["--platform", tag]
    out = subprocess.run(cmd + requirements, capture_output=True, text=True)
    return out.returncode, ("" if out.returncode == 0 else _pip_error(out.stderr))


# (platform.system(), platform.machine()) of each wheelhouse platform: the requirements are the ones
# `make setup` installs on such a machine (doctor.requirements_for: tensorflow==X where tensorflow-cpu
# has no wheel), so what the mirror holds is what setup will ask it for.
PLATFORM_MACHINES = {
    "linux_x86_64": ("Linux", "x86_64"),
    "linux_aarch64": ("Linux", "aarch64"),
    "macos_arm64": ("Darwin", "arm64"),
    "macos_x86_64": ("Darwin", "x86_64"),
    "windows_x86_64": ("Windows", "AMD64"),
}


def build_wheelhouse(
    dest: Path,
    platforms=None,
    pythons=PYTHONS,
    requirements: Path | None = None,
    log=print,
    downloader=download,
) -> dict:
    """Download the pinned wheels per platform into ``dest/<platform>/``, write SHA256SUMS and
    wheelhouse.json there; returns {platform: note}. Each platform gets the requirements ``make
    setup`` installs there (``doctor.requirements_for``: tensorflow==X where tensorflow-cpu has no
    wheel); a platform/Python that cannot be satisfied is recorded (with pip's error) and skipped,
    the others go on."""
    req = Path(requirements or ROOT / "requirements.txt")
    notes = {}
    for plat in platforms or list(WHEEL_PLATFORMS):
        if plat not in WHEEL_PLATFORMS:
            raise ValueError(f"unknown platform {plat!r}: one of {', '.join(WHEEL_PLATFORMS)}")
        folder = Path(dest) / plat
        folder.mkdir(parents=True, exist_ok=True)
        note = _download_platform(folder, plat, pythons, platform_requirements(plat, req), log, downloader)
        wheels = sorted(folder.glob("*.whl"))
        (folder / SUMS).write_text("".join(f"{sha256(w)}  {w.name}\n" for w in wheels))
        note["wheels"] = len(wheels)
        note["bytes"] = sum(w.stat().st_size for w in wheels)
        (folder / NOTE).write_text(json.dumps(note, indent=1) + "\n")
        notes[plat] = note
    return notes


def platform_requirements(plat: str, requirements: Path) -> list[str]:
    """The requirement lines (comments dropped) ``make setup`` installs on ``plat``, plus pip and
    setuptools for the set-up itself."""
    system, machine = PLATFORM_MACHINES[plat]
    lines = [
        ln.split("#")[0].strip()
        for ln in requirements_for(False, requirements, system=system, machine=machine)
    ]
    return [ln for ln in lines if ln] + SETUP_EXTRAS


def _download_platform(folder: Path, plat: str, pythons, lines: list[str], log, downloader) -> dict:
    """Download ``lines`` for each of ``pythons`` on ``plat`` into ``folder``; the platform's note."""
    note = {
        "platform": plat,
        "pip_platforms": WHEEL_PLATFORMS[plat],
        "pythons": [],
        "missing": {},
        "tensorflow": None,
    }
    used = "tensorflow-cpu" if any(ln.startswith("tensorflow-cpu") for ln in lines) else "tensorflow"
    stand_in = (
        ""
        if used == "tensorflow-cpu"
        else " (tensorflow instead of tensorflow-cpu: no tensorflow-cpu wheel here)"
    )
    for py in pythons:
        code, err = downloader(folder, WHEEL_PLATFORMS[plat], py, lines)
        if code:
            note["missing"][py] = err
            log(f"  {plat} Python {py}: cannot be satisfied ({err})")
        else:
            note["pythons"].append(py)
            note["tensorflow"] = note["tensorflow"] or used
            log(f"  {plat} Python {py}: ok{stand_in}")
    return note


def wheelhouse_main(argv) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop_sections.tools.serve_data wheelhouse",
        description="download the pinned wheels for the room mirror",
    )
    parser.add_argument("--dest", default=None, help="default: <data dir>/wheelhouse")
    parser.add_argument(
        "--platforms", nargs="+", default=list(WHEEL_PLATFORMS), choices=list(WHEEL_PLATFORMS)
    )
    parser.add_argument("--pythons", nargs="+", default=list(PYTHONS))
    parser.add_argument("--requirements", default=str(ROOT / "requirements.txt"))
    args = parser.parse_args(argv)
    dest = Path(args.dest).expanduser().resolve() if args.dest else _data().cache_dir() / "wheelhouse"
    print(f"Downloading the pinned wheels into {dest} (Python {', '.join(args.pythons)})")
    notes = build_wheelhouse(dest, args.platforms, args.pythons, Path(args.requirements))
    print(f"{'platform':<16} {'wheels':>6} {'size':>9}  Pythons")
    for plat, n in notes.items():
        gaps = f"; missing {', '.join(n['missing'])}" if n["missing"] else ""
        tf = "" if n["tensorflow"] in (None, "tensorflow-cpu") else f"; {n['tensorflow']} for tensorflow-cpu"
        pythons = ", ".join(n["pythons"]) or "none"
        print(f"{plat:<16} {n['wheels']:>6} {n['bytes'] / 1e6:>6.0f} MB  {pythons}{gaps}{tf}")
    print("Serve it with the data: make serve-data DATA_HOST=0.0.0.0")
    return 0 if any(n["pythons"] for n in notes.values()) else 1


def served_wheelhouse(house: Path) -> tuple[dict[str, Path], dict[str, bytes], list[str]]:
    """The wheels of ``house`` whose SHA256SUMS line passes ({url path: file}), one
    --find-links page per platform ({'wheelhouse/<platform>/': html}), and lines to print."""
    files, pages, report = {}, {}, []
    if not Path(house).is_dir():
        return files, pages, report
    for folder in sorted(p for p in Path(house).iterdir() if p.is_dir()):
        sums = folder / SUMS
        if not sums.is_file():
            continue
        good, bad = {}, []
        for line in sums.read_text().splitlines():
            digest, _, name = line.partition("  ")
            wheel = folder / name
            if name and "/" not in name and wheel.is_file() and sha256(wheel) == digest:
                good[name] = digest
            elif name:
                bad.append(name)
        base = f"wheelhouse/{folder.name}/"
        if not good and not bad:
            report.append(
                f"  wheelhouse/{folder.name}/: no wheels (the pins cannot be satisfied there: "
                f"see {folder / NOTE}); those attendees use the package index"
            )
            continue
        for name in good:
            files[base + name] = folder / name
        links = "".join(
            f'<a href="{html.escape(urllib.parse.quote(n))}#sha256={d}">{html.escape(n)}</a><br>\n'
            for n, d in sorted(good.items())
        )
        pages[base] = (
            f"<!doctype html><title>Wheels for {folder.name}</title>"
            f"<h1>Wheels for {folder.name}</h1>\n{links}"
        ).encode()
        size = sum((folder / n).stat().st_size for n in good)
        report.append(
            f"  wheelhouse/{folder.name}/: {len(good)} wheel(s), {size / 1e6:.0f} MB "
            "(make setup takes them from here)"
        )
        for name in bad:
            report.append(f"  not served (fails its checksum or is missing): {base}{name}")
    return files, pages, report


def wheelhouse_source(mirror: str | None, plat: str | None = None, timeout: float = 5.0) -> str | None:
    """The --find-links location of this machine's wheels on the room mirror (a URL or a
    folder), or None when WORKSHOP_DATA_MIRROR is unset or has no wheelhouse for it."""
    plat = plat or this_platform()
    if not mirror or not plat:
        return None
    if mirror.startswith(("http://", "https://")):
        url = f"{mirror.rstrip('/')}/wheelhouse/{plat}/"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return url if b".whl" in resp.read() else None
        except (urllib.error.URLError, OSError, ValueError):
            return None
    folder = (
        Path(mirror[len("file://") :] if mirror.startswith("file://") else mirror).expanduser()
        / "wheelhouse"
        / plat
    )
    return str(folder) if folder.is_dir() and any(folder.glob("*.whl")) else None


def pip_install(args: list[str], mirror: str | None = None, run=subprocess.call) -> int:
    """``pip install ARGS`` for make setup: from the room mirror alone when it has a wheelhouse
    for this machine; when that fails (the mirror lacks something), from the mirror and the
    package index; without a mirror, from the index."""
    mirror = os.environ.get("WORKSHOP_DATA_MIRROR") if mirror is None else mirror
    pip = [sys.executable, "-m", "pip", "install"]
    source = wheelhouse_source(mirror)
    if source is None:
        return run(pip + args)
    print(f"pip: packages from the room mirror {source}", flush=True)
    code = run(pip + ["--no-index", "--find-links", source] + args)
    if code == 0:
        return 0
    print("pip: the room mirror does not hold every package; the rest from the package index", flush=True)
    return run(pip + ["--find-links", source] + args)


def _serve_parser() -> argparse.ArgumentParser:
    """The options of the server (the default command)."""
    parser = argparse.ArgumentParser(
        prog="python -m workshop_sections.tools.serve_data",
        description=__doc__.split("\n\n")[0],
        epilog="Two more commands: `serve_data wheelhouse --help` (download the pinned wheels for the "
        "room, make wheelhouse) and `serve_data pip install ARGS` (pip install from the mirror's "
        "wheelhouse when it has one, else the package index; used by make setup).",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default 127.0.0.1; 0.0.0.0 for every interface: the room)",
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument(
        "--data-dir", default=None, help="the cache to serve (default: data/ or WORKSHOP_DATA_DIR)"
    )
    parser.add_argument(
        "--wheelhouse",
        default=None,
        help="the wheelhouse to serve beside the data (default: <data dir>/wheelhouse, from make wheelhouse)",
    )
    return parser


def _print_served(host: str, port: int, cache: Path, files: dict[str, Path], wheel_report: list[str]) -> None:
    """What the server serves and what it leaves out (failed checksums, missing data sets, wheels)."""
    total = sum(f.stat().st_size for f in files.values())
    print(f"Serving {len(files)} verified file(s), {total / 1e6:.1f} MB, from {cache} on {host}:{port}")
    for path in skipped_files(cache, files):
        print(f"  not served (fails its checksum): {path}")
    missing = [n for n, ds in _data().REGISTRY.items() if any(e.path not in files for e in ds.files)]
    if missing:
        print(f"  not in the cache (attendees will try the internet for these): {', '.join(missing)}")
    for line in wheel_report:
        print(line)
    if host == "127.0.0.1":
        print("  (127.0.0.1 reaches this machine only; for the room: make serve-data DATA_HOST=0.0.0.0)")


def serve(args: argparse.Namespace) -> int:
    """Serve the verified data and wheels until Ctrl-C; 2 when there is nothing to serve or the
    port cannot be had."""
    cache = Path(args.data_dir).expanduser().resolve() if args.data_dir else _data().cache_dir()
    files = verified_files(cache)
    house = Path(args.wheelhouse).expanduser().resolve() if args.wheelhouse else cache / "wheelhouse"
    wheels, pages, wheel_report = served_wheelhouse(house)
    if not files and not wheels:
        print(f"error: no verified data files in {cache}: run `make data` first.", file=sys.stderr)
        return 2
    try:
        server = make_server(args.host, args.port, {**files, **wheels}, pages)
    except OSError as exc:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. "
            "Pick another port with --port (make serve-data DATA_PORT=8001).",
            file=sys.stderr,
        )
        return 2
    port = server.server_address[1]
    urls = [f"http://{a}:{port}" for a in room_addresses(args.host)]
    server.RequestHandlerClass.mirror_line = f"WORKSHOP_DATA_MIRROR={urls[0]}"
    _print_served(args.host, port, cache, files, wheel_report)
    print("Attendees paste this line into their terminal, then run `make setup` (packages) and `make data`:")
    for url in urls:
        print(f"export WORKSHOP_DATA_MIRROR={url}")
    print("Stop with Ctrl-C.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["wheelhouse"]:
        return wheelhouse_main(argv[1:])
    if argv[:2] == ["pip", "install"]:
        return pip_install(argv[2:])
    return serve(_serve_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
