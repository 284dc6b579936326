"""Faults inside a pipeline stage (out of memory, a model error, a broken GPU, a model that cannot load), through
both front doors: the task fails with a stable code, memory is freed, the worker asks to be replaced after a
CUDA error, and the next job succeeds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

import app.ml.devices
from app.config import get_settings
from app.main import create_app
from app.runtime import stop_runtime
from handler import handler
from tests.reliability.helpers import assert_no_traceback, clip_wav, data_uri, scratch_files

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("faults")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATA_DIR", str(data))
        env.delenv("DATABASE_URL", raising=False)
        env.delenv("HF_TOKEN", raising=False)
        env.setenv("PRELOAD_MODELS", "false")
        env.setenv("ALLOWED_MODELS", '["no-such-whisper-model"]')  # served, so it is loaded (and fails)
        stop_runtime()
        get_settings.cache_clear()
        yield data
        stop_runtime()
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def client(data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def raiser(error: BaseException) -> Callable[..., Any]:
    def stage(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return stage


# (name, module attribute to replace, error it raises, expected code, whether memory must be freed)
FAULTS: list[tuple[str, str, BaseException, str, bool]] = [
    (
        "cuda out of memory in transcription",
        "app.ml.transcription.transcribe",
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
        "out_of_memory",
        True,
    ),
    ("host out of memory in alignment", "app.ml.alignment.align", MemoryError(), "out_of_memory", True),
    (
        "model error in diarization",
        "app.ml.diarization.diarize",
        ValueError("the model produced garbage"),
        "internal_error",
        False,
    ),
    (
        "illegal memory access in transcription",
        "app.ml.transcription.transcribe",
        RuntimeError("CUDA error: an illegal memory access was encountered"),
        "device_error",
        False,
    ),
    (
        "cublas failure in diarization",
        "app.ml.diarization.diarize",
        RuntimeError("CUDA error: CUBLAS_STATUS_EXECUTION_FAILED when calling `cublasSgemm`"),
        "device_error",
        False,
    ),
]
JOB = {"action": "speech_to_text", "diarize_params": {"max_speakers": 2}}


def worker_job() -> dict[str, Any]:
    return {"input": {**JOB, "file": data_uri(clip_wav())}}


def rest_job(client: TestClient) -> Any:
    return client.post(
        "/speech-to-text",
        files={"file": ("clip.wav", clip_wav(), "audio/wav")},
        data={"diarize_params": json.dumps(JOB["diarize_params"])},
        params={"wait": "true"},
    )


@pytest.fixture
def freed(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    calls: list[bool] = []
    real = app.ml.devices.free_memory
    monkeypatch.setattr(app.ml.devices, "free_memory", lambda: (calls.append(True), real())[1])
    return calls


def assert_settled(client: TestClient, data_dir: Path) -> None:
    for status in ("queued", "processing"):
        assert client.get("/task/all", params={"status": status}).json()["total"] == 0
    assert scratch_files(data_dir) == []


@pytest.mark.parametrize(("name", "target", "error", "code", "frees"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_stage_fault_in_the_worker(
    client: TestClient,
    data_dir: Path,
    freed: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    target: str,
    error: BaseException,
    code: str,
    frees: bool,
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(target, raiser(error))
        response = handler(worker_job())
    assert set(response) <= {"error", "refresh_worker"}, response
    body = json.loads(response["error"])
    assert body["code"] == code, body
    assert_no_traceback(response["error"])
    assert response.get("refresh_worker") is (True if code == "device_error" else None)
    assert bool(freed) == frees, "free_memory must run exactly when memory ran out"
    task = handler({"input": {"action": "get_task", "identifier": body["identifier"]}})["result"]
    assert task["status"] == "failed" and task["error"]["code"] == code
    assert_settled(client, data_dir)

    following = handler(worker_job())
    assert "error" not in following, following
    assert following["result"]["segments"], "the next job after a fault must succeed"


def test_runpod_replaces_the_worker_after_a_cuda_error(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What RunPod itself makes of the answer: `refresh_worker` becomes `stopPod`."""
    from runpod.serverless.modules.rp_job import run_job

    monkeypatch.setattr(
        "app.ml.transcription.transcribe", raiser(RuntimeError("CUDA error: an illegal memory access"))
    )
    outcome = asyncio.run(run_job(handler, {"id": "rp-cuda", **worker_job()}))
    assert outcome.get("stopPod") is True, outcome
    assert json.loads(outcome["error"])["code"] == "device_error"


@pytest.mark.parametrize(("name", "target", "error", "code", "frees"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_stage_fault_in_the_rest_app(
    client: TestClient,
    data_dir: Path,
    freed: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    target: str,
    error: BaseException,
    code: str,
    frees: bool,
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(target, raiser(error))
        response = rest_job(client)
    assert response.status_code == {"out_of_memory": 503, "internal_error": 500, "device_error": 500}[code]
    assert response.json()["error"]["code"] == code, response.text
    assert_no_traceback(response.text)
    assert bool(freed) == frees
    identifier = response.json()["error"]["details"]["identifier"]
    task = client.get(f"/task/{identifier}").json()
    assert task["status"] == "failed" and task["error_detail"]["code"] == code
    assert_settled(client, data_dir)

    following = rest_job(client)
    assert following.status_code == 200, following.text
    assert following.json()["status"] == "completed"


@pytest.mark.parametrize("door", ["worker", "rest"])
def test_a_model_that_cannot_load_fails_cleanly_and_the_next_job_runs(
    client: TestClient, data_dir: Path, door: str
) -> None:
    bad = {"model": "no-such-whisper-model"}
    if door == "worker":
        response = handler({"input": {**worker_job()["input"], "model_params": bad}})
        body = json.loads(response["error"])
        assert handler(worker_job()).get("error") is None
    else:
        answer = client.post(
            "/service/transcribe",
            files={"file": ("clip.wav", clip_wav(), "audio/wav")},
            data={"model_params": json.dumps(bad)},
            params={"wait": "true"},
        )
        assert answer.status_code == 503, answer.text
        body = answer.json()["error"]
        assert rest_job(client).status_code == 200
    assert body["code"] == "model_unavailable", body
    assert_no_traceback(json.dumps(body))
    assert_settled(client, data_dir)
