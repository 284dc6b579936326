"""Start-up shared by the server and the worker."""

from __future__ import annotations

import logging
import threading
from typing import Literal

from app.config import Settings
from app.ml.model_cache import use_model_cache
from app.process.webhooks import start_deliverer
from app.runtime import Runtime, get_runtime
from app.services.pipeline import preload_models

log = logging.getLogger(__name__)

ModelsState = Literal["not_requested", "loading", "loaded", "failed"]


class ModelPreload:
    """Where loading the configured models at start stands; readiness waits for it."""

    def __init__(self) -> None:
        self.state: ModelsState = "not_requested"

    def run(self, settings: Settings) -> None:
        self.state = "loading"
        try:
            log.info("models ready: %s", ", ".join(preload_models(settings)))
        except Exception:
            self.state = "failed"
            raise
        self.state = "loaded"

    def run_in_background(self, settings: Settings) -> None:
        self.state = "loading"

        def load() -> None:
            try:
                self.run(settings)
            except Exception:
                log.exception("the configured models could not be loaded")

        threading.Thread(target=load, name="model-preload", daemon=True).start()


model_preload = ModelPreload()


def start_service(*, load_models_in_background: bool = False) -> Runtime:
    """Migrate and recover the task store, then load the configured models (unless disabled).

    Starts the webhook deliverer too. In the background, the server answers (`/ping`: 204) while the models
    load; the worker loads them first."""
    runtime = get_runtime()
    use_model_cache(runtime.settings.resolved_model_cache_dir)
    start_deliverer(runtime)
    if runtime.settings.preload_models:
        if load_models_in_background:
            model_preload.run_in_background(runtime.settings)
        else:
            model_preload.run(runtime.settings)
    return runtime
