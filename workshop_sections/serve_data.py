"""Serve the verified data cache to the room over http (``make serve-data``).

    python -m workshop_sections.serve_data [--host 127.0.0.1] [--port 8000] [--data-dir DIR]

Only files whose checksum passes are served, at the registry's relative paths (the layout
``WORKSHOP_DATA_MIRROR`` expects), so attendees fetch from the instructor's laptop instead
of the internet. The default host is 127.0.0.1 (this machine only); for the room, the
instructor passes ``--host 0.0.0.0`` explicitly (``make serve-data DATA_HOST=0.0.0.0``).
It prints the line attendees paste, e.g. ``export WORKSHOP_DATA_MIRROR=http://192.168.1.20:8000``.
Stop it with Ctrl-C.
"""
from __future__ import annotations

import argparse
import html
import shutil
import socket
import sys
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import data


def verified_files(cache: Path | None = None) -> dict[str, Path]:
    """{registry path: local file} of every cached file whose checksum passes."""
    cache = Path(cache) if cache else data.cache_dir()
    out = {}
    for ds in data.REGISTRY.values():
        for entry in ds.files:
            local = cache / entry.path
            if local.is_file() and data.check_file(local, entry)[0]:
                out[entry.path] = local
    return out


def skipped_files(cache: Path, served: dict[str, Path]) -> list[str]:
    return [e.path for ds in data.REGISTRY.values() for e in ds.files
            if (cache / e.path).exists() and e.path not in served]


class MirrorHandler(BaseHTTPRequestHandler):
    server_version = "tf-workshop-mirror/1.0"
    files: dict[str, Path] = {}
    mirror_line = ""

    def _target(self) -> Path | None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        return self.files.get(path)

    def _index(self) -> bytes:
        items = "".join(f'<li><a href="/{html.escape(p)}">{html.escape(p)}</a> ({f.stat().st_size:,} bytes)</li>'
                        for p, f in sorted(self.files.items()))
        return (f"<!doctype html><title>Workshop data mirror</title><h1>Workshop data mirror</h1>"
                f"<p>Paste into your terminal, then run <code>make data</code>:</p>"
                f"<pre>export {html.escape(self.mirror_line)}</pre><ul>{items}</ul>").encode()

    def _send(self, body_file: Path | None, head_only: bool) -> None:
        if self.path in ("/", "/index.html"):
            body = self._index()
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


def make_server(host: str, port: int, files: dict[str, Path]) -> ThreadingHTTPServer:
    handler = type("Handler", (MirrorHandler,), {"files": dict(files)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop_sections.serve_data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default 127.0.0.1; 0.0.0.0 for every interface: the room)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--data-dir", default=None, help="the cache to serve (default: data/ or WORKSHOP_DATA_DIR)")
    args = parser.parse_args(argv)
    cache = Path(args.data_dir).expanduser().resolve() if args.data_dir else data.cache_dir()
    files = verified_files(cache)
    if not files:
        print(f"error: no verified data files in {cache}: run `make data` first.", file=sys.stderr)
        return 2
    try:
        server = make_server(args.host, args.port, files)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. "
              "Pick another port with --port (make serve-data DATA_PORT=8001).", file=sys.stderr)
        return 2
    port = server.server_address[1]
    urls = [f"http://{a}:{port}" for a in room_addresses(args.host)]
    server.RequestHandlerClass.mirror_line = f"WORKSHOP_DATA_MIRROR={urls[0]}"
    total = sum(f.stat().st_size for f in files.values())
    print(f"Serving {len(files)} verified file(s), {total / 1e6:.1f} MB, from {cache} on {args.host}:{port}")
    for path in skipped_files(cache, files):
        print(f"  not served (fails its checksum): {path}")
    missing = [n for n, ds in data.REGISTRY.items() if any(e.path not in files for e in ds.files)]
    if missing:
        print(f"  not in the cache (attendees will try the internet for these): {', '.join(missing)}")
    if args.host == "127.0.0.1":
        print("  (127.0.0.1 reaches this machine only; for the room: make serve-data DATA_HOST=0.0.0.0)")
    print("Attendees paste this line into their terminal, then run `make data`:")
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


if __name__ == "__main__":
    sys.exit(main())
