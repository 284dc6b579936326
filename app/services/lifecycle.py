"""Start-up shared by the server and the worker."""

from __future__ import annotations

import logging

from app.runtime import Runtime, get_runtime
from app.services.pipeline import preload_models
from app.services.webhooks import start_deliverer

log = logging.getLogger(__name__)


def start_service() -> Runtime:
    """Migrate and recover the task store, start the webhook deliverer, then load the configured models
    (unless disabled)."""
    runtime = get_runtime()
    start_deliverer(runtime)
    if runtime.settings.preload_models:
        log.info("models ready: %s", ", ".join(preload_models(runtime.settings)))
    return runtime
