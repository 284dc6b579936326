"""One cancellation rule for every stage: a running task stops at its next progress report, and every stage
reports within seconds. Here a diarize-only task on minutes of real speech, cancelled as its embeddings run."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app.db.models import TaskStatus
from app.runtime import get_runtime
from app.schemas import DiarizeJob, TaskQuery
from app.services import tasks as task_service
from app.services.speech import run_job
from tests.corpus import sample_times

pytestmark = pytest.mark.slow


def test_a_diarize_only_task_stops_within_seconds_of_its_cancel(service_env: Path) -> None:
    runtime = get_runtime()
    four_minutes = "data:audio/wav;base64," + base64.b64encode(sample_times(8)).decode()
    finished: dict[str, Any] = {}
    running = threading.Thread(
        target=lambda: finished.update(task=run_job(runtime, DiarizeJob(file=four_minutes)))
    )
    running.start()

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        page = task_service.list_tasks(runtime, TaskQuery(status=TaskStatus.processing))
        diarizing = [t for t in page.tasks if t.stage == "diarize" and t.progress > 0]
        if diarizing:
            break
        assert running.is_alive(), "the task ended before its embeddings reported progress"
        time.sleep(0.05)
    else:
        pytest.fail("diarization reported no progress")
    reported = diarizing[0].progress

    task_service.cancel_task(runtime, diarizing[0].identifier)
    cancelled_at = time.monotonic()
    running.join(timeout=120)
    stopped_after = time.monotonic() - cancelled_at

    assert finished["task"].status == TaskStatus.cancelled
    assert reported < 0.9 and stopped_after < 10, (reported, stopped_after)
