"""RunPod serverless worker: `handler(job)` dispatches `job["input"]["action"]` to the services.

Run it with `python handler.py` (RunPod), `python handler.py --rp_serve_api` (local HTTP) or
`python handler.py --test_input '{"input": {"action": "health"}}'`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from app.errors import ServiceError
from app.runtime import Runtime, get_runtime
from app.services.health import health_report

log = logging.getLogger("app.handler")

Action = Callable[[Runtime, dict[str, Any], dict[str, Any]], dict[str, Any]]


def _health(runtime: Runtime, _input: dict[str, Any], _job: dict[str, Any]) -> dict[str, Any]:
    report = health_report(runtime)
    return {"identifier": None, "result": report.model_dump(mode="json"), "message": report.status}


ACTIONS: dict[str, Action] = {
    "health": _health,
}


def error_response(error: ServiceError) -> dict[str, Any]:
    """The handler's error shape; RunPod passes the `error` value to the client as is."""
    return {"error": error.to_dict()}


def handler(job: dict[str, Any]) -> dict[str, Any]:
    """Serve one RunPod job. Never raises: failures come back as `{"error": {"code", "message"}}`."""
    try:
        job_input = job.get("input") if isinstance(job, dict) else None
        if not isinstance(job_input, dict):
            raise ServiceError("invalid_input", "The job's `input` must be a JSON object.")
        action_name = job_input.get("action")
        action = ACTIONS.get(action_name) if isinstance(action_name, str) else None
        if action is None:
            raise ServiceError(
                "unknown_action",
                f"Unknown action {str(action_name)[:64]!r}; expected one of: {', '.join(sorted(ACTIONS))}.",
            )
        return action(get_runtime(), job_input, job)
    except ServiceError as error:
        return error_response(error)
    except Exception:
        log.exception("unexpected failure in handler")
        return error_response(ServiceError("internal_error", "The worker failed unexpectedly."))


if __name__ == "__main__":
    import runpod

    logging.basicConfig(level=logging.INFO)
    get_runtime()  # migrate, recover and load models before the first job arrives
    runpod.serverless.start({"handler": handler})
