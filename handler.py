"""RunPod serverless worker: `handler(job)` dispatches `job["input"]["action"]` to the services
(`app/contracts/runpod/actions.py`); this module is RunPod's entry point.

Run it with `python handler.py` (RunPod), `python handler.py --rp_serve_api` (local HTTP) or
`python handler.py --test_input '{"input": {"action": "health"}}'`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from app.contracts.runpod.actions import ACTIONS, handler
from app.contracts.runpod_workers.serve import job_task_ids
from app.process.health import fitness_problems
from app.process.lifecycle import start_service
from app.runtime import get_runtime
from app.services import tasks

__all__ = ["ACTIONS", "handler", "serve_job", "fitness_check"]

log = logging.getLogger("app.handler")


async def serve_job(job: dict[str, Any]) -> dict[str, Any]:
    """The SDK's entry point: `handler` on a thread, so RunPod's stop signal reaches a running job.

    When RunPod stops the job (cancel, timeout), the SDK cancels this coroutine: the job's tasks are marked
    cancelled, and the work stops at its next progress report (the rule: `app.services.tasks.cancel_task`).
    """
    running = asyncio.ensure_future(asyncio.to_thread(handler, job))
    try:
        result = await asyncio.shield(running)
    except asyncio.CancelledError:
        job_id = job.get("id") if isinstance(job, dict) else None
        if isinstance(job_id, str):
            await asyncio.to_thread(tasks.cancel_job_tasks, get_runtime(), job_task_ids(job_id))
        raise
    # The SDK drops an output that is only `{"error"}`; with `--rp_debugger` it then fails on the missing
    # output (KeyError 'output') and posts no result. A second key keeps the output.
    if "error" in result and len(result) == 1:
        result = {**result, "failed": True}
    return result


def fitness_check() -> None:
    """RunPod's fitness check: a worker that cannot serve exits before taking a job, and is replaced."""
    problems = fitness_problems(get_runtime())
    if problems:
        raise RuntimeError("; ".join(problems))


def _seconds_since_process_start() -> float:
    import psutil

    return time.time() - psutil.Process().create_time()


if __name__ == "__main__":
    import runpod

    logging.basicConfig(level=logging.INFO)
    imported = _seconds_since_process_start()
    try:
        start_service()  # migrate, recover and load models before the first job arrives
        ready = _seconds_since_process_start()
        log.info(
            "worker ready %.1f s after its process started: imports %.1f s, start-up (task store, models) %.1f s",
            ready,
            imported,
            ready - imported,
        )
    except Exception:
        log.exception("the worker could not start; the fitness check will report it")
    runpod.serverless.register_fitness_check(fitness_check)
    runpod.serverless.start({"handler": serve_job})
