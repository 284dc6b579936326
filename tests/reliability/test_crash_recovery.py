"""kill -9 of the API server and of the RunPod worker while a task runs: after a restart on the same task store,
the running task is `failed` with code `interrupted` (never stuck in `processing`), tasks still queued run, and
finished tasks are intact."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import httpx
import pytest

from app.db.models import TaskStatus
from tests.corpus import SAMPLE_WAV, normalise
from tests.reliability.helpers import (
    clip_wav,
    full_sample_uri,
    pg_database,
    runsync,
    scratch_files,
    sqlite_url,
    start,
    started,
    task_store,
    wait_until,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(300)]

LEASE = {"LEASE_SECONDS": "2"}
ACTIVE = ("queued", "processing")
# A task that finishes at once (no model to load): the "finished before the crash" task, and the proof that a
# restarted process takes new work.
COMBINE = {
    "aligned_transcript": {"segments": [{"start": 0.0, "end": 1.0, "text": "hi", "words": []}]},
    "diarization_result": [{"start": 0.0, "end": 1.0, "speaker": "SPEAKER_00"}],
}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_api_server_killed_runs_queued_tasks_after_restart(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    data_dir = tmp_path / "data"
    with contextlib.ExitStack() as stack:
        env = dict(LEASE)
        if backend == "postgresql":
            env["DATABASE_URL"] = stack.enter_context(pg_database(request.getfixturevalue("postgres_url")))
        _killed_with_running_and_queued_tasks(data_dir, env)


def _killed_with_running_and_queued_tasks(data_dir: Path, env: dict[str, str]) -> None:
    server = start("api", data_dir, **env)
    try:
        done = httpx.post(f"{server.base}/service/combine", json=COMBINE, params={"wait": "true"}, timeout=60)
        assert done.status_code == 200, done.text
        finished = done.json()
        assert finished["status"] == "completed"

        # A long task that will be running, and a short one queued behind it, when the process dies.
        running_id = httpx.post(
            f"{server.base}/speech-to-text",
            files={"file": ("sample.wav", SAMPLE_WAV.read_bytes(), "audio/wav")},
            timeout=30,
        ).json()["identifier"]
        queued_id = httpx.post(
            f"{server.base}/service/transcribe",
            files={"file": ("clip.wav", clip_wav(), "audio/wav")},
            data={"model_params": '{"language": "en"}'},
            timeout=30,
        ).json()["identifier"]
        wait_until(
            lambda: (
                httpx.get(f"{server.base}/task/{running_id}", timeout=10).json()["status"] == "processing"
            ),
            timeout=60,
            interval=0.1,
            what="the task to start",
        )
        server.kill9()
        assert server.popen.returncode == -9
    finally:
        server.stop()
    assert (data_dir / "uploads" / queued_id / "upload").is_file(), "the queued task's upload is kept"

    # While no process runs, the store still says processing: only a live process can recover it.
    with started("api", data_dir, **env) as restarted:

        def settled(identifier: str) -> dict | None:
            task = httpx.get(f"{restarted.base}/task/{identifier}", timeout=10).json()
            return task if task["status"] not in ACTIVE else None

        task = wait_until(lambda: settled(running_id), timeout=30, what="recovery of the killed task")
        assert task["status"] == "failed" and task["error_detail"]["code"] == "interrupted", task
        assert "Traceback" not in task["error"]

        queued = wait_until(lambda: settled(queued_id), timeout=120, what="the queued task to run")
        assert queued["status"] == "completed", queued
        assert "know you were there" in normalise(
            " ".join(s["text"] for s in queued["result"]["segments"])
        ), queued
        assert queued["file_name"] == "clip.wav"

        again = httpx.get(f"{restarted.base}/task/{finished['identifier']}", timeout=10).json()
        assert again["status"] == "completed"
        assert again["result"] == finished["result"], "a finished task changed across the crash"

        for status in ACTIVE:
            page = httpx.get(f"{restarted.base}/task/all", params={"status": status}, timeout=10).json()
            assert page["total"] == 0, f"{page['total']} task(s) left {status}"
        assert scratch_files(data_dir) == [], "uploads of ended tasks are swept"

        # The restarted process takes new work normally.
        after = httpx.post(
            f"{restarted.base}/service/combine", json=COMBINE, params={"wait": "true"}, timeout=60
        )
        assert after.status_code == 200 and after.json()["status"] == "completed", after.text


def test_worker_killed_mid_job_recovers_as_interrupted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = task_store(sqlite_url(data_dir))
    worker = start("worker", data_dir, **LEASE)
    try:
        done = runsync(worker, {"action": "combine", **COMBINE})
        assert done["status"] == "COMPLETED", done
        finished_id = done["output"]["identifier"]

        queued = httpx.post(
            f"{worker.base}/run",
            json={"input": {"action": "speech_to_text", "file": full_sample_uri()}},
            timeout=30,
        ).json()
        assert queued["status"] == "IN_PROGRESS", queued
        job_id = queued["id"]

        # The local RunPod API runs a /run job when its /status is asked for; ask in the background.
        def ask_status() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the worker is killed under this request
                httpx.post(f"{worker.base}/status/{job_id}", timeout=120)

        threading.Thread(target=ask_status, daemon=True).start()

        def running_task() -> str | None:
            task = store.get_by_external_id(job_id)
            return task.identifier if task is not None and task.status == TaskStatus.processing else None

        running_id = wait_until(running_task, timeout=60, interval=0.1, what="the job to start")
        worker.kill9()
        assert worker.popen.returncode == -9
    finally:
        worker.stop()

    with started("worker", data_dir, **LEASE) as restarted:

        def settled() -> dict | None:
            task = runsync(restarted, {"action": "get_task", "identifier": running_id})["output"]["result"]
            return task if task["status"] not in ACTIVE else None

        task = wait_until(settled, timeout=30, what="recovery of the killed job")
        assert task["status"] == "failed" and task["error"]["code"] == "interrupted", task

        for status in ACTIVE:
            page = runsync(restarted, {"action": "get_all_tasks", "status": status})["output"]["result"]
            assert page["total"] == 0, f"{page['total']} task(s) left {status}"

        kept = runsync(restarted, {"action": "get_task", "identifier": finished_id})["output"]["result"]
        assert kept["status"] == "completed" and kept["result"] == done["output"]["result"]

        # The restarted worker takes new work normally.
        after = runsync(restarted, {"action": "combine", **COMBINE})
        assert after["status"] == "COMPLETED", after
