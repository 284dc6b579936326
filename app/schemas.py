"""Pydantic schemas shared by both front doors (REST routes and RunPod actions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.db.models import TaskStatus, TaskType


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class DatabaseHealth(BaseModel):
    kind: str = Field(description="`sqlite` or `postgresql`")
    reachable: bool


class HealthReport(BaseModel):
    status: str = Field(description="`ok` when every dependency answers, else `degraded`")
    version: str
    worker_id: str
    device: str
    whisper_model: str
    database: DatabaseHealth
    models_loaded: list[str] = Field(default_factory=list)


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
    result: Any | None
    error: ErrorBody | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration: float | None


class TaskQuery(BaseModel):
    """Filters and pagination for listing tasks."""

    status: TaskStatus | None = None
    task_type: TaskType | None = None
    page: int = Field(1, ge=1)
    page_size: int = Field(20, ge=1, le=200)
