"""Start the product's own processes (server, worker) on loopback for tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.runtime import stop_runtime

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The test environment for a child process: its own data dir, embedded SQLite, no model preloading."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"DATA_DIR": str(data_dir), "PRELOAD_MODELS": "false", **extra})
    return env


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            raise AssertionError(f"process exited with {process.returncode}: {output[-3000:]}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout} s")


@contextmanager
def spawned(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`python *args` until the block ends, its output in `process.log` in the data dir (a pipe nobody reads
    would fill and stall the process)."""
    log = Path(env["DATA_DIR"]) / "process.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def running(args: list[str], env: dict[str, str], ready_path: str, port: int) -> Iterator[str]:
    """Run `python *args` until the block ends; yields its base URL once `ready_path` answers."""
    with spawned(args, env) as process:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + ready_path, process, Path(env["DATA_DIR"]) / "process.log")
        yield base


@contextmanager
def api_server(data_dir: Path, **extra: str) -> Iterator[str]:
    port = free_port()
    args = ["-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
    with running(args, process_env(data_dir, **extra), "/health/live", port) as base:
        yield base


@contextmanager
def local_worker(data_dir: Path, **extra: str) -> Iterator[str]:
    port = free_port()
    args = ["handler.py", "--rp_serve_api", "--rp_api_port", str(port), "--rp_api_host", "127.0.0.1"]
    with running(args, process_env(data_dir, **extra), "/docs", port) as base:
        yield base


@contextmanager
def in_process_app(data_dir: Path, **env: str) -> Iterator[TestClient]:
    """The REST app in this process on its own data dir (embedded SQLite, no preloading), with `env` set."""
    from app.main import create_app  # building the app reads settings: only once `env` is in place

    with in_process_worker(data_dir, **env), TestClient(create_app()) as client:
        yield client


@contextmanager
def in_process_worker(data_dir: Path, **env: str) -> Iterator[Path]:
    """The service in this process on its own data dir (embedded SQLite, no preloading), with `env` set: the
    worker's `handler.handler` answers jobs on it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATA_DIR", str(data_dir))
        patch.delenv("DATABASE_URL", raising=False)
        patch.setenv("PRELOAD_MODELS", "false")
        for key, value in env.items():
            patch.setenv(key, value)
        stop_runtime()
        get_settings.cache_clear()
        try:
            yield data_dir
        finally:
            stop_runtime()
            get_settings.cache_clear()


def run_job(action: str, **fields: Any) -> dict[str, Any]:
    """The worker's answer to a job of `action` with these input fields."""
    from handler import handler

    response = handler({"input": {"action": action, **fields}})
    assert isinstance(response, dict)
    return response


def answered(response: dict[str, Any]) -> Any:
    assert "error" not in response, response
    return response["result"]


def error_of(response: dict[str, Any]) -> dict[str, Any]:
    """The error a client sees: RunPod passes `error` on as a string, here a JSON object's text."""
    return json.loads(response["error"])  # type: ignore[no-any-return]


class Caller:
    """The app as one API key's holder."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client, self.key = client, key

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)


def finished(client: httpx.Client, identifier: str, timeout: float = 600) -> dict[str, Any]:
    """A task once it has completed (polled on `/task/{id}`); it failing or outlasting `timeout` fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.get(f"/task/{identifier}").json()
        if task["status"] in ("completed", "failed"):
            assert task["status"] == "completed", task["error"]
            return task  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise AssertionError(f"task {identifier} did not finish")
