"""A task's life through run_task: progress, result, error codes, cancellation, out-of-memory recovery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from app.db.models import TaskStatus, TaskType
from app.errors import NotFoundError, ServiceError
from app.ml.devices import device_failures_as_errors
from app.runtime import Runtime, get_runtime
from app.services import tasks as task_service
from app.task_schemas import TaskQuery


@pytest.fixture
def runtime(service_env: Path) -> Runtime:
    return get_runtime()


def _submit(runtime: Runtime, **extra: Any) -> str:
    return task_service.submit_task(runtime, task_type=TaskType.transcription, params={}, **extra).identifier


def test_a_task_records_progress_and_its_result(runtime: Runtime) -> None:
    identifier = _submit(runtime, file_name="a.wav")
    seen: list[tuple[float, str, Any]] = []
    decoded = [{"start": 0.0, "end": 2.5, "text": " Hello there."}]

    def work(progress: Any) -> dict[str, Any]:
        progress(0.5, "transcribe", decoded)
        running = task_service.get_task(runtime, identifier)
        assert running.progress == 0.5 and running.partial == decoded
        progress(0.7, "align")  # a stage that decodes nothing keeps what was published
        assert task_service.get_task(runtime, identifier).partial == decoded
        return {"language": "en", "segments": decoded, "audio_duration": 3.0}

    done = task_service.run_task(
        runtime, identifier, work, on_progress=lambda f, s, partial=None: seen.append((f, s, partial))
    )
    assert done.status == TaskStatus.completed
    assert done.result == {"language": "en", "segments": decoded, "audio_duration": 3.0}
    assert done.language == "en" and done.audio_duration == 3.0 and done.progress == 1.0
    assert done.partial is None  # the result holds the segments now
    assert seen == [(0.5, "transcribe", decoded), (0.7, "align", None)]


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (ServiceError("not_audio", "The file could not be decoded as audio."), "not_audio"),
        (KeyError("secret internals"), "internal_error"),
    ],
)
def test_failures_are_recorded_with_a_code_never_raised(
    runtime: Runtime, failure: Exception, code: str
) -> None:
    identifier = _submit(runtime)

    def work(_progress: Any) -> dict[str, Any]:
        raise failure

    failed = task_service.run_task(runtime, identifier, work)
    assert failed.status == TaskStatus.failed
    assert failed.error is not None and failed.error.code == code
    assert "secret internals" not in failed.error.message


def test_cancelling_a_running_task_stops_it_at_the_next_stage(runtime: Runtime) -> None:
    identifier = _submit(runtime)
    stages_run: list[str] = []

    def work(progress: Any) -> dict[str, Any]:
        for stage in ("transcribe", "align", "diarize"):
            progress(len(stages_run) / 3, stage)
            stages_run.append(stage)
            if stage == "transcribe":
                task_service.cancel_task(runtime, identifier)
        return {}

    cancelled = task_service.run_task(runtime, identifier, work)
    assert cancelled.status == TaskStatus.cancelled
    assert stages_run == ["transcribe"]
    with pytest.raises(ServiceError) as error:
        task_service.cancel_task(runtime, identifier)
    assert error.value.code == "conflict"


def test_a_cancelled_queued_task_never_runs(runtime: Runtime) -> None:
    identifier = _submit(runtime)
    task_service.cancel_task(runtime, identifier)
    ran = task_service.run_task(runtime, identifier, lambda _p: pytest.fail("must not run"))
    assert ran.status == TaskStatus.cancelled


def test_out_of_memory_fails_the_task_and_the_next_one_works(runtime: Runtime) -> None:
    def exhausted(_progress: Any) -> dict[str, Any]:
        with device_failures_as_errors("transcribe"):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    failed = task_service.run_task(runtime, _submit(runtime), exhausted)
    assert failed.status == TaskStatus.failed and failed.error.code == "out_of_memory"  # type: ignore[union-attr]
    worked = task_service.run_task(runtime, _submit(runtime), lambda _p: {"segments": []})
    assert worked.status == TaskStatus.completed


def test_lookups(runtime: Runtime) -> None:
    first, second = _submit(runtime), _submit(runtime)
    page = task_service.list_tasks(runtime, TaskQuery(page=1, page_size=1))
    assert page.total == 2 and [t.identifier for t in page.tasks] == [second]
    assert task_service.get_task(runtime, first).status == TaskStatus.queued
    task_service.delete_task(runtime, first)
    with pytest.raises(NotFoundError):
        task_service.get_task(runtime, first)
    with pytest.raises(NotFoundError):
        task_service.delete_task(runtime, first)
