"""Health routes: full report, liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.api.deps import ExecutorDep, RuntimeDep
from app.contracts.whisperx_fastapi.edge import HealthBody, ReadyBody, health_body, live_body, ready_body
from app.process.health import health_report, readiness

router = APIRouter(tags=["health"])
ping_router = APIRouter(tags=["health"])

PING_STATUS = {"ready": 200, "initializing": 204, "unhealthy": 503}


@router.get("/health", responses={200: {"model": HealthBody}})
def health(runtime: RuntimeDep, executor: ExecutorDep) -> JSONResponse:
    """Database, device, loaded models and queue depth; `message` as whisperX-FastAPI's."""
    return JSONResponse(health_body(health_report(runtime, queue_depth=executor.depth)))


@router.get("/health/live")
async def live() -> JSONResponse:
    """The process answers: `status`, `timestamp` (Unix seconds) and `message`."""
    return JSONResponse(live_body())


@router.get("/health/ready", responses={200: {"model": ReadyBody}, 503: {"model": ReadyBody}})
def ready(runtime: RuntimeDep, executor: ExecutorDep) -> JSONResponse:
    """Ready to take work: the database answers and the configured models are loaded. As whisperX-FastAPI's,
    `status` is `ok` or `error` and `database` `connected` or `disconnected` (our report: `database_detail`)."""
    report = health_report(runtime, queue_depth=executor.depth)
    return JSONResponse(ready_body(report), status_code=200 if report.ready else 503)


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
