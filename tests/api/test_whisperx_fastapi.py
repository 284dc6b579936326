"""whisperX-FastAPI's own contract (its routers, schemas and end-to-end tests), replayed against our running
server with its kind of requests: options in the query string, transcripts and diarizations as uploaded `.json`
files, its result, task, callback, error and health shapes. Real tiny.en on pyannote's sample."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.corpus import SAMPLE_WAV
from tests.local_http import LocalServer, local_server
from tests.servers import api_server, finished, free_port

pytestmark = pytest.mark.server  # starts a server or worker process: left out of `make check`

AUDIO = SAMPLE_WAV.read_bytes()
# Its tests run on the CPU with int8; its callback test names a receiver on loopback.
ON_CPU = {"device": "cpu", "compute_type": "int8"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[LocalServer]:
    with local_server() as server:
        yield server


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    data_dir = tmp_path_factory.mktemp("whisperx-fastapi")
    env = {"FETCH__ALLOW_PRIVATE_HOSTS": '["127.0.0.1"]', "LIMITS__QUEUE_SIZE": "40"}
    with api_server(data_dir, **env) as base, httpx.Client(base_url=base, timeout=120) as http:
        yield http


def audio_file(name: str = "audio_en.wav") -> dict[str, Any]:
    return {"file": (name, AUDIO)}


def document(name: str, content: Any) -> tuple[str, bytes]:
    return (name, json.dumps(content).encode())


def queued(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert "Task queued" in response.json()["message"]
    return str(response.json()["identifier"])


def test_health_bodies_carry_its_keys(client: httpx.Client) -> None:
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.json()["message"] == "Service is running"
    live = client.get("/health/live").json()
    assert live["status"] == "ok" and live["message"] == "Application is live"
    assert isinstance(live["timestamp"], float) and abs(live["timestamp"] - time.time()) < 60
    ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert (ready.json()["status"], ready.json()["database"]) == ("ok", "connected")
    assert ready.json()["message"] == "Application is ready to accept requests"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/speech-to-text", {"model": "not-a-model"}),
        ("/speech-to-text", {"task": "summarise"}),
        ("/speech-to-text", {"device": "tpu"}),
        ("/speech-to-text", {"compute_type": "int4"}),
        ("/speech-to-text", {"language": "klingon"}),
        ("/speech-to-text", {"max_speakers": "two"}),
        ("/service/transcribe", {"batch_size": "many"}),
        ("/service/transcribe", {"temperatures": "warm"}),
        ("/service/align", {"interpolate_method": "cubic"}),
        ("/service/diarize", {"device": "tpu"}),
        ("/speech-to-text", {"callback_url": "not a url"}),
    ],
)
def test_values_outside_its_lists_are_422(client: httpx.Client, path: str, query: dict[str, str]) -> None:
    before = client.get("/task/all").json()["total"]
    response = client.post(path, params=query, files=audio_file(), data={"transcript": "{}"})
    assert response.status_code == 422, response.text
    (name,) = query
    assert any(item["loc"][-1] == name for item in response.json()["detail"]), response.text
    assert client.get("/task/all").json()["total"] == before


def test_submit_time_refusals_take_its_statuses(client: httpx.Client, receiver: LocalServer) -> None:
    before = client.get("/task/all").json()["total"]
    unreachable = f"http://127.0.0.1:{free_port()}/callback"
    refused = client.post("/speech-to-text", params={"callback_url": unreachable}, files=audio_file())
    assert refused.status_code == 400 and "Callback URL is not reachable" in refused.json()["detail"]
    missing = client.post("/speech-to-text-url", data={"url": f"{receiver.base}/missing"})
    assert missing.status_code == 503, missing.text
    assert (
        missing.json()["error"]["code"] == "FILE_DOWNLOAD_ERROR" and missing.json()["error"]["correlation_id"]
    )
    assert client.post("/service/transcribe", files={"file": ("audio_en.mp3", b"")}).status_code == 400
    assert (
        client.post("/service/diarize", files={"file": ("notes.txt", b"not audio " * 200)}).status_code == 400
    )
    assert client.get("/task/all").json()["total"] == before, "a refused request recorded a task"


def test_a_download_failing_while_waiting_is_answered_as_if_refused_at_once(
    client: httpx.Client, receiver: LocalServer
) -> None:
    # /once.wav answers the check before queuing, then fails the task's own download.
    failed = client.post(
        "/speech-to-text-url", params={"wait": "true"}, data={"url": f"{receiver.base}/once.wav"}
    )
    refused = client.post("/speech-to-text-url", data={"url": f"{receiver.base}/missing"})
    assert failed.status_code == refused.status_code == 503, failed.text
    assert failed.json()["error"]["code"] == refused.json()["error"]["code"] == "FILE_DOWNLOAD_ERROR"
    assert set(refused.json()["error"]) <= set(failed.json()["error"])  # the task's identifier too


def test_unknown_tasks_are_task_not_found(client: httpx.Client) -> None:
    for response in (client.get("/task/non-existent-uuid-12345"), client.delete("/task/no-such-task/delete")):
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "TASK_NOT_FOUND" and error["service_code"] == "not_found"
        assert error["correlation_id"] == response.headers["x-request-id"]
        assert str(uuid.UUID(error["correlation_id"])) == error["correlation_id"]  # its hyphenated UUID form


@pytest.fixture(scope="module")
def transcript(client: httpx.Client) -> dict[str, Any]:
    """Its transcription step: options in the query, one of them also in our form group (the form wins)."""
    query = {**ON_CPU, "language": "en", "model": "tiny.en", "batch_size": 2, "beam_size": 3}
    identifier = queued(
        client.post(
            "/service/transcribe",
            params=query,
            files=audio_file("audio_en.mp3"),
            data={"model_params": json.dumps({"batch_size": 4})},
        )
    )
    return finished(client, identifier)


def test_transcribe_honours_its_query_parameters(transcript: dict[str, Any]) -> None:
    params = transcript["metadata"]["task_params"]
    assert params["model_params"]["model"] == "tiny.en" and params["model_params"]["device"] == "cpu"
    assert params["model_params"]["batch_size"] == 4, "the form group wins over the query string"
    assert params["asr_options"]["beam_size"] == 3
    assert (
        transcript["metadata"]["language"] == "en" and transcript["metadata"]["task_type"] == "transcription"
    )
    assert transcript["metadata"]["file_name"] == "audio_en.mp3"
    assert transcript["result"]["language"] == "en" and transcript["result"]["segments"][0]["text"].strip()
    assert transcript["error"] is None and transcript["start_time"] and transcript["end_time"]


@pytest.fixture(scope="module")
def aligned(client: httpx.Client, transcript: dict[str, Any]) -> dict[str, Any]:
    files = {**audio_file(), "transcript": document("transcript.json", transcript["result"])}
    identifier = queued(
        client.post("/service/align", params={"device": "cpu", "interpolate_method": "linear"}, files=files)
    )
    return finished(client, identifier)


@pytest.fixture(scope="module")
def diarized(client: httpx.Client) -> dict[str, Any]:
    query = {"device": "cpu", "min_speakers": 2, "max_speakers": 2}
    return finished(client, queued(client.post("/service/diarize", params=query, files=audio_file())))


def test_the_chain_runs_on_its_json_file_parts(
    client: httpx.Client, aligned: dict[str, Any], diarized: dict[str, Any]
) -> None:
    assert aligned["metadata"]["task_type"] == "transcription_alignment"
    assert aligned["metadata"]["task_params"]["align_params"]["interpolate_method"] == "linear"
    assert all("start" in word for word in aligned["result"]["word_segments"])
    turns = diarized["result"]
    assert isinstance(turns, list) and turns
    assert all(set(turn) == {"label", "speaker", "start", "end"} for turn in turns)
    assert len({turn["speaker"] for turn in turns}) == 2
    files = {
        "aligned_transcript": document("aligned_transcript.json", aligned["result"]),
        "diarization_result": document("diarazition.json", turns),
    }
    combined = finished(client, queued(client.post("/service/combine", files=files)))
    assert combined["metadata"]["task_type"] == "combine_transcript&diarization"
    assert combined["task_type"] == "combine_transcript&diarization"
    assert {segment["speaker"] for segment in combined["result"]["segments"]} <= {t["speaker"] for t in turns}
    listed = client.get("/task/all", params={"task_type": "combine_transcript&diarization"}).json()["tasks"]
    assert [task["identifier"] for task in listed] == [combined["identifier"]]


@pytest.mark.parametrize("door", ["upload", "url"])
def test_speech_to_text_with_its_callback(client: httpx.Client, receiver: LocalServer, door: str) -> None:
    callback = f"{receiver.base}/callback-{door}"
    query = {**ON_CPU, "language": "en", "max_speakers": 1, "callback_url": callback}
    if door == "upload":
        response = client.post("/speech-to-text", params=query, files=audio_file("audio_en.mp3"))
    else:
        response = client.post(
            "/speech-to-text-url", params=query, data={"url": f"{receiver.base}/sample.wav"}
        )
    identifier = queued(response)
    assert client.get(f"/task/{identifier}").json()["metadata"]["callback_url"] == callback
    task = finished(client, identifier)
    assert len({segment["speaker"] for segment in task["result"]["segments"]}) == 1, (
        "max_speakers=1 is honoured"
    )
    deadline = time.monotonic() + 30
    while not (posts := [r for r in receiver.received if r.path == f"/callback-{door}"]):
        assert time.monotonic() < deadline, "no callback was received"
        time.sleep(0.2)
    payload = json.loads(posts[0].body)
    assert {"status", "result", "metadata", "error"} <= set(payload) and payload["status"] == "completed"
    metadata = payload["metadata"]
    assert metadata["task_type"] == "full_process" and metadata["callback_url"] == callback
    if door == "upload":
        assert metadata["file_name"] == "audio_en.mp3"
    else:
        assert metadata["url"] == f"{receiver.base}/sample.wav"
    assert "T" in metadata["start_time"] and "T" in metadata["end_time"] and metadata["duration"] > 0
    assert payload["result"]["segments"]


def test_task_all_lists_every_task_with_its_times(client: httpx.Client) -> None:
    tiny = {
        "segments": [
            {"start": 0.0, "end": 1.0, "text": " hi", "words": [{"word": "hi", "start": 0.1, "end": 0.5}]}
        ]
    }
    files = {"aligned_transcript": document("a.json", tiny), "diarization_result": document("d.json", [])}
    for _ in range(21):
        queued(client.post("/service/combine", files=files))
    everything = client.get("/task/all").json()
    assert len(everything["tasks"]) == everything["total"] > 20, "no paging asked: every task"
    assert all(
        {"identifier", "status", "task_type", "start_time", "end_time"} <= set(t) for t in everything["tasks"]
    )
    assert len(client.get("/task/all", params={"page_size": 5}).json()["tasks"]) == 5
