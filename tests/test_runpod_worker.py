"""`python handler.py` as RunPod runs it: the SDK's own worker loop against a loopback stand-in for RunPod's queue."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.corpus import SAMPLE_WAV, sample_times
from tests.runpod_queue import RunPodQueue, runpod_queue
from tests.servers import process_env, spawned

pytestmark = pytest.mark.server  # starts a server or worker process: left out of `make check`


def worker_process(
    queue: RunPodQueue, data_dir: Path, *args: str, **env: str
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """`python handler.py` as RunPod starts it, served by `queue`; output in `process.log`."""
    return spawned(["handler.py", *args], {**process_env(data_dir), **queue.env(data_dir, **env)})


def task_row(data_dir: Path, job_id: str) -> dict[str, object]:
    engine = create_engine(f"sqlite:///{data_dir / 'tasks.db'}")
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, stage, progress, error_code FROM tasks WHERE external_job_id = :id"),
            {"id": job_id},
        ).one()
    engine.dispose()
    return dict(row._mapping)


def test_an_error_result_is_posted_with_the_debugger_on(tmp_path: Path) -> None:
    """`--rp_debugger` used to make the SDK fail on an error result (KeyError 'output') and post nothing."""
    with runpod_queue() as queue, worker_process(queue, tmp_path, "--rp_debugger"):
        queue.jobs.append({"id": "bad-1", "input": {"action": "transcribe"}})
        queue.jobs.append({"id": "bad-2", "input": {"prompt": "no such shape"}})
        queue.wait(lambda: queue.results("bad-2"), 120, "the second result")
        results = [queue.results(job)[0] for job in ("bad-1", "bad-2")]
    assert [json.loads(r["error"])["code"] for r in results] == ["invalid_input", "unknown_action"]
    assert all("rp_debugger" in r["output"] for r in results)


@pytest.mark.slow
def test_a_stopped_job_stops_within_a_stage_and_frees_the_worker(tmp_path: Path) -> None:
    audio = base64.b64encode(SAMPLE_WAV.read_bytes()).decode()
    # Six chunks, decoded one at a time: the stop comes while chunks are still to be decoded.
    long_audio = base64.b64encode(sample_times(6)).decode()
    long_job = {"action": "speech_to_text", "file": long_audio, "model_params": {"batch_size": 1}}
    next_job = {"action": "transcribe", "file": audio}
    with runpod_queue() as queue, worker_process(queue, tmp_path):
        queue.jobs += [{"id": "long-1", "input": long_job}, {"id": "next-1", "input": next_job}]

        def transcribing() -> bool:
            return any(p["stage"] == "transcribe" and p["progress"] > 0 for p in queue.progress("long-1"))

        queue.wait(transcribing, 300, "the first transcription batch")
        queue.stops.append("long-1")  # what RunPod sends when the job is cancelled or times out
        stopped_at = time.monotonic()
        queue.wait(
            lambda: task_row(tmp_path, "long-1")["status"] == "cancelled", 30, "the task to be cancelled"
        )
        queue.wait(lambda: queue.results("next-1"), 300, "the next job's result")
        next_done_after = time.monotonic() - stopped_at
        stages = [p["stage"] for p in queue.progress("long-1")]

    row = task_row(tmp_path, "long-1")
    assert row["status"] == "cancelled" and row["error_code"] == "cancelled"
    assert "diarize" not in stages and row["stage"] in ("transcribe", "align"), (stages, row)
    assert queue.results("long-1") == [], "a stopped job posts no result"
    assert "error" not in queue.results("next-1")[0], queue.results("next-1")
    # The next job (a full transcription of the same audio, a few seconds on a CPU) ran right after.
    assert next_done_after < 120, next_done_after


@pytest.mark.slow
def test_a_streaming_worker_posts_each_segment_while_the_job_runs(tmp_path: Path) -> None:
    audio = base64.b64encode(sample_times(2)).decode()
    # Ten-second chunks decoded one at a time: a segment comes out every few seconds.
    job = {"action": "transcribe", "file": audio, "model_params": {"batch_size": 1, "chunk_size": 10}}
    with runpod_queue() as queue, worker_process(queue, tmp_path, WORKER__STREAM="true"):
        queue.jobs.append({"id": "stream-1", "input": job})
        queue.wait(lambda: queue.streamed("stream-1"), 300, "the first streamed segment")
        assert queue.results("stream-1") == [], "the first segment came once the job had ended"
        queue.wait(lambda: queue.results("stream-1"), 300, "the job's result")
        streamed = queue.streamed("stream-1")
        [result] = queue.results("stream-1")

    *segments, answer = streamed
    assert result == {"output": streamed}, "/run and /runsync get every item, the answer last"
    assert answer["message"] == "transcription completed" and answer["identifier"]
    final = [{k: s[k] for k in ("start", "end", "text")} for s in answer["result"]["segments"]]
    assert len(final) >= 4 and [item["segment"] for item in segments] == final
    fractions = [item["progress"] for item in segments]
    assert fractions == sorted(fractions) and fractions[-1] <= 1.0


def test_the_fitness_check_stops_a_worker_without_models(tmp_path: Path) -> None:
    with runpod_queue() as queue:
        queue.jobs.append({"id": "never", "input": {"action": "health"}})
        with worker_process(queue, tmp_path, PRELOAD_MODELS="true", WHISPER_MODEL="no-such-model") as process:
            returncode = process.wait(timeout=180)
        log = (tmp_path / "process.log").read_text(errors="replace")
    assert returncode == 1, log[-3000:]
    assert queue.taken == [], "a worker that failed its fitness check took no job"
    assert "the configured models are not loaded" in log


def test_the_fitness_check_passes_a_ready_worker_and_fails_without_a_database(
    service_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings
    from app.ml.registry import ModelRegistry
    from app.runtime import stop_runtime
    from handler import fitness_check

    fitness_check()  # database reachable, cpu computes, models not required (PRELOAD_MODELS=false)

    monkeypatch.setenv("PRELOAD_MODELS", "true")
    monkeypatch.setattr("app.process.health.registry", ModelRegistry())  # nothing loaded in this process
    stop_runtime()
    get_settings.cache_clear()
    with pytest.raises(RuntimeError, match="the configured models are not loaded"):
        fitness_check()

    monkeypatch.setenv(
        "DATABASE_URL", "postgresql+psycopg://nobody:none@127.0.0.1:9/absent?connect_timeout=2"
    )
    stop_runtime()
    get_settings.cache_clear()
    with pytest.raises(Exception, match="(?i)connection|refused"):
        fitness_check()
