"""Task routes: list, look up, cancel, delete, and fetch a result in any format."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app.api.deps import OwnerDep, RuntimeDep
from app.api.submit import task_result_response
from app.contracts.whisperx_fastapi.schemas import TASK_TYPES_BY_NAME, TaskView, TaskViewPage, task_view
from app.db.models import TaskStatus, TaskType
from app.schemas import OutputFormat, RenderedJob, SubtitleOptions, TaskOut, TaskQuery
from app.services import tasks
from app.services.render import MEDIA_TYPES

router = APIRouter(prefix="/task", tags=["tasks"])


class TaskDeleted(BaseModel):
    identifier: str
    message: str


TASK_SHAPE = (
    "whisperX-FastAPI's shape beside ours: `metadata`, `error` as text (ours is `error_detail`), `start_time`, "
    "`end_time`, its task type names, a diarization as its list of turns"
)


@router.get("/all", responses={200: {"model": TaskViewPage, "description": f"Tasks in {TASK_SHAPE}"}})
def list_tasks(
    runtime: RuntimeDep,
    owner: OwnerDep,
    status: TaskStatus | None = None,
    task_type: TaskType | Literal["combine_transcript&diarization"] | None = None,
    page: Annotated[int | None, Query(ge=1, le=1_000_000, description="1 when `page_size` is given")] = None,
    page_size: Annotated[int | None, Query(ge=1, le=200, description="20 when `page` is given")] = None,
) -> JSONResponse:
    """Tasks, newest first, filtered by status and type: every one, unless `page` or `page_size` asks for a
    page."""
    query = TaskQuery(
        status=status,
        task_type=TASK_TYPES_BY_NAME.get(task_type, task_type) if task_type else None,
        page=page or 1,
        page_size=page_size or 20,
    )
    listed = tasks.list_tasks(runtime, query, owner=owner, complete=page is None and page_size is None)
    return JSONResponse({**listed.model_dump(mode="json"), "tasks": [task_view(t) for t in listed.tasks]})


@router.get(
    "/{identifier}", responses={200: {"model": TaskView, "description": f"The task, in {TASK_SHAPE}"}}
)
def get_task(runtime: RuntimeDep, owner: OwnerDep, identifier: str) -> JSONResponse:
    """A task's status, progress, parameters, result and error."""
    return JSONResponse(task_view(tasks.get_task(runtime, identifier, owner=owner)))


@router.get(
    "/{identifier}/result",
    responses={
        200: {
            "description": "The result in the requested format",
            "content": {
                media: {"schema": {"type": "object"} if "json" in media else {"type": "string"}}
                for media in MEDIA_TYPES.values()
            },
        }
    },
)
def get_result(
    runtime: RuntimeDep,
    owner: OwnerDep,
    identifier: str,
    format: OutputFormat = "json",  # noqa: A002 - the public query parameter's name
    max_line_width: Annotated[int | None, Query(ge=10, le=1000)] = None,
    max_line_count: Annotated[int | None, Query(ge=1, le=10)] = None,
    highlight_words: bool = False,
    speaker_labels: bool = True,
    max_cue_duration: Annotated[float | None, Query(ge=1, le=600)] = None,
) -> Response:
    """A completed task's result as JSON, SRT, VTT, TXT or TSV."""
    subtitles = SubtitleOptions(
        max_line_width=max_line_width,
        max_line_count=max_line_count,
        highlight_words=highlight_words,
        speaker_labels=speaker_labels,
        max_cue_duration=max_cue_duration,
    )
    return task_result_response(
        tasks.get_task(runtime, identifier, owner=owner),
        RenderedJob(output_format=format, subtitle_options=subtitles),
    )


@router.post("/{identifier}/cancel", response_model=TaskOut)
def cancel_task(runtime: RuntimeDep, owner: OwnerDep, identifier: str) -> TaskOut:
    """Cancel a task: a queued one never runs; a running one stops at its next progress report (within seconds:
    see `tasks.cancel_task`)."""
    return tasks.cancel_task(runtime, identifier, owner=owner)


@router.delete("/{identifier}", response_model=TaskDeleted)
@router.delete("/{identifier}/delete", response_model=TaskDeleted, include_in_schema=False)
def delete_task(runtime: RuntimeDep, owner: OwnerDep, identifier: str) -> TaskDeleted:
    """Delete a task and its result."""
    tasks.delete_task(runtime, identifier, owner=owner)
    return TaskDeleted(identifier=identifier, message="Task deleted")
