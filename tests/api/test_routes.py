"""The REST app on real audio: every route, the task lifecycle, limits and error shapes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db.models import TaskType
from app.services.tasks import submit_task
from tests.corpus import SAMPLE_WAV, normalise, silent_wav
from tests.servers import in_process_app

AUDIO = SAMPLE_WAV.read_bytes()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with in_process_app(
        tmp_path_factory.mktemp("api"),
        LIMITS__MAX_UPLOAD_MB="2",
        LIMITS__QUEUE_SIZE="2",
        FETCH__ALLOW_PRIVATE_HOSTS='["127.0.0.1"]',
    ) as test_client:
        yield test_client


def upload(data: bytes = AUDIO, name: str = "sample.wav") -> dict[str, Any]:
    return {"file": (name, data, "application/octet-stream")}


def wait_for(client: TestClient, identifier: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.get(f"/task/{identifier}").json()
        if task["status"] in ("completed", "failed", "cancelled"):
            return task
        time.sleep(0.5)
    raise AssertionError(f"task {identifier} did not finish")


@pytest.fixture(scope="module")
def full_task(client: TestClient) -> dict[str, Any]:
    response = client.post(
        "/speech-to-text", files=upload(), data={"diarize_params": json.dumps({"num_speakers": 2})}
    )
    assert response.status_code == 200, response.text
    accepted = response.json()
    assert accepted["message"] == "Task queued"
    return wait_for(client, accepted["identifier"])


@pytest.mark.slow
def test_speech_to_text_queues_a_task_that_completes(full_task: dict[str, Any]) -> None:
    assert full_task["status"] == "completed", full_task
    assert full_task["task_type"] == "full_process" and full_task["file_name"] == "sample.wav"
    assert full_task["progress"] == 1.0 and full_task["audio_duration"] == pytest.approx(30.0, abs=0.01)
    assert len(full_task["result"]["speakers"]) == 2
    assert full_task["params"]["diarize_params"]["num_speakers"] == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("output_format", "media_type", "marker"),
    [
        ("srt", "application/x-subrip", "-->"),
        ("vtt", "text/vtt", "WEBVTT"),
        ("txt", "text/plain", "[SPEAKER_"),
        ("tsv", "text/tab-separated-values", "start\tend\ttext"),
        ("json", "application/json", '"segments"'),
    ],
)
def test_results_in_every_format(
    client: TestClient, full_task: dict[str, Any], output_format: str, media_type: str, marker: str
) -> None:
    response = client.get(f"/task/{full_task['identifier']}/result", params={"format": output_format})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert marker in response.text
    assert "new jersey" in normalise(response.text)


@pytest.mark.slow
def test_stage_routes_compose(client: TestClient) -> None:
    transcribed = client.post("/service/transcribe", files=upload(), params={"wait": "true"})
    assert transcribed.status_code == 200, transcribed.text
    transcript = transcribed.json()["result"]

    aligned = client.post(
        "/service/align", files=upload(), data={"transcript": json.dumps(transcript)}, params={"wait": "true"}
    )
    assert aligned.status_code == 200, aligned.text
    aligned_result = aligned.json()["result"]
    assert aligned_result["word_segments"]

    diarized = client.post(
        "/service/diarize",
        files=upload(),
        data={"diarize_params": '{"max_speakers": 2}'},
        params={"wait": "true"},
    )
    assert diarized.status_code == 200, diarized.text
    speakers = diarized.json()["result"]
    assert speakers["segments"]

    # Each stage's result goes on to the next one as it came.
    combined = client.post(
        "/service/combine",
        json={"aligned_transcript": aligned_result, "diarization_result": speakers, "output_format": "srt"},
        params={"wait": "true"},
    )
    assert combined.status_code == 200, combined.text
    assert "[SPEAKER_" in combined.text or "SPEAKER_" in combined.text


def test_task_routes(client: TestClient) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    ids = [submit_task(runtime, task_type=TaskType.diarization, params={}).identifier for _ in range(3)]
    page = client.get(
        "/task/all", params={"task_type": "diarization", "status": "queued", "page_size": 2}
    ).json()
    assert page["total"] >= 3 and len(page["tasks"]) == 2
    assert client.get(f"/task/{ids[0]}").json()["status"] == "queued"

    cancelled = client.post(f"/task/{ids[0]}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/task/{ids[0]}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert client.get(f"/task/{ids[1]}/result").json()["error"]["code"] == "not_ready"

    assert client.delete(f"/task/{ids[1]}").json() == {"identifier": ids[1], "message": "Task deleted"}
    assert client.delete(f"/task/{ids[2]}/delete").status_code == 200
    missing = client.get(f"/task/{ids[2]}")
    assert missing.status_code == 404 and missing.json()["error"]["service_code"] == "not_found"


def test_health_routes(client: TestClient) -> None:
    report = client.get("/health").json()
    assert report["database"]["kind"] == "sqlite" and report["queue_depth"] >= 0
    live = client.get("/health/live").json()
    assert (live["status"], live["message"]) == ("ok", "Application is live")
    assert client.get("/health/ready").status_code == 200


def test_errors_have_one_shape_and_a_request_id(client: TestClient) -> None:
    cases = [
        (
            client.post("/service/transcribe", files=upload(b"", "empty.wav"), params={"wait": "true"}),
            400,
            "empty_audio",
        ),
        (
            client.post(
                "/service/transcribe", files=upload(b"RIFF not really", "x.wav"), params={"wait": "true"}
            ),
            400,  # whisperX-FastAPI's status for a file that is not audio (ours elsewhere: 415)
            "not_audio",
        ),
        (
            client.post("/service/transcribe", files=upload(), data={"model_params": "{oops"}),
            422,
            "invalid_input",
        ),
        (
            client.post("/service/transcribe", files=upload(), data={"asr_options": '{"beam_size": -1}'}),
            422,
            "invalid_input",
        ),
        (client.post("/service/transcribe"), 422, "invalid_input"),
        (
            client.post(
                "/speech-to-text-url", data={"url": "http://10.0.0.1/a.wav"}, params={"wait": "true"}
            ),
            400,
            "url_not_allowed",
        ),
        (client.get("/task/all", params={"page_size": 0}), 422, "invalid_input"),
        (client.get("/no/such/route"), 404, "not_found"),
        (client.put("/health"), 405, "method_not_allowed"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (code, response.text)
        assert response.json()["error"]["code"] == code
        assert "Traceback" not in response.text
        assert response.headers["x-request-id"]
    echoed = client.get("/health/live", headers={"X-Request-ID": "trace-123"})
    # A 405 names the methods served at the path's template (two routers serve /task/{identifier}), not
    # those of another template the path also fits.
    assert client.put("/task/abc").headers["allow"] == "DELETE, GET"
    assert client.put("/voices/identify").headers["allow"] == "POST"
    assert client.patch("/v1/audio/transcriptions").headers["allow"] == "POST"
    assert echoed.headers["x-request-id"] == "trace-123"


def test_silence_is_a_completed_task_and_unserved_models_are_refused_at_once(client: TestClient) -> None:
    silent = client.post(
        "/service/transcribe", files=upload(silent_wav(3), "quiet.wav"), params={"wait": "true"}
    )
    assert silent.status_code == 200 and silent.json()["status"] == "completed", silent.text
    assert silent.json()["result"]["segments"] == []
    refused = client.post("/speech-to-text", files=upload(), data={"model_params": '{"model": "large-v3"}'})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "model_not_allowed"
    assert refused.json()["error"]["details"] == [
        {"field": "model_params.model", "message": refused.json()["error"]["message"]}
    ]


def test_bodies_over_the_limit_are_refused(client: TestClient) -> None:
    big = b"\0" * (4 * 2**20)
    declared = client.post("/service/transcribe", files=upload(big))
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "too_large"

    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b"\0" * 2**19

    streamed = client.post("/service/combine", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "too_large"


def test_a_full_queue_answers_503_with_retry_after_and_loses_nothing(client: TestClient) -> None:
    executor = client.app.state.executor  # type: ignore[attr-defined]
    with executor.held():
        accepted = [client.post("/service/transcribe", files=upload()) for _ in range(2)]
        assert [r.status_code for r in accepted] == [200, 200]
        assert executor.depth == 2, "the queue is the task table: both wait there"
        refused = client.post("/service/transcribe", files=upload())
        assert refused.status_code == 503 and refused.headers["retry-after"]
        assert refused.json()["error"]["code"] == "queue_full"
        on_v1 = client.post("/v1/audio/transcriptions", files=upload(), data={"model": "whisper-1"})
        assert on_v1.status_code == 503 and on_v1.headers["retry-after"]
        assert (on_v1.json()["error"]["type"], on_v1.json()["error"]["code"]) == (
            "server_error",
            "queue_full",
        )
        started = time.perf_counter()
        assert client.get("/health").status_code == 200
        assert time.perf_counter() - started < 2, "health does not wait behind queued work"
    for response in accepted:
        assert wait_for(client, response.json()["identifier"])["status"] == "completed"
    failed = client.get("/task/all", params={"status": "failed", "page_size": 200}).json()["tasks"]
    assert any(t["error_detail"]["code"] == "queue_full" for t in failed), "the refused request is on record"
