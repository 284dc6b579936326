"""Keeps a worker's task leases alive and recovers tasks whose owner died."""

from __future__ import annotations

import logging
import threading

from app.db.repository import TaskRepository

log = logging.getLogger(__name__)


class LeaseKeeper:
    """A daemon thread that renews this worker's leases and fails tasks of dead workers.

    It runs three times per lease period, so a live worker's lease never lapses between renewals.
    """

    def __init__(self, tasks: TaskRepository, worker_id: str) -> None:
        self._tasks = tasks
        self._worker_id = worker_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def tick(self) -> None:
        """One renewal and recovery pass."""
        self._tasks.renew_leases(self._worker_id)
        recovered = self._tasks.recover_expired()
        if recovered:
            log.warning("marked %d task(s) of stopped workers as interrupted", recovered)

    def _run(self) -> None:
        interval = self._tasks.lease.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                self.tick()
            except Exception:  # a database hiccup must not kill the heartbeat
                log.exception("lease renewal failed; retrying")
