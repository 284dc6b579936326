"""The worker's progress on RunPod: each update names the stage, the fraction done and the newest decoded text,
and `get_task` shows the segments decoded so far while the job runs."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import runpod

from app.contracts.runpod.actions import runpod_progress
from app.runtime import get_runtime
from handler import handler
from tests.corpus import SAMPLE_WAV, normalise


@pytest.fixture
def progress_updates(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """What the worker sends RunPod's progress endpoint (it sends only when RunPod runs it)."""
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setenv("RUNPOD_WEBHOOK_POST_OUTPUT", "http://127.0.0.1:9/job-done")
    monkeypatch.setattr(
        runpod.serverless, "progress_update", lambda job, update: sent.append((job["id"], update))
    )
    return sent


def test_updates_carry_the_stage_the_fraction_and_the_newest_text(
    progress_updates: list[tuple[str, dict[str, Any]]],
) -> None:
    progress = runpod_progress({"id": "job-1", "input": {}})
    assert progress is not None
    first = {"start": 0.0, "end": 4.0, "text": " Hello, is Sam there? "}
    progress(0.0, "transcribe")
    progress(0.2, "transcribe", [first])
    progress(0.4, "transcribe", [first, {"start": 4.0, "end": 9.5, "text": " Speaking."}])
    progress(0.45, "align")
    assert progress_updates == [
        ("job-1", {"stage": "transcribe", "progress": 0.0}),
        ("job-1", {"stage": "transcribe", "progress": 0.2, "text": "Hello, is Sam there?"}),
        ("job-1", {"stage": "transcribe", "progress": 0.4, "text": "Speaking."}),
        ("job-1", {"stage": "align", "progress": 0.45, "text": "Speaking."}),
    ]


@pytest.mark.slow
def test_a_real_job_reports_each_decoded_segment_and_get_task_shows_them(
    service_env: Path, progress_updates: list[tuple[str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_by_get_task: list[tuple[str, int]] = []

    def record(job: dict[str, Any], update: dict[str, Any]) -> None:
        progress_updates.append((job["id"], update))
        task = get_runtime().tasks.get_by_external_id(job["id"])
        assert task is not None
        view = handler({"input": {"action": "get_task", "identifier": task.identifier}})["result"]
        seen_by_get_task.append((view["status"], len(view["partial"] or [])))

    monkeypatch.setattr(runpod.serverless, "progress_update", record)
    audio = "data:audio/wav;base64," + base64.b64encode(SAMPLE_WAV.read_bytes()).decode()
    # Ten-second chunks decoded one at a time: several segments, each published as it comes.
    answer = handler(
        {
            "id": "job-progress",
            "input": {
                "action": "transcribe",
                "file": audio,
                "model_params": {"language": "en", "batch_size": 1, "chunk_size": 10},
            },
        }
    )
    segments = answer["result"]["segments"]
    assert len(segments) >= 3 and "new jersey" in normalise(" ".join(s["text"] for s in segments))
    updates = [update for _job, update in progress_updates]
    assert {update["stage"] for update in updates} == {"transcribe"}
    fractions = [update["progress"] for update in updates]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    texts = [update["text"] for update in updates if "text" in update]
    newest = [text for index, text in enumerate(texts) if index == 0 or text != texts[index - 1]]
    assert newest == [segment["text"].strip() for segment in segments]
    # While it ran, get_task showed the task processing with one more segment at each update.
    assert [status for status, _count in seen_by_get_task] == ["processing"] * len(updates)
    counts = [count for _status, count in seen_by_get_task]
    assert counts == sorted(counts) and counts[-1] == len(segments) and counts[0] >= 1
    done = handler({"input": {"action": "get_task", "identifier": answer["identifier"]}})["result"]
    assert done["status"] == "completed" and done["partial"] is None
