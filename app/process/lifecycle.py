"""Start-up shared by the server and the worker."""

from __future__ import annotations

import logging
import threading

from app.ml.model_cache import use_model_cache
from app.outbox.webhooks import start_deliverer
from app.process.idle_models import start_idle_model_unloader
from app.runtime import Runtime, get_runtime
from app.services.pipeline import preload_models

log = logging.getLogger(__name__)


def load_models(runtime: Runtime) -> None:
    """Load the configured models now; `runtime.models` says where that stands (readiness waits for it)."""
    runtime.models = "loading"
    try:
        log.info("models ready: %s", ", ".join(preload_models(runtime.settings)))
    except Exception:
        runtime.models = "failed"
        raise
    runtime.models = "loaded"


def load_models_in_background(runtime: Runtime) -> None:
    runtime.models = "loading"

    def load() -> None:
        try:
            load_models(runtime)
        except Exception:
            log.exception("the configured models could not be loaded")

    threading.Thread(target=load, name="model-preload", daemon=True).start()


def start_service(*, in_background: bool = False) -> Runtime:
    """Migrate and recover the task store, then load the configured models (unless disabled).

    Starts the webhook deliverer too, and the idle model unloader when `MODEL_IDLE_UNLOAD_SECONDS` is set. In
    the background, the server answers (`/ping`: 204) while the models load; the worker loads them first."""
    runtime = get_runtime()
    use_model_cache(runtime.settings.resolved_model_cache_dir)
    start_deliverer(runtime)
    start_idle_model_unloader(runtime)
    if runtime.settings.preload_models:
        if in_background:
            load_models_in_background(runtime)
        else:
            load_models(runtime)
    return runtime
