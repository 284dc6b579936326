"""The REST image, built for real: ready on its health route, the real sample transcribed through the OpenAI door
and the pipeline, and its tasks kept on the data volume across a container restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.corpus import SAMPLE_WAV, sample_lines, wer
from tests.images.conftest import container, docker, image, wait_until_answered
from tests.servers import free_port

REFERENCE = " ".join(text for _speaker, _start, _end, text in sample_lines())


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[str, str]]:
    """The REST image serving on a free port with a data volume: (container name, base URL)."""
    port = free_port()
    volume = f"whisperx-test-data-{uuid.uuid4().hex[:8]}"
    with container(image("API_IMAGE"), env={"PORT": str(port)}, volume=volume) as name:
        base = f"http://127.0.0.1:{port}"
        wait_until_answered(name, f"{base}/health/ready")
        yield name, base
    docker("volume", "rm", volume)


def test_the_openai_door_transcribes_the_sample(api: tuple[str, str]) -> None:
    _name, base = api
    response = httpx.post(
        f"{base}/v1/audio/transcriptions",
        files={"file": ("sample.wav", SAMPLE_WAV.read_bytes(), "audio/wav")},
        data={"model": "whisper-1"},
        timeout=300,
    )
    assert response.status_code == 200, response.text
    assert wer(REFERENCE, response.json()["text"]) <= 0.2, response.json()


def test_a_pipeline_task_survives_a_container_restart(api: tuple[str, str]) -> None:
    name, base = api
    response = httpx.post(
        f"{base}/speech-to-text",
        params={"wait": "true"},
        files={"file": ("sample.wav", SAMPLE_WAV.read_bytes(), "audio/wav")},
        timeout=300,
    )
    assert response.status_code == 200, response.text
    identifier = response.json()["identifier"]
    result = response.json()["result"]
    heard = " ".join(segment["text"] for segment in result["segments"])
    assert wer(REFERENCE, heard) <= 0.2, heard
    assert len({segment.get("speaker") for segment in result["segments"]} - {None}) == 2

    docker("restart", name)
    wait_until_answered(name, f"{base}/health/ready")
    task = httpx.get(f"{base}/task/{identifier}", timeout=10)
    assert task.status_code == 200, task.text
    assert task.json()["status"] == "completed"
    assert task.json()["result"]["segments"] == result["segments"]
