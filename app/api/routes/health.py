"""Health routes."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import RuntimeDep
from app.schemas import HealthReport
from app.services.health import health_report

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthReport)
def health(runtime: RuntimeDep) -> HealthReport:
    return health_report(runtime)
