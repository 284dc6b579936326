"""Health routes: full report, liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ExecutorDep, RuntimeDep
from app.schemas import HealthReport
from app.services.health import health_report

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthReport)
def health(runtime: RuntimeDep, executor: ExecutorDep) -> HealthReport:
    """Database, device, loaded models and queue depth."""
    return health_report(runtime, queue_depth=executor.depth)


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/health/ready", response_model=HealthReport, responses={503: {"model": HealthReport}})
def ready(runtime: RuntimeDep, executor: ExecutorDep) -> JSONResponse:
    """Ready to take work: the database answers and the configured models are loaded."""
    report = health_report(runtime, queue_depth=executor.depth)
    return JSONResponse(report.model_dump(mode="json"), status_code=200 if report.ready else 503)
