"""whisperX-FastAPI's task routes: `/task/all` and `/task/{identifier}` answer tasks in its shape beside ours,
and `DELETE /task/{identifier}/delete` is its path for deleting one. Our other task routes are in
`app/api/routes/tasks.py`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from app.api.deps import OwnerDep, RuntimeDep
from app.api.routes import tasks as task_routes
from app.contracts.whisperx_fastapi.edge import WhisperXRoute
from app.contracts.whisperx_fastapi.schemas import TASK_TYPES_BY_NAME, TaskView, TaskViewPage, task_view
from app.db.models import TaskStatus, TaskType
from app.services import tasks
from app.task_schemas import TaskQuery

router = APIRouter(prefix="/task", tags=["tasks"], route_class=WhisperXRoute)

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
        task_type=TASK_TYPES_BY_NAME.get(task_type) or TaskType(task_type) if task_type else None,
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


@router.delete("/{identifier}/delete", response_model=task_routes.TaskDeleted, include_in_schema=False)
def delete_task(runtime: RuntimeDep, owner: OwnerDep, identifier: str) -> task_routes.TaskDeleted:
    """`DELETE /task/{identifier}`, at its path."""
    return task_routes.delete_task(runtime, owner, identifier)
