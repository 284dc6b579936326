"""Queueing a REST request as a task of the shared queue: answer with its identifier now, or with its result."""

from __future__ import annotations

from typing import Any

from fastapi import UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from app.api.errors import error_response
from app.db.models import TaskStatus
from app.errors import Model, ServiceError
from app.errors import validated as validate_input
from app.runtime import Runtime
from app.schemas import TaskOut
from app.services.executor import TaskExecutor
from app.services.render import MEDIA_TYPES
from app.services.speech import queue_job as queue_task
from app.services.speech import rendered_result


class TaskAccepted(BaseModel):
    identifier: str
    message: str


def validated(schema: type[Model], fields: dict[str, Any]) -> Model:
    """The request schema shared with the worker, from form or JSON fields (absent fields left out)."""
    return validate_input(schema, {k: v for k, v in fields.items() if v is not None})


def enqueue(runtime: Runtime, executor: TaskExecutor, job: Any, *, upload: UploadFile | None = None) -> str:
    """Record `job` in the shared queue (its upload kept until the task ends) and wake the executor."""
    identifier = queue_task(
        runtime,
        job,
        upload=upload.file if upload is not None else None,
        file_name=upload.filename if upload is not None else None,
    )
    executor.wake()
    return identifier


def queue_job(
    runtime: Runtime,
    executor: TaskExecutor,
    job: Any,
    *,
    upload: UploadFile | None = None,
    wait: bool = False,
) -> Response:
    """Queue `job`; answer with its identifier at once, or with its result when `wait`."""
    identifier = enqueue(runtime, executor, job, upload=upload)
    if not wait:
        return JSONResponse(TaskAccepted(identifier=identifier, message="Task queued").model_dump())
    return task_result_response(executor.wait(identifier), job)


def task_result_response(task: TaskOut, job: Any) -> Response:
    """A finished task's result in the job's format, or its error with the error's status."""
    if task.status != TaskStatus.completed:
        if task.error is None:
            return error_response(
                ServiceError("not_ready", f"Task {task.identifier!r} is {task.status.value}.")
            )
        error = ServiceError(task.error.code, task.error.message, details={"identifier": task.identifier})
        return error_response(error)
    output_format = getattr(job, "output_format", "json")
    if output_format == "json":
        return JSONResponse(task.model_dump(mode="json"))
    return PlainTextResponse(rendered_result(task, job), media_type=MEDIA_TYPES[output_format])
