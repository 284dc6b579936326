"""Results as they come, against a running server on real audio: OpenAI's streamed transcription through the
official client, and the segments a running task has decoded so far."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.corpus import normalise, sample_times
from tests.reliability.helpers import clip_wav, wait_until
from tests.servers import api_server

pytestmark = pytest.mark.slow


@dataclass
class Server:
    client: OpenAI
    base: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Chunks are decoded one at a time, so each one's segment is published on its own; diarization runs after
    # transcription, as its own stage, so a poll can see the segments still on show while it runs.
    with api_server(
        tmp_path_factory.mktemp("streaming"), BATCH_SIZE="1", OVERLAP_DIARIZATION="false"
    ) as base:
        yield Server(OpenAI(base_url=f"{base}/v1", api_key="unused", timeout=600, max_retries=0), base)


def newest_task(server: Server) -> dict[str, Any]:
    return httpx.get(f"{server.base}/task/all", params={"page_size": 1}, timeout=30).json()["tasks"][0]


def test_the_official_client_streams_each_segment_then_the_whole_text(server: Server) -> None:
    audio = ("call.wav", sample_times(3))
    arrivals: list[tuple[float, Any]] = []
    for event in server.client.audio.transcriptions.create(model="whisper-1", file=audio, stream=True):
        arrivals.append((time.monotonic(), event))
    events = [event for _at, event in arrivals]
    deltas, done = events[:-1], events[-1]
    assert done.type == "transcript.text.done"
    assert len(deltas) >= 2 and {event.type for event in deltas} == {"transcript.text.delta"}
    assert "".join(event.delta for event in deltas) == done.text
    assert normalise(done.text).count("new jersey") >= 3  # said in each of the three calls
    assert done.usage is not None and done.usage.type == "duration" and done.usage.seconds == 90
    # The deltas came as the chunks were decoded, not all at the end.
    assert arrivals[-2][0] - arrivals[0][0] > 0.2
    # The same text as without streaming.
    assert server.client.audio.transcriptions.create(model="whisper-1", file=audio).text == done.text


def test_a_task_polled_mid_run_shows_the_segments_decoded_so_far(server: Server) -> None:
    answer = httpx.post(
        f"{server.base}/speech-to-text", files={"file": ("call.wav", sample_times(3))}, timeout=60
    )
    identifier = answer.json()["identifier"]
    seen: list[tuple[str, str | None, list[dict[str, Any]] | None]] = []

    def finished() -> dict[str, Any] | None:
        task = httpx.get(f"{server.base}/task/{identifier}", timeout=30).json()
        seen.append((task["status"], task["stage"], task["partial"]))
        return task if task["status"] not in ("queued", "processing") else None

    task = wait_until(finished, timeout=600, interval=0.05, what="the task to finish")
    assert task["status"] == "completed" and task["partial"] is None
    running = [partial for status, _stage, partial in seen if status == "processing" and partial]
    assert running, "no poll caught the task with segments published"
    counts = [len(partial) for partial in running]
    assert counts == sorted(counts) and len(set(counts)) >= 2, counts  # they grew chunk by chunk
    assert all({"start", "end", "text"} <= set(segment) for segment in running[-1])
    # What was published is the transcript the result holds (the result's segments are then aligned and
    # split by speaker).
    published = normalise(" ".join(segment["text"] for segment in running[-1]))
    assert published == normalise(" ".join(segment["text"] for segment in task["result"]["segments"]))
    # The segments stay on show through the later stages, until the result replaces them.
    stages = {stage for status, stage, partial in seen if partial}
    assert {"transcribe", "diarize"} <= stages, stages


def test_a_client_that_leaves_cancels_its_task(server: Server) -> None:
    form = {"model": "whisper-1", "stream": "true"}
    files = {"file": ("call.wav", sample_times(6))}
    with httpx.stream(
        "POST", f"{server.base}/v1/audio/transcriptions", data=form, files=files, timeout=120
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        first = next(line for line in response.iter_lines() if line.startswith("data: "))
        assert json.loads(first.removeprefix("data: "))["type"] == "transcript.text.delta"
    # The connection is closed with most of the recording undecoded.
    task = wait_until(lambda: (t := newest_task(server))["status"] != "processing" and t, timeout=60)
    assert task["status"] == "cancelled" and task["result"] is None


def test_cancelling_the_task_ends_the_stream_with_an_error_event(server: Server) -> None:
    stream = server.client.audio.transcriptions.create(
        model="whisper-1", file=("call.wav", sample_times(6)), stream=True
    )
    assert next(iter(stream)).type == "transcript.text.delta"
    cancelled = httpx.post(f"{server.base}/task/{newest_task(server)['identifier']}/cancel", timeout=30)
    assert cancelled.status_code == 200
    with pytest.raises(openai.APIError) as error:
        for _event in stream:
            pass
    assert error.value.code == "cancelled" and error.value.message


@pytest.mark.parametrize(
    ("call", "param", "code"),
    [
        ({"response_format": "srt"}, "stream", "invalid_input"),
        ({"response_format": "verbose_json"}, "stream", "invalid_input"),
        ({"response_format": "diarized_json"}, "stream", "invalid_input"),
        ({"file": ("notes.txt", b"not audio")}, "file", "not_audio"),
    ],
)
def test_streams_that_cannot_be_made_are_refused_before_the_first_byte(
    server: Server, call: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        server.client.audio.transcriptions.create(
            **{"model": "whisper-1", "file": ("clip.wav", clip_wav()), "stream": True, **call}
        )
    assert (error.value.status_code, error.value.param, error.value.code) == (400, param, code)
    assert error.value.message


def test_translations_are_not_streamed(server: Server) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        server.client.audio.translations.create(
            model="whisper-1", file=("clip.wav", clip_wav()), extra_body={"stream": "true"}
        )
    assert (error.value.param, error.value.code) == ("stream", "invalid_input")
