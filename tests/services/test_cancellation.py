"""One cancellation rule for every stage: a running task stops at its next progress report, and every stage
reports within seconds. Each case cancels a task on minutes of real speech while it is in one stage."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app.db.models import TaskStatus
from app.runtime import Runtime, get_runtime
from app.schemas import AlignJob, DiarizeJob, JobInput, SpeechToTextJob
from app.services import tasks as task_service
from app.services.speech import run_job
from app.task_schemas import TaskOut, TaskQuery
from tests.corpus import sample_lines, sample_times

pytestmark = pytest.mark.slow

FOUR_MINUTES = "data:audio/wav;base64," + base64.b64encode(sample_times(8)).decode()


def running_in(runtime: Runtime, stage: str, thread: threading.Thread) -> TaskOut:
    """The running task once it has reported progress inside `stage`."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        page = task_service.list_tasks(runtime, TaskQuery(status=TaskStatus.processing))
        inside = [task for task in page.tasks if task.stage == stage and task.progress > 0]
        if inside:
            return inside[0]
        assert thread.is_alive(), f"the task ended before it reported progress in {stage}"
        time.sleep(0.05)
    pytest.fail(f"no progress was reported in {stage}")


def cancelled_in(runtime: Runtime, job: JobInput, stage: str) -> tuple[TaskOut, float]:
    """Run `job`, cancel it once it reports inside `stage`; the task as it ended and how long it took to stop."""
    finished: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: finished.update(task=run_job(runtime, job)))
    thread.start()
    task = running_in(runtime, stage, thread)
    task_service.cancel_task(runtime, task.identifier)
    cancelled_at = time.monotonic()
    thread.join(timeout=120)
    return finished["task"], time.monotonic() - cancelled_at


def four_minutes_transcript() -> dict[str, Any]:
    """What is said in the four minutes, line by line (sample.stm, eight times over): many short windows,
    which Whisper's aligner takes eight at a time."""
    lines = [
        {"start": start + 30.0 * repeat, "end": end + 30.0 * repeat, "text": text}
        for repeat in range(8)
        for _speaker, start, end, text in sample_lines()
    ]
    return {"language": "en", "segments": lines}


@pytest.mark.parametrize(
    ("action", "stage"),
    [
        ("diarize", "diarize"),
        ("align", "align"),
        ("speech_to_text", "transcribe"),
        ("speech_to_text", "diarize"),
    ],
)
def test_a_task_stops_within_seconds_of_its_cancel_in_every_stage(
    service_env: Path, monkeypatch: pytest.MonkeyPatch, action: str, stage: str
) -> None:
    # Diarization as a stage of its own: beside transcription it ends before alignment does on this recording.
    monkeypatch.setenv("OVERLAP_DIARIZATION", "false")
    runtime = get_runtime()
    job: JobInput
    if action == "diarize":
        job = DiarizeJob(file=FOUR_MINUTES)
    elif action == "align":
        job = AlignJob(file=FOUR_MINUTES, transcript=four_minutes_transcript())
    else:
        # One chunk a batch: transcription reports after each (with eight a batch, this recording is one batch).
        job = SpeechToTextJob(file=FOUR_MINUTES, model_params={"batch_size": 1})
    task, stopped_after = cancelled_in(runtime, job, stage)
    assert task.status == TaskStatus.cancelled
    assert task.stage == stage and task.progress < 0.95, (task.stage, task.progress)
    assert stopped_after < 10, stopped_after
