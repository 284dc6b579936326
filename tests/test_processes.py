"""The commands the README gives start real processes that answer."""

import ast
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATA_DIR"] = str(data_dir)
    return env


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else "exited"
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def test_server_answers_health(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        response = _wait_for(f"http://127.0.0.1:{port}/health", server)
        assert response.status_code == 200
        assert response.json()["database"]["kind"] == "sqlite"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_worker_runs_the_shipped_test_input(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "handler.py", "--test_input", (ROOT / "test_input.json").read_text()],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result_line = next(line for line in completed.stdout.splitlines() if "Job result:" in line)
    result = ast.literal_eval(result_line.split("Job result:", 1)[1].strip())
    assert result["output"]["result"]["database"] == {"kind": "sqlite", "reachable": True}


def test_local_handler_report_passes(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "test_handler_local.py"],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 failed" in completed.stdout
