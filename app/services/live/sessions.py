"""How many live sessions a runtime has open, and the bound on them (`Runtime.live_sessions`)."""

from __future__ import annotations

import threading

from app.config import Settings
from app.errors import ServiceError


class LiveSessions:
    """How many live sessions are open: at most `REALTIME__MAX_SESSIONS`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = 0

    def claim(self, settings: Settings) -> None:
        """Count one more session open, or refuse it (`queue_full`) when all are in use."""
        limit = settings.realtime.max_sessions
        with self._lock:
            if self.open >= limit:
                raise ServiceError("queue_full", f"All {limit} live sessions are in use; try again later.")
            self.open += 1

    def release(self) -> None:
        with self._lock:
            self.open -= 1
