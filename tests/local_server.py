"""A tiny HTTP server on 127.0.0.1 for tests that exercise real download code offline.

Usage::

    with serve_folder(tmp_path / "www") as base_url:   # e.g. "http://127.0.0.1:40123/"
        ...  # point the real loader at base_url + "path/inside/www"

Files are served read-only from the folder, in a background thread; every request is
recorded in ``server.requests`` (paths), so a test can assert that a download really went
through the server.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        super().do_GET()

    def do_HEAD(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        super().do_HEAD()


class LocalServer(http.server.ThreadingHTTPServer):
    requests: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


@contextlib.contextmanager
def serve_folder(folder: str | Path) -> Iterator[LocalServer]:
    """Serve ``folder`` on a free port of 127.0.0.1 until the block ends; yields the server
    (``server.url`` is its base URL, ``server.requests`` the paths asked for)."""
    handler = functools.partial(_Handler, directory=str(folder))
    server = LocalServer(("127.0.0.1", 0), handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
