"""A loopback HTTP server for URL inputs, redirects and webhooks in tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.corpus import SAMPLE_WAV


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalServer:
    base: str
    port: int
    received: list[Received] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)
    gets: list[str] = field(default_factory=list)


@contextmanager
def local_server() -> Iterator[LocalServer]:
    """Serves /sample.wav, /once.wav (the sample to its first GET, then 404), redirects (/to-sample,
    /to-private), /huge, /missing, and records POSTs."""
    state: LocalServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            served_once = self.path == "/once.wav" and state.gets.count(self.path) == 0
            state.gets.append(self.path)
            if self.path == "/sample.wav" or served_once:
                body = SAMPLE_WAV.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == "/to-sample":
                self._redirect("/sample.wav")
            elif self.path == "/to-private":
                self._redirect(f"http://127.0.0.2:{state.port}/sample.wav")
            elif self.path == "/to-metadata":
                self._redirect("http://169.254.169.254/latest/meta-data/")
            elif self.path == "/huge":
                self.send_response(200)
                self.send_header("Content-Length", str(10 * 2**30))
                self.end_headers()
            else:
                self.send_response(404)
                self.end_headers()

        def do_HEAD(self) -> None:  # a callback URL is checked with HEAD before a task is queued
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append(Received(self.path, dict(self.headers), body))
            left = state.failures_left.get(self.path, 0)
            state.failures_left[self.path] = max(0, left - 1)
            self.send_response(500 if left else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as server:
        state = LocalServer(base=f"http://127.0.0.1:{server.server_port}", port=server.server_port)
        yield state


@contextmanager
def serving(
    handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0
) -> Iterator[ThreadingHTTPServer]:
    """`handler` served on `port` (a free one by default) of `host` in a background thread, until the block
    ends."""
    server = ThreadingHTTPServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
