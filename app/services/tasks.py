"""A task's life: submit, claim and run with progress, finish with a result or an error code; and lookups."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from app.db.models import Task, TaskStatus, TaskType
from app.errors import NotFoundError, ServiceError
from app.observability import metrics
from app.runtime import Runtime
from app.schemas import ErrorBody
from app.services.pipeline import Progress, Segments
from app.services.redacted_audio import remove_redacted_audio
from app.services.results import TaskResult
from app.task_schemas import TaskOut, TaskPage, TaskQuery, WebhookState

log = logging.getLogger(__name__)


class TaskCancelled(Exception):
    """Raised inside a running task when it was cancelled (or taken away); the task row already says so."""


def task_out(task: Task) -> TaskOut:
    """The client's view of a task row."""
    view = TaskOut.model_validate(task, from_attributes=True)
    if task.error_code:
        view.error = ErrorBody(code=task.error_code, message=task.error_message or "")
    return view


def submit_task(
    runtime: Runtime,
    *,
    task_type: TaskType,
    params: dict[str, Any],
    file_name: str | None = None,
    url: str | None = None,
    audio_duration: float | None = None,
    external_job_id: str | None = None,
    shared: bool = False,
    identifier: str | None = None,
    upload_path: str | None = None,
    inputs: dict[str, Any] | None = None,
    owner: str | None = None,
) -> Task:
    """Record a queued task made by the API key whose fingerprint is `owner`. By default this process runs it
    (recovered as `interrupted` if the process dies); a `shared` one has no worker and waits in the shared
    queue for any executor to claim it."""
    return runtime.tasks.create(
        task_type=task_type,
        params=params,
        file_name=file_name,
        url=url,
        audio_duration=audio_duration,
        external_job_id=external_job_id,
        worker_id=None if shared else runtime.worker_id,
        owner=owner,
        identifier=identifier,
        upload_path=upload_path,
        inputs=inputs,
    )


def task_outcome(task: TaskOut) -> Any:
    """The one path from a task to an answer: its result once completed; otherwise the error it ended with, or
    `not_ready` while it has not ended (the one fallback), raised as a `ServiceError` whose details name the task.
    Each door shapes what it gets its own way."""
    if task.status == TaskStatus.completed and task.result is not None:
        return task.result
    details = {"identifier": task.identifier}
    if task.error is not None:
        raise ServiceError(task.error.code, task.error.message, details=details)
    raise ServiceError("not_ready", f"Task {task.identifier!r} is {task.status.value}.", details=details)


def run_task(
    runtime: Runtime,
    identifier: str,
    work: Callable[[Progress], TaskResult],
    *,
    on_progress: Progress | None = None,
    claimed: bool = False,
) -> TaskOut:
    """Claim a queued task (unless this process `claimed` it already), run `work` with a progress reporter,
    and record its result or error.

    Never raises for the task's own failures: they are recorded with a stable code.
    """
    tasks, worker = runtime.tasks, runtime.worker_id
    if claimed or tasks.claim(identifier, worker_id=worker):

        def progress(fraction: float, stage: str, partial: Segments | None = None) -> None:
            if not tasks.progress(
                identifier, worker_id=worker, progress=fraction, stage=stage, partial=partial
            ):
                raise TaskCancelled(identifier)
            if on_progress is not None:
                on_progress(fraction, stage, partial)

        try:
            result = work(progress)
        except TaskCancelled:
            log.info("task %s stopped: cancelled", identifier)
        except ServiceError as error:
            tasks.fail(identifier, code=error.code, message=error.message, worker_id=worker)
        except Exception:
            log.exception("task %s failed unexpectedly", identifier)
            tasks.fail(
                identifier, code="internal_error", message="The task failed unexpectedly.", worker_id=worker
            )
        else:
            language, audio_duration = result.get("language"), result.get("audio_duration")
            tasks.complete(
                identifier,
                worker_id=worker,
                result=result,
                language=language if isinstance(language, str) else None,
                audio_duration=audio_duration if isinstance(audio_duration, float) else None,
            )
        finished = get_task(runtime, identifier)
        metrics.observe_task(finished.task_type, finished.status, finished.audio_duration)
        return finished
    return get_task(runtime, identifier)


def get_task(runtime: Runtime, identifier: str, *, owner: str | None = None) -> TaskOut:
    """A task with the state of its latest webhook delivery; another owner's task is not found (its
    existence is not revealed)."""
    task = runtime.tasks.get(identifier, owner=owner)
    if task is None:
        raise NotFoundError("Task", identifier)
    view = task_out(task)
    delivery = runtime.deliveries.latest_for(identifier)
    if delivery is not None:
        view.webhook = WebhookState.model_validate(delivery, from_attributes=True)
    return view


def list_tasks(
    runtime: Runtime, query: TaskQuery, *, owner: str | None = None, complete: bool = False
) -> TaskPage:
    """A page of tasks, newest first; every task matching the filters when `complete`."""
    page, total = runtime.tasks.list(
        owner=owner,
        status=query.status,
        task_type=query.task_type,
        limit=None if complete else query.page_size,
        offset=0 if complete else (query.page - 1) * query.page_size,
    )
    return TaskPage(
        tasks=[task_out(t) for t in page],
        total=total,
        page=1 if complete else query.page,
        page_size=max(total, 1) if complete else query.page_size,
    )


def delete_task(runtime: Runtime, identifier: str, *, owner: str | None = None) -> None:
    if not runtime.tasks.delete(identifier, owner=owner):
        raise NotFoundError("Task", identifier)
    remove_redacted_audio(runtime.settings, identifier)


def cancel_task(runtime: Runtime, identifier: str, *, owner: str | None = None) -> TaskOut:
    """Cancel a queued task (it never runs) or a running one. The one cancellation rule: a running task stops at
    its next progress report, which every stage makes within seconds: after each batch of decoded chunks while
    transcribing, after each batch of windows Whisper aligns, after each batch of speaker embeddings while
    diarizing (every second while the full pipeline waits for diarization beside it), and as each stage
    starts. wav2vec2's alignment (a GPU stage of seconds) reports only as it starts and ends."""
    if not runtime.tasks.cancel(identifier, owner=owner):
        task = get_task(runtime, identifier, owner=owner)
        raise ServiceError("conflict", f"Task {identifier!r} is already {task.status.value}.")
    return get_task(runtime, identifier, owner=owner)


def cancel_job_tasks(runtime: Runtime, external_job_ids: list[str]) -> list[str]:
    """Cancel the unfinished tasks recorded under these job ids (RunPod stopped the job). Returns their ids."""
    found = (runtime.tasks.get_by_external_id(job_id) for job_id in external_job_ids)
    cancelled = [
        task.identifier for task in found if task is not None and runtime.tasks.cancel(task.identifier)
    ]
    if cancelled:
        log.info("job %s stopped: cancelled %s", external_job_ids[0], ", ".join(cancelled))
    return cancelled
