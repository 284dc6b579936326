"""whisperX-FastAPI's health routes and bodies: `/health` (our full report), `/health/live` and `/health/ready`.
RunPod's `/ping` is ours (`app/api/routes/health.py`)."""

from __future__ import annotations

import time
from typing import Literal, TypedDict

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ExecutorDep, RuntimeDep
from app.contracts.whisperx_fastapi.edge import WhisperXRoute
from app.json_types import JSONObject
from app.process.health import DatabaseHealth, HealthReport, health_report

router = APIRouter(tags=["health"], route_class=WhisperXRoute)


class HealthBody(HealthReport):
    """`/health` as whisperX-FastAPI answers it: our report with its `message`."""

    message: str


class ReadyBody(HealthBody):
    """`/health/ready` as whisperX-FastAPI answers it: its `status` and `database`, our report beside."""

    status: Literal["ok", "error"]
    database: Literal["connected", "disconnected"]  # type: ignore[assignment]  # its word, not our object
    database_detail: DatabaseHealth


class LiveBody(TypedDict):
    """`/health/live` as whisperX-FastAPI answers it."""

    status: Literal["ok"]
    timestamp: float
    """Unix seconds."""
    message: str


def health_body(report: HealthReport) -> JSONObject:
    """`HealthBody`, as JSON."""
    body: JSONObject = report.model_dump(mode="json")  # JSON mode: JSON values only
    body["message"] = "Service is running"
    return body


def live_body() -> LiveBody:
    return {"status": "ok", "timestamp": time.time(), "message": "Application is live"}


def ready_body(report: HealthReport) -> JSONObject:
    """`ReadyBody`, as JSON: `status` `ok` or `error`, `database` `connected` or `disconnected`; our report
    beside, its database as `database_detail`."""
    body: JSONObject = report.model_dump(mode="json")  # JSON mode: JSON values only
    reachable = report.database.reachable
    if report.ready:
        message = "Application is ready to accept requests"
    else:
        why = "the models are not loaded" if reachable else "the database does not answer"
        message = f"Application is not ready: {why}."
    body.update(
        status="ok" if report.ready else "error",
        database="connected" if reachable else "disconnected",
        database_detail=body["database"],
        message=message,
    )
    return body


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
