"""Health of the process: database reachability, device and loaded models."""

from __future__ import annotations

import logging
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


class HealthReport(BaseModel):
    status: str = Field(description="`ok` when every dependency answers, else `degraded`")
    ready: bool = Field(description="The database answers and the configured models are loaded")
    version: str
    worker_id: str
    device: str
    whisper_model: str
    database: DatabaseHealth
    models_loaded: list[str] = Field(default_factory=list)
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
    models = registry.loaded()
    return HealthReport(
        status="ok" if reachable else "degraded",
        ready=reachable and _models_ready(runtime, models),
        version=__version__,
        worker_id=runtime.worker_id,
        device=runtime.settings.resolved_device,
        whisper_model=runtime.settings.whisper_model,
        database=DatabaseHealth(kind=runtime.engine.dialect.name, reachable=reachable),
        models_loaded=models,
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
