"""Unloading models no request has used for `MODEL_IDLE_UNLOAD_SECONDS`: one background thread per process."""

from __future__ import annotations

import logging
import threading

from app.ml.registry import ModelRegistry, registry
from app.runtime import Runtime

log = logging.getLogger(__name__)

IDLE_MODELS = "idle-model-unloader"
MAX_CHECK_SECONDS = 30.0


class IdleModelUnloader:
    """Releases the models of `models` that have idled longer than `max_idle_seconds`, checking a few times
    per period (at least every 30 s), so a model goes at most a quarter of the period late."""

    def __init__(self, max_idle_seconds: float, models: ModelRegistry) -> None:
        self.max_idle_seconds = max_idle_seconds
        self.check_seconds = min(MAX_CHECK_SECONDS, max_idle_seconds / 4)
        self._models = models
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=IDLE_MODELS, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.check_seconds):
            try:
                self._models.release_idle(self.max_idle_seconds)  # it logs each model it releases
            except Exception:  # one failed pass must not end the thread: the next one tries again
                log.exception("releasing idle models failed")


def start_idle_model_unloader(runtime: Runtime) -> IdleModelUnloader | None:
    """The process's unloader, started on first use; None when `MODEL_IDLE_UNLOAD_SECONDS` is unset."""
    max_idle = runtime.settings.model_idle_unload_seconds
    if max_idle is None:
        return None
    return runtime.start_once(IDLE_MODELS, lambda: IdleModelUnloader(max_idle, registry))
