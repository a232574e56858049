"""Serve a built site folder over HTTP on loopback (the stdlib server, threads)."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tooling.errors import DataOpsError


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


def make_server(directory: Path, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server for ``directory`` bound to ``host:port`` (port 0: any free port)."""
    if not (directory / "index.html").is_file():
        raise DataOpsError(f"no site at {directory} (index.html missing); run `dataops docs build`")
    handler = functools.partial(QuietHandler, directory=str(directory))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise DataOpsError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
