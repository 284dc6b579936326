"""The one worker thread that runs the REST app's tasks, fed by a bounded queue."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from app.errors import ServiceError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


class TaskExecutor:
    """Runs submitted calls one at a time, in order. A full queue refuses new work with `queue_full`.

    One thread is enough: model work is serialised per device by the model registry anyway, and a single
    consumer keeps the order in which tasks were accepted.
    """

    def __init__(self, capacity: int) -> None:
        self._queue: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._work, name="task-executor", daemon=True)
        self._busy = threading.Event()
        self._thread.start()

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            self._queue.put_nowait((call, future))
        except queue.Full:
            raise ServiceError(
                "queue_full",
                "The service is busy; retry later.",
                details={"retry_after": RETRY_AFTER_SECONDS},
            ) from None
        return future

    @property
    def depth(self) -> int:
        """Tasks waiting plus the one running."""
        return self._queue.qsize() + self._busy.is_set()

    def shutdown(self) -> None:
        """Stop after the running call; calls still waiting are dropped (their tasks are recovered at start)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            call, future = item
            if not future.set_running_or_notify_cancel():
                continue
            self._busy.set()
            try:
                future.set_result(call())
            except BaseException as error:  # the caller sees it through the future
                log.exception("queued call failed")
                future.set_exception(error)
            finally:
                self._busy.clear()
