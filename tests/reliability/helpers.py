"""Shared pieces of the reliability tests: short speech clips, killable processes, a recording HTTP server,
throwaway PostgreSQL databases, and checks that a response is a clean error."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import soundfile as sf
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db.repository import TaskRepository
from app.db.session import make_engine, make_session_factory
from tests.corpus import SAMPLE_WAV, sample_audio
from tests.local_http import serving
from tests.servers import ROOT, free_port, process_env, wait_for

SPEECH_START = 8.4
"""Where the sample's dense speech begins ("Oh, hello. I didn't know you were there ...")."""

TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', "  File ")


@cache
def clip_wav(seconds: float = 4.0, start: float = SPEECH_START) -> bytes:
    """`seconds` of real speech cut from pyannote's sample, as 16-bit WAV bytes."""
    samples = sample_audio()[int(start * 16_000) : int((start + seconds) * 16_000)]
    out = io.BytesIO()
    sf.write(out, samples, 16_000, format="WAV", subtype="PCM_16")
    return out.getvalue()


def data_uri(data: bytes, media: str = "audio/wav") -> str:
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


def full_sample_uri() -> str:
    return data_uri(SAMPLE_WAV.read_bytes())


def assert_no_traceback(text: str) -> None:
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, f"traceback text leaked: {text[:500]}"


def scratch_files(data_dir: Path) -> list[Path]:
    """What is left in `<DATA_DIR>/tmp` (the service's scratch space) and `<DATA_DIR>/uploads` (kept uploads)."""
    return sorted(path for name in ("tmp", "uploads") for path in (data_dir / name).rglob("*"))


def task_store(url: str) -> TaskRepository:
    """A repository on a task store, to read what another process wrote."""
    return TaskRepository(make_session_factory(make_engine(url)), lease_seconds=60)


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'tasks.db').resolve()}"


# --- processes that can be killed -------------------------------------------------------------------------


@dataclass
class Proc:
    """A server or worker started by a test: its Popen, base URL and combined output log."""

    popen: subprocess.Popen[bytes]
    base: str
    log: Path

    def kill9(self) -> None:
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start(kind: str, data_dir: Path, log_name: str | None = None, **env: str) -> Proc:
    """Start the API server (`kind="api"`) or the RunPod worker's local API (`kind="worker"`) and wait until it
    answers. Unlike tests.servers, the Popen is exposed, so a test can kill -9 it."""
    port = free_port()
    if kind == "api":
        args = ["-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
        ready = "/health/live"
    else:
        args = ["handler.py", "--rp_serve_api", "--rp_api_port", str(port), "--rp_api_host", "127.0.0.1"]
        ready = "/docs"
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / (log_name or f"{kind}-{uuid.uuid4().hex[:6]}.log")
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=process_env(data_dir, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + ready, popen, log, timeout=180)
    except BaseException:
        popen.kill()
        popen.wait(timeout=10)
        raise
    return Proc(popen, base, log)


@contextmanager
def started(kind: str, data_dir: Path, log_name: str | None = None, **env: str) -> Iterator[Proc]:
    proc = start(kind, data_dir, log_name, **env)
    try:
        yield proc
    finally:
        proc.stop()


def runsync(worker: Proc, job_input: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """One job through the worker's `/runsync`, as RunPod answers it."""
    response = httpx.post(f"{worker.base}/runsync", json={"input": job_input}, timeout=timeout)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def runsync_error(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["status"] == "FAILED", answer
    return json.loads(answer["error"])  # type: ignore[no-any-return]


def wait_until(predicate: Any, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached in {timeout} s")


# --- PostgreSQL -------------------------------------------------------------------------------------------


@contextmanager
def pg_database(server_url: str) -> Iterator[str]:
    """A fresh database on the test PostgreSQL server, dropped afterwards."""
    name = f"rel_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


# --- a loopback HTTP server that records every request ----------------------------------------------------


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    base: str
    host: str
    port: int
    hits: list[Hit] = field(default_factory=list)

    def gets(self) -> list[Hit]:
        return [h for h in self.hits if h.method == "GET"]

    def posts(self, path: str | None = None) -> list[Hit]:
        return [h for h in self.hits if h.method == "POST" and (path is None or h.path == path)]


@contextmanager
def recording_server(host: str = "127.0.0.1", port: int = 0) -> Iterator[Recorder]:
    """Serves `/sample.wav` and `/clip.wav`, redirects `/redirect?to=<url>`, answers POSTs with 200, and records
    every request (method, path, headers, body)."""
    state: Recorder

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def _record(self, body: bytes = b"") -> None:
            state.hits.append(Hit(self.command, self.path, dict(self.headers), body))

        def do_GET(self) -> None:
            self._record()
            parts = urlsplit(self.path)
            if parts.path in ("/sample.wav", "/clip.wav"):
                body = SAMPLE_WAV.read_bytes() if parts.path == "/sample.wav" else clip_wav()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif parts.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", parse_qs(parts.query)["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def do_POST(self) -> None:
            self._record(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler, host, port) as server:
        port = server.server_port
        state = Recorder(base=f"http://{host}:{port}", host=host, port=port)
        yield state
