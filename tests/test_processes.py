"""The commands the README and docs/runpod.md give start real processes that answer."""

import ast
import base64
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.corpus import SAMPLE_WAV
from tests.servers import ROOT, api_server, local_worker, process_env

pytestmark = pytest.mark.server  # starts a server or worker process: left out of `make check`


def test_server_answers_health(tmp_path: Path) -> None:
    with api_server(tmp_path) as base:
        response = httpx.get(f"{base}/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["database"]["kind"] == "sqlite"


def test_worker_runs_the_shipped_test_input(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "handler.py", "--test_input", (ROOT / "test_input.json").read_text()],
        cwd=ROOT,
        env=process_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result_line = next(line for line in completed.stdout.splitlines() if "Job result:" in line)
    result = ast.literal_eval(result_line.split("Job result:", 1)[1].strip())
    assert result["output"]["result"]["database"] == {"kind": "sqlite", "reachable": True}


@pytest.mark.slow
def test_local_handler_report_passes(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "test_handler_local.py"],
        cwd=ROOT,
        env=process_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert " 0 failed" in completed.stdout
    assert "speakers=['SPEAKER_00', 'SPEAKER_01']" in completed.stdout


@pytest.mark.slow
def test_worker_serves_runsync_locally(tmp_path: Path) -> None:
    """`python handler.py --rp_serve_api`: speech_to_text through /runsync, and an error as a client sees it."""
    with local_worker(tmp_path) as base:
        audio = base64.b64encode(SAMPLE_WAV.read_bytes()).decode()
        job = {"input": {"action": "speech_to_text", "file": audio, "diarize_params": {"num_speakers": 2}}}
        response = httpx.post(f"{base}/runsync", json=job, timeout=600).json()
        assert response["status"] == "COMPLETED", response
        output = response["output"]
        assert output["identifier"] and len(output["result"]["speakers"]) == 2
        assert all(w.get("speaker") for w in output["result"]["word_segments"])

        failed = httpx.post(f"{base}/runsync", json={"input": {"action": "transcribe"}}, timeout=60).json()
        assert failed["status"] == "FAILED"
        error = json.loads(failed["error"])
        assert error["code"] == "invalid_input" and "file" in error["message"]


@pytest.mark.slow
def test_a_streaming_worker_serves_stream_locally(tmp_path: Path) -> None:
    """`WORKER__STREAM=true python handler.py --rp_serve_api`: `/run` then `/stream/{id}` gives each decoded
    segment, then the answer; `/runsync` gives the same items as one list."""
    audio = base64.b64encode(SAMPLE_WAV.read_bytes()).decode()
    job = {"action": "transcribe", "file": audio, "model_params": {"batch_size": 1, "chunk_size": 10}}
    with local_worker(tmp_path, WORKER__STREAM="true") as base:
        job_id = httpx.post(f"{base}/run", json={"input": job}, timeout=60).json()["id"]
        streamed = httpx.post(f"{base}/stream/{job_id}", timeout=600).json()
        assert streamed["status"] == "COMPLETED", streamed
        *segments, answer = [item["output"] for item in streamed["stream"]]
        assert answer["message"] == "transcription completed"
        final = [{k: s[k] for k in ("start", "end", "text")} for s in answer["result"]["segments"]]
        assert len(final) >= 3 and [item["segment"] for item in segments] == final

        health = httpx.post(f"{base}/runsync", json={"input": {"action": "health"}}, timeout=60).json()
        assert health["status"] == "COMPLETED", health
        [report] = health["output"]
        assert report["result"]["database"] == {"kind": "sqlite", "reachable": True}
