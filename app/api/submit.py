"""Queueing a REST request as a task: keep the upload until the task has run, answer now or on completion."""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from fastapi import UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from app.api.errors import error_response
from app.audio.decode import decode_audio, probe_audio
from app.audio.fetch import check_url
from app.audio.sources import is_url
from app.db.models import TaskStatus
from app.errors import Model, ServiceError
from app.errors import validated as validate_input
from app.runtime import Runtime
from app.schemas import AudioJob, TaskOut
from app.services.executor import TaskExecutor
from app.services.render import MEDIA_TYPES
from app.services.speech import prepare_job, rendered_result
from app.services.webhooks import notify_task


class TaskAccepted(BaseModel):
    identifier: str
    message: str


def validated(schema: type[Model], fields: dict[str, Any]) -> Model:
    """The request schema shared with the worker, from form or JSON fields (absent fields left out)."""
    return validate_input(schema, {k: v for k, v in fields.items() if v is not None})


def _keep_upload(runtime: Runtime, upload: UploadFile) -> Path:
    root = runtime.settings.data_dir / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=root))
    with (folder / "upload").open("wb") as out:
        shutil.copyfileobj(upload.file, out, 1 << 20)
    return folder


def enqueue(
    runtime: Runtime,
    executor: TaskExecutor,
    job: Any,
    *,
    upload: UploadFile | None = None,
    owner: str | None = None,
) -> tuple[str, Future[TaskOut]]:
    """Record `job` as a task of `owner` and queue it; the future gives the finished task.

    What the task would certainly fail with is refused first, and then no task is recorded: an upload that is
    empty, not audio or declared too long (from its header), a URL the downloader would refuse."""
    folder = _keep_upload(runtime, upload) if upload is not None else None
    try:
        load = None
        if folder is not None:
            path, limit = folder / "upload", runtime.settings.limits.max_audio_seconds
            probe_audio(path, max_seconds=limit)
            load = lambda: decode_audio(path, max_seconds=limit)  # noqa: E731
        elif isinstance(job, AudioJob) and job.source and is_url(job.source):
            check_url(job.source, runtime.settings.fetch)
        prepared = prepare_job(
            runtime, job, load_audio=load, file_name=upload.filename if upload else None, owner=owner
        )
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise

    def run() -> TaskOut:
        try:
            task = prepared.run()
        finally:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        notify_task(runtime.settings, task, job.webhook_url)
        return task

    try:
        future = executor.submit(run)
    except ServiceError as error:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        runtime.tasks.fail(prepared.identifier, code=error.code, message=error.message)
        raise
    return prepared.identifier, future


def queue_job(
    runtime: Runtime,
    executor: TaskExecutor,
    job: Any,
    *,
    upload: UploadFile | None = None,
    wait: bool = False,
    owner: str | None = None,
) -> Response:
    """Queue `job`; answer with its identifier at once, or with its result when `wait`."""
    identifier, future = enqueue(runtime, executor, job, upload=upload, owner=owner)
    if not wait:
        return JSONResponse(TaskAccepted(identifier=identifier, message="Task queued").model_dump())
    return task_result_response(future.result(), job)


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
