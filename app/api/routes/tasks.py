"""Task routes: fetch a result in any format, cancel, delete. Listing and looking up tasks are whisperX-FastAPI's
routes, answered in its shape (`app/contracts/whisperx_fastapi/tasks.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from app.api.deps import OwnerDep, RuntimeDep
from app.api.submit import task_result_response
from app.errors import NotFoundError
from app.schemas import OutputFormat, RenderedJob, SubtitleOptions
from app.services import tasks
from app.services.redacted_audio import MEDIA_TYPE, redacted_audio_path
from app.services.render import MEDIA_TYPES
from app.task_schemas import TaskOut

router = APIRouter(prefix="/task", tags=["tasks"])


class TaskDeleted(BaseModel):
    identifier: str
    message: str


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


@router.get(
    "/{identifier}/redacted-audio",
    response_class=FileResponse,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "FLAC, 16 kHz mono"}},
)
def get_redacted_audio(runtime: RuntimeDep, owner: OwnerDep, identifier: str) -> FileResponse:
    """The audio of a task run with `redact_audio`, its redacted words bleeped."""
    tasks.get_task(runtime, identifier, owner=owner)  # another key's task is not found
    path = redacted_audio_path(runtime.settings, identifier)
    if not path.is_file():
        raise NotFoundError("Redacted audio of task", identifier)
    return FileResponse(path, media_type=MEDIA_TYPE, filename=f"{identifier}.flac")


@router.post("/{identifier}/cancel", response_model=TaskOut)
def cancel_task(runtime: RuntimeDep, owner: OwnerDep, identifier: str) -> TaskOut:
    """Cancel a task: a queued one never runs; a running one stops at its next progress report (within seconds:
    see `tasks.cancel_task`)."""
    return tasks.cancel_task(runtime, identifier, owner=owner)


@router.delete("/{identifier}", response_model=TaskDeleted)
def delete_task(runtime: RuntimeDep, owner: OwnerDep, identifier: str) -> TaskDeleted:
    """Delete a task and its result."""
    tasks.delete_task(runtime, identifier, owner=owner)
    return TaskDeleted(identifier=identifier, message="Task deleted")
