"""RunPod serverless worker: `handler(job)` dispatches `job["input"]["action"]` to the services
(`app/contracts/runpod/actions.py`); this module is RunPod's entry point.

Run it with `python handler.py` (RunPod), `python handler.py --rp_serve_api` (local HTTP) or
`python handler.py --test_input '{"input": {"action": "health"}}'`. With `WORKER__STREAM=true` the worker streams:
each job yields its segments as they are decoded, then its answer (docs/runpod.md, "Streaming").
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator

from app.config import get_settings
from app.contracts import register_contracts
from app.contracts.runpod.actions import ACTIONS, Output, handler, segment_stream
from app.contracts.runpod.answers import Refusal, StreamItem
from app.contracts.runpod_workers.serve import job_task_ids
from app.json_types import JSONObject
from app.process.health import fitness_problems
from app.process.lifecycle import start_service
from app.runtime import get_runtime
from app.services import tasks

__all__ = ["ACTIONS", "handler", "serve_job", "stream_job", "worker_config", "fitness_check"]

log = logging.getLogger("app.handler")
register_contracts()  # what the contracts add to the process, as the FastAPI app registers it too


async def serve_job(job: JSONObject) -> Output:
    """The SDK's entry point: `handler` on a thread, so RunPod's stop signal reaches a running job.

    When RunPod stops the job (cancel, timeout), the SDK cancels this coroutine: the job's tasks are marked
    cancelled, and the work stops at its next progress report (the rule: `app.services.tasks.cancel_task`).
    """
    running = asyncio.ensure_future(asyncio.to_thread(handler, job))
    try:
        result = await asyncio.shield(running)
    except asyncio.CancelledError:
        await _cancel_tasks_of(job)
        raise
    # The SDK drops an output that is only `{"error"}`; with `--rp_debugger` it then fails on the missing
    # output (KeyError 'output') and posts no result. A second key keeps the output.
    error = result.get("error")
    if isinstance(error, str) and len(result) == 1:
        return Refusal(error=error, failed=True)
    return result


async def stream_job(job: JSONObject) -> AsyncIterator[StreamItem | Output]:
    """`serve_job` for a streaming worker: yields `{"segment", "progress"}` for each segment as it is decoded,
    then the job's answer as `handler` gives it (the SDK fails the job on an answer's `error`). A job RunPod
    stops is stopped as `serve_job` stops it."""
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[StreamItem | None] = asyncio.Queue()

    def emit_item(item: StreamItem) -> None:
        loop.call_soon_threadsafe(items.put_nowait, item)

    emit = segment_stream(emit_item)
    running = asyncio.ensure_future(asyncio.to_thread(handler, job, emit))
    # Queued after every item the thread queued before it ended (both go through the loop in order).
    running.add_done_callback(lambda _done: items.put_nowait(None))
    try:
        while (item := await items.get()) is not None:
            yield item
    except asyncio.CancelledError:
        await _cancel_tasks_of(job)
        raise
    yield running.result()


async def _cancel_tasks_of(job: JSONObject) -> None:
    job_id = job.get("id") if isinstance(job, dict) else None
    if isinstance(job_id, str):
        await asyncio.to_thread(tasks.cancel_job_tasks, get_runtime(), job_task_ids(job_id))


def worker_config(*, stream: bool) -> dict[str, object]:
    """`runpod.serverless.start`'s configuration: `serve_job`, or with `stream` the streaming handler, its
    items aggregated into the output `/run` and `/runsync` give (a list, the answer last)."""
    if not stream:
        return {"handler": serve_job}
    config: dict[str, object] = {"return_aggregate_stream": True}

    async def stream_handler(job: JSONObject) -> AsyncIterator[StreamItem | Output]:
        async for item in stream_job(job):
            if item.get("refresh_worker"):
                # The SDK keeps only the `error` of a streamed error; its `refresh_worker` flag, read once the
                # job ends, replaces the worker as `refresh_worker` in a returned answer does.
                config["refresh_worker"] = True
            yield item

    config["handler"] = stream_handler
    return config


# The SDK runs `--test_input` with its one-result runner (a generator would come back unread) and adds
# `--rp_debugger`'s figures to the output as to a dict: both take the one-result handler.
ONE_RESULT_FLAGS = ("--test_input", "--rp_debugger")


def streams(argv: list[str]) -> bool:
    """Whether this worker streams: `WORKER__STREAM` (a boolean, default false), unless `argv` holds one of
    `ONE_RESULT_FLAGS`."""
    return get_settings().worker.stream and not any(arg.split("=", 1)[0] in ONE_RESULT_FLAGS for arg in argv)


def fitness_check() -> None:
    """RunPod's fitness check: a worker that cannot serve exits before taking a job, and is replaced."""
    problems = fitness_problems(get_runtime())
    if problems:
        raise RuntimeError("; ".join(problems))


def _seconds_since_process_start() -> float:
    import psutil

    started: float = psutil.Process().create_time()
    return time.time() - started


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
    runpod.serverless.start(worker_config(stream=streams(sys.argv[1:])))
