"""A task's life: submit, claim and run with progress, finish with a result or an error code; and lookups."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from app.db.models import Task, TaskType
from app.errors import NotFoundError, ServiceError
from app.runtime import Runtime
from app.schemas import ErrorBody, TaskOut, TaskQuery
from app.services.pipeline import Progress

log = logging.getLogger(__name__)


class TaskCancelled(Exception):
    """Raised inside a running task when it was cancelled (or taken away); the task row already says so."""


class TaskPage(BaseModel):
    tasks: list[TaskOut]
    total: int
    page: int
    page_size: int


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
    owner: str | None = None,
) -> Task:
    """Record a queued task run by this process (recovered as `interrupted` if the process dies), made by the
    API key whose fingerprint is `owner`."""
    return runtime.tasks.create(
        task_type=task_type,
        params=params,
        file_name=file_name,
        url=url,
        audio_duration=audio_duration,
        external_job_id=external_job_id,
        worker_id=runtime.worker_id,
        owner=owner,
    )


def run_task(
    runtime: Runtime,
    identifier: str,
    work: Callable[[Progress], dict[str, Any]],
    *,
    on_progress: Progress | None = None,
) -> TaskOut:
    """Claim a queued task, run `work` with a progress reporter, and record its result or error.

    Never raises for the task's own failures: they are recorded with a stable code.
    """
    tasks, worker = runtime.tasks, runtime.worker_id
    if tasks.claim(identifier, worker_id=worker):

        def progress(fraction: float, stage: str) -> None:
            if not tasks.progress(identifier, worker_id=worker, progress=fraction, stage=stage):
                raise TaskCancelled(identifier)
            if on_progress is not None:
                on_progress(fraction, stage)

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
            tasks.complete(
                identifier,
                worker_id=worker,
                result=result,
                language=result.get("language"),
                audio_duration=result.get("audio_duration"),
            )
    return get_task(runtime, identifier)


def get_task(runtime: Runtime, identifier: str, *, owner: str | None = None) -> TaskOut:
    """A task by its identifier; another owner's task is not found (its existence is not revealed)."""
    task = runtime.tasks.get(identifier, owner=owner)
    if task is None:
        raise NotFoundError("Task", identifier)
    return task_out(task)


def list_tasks(runtime: Runtime, query: TaskQuery, *, owner: str | None = None) -> TaskPage:
    page, total = runtime.tasks.list(
        owner=owner,
        status=query.status,
        task_type=query.task_type,
        limit=query.page_size,
        offset=(query.page - 1) * query.page_size,
    )
    return TaskPage(
        tasks=[task_out(t) for t in page], total=total, page=query.page, page_size=query.page_size
    )


def delete_task(runtime: Runtime, identifier: str, *, owner: str | None = None) -> None:
    if not runtime.tasks.delete(identifier, owner=owner):
        raise NotFoundError("Task", identifier)


def cancel_task(runtime: Runtime, identifier: str, *, owner: str | None = None) -> TaskOut:
    """Cancel a queued task (it never runs) or a running one (it stops at its next progress report)."""
    if not runtime.tasks.cancel(identifier, owner=owner):
        task = get_task(runtime, identifier, owner=owner)
        raise ServiceError("conflict", f"Task {identifier!r} is already {task.status.value}.")
    return get_task(runtime, identifier, owner=owner)
