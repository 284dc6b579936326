"""Queueing a REST request as a task of the shared queue: answer with its identifier now, or with its result."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from app.db.models import ACTIVE_STATUSES
from app.errors import Model, validated
from app.process.executor import TaskExecutor
from app.runtime import Runtime
from app.schemas import RenderedJob
from app.services.render import MEDIA_TYPES, rendered_result
from app.services.speech import queue_job
from app.services.tasks import get_task, task_outcome
from app.task_schemas import TaskOut

log = logging.getLogger(__name__)
WAIT_POLL_SECONDS = 0.5


class TaskAccepted(BaseModel):
    identifier: str
    message: str


def validated_fields(schema: type[Model], fields: dict[str, Any]) -> Model:
    """The request schema shared with the worker, from form or JSON fields (absent fields left out)."""
    return validated(schema, {k: v for k, v in fields.items() if v is not None})


def enqueue(
    runtime: Runtime,
    executor: TaskExecutor,
    job: Any,
    *,
    upload: UploadFile | None = None,
    owner: str | None = None,
) -> str:
    """Record `job` as a task of `owner` in the shared queue (its upload kept until the task ends) and wake
    the executor. What the task would certainly fail with is refused before it is recorded."""
    identifier = queue_job(
        runtime,
        job,
        upload=upload.file if upload is not None else None,
        file_name=upload.filename if upload is not None else None,
        owner=owner,
    )
    executor.wake()
    return identifier


def queue_and_answer(
    runtime: Runtime,
    executor: TaskExecutor,
    job: Any,
    *,
    upload: UploadFile | None = None,
    wait: bool = False,
    owner: str | None = None,
) -> Response:
    """Queue `job`; answer with its identifier at once, or with its result when `wait`."""
    identifier = enqueue(runtime, executor, job, upload=upload, owner=owner)
    if not wait:
        return JSONResponse(TaskAccepted(identifier=identifier, message="Task queued").model_dump())
    return task_result_response(executor.wait(identifier), job)


async def outcome_while_connected(request: Request, runtime: Runtime, identifier: str) -> TaskOut:
    """The task once it has ended (whichever process runs it); a client that leaves first cancels it, as
    `tasks.cancel_task` does, and what it was told of is the cancelled task."""
    while True:
        task = await run_in_threadpool(get_task, runtime, identifier)
        if task.status not in ACTIVE_STATUSES:
            return task
        if await request.is_disconnected():
            if runtime.tasks.cancel(identifier):
                log.info("task %s cancelled: its client left", identifier)
            return await run_in_threadpool(get_task, runtime, identifier)
        await asyncio.sleep(WAIT_POLL_SECONDS)


def task_result_response(task: TaskOut, job: object) -> Response:
    """A finished task's result in the job's format. A failed task raises its error, which the app's error
    handlers answer in the shape of the route that was asked, as a refusal before queuing is answered."""
    task_outcome(task)
    if not isinstance(job, RenderedJob) or job.output_format == "json":
        return JSONResponse(task.model_dump(mode="json"))
    return PlainTextResponse(rendered_result(task, job), media_type=MEDIA_TYPES[job.output_format])
