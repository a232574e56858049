"""Serve a built site folder over HTTP on loopback (the stdlib server, threads)."""

from __future__ import annotations

import contextlib
import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tooling.docs.harden import policy
from tooling.errors import DataOpsError


class QuietHandler(SimpleHTTPRequestHandler):
    """Static files, with the page's Content-Security-Policy as a header too."""

    def log_message(self, format: str, *args: object) -> None:
        return

    def end_headers(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix == ".html" and path.is_file():
            with contextlib.suppress(OSError, UnicodeDecodeError):
                self.send_header("Content-Security-Policy", policy(path.read_text("utf-8")))
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()


def make_server(directory: Path, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server for ``directory`` bound to ``host:port`` (port 0: any free port)."""
    if not (directory / "index.html").is_file():
        raise DataOpsError(f"no site at {directory} (index.html missing); run `dataops docs build`")
    handler = functools.partial(QuietHandler, directory=str(directory))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise DataOpsError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
