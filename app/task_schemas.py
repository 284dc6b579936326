"""Tasks as clients see them: a task, a page of them, the filters listing them and the reference to one."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.db.models import TaskStatus, TaskType
from app.ml import results
from app.schemas import ErrorBody, JobInput


class WebhookState(BaseModel):
    """Where a task's latest webhook delivery stands."""

    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None = Field(None, description="When a pending delivery is tried next")
    last_status: int | None = Field(None, description="HTTP status of the last answer")
    last_error: str | None = None
    delivered_at: datetime | None = None


class TaskOut(BaseModel):
    """A task as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    identifier: str
    status: TaskStatus
    task_type: TaskType
    params: dict[str, Any]
    file_name: str | None
    url: str | None
    language: str | None
    audio_duration: float | None
    progress: float
    stage: str | None
    partial: list[results.Caption] | None = Field(None, description="Segments decoded so far, while running")
    result: Any | None
    error: ErrorBody | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration: float | None
    webhook: WebhookState | None = None


class TaskQuery(BaseModel):
    """Filters and pagination for listing tasks."""

    model_config = ConfigDict(extra="forbid")

    status: TaskStatus | None = None
    task_type: TaskType | None = None
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=200)


class TaskPage(BaseModel):
    """A page of tasks, newest first."""

    tasks: list[TaskOut]
    total: int
    page: int
    page_size: int


class TaskRef(JobInput):
    """The task an action gets, deletes or cancels."""

    identifier: str = Field(min_length=1, max_length=64)
