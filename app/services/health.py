"""Health of the process: database reachability, device and loaded models."""

from __future__ import annotations

import logging

from sqlalchemy import text

from app import __version__
from app.runtime import Runtime
from app.schemas import DatabaseHealth, HealthReport

log = logging.getLogger(__name__)


def health_report(runtime: Runtime) -> HealthReport:
    """Report whether the service can take work."""
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        reachable = True
    except Exception:
        log.exception("database health check failed")
        reachable = False
    return HealthReport(
        status="ok" if reachable else "degraded",
        version=__version__,
        worker_id=runtime.worker_id,
        device=runtime.settings.resolved_device,
        whisper_model=runtime.settings.whisper_model,
        database=DatabaseHealth(kind=runtime.engine.dialect.name, reachable=reachable),
    )
