"""The commands the README gives start real processes that answer."""

import ast
import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.corpus import SAMPLE_WAV

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATA_DIR"] = str(data_dir)
    env["PRELOAD_MODELS"] = "false"
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


@pytest.mark.slow
def test_worker_serves_runsync_locally(tmp_path: Path) -> None:
    """`python handler.py --rp_serve_api`: speech_to_text through /runsync, and an error as a client sees it."""
    port = _free_port()
    worker = subprocess.Popen(
        [
            sys.executable,
            "handler.py",
            "--rp_serve_api",
            "--rp_api_port",
            str(port),
            "--rp_api_host",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/docs", worker)
        audio = base64.b64encode(SAMPLE_WAV.read_bytes()).decode()
        job = {"input": {"action": "speech_to_text", "file": audio, "diarize_params": {"num_speakers": 2}}}
        response = httpx.post(f"http://127.0.0.1:{port}/runsync", json=job, timeout=600).json()
        assert response["status"] == "COMPLETED", response
        output = response["output"]
        assert output["identifier"] and len(output["result"]["speakers"]) == 2
        assert all(w.get("speaker") for w in output["result"]["word_segments"])

        bad = httpx.post(
            f"http://127.0.0.1:{port}/runsync", json={"input": {"action": "transcribe"}}, timeout=60
        )
        failed = bad.json()
        assert failed["status"] == "FAILED"
        assert failed["error"]["code"] == "invalid_input" and "file" in failed["error"]["message"]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
