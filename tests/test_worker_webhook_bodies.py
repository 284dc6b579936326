"""A worker process that never imports a contract's package still sends that contract's webhook body: what the
contracts add to the process is registered at start by both entry points, not by an import's side effect."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpus import SAMPLE_WAV
from tests.local_http import local_server

ROOT = Path(__file__).resolve().parents[1]
WORKER = """
import json, sys
from handler import handler
job = json.loads(sys.stdin.read())
print(json.dumps(handler(job)))
"""


@pytest.mark.slow
def test_a_worker_sends_whisperx_fastapis_callback_body(tmp_path: Path) -> None:
    with local_server() as server:
        job = {
            "id": "rp-callback-1",
            "input": {
                "action": "transcribe",
                "file": "data:audio/wav;base64," + base64.b64encode(SAMPLE_WAV.read_bytes()).decode(),
                "webhook_url": f"{server.base}/callback",
                "webhook_body": "whisperx_fastapi",
            },
        }
        env = {
            **os.environ,
            "DATA_DIR": str(tmp_path),
            "PRELOAD_MODELS": "false",
            "FETCH__ALLOW_PRIVATE_HOSTS": '["127.0.0.1"]',
        }
        env.pop("DATABASE_URL", None)
        done = subprocess.run(
            [sys.executable, "-c", WORKER],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        assert "error" not in answer, answer
        (posted,) = [received for received in server.received if received.path == "/callback"]
    body = json.loads(posted.body)
    assert set(body) == {"status", "result", "metadata", "error", "identifier", "error_detail"}
    assert body["identifier"] == answer["identifier"] and body["error"] is None
