"""Health of the process: database reachability, device and loaded models."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import text

from app import __version__
from app.ml.devices import device_usable
from app.ml.registry import registry
from app.runtime import Runtime

log = logging.getLogger(__name__)


class DatabaseHealth(BaseModel):
    kind: str = Field(description="`sqlite` or `postgresql`")
    reachable: bool


class ModelHealth(BaseModel):
    name: str = Field(description="The model's key, as in `models_loaded`")
    loaded_at: datetime = Field(description="When it was loaded (UTC)")
    idle_seconds: float = Field(description="Seconds since a request last used it; 0 while one does")


class HealthReport(BaseModel):
    status: str = Field(description="`ok` when every dependency answers, else `degraded`")
    ready: bool = Field(
        description="The database answers and the configured models are loaded (or were, and have been unloaded "
        "for idling: they load again on demand)"
    )
    version: str
    worker_id: str
    device: str
    whisper_model: str
    database: DatabaseHealth
    models_loaded: list[str] = Field(default_factory=list)
    models: list[ModelHealth] = Field(
        default_factory=list,
        description="The models in memory: when each was loaded and how long it has idled (with "
        "`MODEL_IDLE_UNLOAD_SECONDS` set, idle ones are unloaded and load again when a request needs them)",
    )
    queue_depth: int | None = Field(
        None, description="Tasks waiting in the shared queue, plus the one this process runs"
    )


def fitness_problems(runtime: Runtime) -> list[str]:
    """What keeps this process from serving jobs: an unreachable database, missing models, a broken device."""
    report = health_report(runtime)
    problems = [] if report.database.reachable else ["the task database is unreachable"]
    if not _models_ready(runtime, report.models_loaded):
        problems.append("the configured models are not loaded")
    try:
        device_usable(report.device)
    except Exception as error:
        log.exception("device %s is not usable", report.device)
        problems.append(f"the device {report.device} is not usable ({type(error).__name__})")
    return problems


def health_report(runtime: Runtime, *, queue_depth: int | None = None) -> HealthReport:
    """Report whether the service can take work."""
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        reachable = True
    except Exception:
        log.exception("database health check failed")
        reachable = False
    loaded = registry.loaded_models()
    models = [model.name for model in loaded]
    return HealthReport(
        status="ok" if reachable else "degraded",
        ready=reachable and _models_ready(runtime, models),
        version=__version__,
        worker_id=runtime.worker_id,
        device=runtime.settings.resolved_device,
        whisper_model=runtime.settings.whisper_model,
        database=DatabaseHealth(kind=runtime.engine.dialect.name, reachable=reachable),
        models_loaded=models,
        models=[
            ModelHealth(name=model.name, loaded_at=model.loaded_at, idle_seconds=round(model.idle_seconds, 1))
            for model in loaded
        ],
        queue_depth=queue_depth,
    )


def _models_ready(runtime: Runtime, loaded: list[str]) -> bool:
    if not runtime.settings.preload_models:
        return True
    if runtime.models == "not_requested":  # loaded on first use instead of at start
        return bool(loaded)
    return runtime.models == "loaded"


def readiness(runtime: Runtime | None) -> Literal["initializing", "ready", "unhealthy"]:
    """`ready` as `/health/ready` means it; `initializing` while the process starts or loads its models."""
    if runtime is None:
        return "initializing"
    report = health_report(runtime)
    if report.ready:
        return "ready"
    return "initializing" if report.status == "ok" and runtime.models == "loading" else "unhealthy"
