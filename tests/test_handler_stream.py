"""The streaming worker: each job yields its segments as they are decoded, then its answer, through the SDK's own
job runners (what RunPod's `/stream` and the aggregated `/run` and `/runsync` output are made of)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from runpod.serverless.modules import rp_job

import handler as worker
from app.config import get_settings
from app.contracts.runpod.actions import segment_stream
from app.contracts.runpod_workers.serve import job_task_ids
from app.services.pipeline import Progress

FIRST = {"start": 0.0, "end": 4.0, "text": " Hello, is Sam there?"}
SECOND = {"start": 4.0, "end": 9.5, "text": " Speaking.", "words": []}
ANSWER = {"identifier": "task-1", "result": {"segments": [FIRST]}, "message": "transcription completed"}


def segment(item: dict[str, Any]) -> dict[str, Any]:
    return {"start": item["start"], "end": item["end"], "text": item["text"]}


def collect(config: dict[str, Any], job: dict[str, Any]) -> list[dict[str, Any]]:
    """What the SDK's generator runner yields for `job` (`{"output": item}` each)."""

    async def run() -> list[dict[str, Any]]:
        return [out async for out in rp_job.run_job_generator(config["handler"], job)]

    return asyncio.run(run())


def test_each_new_segment_is_one_item_and_a_translation_starts_over() -> None:
    items: list[dict[str, Any]] = []
    listen = segment_stream(items.append)
    listen(0.0, "transcribe")
    listen(0.2, "transcribe", [FIRST])
    listen(0.2, "transcribe", [FIRST])  # nothing new
    listen(0.41, "transcribe", [FIRST, SECOND])
    listen(0.5, "align")
    listen(0.3, "transcribe", [{"start": 0.0, "end": 9.5, "text": " Hola."}])  # a second task's segments
    assert items == [
        {"segment": segment(FIRST), "progress": 0.2},
        {"segment": segment(SECOND), "progress": 0.41},
        {"segment": {"start": 0.0, "end": 9.5, "text": " Hola."}, "progress": 0.3},
    ]


@pytest.fixture
def fake_handler(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """`handler` replaced: reports two segments, waiting between them until the test says go, then answers
    `state["answer"]`."""
    state: dict[str, Any] = {"answer": ANSWER, "go": threading.Event(), "jobs": []}

    def fake(job: dict[str, Any], on_progress: Progress | None = None) -> dict[str, Any]:
        state["jobs"].append(job)
        assert on_progress is not None
        on_progress(0.0, "transcribe")
        on_progress(0.2, "transcribe", [FIRST])
        state["go"].wait(timeout=30)
        on_progress(0.45, "transcribe", [FIRST, SECOND])
        on_progress(0.6, "align")
        return dict(state["answer"])

    monkeypatch.setattr(worker, "handler", fake)
    return state


def test_segments_come_while_the_job_runs_then_its_answer(fake_handler: dict[str, Any]) -> None:
    config = worker.worker_config(stream=True)
    job = {"id": "job-1", "input": {"action": "transcribe"}}

    async def run() -> list[dict[str, Any]]:
        outputs = rp_job.run_job_generator(config["handler"], job)
        first = await anext(outputs)
        # The first segment arrived while the handler still waits to decode the second.
        assert not fake_handler["go"].is_set()
        fake_handler["go"].set()
        return [first] + [out async for out in outputs]

    assert asyncio.run(run()) == [
        {"output": {"segment": segment(FIRST), "progress": 0.2}},
        {"output": {"segment": segment(SECOND), "progress": 0.45}},
        {"output": ANSWER},
    ]
    assert fake_handler["jobs"] == [job]


def test_an_action_without_segments_yields_its_one_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = {"identifier": None, "result": {"status": "ok"}, "message": "ok"}
    monkeypatch.setattr(worker, "handler", lambda job, on_progress=None: dict(answer))
    outputs = collect(worker.worker_config(stream=True), {"id": "job-2", "input": {"action": "health"}})
    assert outputs == [{"output": answer}]


def test_health_through_the_real_handler_is_one_item(service_env: Path) -> None:
    job = {"id": "job-health", "input": {"action": "health"}}
    outputs = collect(worker.worker_config(stream=True), job)
    assert len(outputs) == 1
    assert outputs[0]["output"]["result"]["database"] == {"kind": "sqlite", "reachable": True}


class Sent:
    """What the SDK would post to RunPod: stream items and the final result."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.streamed: list[dict[str, Any]] = []
        self.results: list[tuple[dict[str, Any], bool]] = []

        async def stream_result(_session: Any, data: dict[str, Any], _job: dict[str, Any]) -> None:
            self.streamed.append(data)

        async def send_result(
            _session: Any, data: dict[str, Any], _job: dict[str, Any], is_stream: bool = False
        ) -> None:
            self.results.append((data, is_stream))

        monkeypatch.setattr(rp_job, "stream_result", stream_result)
        monkeypatch.setattr(rp_job, "send_result", send_result)

    def run(self, config: dict[str, Any], job: dict[str, Any]) -> None:
        config.setdefault(
            "rp_args", {}
        )  # in place, as `runpod.serverless.start` fills the config it is given
        asyncio.run(rp_job.handle_job(None, config, job))  # type: ignore[arg-type]


def test_on_runpod_run_and_runsync_get_every_item_the_answer_last(
    fake_handler: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_handler["go"].set()
    sent = Sent(monkeypatch)
    sent.run(worker.worker_config(stream=True), {"id": "job-3", "input": {}})
    items = [
        {"segment": segment(FIRST), "progress": 0.2},
        {"segment": segment(SECOND), "progress": 0.45},
    ]
    assert sent.streamed == [{"output": item} for item in [*items, ANSWER]]
    assert sent.results == [({"output": [*items, ANSWER]}, True)]


def test_on_runpod_an_error_fails_the_job_and_a_device_error_replaces_the_worker(
    fake_handler: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_handler["go"].set()
    error = json.dumps({"code": "device_error", "message": "CUDA failed."})
    fake_handler["answer"] = {"error": error, "refresh_worker": True}
    sent = Sent(monkeypatch)
    config = worker.worker_config(stream=True)
    sent.run(config, {"id": "job-4", "input": {}})
    assert [data["output"]["segment"] for data in sent.streamed] == [segment(FIRST), segment(SECOND)]
    # The same `error` as the one-result worker's failed job, and the worker is replaced after it.
    assert sent.results == [({"error": error, "stopPod": True}, True)]
    assert config["refresh_worker"] is True


def test_a_stopped_streaming_job_cancels_its_tasks(
    fake_handler: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cancelled: list[list[str]] = []
    monkeypatch.setattr(worker, "get_runtime", lambda: None)
    monkeypatch.setattr(worker.tasks, "cancel_job_tasks", lambda _runtime, ids: cancelled.append(ids) or ids)
    config = worker.worker_config(stream=True)

    async def run() -> None:
        seen: list[dict[str, Any]] = []

        async def consume() -> None:
            async for out in rp_job.run_job_generator(config["handler"], {"id": "job-5", "input": {}}):
                seen.append(out)

        consuming = asyncio.ensure_future(consume())
        while not seen:
            await asyncio.sleep(0.01)
        consuming.cancel()  # what the SDK does when RunPod stops the job
        with pytest.raises(asyncio.CancelledError):
            await consuming
        fake_handler["go"].set()

    asyncio.run(run())
    assert cancelled == [job_task_ids("job-5")]


def test_the_worker_streams_only_when_asked_and_never_for_the_one_result_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert worker.worker_config(stream=False) == {"handler": worker.serve_job}
    assert worker.worker_config(stream=True)["return_aggregate_stream"] is True

    def streams(setting: str | None, argv: list[str]) -> bool:
        if setting is None:
            monkeypatch.delenv("WORKER__STREAM", raising=False)
        else:
            monkeypatch.setenv("WORKER__STREAM", setting)
        get_settings.cache_clear()
        try:
            return worker.streams(argv)
        finally:
            get_settings.cache_clear()

    assert not streams(None, [])
    assert streams("true", ["--rp_serve_api"])
    assert not streams("true", ["--test_input", "{}"]) and not streams("true", ["--rp_debugger"])
    assert not streams("false", [])
