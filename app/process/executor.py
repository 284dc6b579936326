"""The REST app's executor: one thread that claims the oldest task of the shared queue (the task table) and
runs it, so what was accepted survives a restart and several processes on one database share the work."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from app.db.models import ACTIVE_STATUSES
from app.runtime import Runtime
from app.services.speech import run_queued
from app.services.tasks import get_task
from app.services.uploads import sweep_uploads
from app.task_schemas import TaskOut

log = logging.getLogger(__name__)

EXECUTOR = "task-executor"
POLL_SECONDS = 0.5
SWEEP_SECONDS = 300


class TaskExecutor:
    """Runs queued tasks one at a time, oldest first.

    One thread is enough: model work is serialised per device by the model registry anyway. It is woken when
    this process queues a task, and polls for tasks other processes queued.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._open = threading.Event()
        self._open.set()
        self._finished = threading.Condition()
        self._running: str | None = None
        self._swept_at = 0.0
        self._thread = threading.Thread(target=self._run, name=EXECUTOR, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A task was queued: look now rather than at the next poll."""
        self._wake.set()

    @property
    def depth(self) -> int:
        """Tasks waiting in the shared queue, plus the one this process runs."""
        return self._runtime.tasks.count_queued() + (self._running is not None)

    def wait(self, identifier: str) -> TaskOut:
        """Block until the task has ended (whichever process runs it) and return it."""
        while True:
            task = get_task(self._runtime, identifier)
            if task.status not in ACTIVE_STATUSES:
                return task
            with self._finished:
                self._finished.wait(POLL_SECONDS)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Claim nothing new while the block runs (the running task finishes); queued tasks wait."""
        self._open.clear()
        try:
            yield
        finally:
            self._open.set()
            self._wake.set()

    def stop(self) -> None:
        """Stop after the running task; queued tasks stay queued for the next process."""
        self._stop.set()
        self._wake.set()
        self._open.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._open.wait()
            if self._stop.is_set():
                break
            self._wake.clear()
            try:
                self._sweep_when_due()
                task = self._runtime.tasks.claim_next(worker_id=self._runtime.worker_id)
            except Exception:  # a database hiccup must not stop the executor
                log.exception("claiming a task failed; retrying")
                task = None
            if task is None:
                self._wake.wait(POLL_SECONDS)
                continue
            self._running = task.identifier
            try:
                run_queued(self._runtime, task)
            except Exception:
                log.exception("task %s could not be settled", task.identifier)
            finally:
                self._running = None
                with self._finished:
                    self._finished.notify_all()

    def _sweep_when_due(self) -> None:
        if self._swept_at and time.monotonic() - self._swept_at < SWEEP_SECONDS:
            return
        self._swept_at = time.monotonic()
        removed = sweep_uploads(self._runtime)
        if removed:
            log.info("removed %d upload(s) of ended tasks", removed)


def start_executor(runtime: Runtime) -> TaskExecutor:
    """The process's executor, started on first use."""
    return runtime.start_once(EXECUTOR, lambda: TaskExecutor(runtime))
