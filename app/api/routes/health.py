"""RunPod's load-balancing health check, `/ping`. whisperX-FastAPI's `/health`, `/health/live` and
`/health/ready` are its contract's (`app/contracts/whisperx_fastapi/health.py`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.process.health import readiness

ping_router = APIRouter(tags=["health"])

PING_STATUS = {"ready": 200, "initializing": 204, "unhealthy": 503}


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
