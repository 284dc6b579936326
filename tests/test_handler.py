"""The RunPod worker's handler: every action on real audio, and bad input of every kind."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import get_settings
from app.db.models import TaskType
from app.ml.registry import registry
from app.runtime import get_runtime, stop_runtime
from app.services.tasks import submit_task
from handler import handler
from tests.corpus import SAMPLE_WAV, normalise, silent_wav
from tests.local_http import LocalServer, local_server
from tests.reliability.helpers import wait_until

WEBHOOK_SECRET = "sentinel-webhook-secret"


@dataclass
class Worker:
    data_dir: Path
    server: LocalServer


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    data_dir = tmp_path_factory.mktemp("worker")
    with pytest.MonkeyPatch.context() as env, local_server() as server:
        env.setenv("DATA_DIR", str(data_dir))
        env.delenv("DATABASE_URL", raising=False)
        env.setenv("PRELOAD_MODELS", "false")
        env.setenv("FETCH__ALLOW_PRIVATE_HOSTS", '["127.0.0.1"]')
        env.setenv("LIMITS__MAX_UPLOAD_MB", "5")
        env.setenv("WEBHOOK__SECRET", WEBHOOK_SECRET)
        env.setenv("WEBHOOK__BASE_DELAY_S", "0.01")
        stop_runtime()
        get_settings.cache_clear()
        yield Worker(data_dir, server)
        stop_runtime()
        get_settings.cache_clear()


def run(action: str, job_id: str | None = None, **fields: Any) -> dict[str, Any]:
    job: dict[str, Any] = {"input": {"action": action, **fields}}
    if job_id:
        job["id"] = job_id
    response = handler(job)
    assert isinstance(response, dict)
    return response


def error_of(response: dict[str, Any]) -> dict[str, Any]:
    """The error a client sees: RunPod passes `error` on as a string, here a JSON object's text."""
    assert isinstance(response["error"], str)
    return json.loads(response["error"])  # type: ignore[no-any-return]


def data_uri(data: bytes, media: str = "audio/wav") -> str:
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


@pytest.fixture(scope="module")
def full(worker: Worker) -> dict[str, Any]:
    worker.server.failures_left["/hook"] = 1
    return run(
        "speech_to_text",
        job_id="rp-full-1",
        file=data_uri(SAMPLE_WAV.read_bytes()),
        filename="calls/sample.wav",
        diarize_params={"num_speakers": 2},
        webhook_url=f"{worker.server.base}/hook",
    )


@pytest.mark.slow
def test_speech_to_text_runs_the_full_pipeline(full: dict[str, Any]) -> None:
    assert "error" not in full, full
    result = full["result"]
    words = [word for segment in result["segments"] for word in segment["words"]]
    assert len(result["speakers"]) == 2
    assert words and all("start" in w and "end" in w and w.get("speaker") for w in words)
    assert "new jersey" in normalise(" ".join(s["text"] for s in result["segments"]))
    task = run("get_task", identifier=full["identifier"])["result"]
    assert task["status"] == "completed" and task["task_type"] == "full_process"
    assert task["file_name"] == "sample.wav" and task["audio_duration"] == pytest.approx(30.0, abs=0.01)


@pytest.mark.slow
def test_the_result_webhook_is_signed_and_retried(worker: Worker, full: dict[str, Any]) -> None:
    def posts_so_far() -> list[Any]:
        posts = [r for r in worker.server.received if r.path == "/hook"]
        return posts if len(posts) >= 2 else []

    # One failed attempt before the job returned, then the deliverer's retry from the outbox.
    posts = wait_until(posts_so_far, timeout=30, what="the webhook retry")
    time.sleep(1)
    assert len([r for r in worker.server.received if r.path == "/hook"]) == 2, "delivered once, never again"
    task = run("get_task", identifier=full["identifier"])["result"]
    assert task["webhook"]["status"] == "delivered" and task["webhook"]["attempts"] == 2, task["webhook"]
    body = posts[-1].body
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert posts[-1].headers["X-Webhook-Signature"] == expected
    payload = json.loads(body)
    assert payload["identifier"] == full["identifier"] and payload["status"] == "completed"
    assert WEBHOOK_SECRET not in body.decode()


@pytest.mark.slow
def test_a_retried_job_returns_the_recorded_task(worker: Worker, full: dict[str, Any]) -> None:
    before = run("get_all_tasks", page_size=200)["result"]["total"]
    again = run("speech_to_text", job_id="rp-full-1", file=data_uri(SAMPLE_WAV.read_bytes()))
    assert again["identifier"] == full["identifier"]
    assert run("get_all_tasks", page_size=200)["result"]["total"] == before


@pytest.mark.slow
def test_speech_to_text_url_with_subtitles(worker: Worker) -> None:
    response = run(
        "speech_to_text_url",
        url=f"{worker.server.base}/to-sample",
        output_format="vtt",
        subtitle_options={"max_line_width": 40, "max_line_count": 2},
    )
    assert "error" not in response, response
    assert response["result"].startswith("WEBVTT")
    assert "-->" in response["result"] and "[SPEAKER_" in response["result"]
    task = run("get_task", identifier=response["identifier"])["result"]
    assert task["url"] == f"{worker.server.base}/to-sample"


@pytest.mark.slow
def test_stage_by_stage_actions_compose(worker: Worker) -> None:
    audio = data_uri(SAMPLE_WAV.read_bytes())
    transcribed = run("transcribe", file=audio, vad_options={"vad_method": "silero"})
    assert "error" not in transcribed, transcribed
    transcript = transcribed["result"]
    assert transcript["language"] == "en" and transcript["segments"]

    aligned = run("align", file=audio, transcript=json.dumps(transcript), device="cpu")
    assert "error" not in aligned, aligned
    words = aligned["result"]["word_segments"]
    assert words and all(w["start"] <= w["end"] for w in words)
    assert aligned["result"]["aligner"]

    diarized = run("diarize", file=audio, device="cpu", diarize_params={"min_speakers": 1, "max_speakers": 2})
    assert "error" not in diarized, diarized
    segments = diarized["result"]["segments"]
    assert {s["speaker"] for s in segments} and diarized["result"]["backend"]

    # Each stage's result goes on to the next one as it came.
    combined = run(
        "combine",
        aligned_transcript=aligned["result"],
        diarization_result=diarized["result"],
        output_format="txt",
    )
    assert "error" not in combined, combined
    assert combined["result"].startswith("[SPEAKER_")

    types = {
        t["task_type"] for t in run("get_all_tasks", status="completed", page_size=200)["result"]["tasks"]
    }
    assert {
        "transcription",
        "transcription_alignment",
        "diarization",
        "combine_transcript_diarization",
    } <= types


def test_task_actions(worker: Worker) -> None:
    runtime = get_runtime()
    queued = submit_task(runtime, task_type=TaskType.transcription, params={}).identifier
    cancelled = run("cancel_task", identifier=queued)
    assert cancelled["result"]["status"] == "cancelled"
    listed = run("get_all_tasks", status="cancelled", task_type="transcription", page=1, page_size=5)
    assert queued in [t["identifier"] for t in listed["result"]["tasks"]]
    assert run("delete_task", identifier=queued)["message"] == "task deleted"
    assert error_of(run("get_task", identifier=queued))["code"] == "not_found"


def test_health_reports_the_store_and_models(worker: Worker) -> None:
    health = run("health")
    assert health["result"]["database"] == {"kind": "sqlite", "reachable": True}
    assert isinstance(health["result"]["models_loaded"], list)


BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("bad base64", {"action": "transcribe", "file": "!!!not base64!!!"}, "invalid_input"),
    ("empty file field", {"action": "transcribe", "file": ""}, "invalid_input"),
    ("empty data uri", {"action": "transcribe", "file": "data:audio/wav;base64,"}, "empty_audio"),
    (
        "text, not audio",
        {"action": "transcribe", "file": data_uri(b"just some text, not audio")},
        "not_audio",
    ),
    ("header-only wav", {"action": "transcribe", "file": data_uri(silent_wav(0))}, "empty_audio"),
    ("under 0.1 s", {"action": "transcribe", "file": data_uri(silent_wav(0.05))}, "audio_too_short"),
    (
        "model not served",
        {"action": "transcribe", "file": data_uri(silent_wav(1)), "model_params": {"model": "large-v3"}},
        "model_not_allowed",
    ),
    (
        "english-only model asked to translate",
        {"action": "transcribe", "file": data_uri(silent_wav(1)), "model_params": {"task": "translate"}},
        "english_only_model",
    ),
    (
        "english-only model asked for german",
        {"action": "speech_to_text", "file": data_uri(silent_wav(1)), "model_params": {"language": "de"}},
        "english_only_model",
    ),
    ("unknown action", {"action": "paint"}, "unknown_action"),
    ("missing action", {"file": "abc"}, "unknown_action"),
    ("missing file", {"action": "speech_to_text"}, "invalid_input"),
    (
        "file and url",
        {"action": "speech_to_text", "file": "abc", "url": "https://example.com/a.wav"},
        "invalid_input",
    ),
    ("file of wrong type", {"action": "transcribe", "file": 123}, "invalid_input"),
    (
        "params of wrong type",
        {"action": "transcribe", "file": "abc", "model_params": "fast"},
        "invalid_input",
    ),
    ("unknown key", {"action": "transcribe", "file": "abc", "colour": "blue"}, "invalid_input"),
    (
        "absurd batch size",
        {"action": "transcribe", "file": "abc", "model_params": {"batch_size": 10**9}},
        "invalid_input",
    ),
    (
        "negative beam",
        {"action": "transcribe", "file": "abc", "asr_options": {"beam_size": -1}},
        "invalid_input",
    ),
    (
        "unknown language",
        {"action": "transcribe", "file": "abc", "model_params": {"language": "klingon"}},
        "invalid_input",
    ),
    (
        "speaker bounds",
        {"action": "diarize", "file": "abc", "diarize_params": {"min_speakers": 3, "max_speakers": 2}},
        "invalid_input",
    ),
    ("transcript bad json", {"action": "align", "file": "abc", "transcript": "{not json"}, "invalid_input"),
    ("combine missing part", {"action": "combine", "aligned_transcript": {"segments": []}}, "invalid_input"),
    ("oversized base64", {"action": "transcribe", "file": "A" * (8 * 2**20)}, "too_large"),
    ("loopback url", {"action": "speech_to_text_url", "url": "http://127.0.0.2/a.wav"}, "url_not_allowed"),
    ("private url", {"action": "speech_to_text_url", "url": "http://10.1.2.3/a.wav"}, "url_not_allowed"),
    ("ipv6 loopback url", {"action": "speech_to_text_url", "url": "http://[::1]/a.wav"}, "url_not_allowed"),
    (
        "metadata url",
        {"action": "speech_to_text_url", "url": "http://169.254.169.254/latest/"},
        "url_not_allowed",
    ),
    ("decimal ip url", {"action": "speech_to_text_url", "url": "http://2130706434/a.wav"}, "url_not_allowed"),
    ("ftp url", {"action": "speech_to_text_url", "url": "ftp://example.com/a.wav"}, "url_not_allowed"),
    (
        "unresolvable host",
        {"action": "speech_to_text_url", "url": "http://no-such-host.invalid/a.wav"},
        "download_failed",
    ),
    ("unknown task", {"action": "get_task", "identifier": "no-such-task"}, "not_found"),
    ("unknown task delete", {"action": "delete_task", "identifier": "no-such-task"}, "not_found"),
    ("task id too long", {"action": "get_task", "identifier": "x" * 500}, "invalid_input"),
    ("page too large", {"action": "get_all_tasks", "page_size": 100_000}, "invalid_input"),
]
SERVER_INPUTS: list[tuple[str, str, str]] = [
    ("redirect to loopback", "/to-private", "url_not_allowed"),
    ("redirect to metadata", "/to-metadata", "url_not_allowed"),
    ("declared huge", "/huge", "too_large"),
    ("missing file", "/missing", "download_failed"),
]


def _assert_clean_error(response: dict[str, Any], code: str) -> None:
    assert set(response) == {"error"}, response
    assert error_of(response)["code"] == code, response
    message = error_of(response)["message"]
    assert message and "Traceback" not in message and 'File "' not in message


@pytest.mark.parametrize(("name", "job_input", "code"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_returns_an_error_code(
    worker: Worker, name: str, job_input: dict[str, Any], code: str
) -> None:
    _assert_clean_error(handler({"id": f"bad-{name}", "input": job_input}), code)


def test_model_refusals_queue_nothing_and_load_nothing(worker: Worker) -> None:
    before = run("get_all_tasks", page_size=200)["result"]["total"]
    response = run("transcribe", file=data_uri(silent_wav(1)), model_params={"model": "large-v3"})
    error = error_of(response)
    assert error["code"] == "model_not_allowed" and "'large-v3'" in error["message"]
    assert "tiny.en" in error["message"]  # names what is served
    assert run("get_all_tasks", page_size=200)["result"]["total"] == before
    assert not any("large-v3" in key for key in registry.loaded())


@pytest.mark.parametrize("action", ["transcribe", "speech_to_text"])
def test_silence_is_a_completed_task_with_no_segments(worker: Worker, action: str) -> None:
    response = run(action, file=data_uri(silent_wav(3)))
    assert response["message"].endswith(" completed"), response
    assert response["result"]["segments"] == [] and response["result"]["audio_duration"] == 3.0


@pytest.mark.parametrize(("name", "path", "code"), SERVER_INPUTS, ids=[c[0] for c in SERVER_INPUTS])
def test_bad_urls_return_an_error_code(worker: Worker, name: str, path: str, code: str) -> None:
    response = run("speech_to_text_url", url=f"{worker.server.base}{path}")
    _assert_clean_error(response, code)


@pytest.mark.parametrize("job", [None, "text", 3, [], {"input": None}, {"input": []}, {"input": "health"}])
def test_malformed_jobs(worker: Worker, job: Any) -> None:
    _assert_clean_error(handler(job), "invalid_input")


def test_no_task_is_left_processing_and_no_temp_file_left(worker: Worker) -> None:
    processing = run("get_all_tasks", status="processing")["result"]["total"]
    assert processing == 0
    scratch = worker.data_dir / "tmp"
    assert not scratch.exists() or not any(scratch.iterdir())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
actions = st.sampled_from(
    [
        "transcribe",
        "align",
        "diarize",
        "combine",
        "get_task",
        "get_all_tasks",
        "delete_task",
        "cancel_task",
        "speech_to_text",
        "speech_to_text_url",
        "detect_language",
        "health",
        "nope",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    action=actions,
    fields=st.dictionaries(
        st.sampled_from(
            [
                "file",
                "url",
                "identifier",
                "transcript",
                "aligned_transcript",
                "diarization_result",
                "model_params",
                "asr_options",
                "diarize_params",
                "page",
                "page_size",
                "status",
                "output_format",
                "x",
            ]
        ),
        json_values,
        max_size=4,
    ),
)
def test_arbitrary_json_never_raises(worker: Worker, action: str, fields: dict[str, Any]) -> None:
    fields.pop("url", None) if isinstance(fields.get("url"), str) else None  # no real network traffic
    response = handler({"id": None, "input": {"action": action, **fields}})
    assert isinstance(response, dict)
    assert "error" in response or "result" in response
    if "error" in response:
        assert error_of(response)["code"] and error_of(response)["message"]
        assert error_of(response)["code"] != "internal_error", error_of(response)  # a crash is not an answer
