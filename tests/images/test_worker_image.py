"""The RunPod worker image, built for real with the bundled tiny.en: every request of `.runpod/tests.json` run inside
it as `python handler.py --test_input …` and held to what the Hub expects, and `/runsync` answered from outside the
container through `--rp_serve_api`."""

from __future__ import annotations

import ast
import json
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.images.conftest import DOCKER, container, image, wait_until_answered
from tests.servers import free_port
from tests.test_runpod_hub import TESTS, assert_hub_outcome, hub_request

# The image is built for a GPU; these machines have none.
ON_CPU = {"DEVICE": "cpu"}


def task_result(data_dir: Path, identifier: str) -> Any:
    with sqlite3.connect(data_dir / "tasks.db") as db:
        (result,) = db.execute("SELECT result FROM tasks WHERE identifier = ?", (identifier,)).fetchone()
    return json.loads(result)


def job_output(log: str, data_dir: Path) -> dict[str, Any]:
    """The output `--test_input` printed; RunPod's logger cuts a long one short, so then the result is read back
    from the task store in the worker's data directory."""
    printed = log.split("Job result: ", 1)[1]
    if "TRUNCATED" not in printed:
        return ast.literal_eval(printed.splitlines()[0])["output"]  # type: ignore[no-any-return]
    identifier = re.search(r"'identifier': '([0-9a-f-]{36})'", printed)
    assert identifier, printed[:500]
    return {"identifier": identifier[1], "result": task_result(data_dir, identifier[1])}


@pytest.mark.parametrize("name", [test["name"] for test in TESTS["tests"]])
def test_every_hub_request_succeeds_inside_the_image(name: str, tmp_path: Path) -> None:
    job = json.dumps({"input": hub_request(name)})
    run = [
        DOCKER,
        "run",
        "--rm",
        "--network",
        "host",
        "--env",
        "DEVICE=cpu",
        f"--volume={tmp_path}:/srv/data",
    ]
    result = subprocess.run(
        [*run, image("WORKER_IMAGE"), "python", "handler.py", "--test_input", job],
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert "worker ready" in log, log[-4000:]
    assert_hub_outcome(name, job_output(log, tmp_path))


def test_runsync_is_answered_from_outside_the_container() -> None:
    port = free_port()
    serve = [
        "python",
        "handler.py",
        "--rp_serve_api",
        "--rp_api_host",
        "127.0.0.1",
        "--rp_api_port",
        str(port),
    ]
    with container(image("WORKER_IMAGE"), *serve, env=ON_CPU) as name:
        base = f"http://127.0.0.1:{port}"
        wait_until_answered(name, f"{base}/docs", ready=None)
        response = httpx.post(f"{base}/runsync", json={"input": hub_request("speech_to_text")}, timeout=300)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "COMPLETED", response.text[:2000]
    assert_hub_outcome("speech_to_text", response.json()["output"])
