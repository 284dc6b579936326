"""`GET /metrics`: the service's figures in Prometheus' text format."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.observability.metrics import exposition

router = APIRouter(tags=["monitoring"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics() -> Response:
    """Requests, tasks, stage durations, audio processed, queue depth, model load times, webhook deliveries."""
    body, media_type = exposition()
    return Response(body, media_type=media_type)
