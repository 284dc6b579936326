"""Health routes: full report, liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.api.deps import ExecutorDep, RuntimeDep
from app.services.health import HealthReport, health_report, readiness

router = APIRouter(tags=["health"])
ping_router = APIRouter(tags=["health"])

PING_STATUS = {"ready": 200, "initializing": 204, "unhealthy": 503}


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


@ping_router.get(
    "/ping",
    response_class=Response,
    responses={
        200: {"description": "Ready", "content": {}},
        204: {"description": "Starting: the models are loading"},
        503: {"description": "Unhealthy", "content": {}},
    },
)
def ping(request: Request) -> Response:
    """RunPod load-balancing health check: 200 when ready (as `/health/ready`), 204 while starting, 503 when not."""
    runtime = getattr(request.app.state, "runtime", None)
    return Response(status_code=PING_STATUS[readiness(runtime)])
