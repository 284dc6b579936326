"""A call recorded one party per channel, through both front doors with the real models: each channel's words
carry its channel and speaker, what leaked into the other channel is not transcribed twice, and a file that
cannot be split by channel is refused clearly."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from openai import OpenAI

from tests.corpus import normalise, silent_wav, wer
from tests.servers import error_of, in_process_app, in_process_worker, run_job
from tests.synth import TWO_VOICE_DIALOGUE, stereo_call

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def call() -> tuple[bytes, list[Any], list[str]]:
    channels, truth, speakers = stereo_call(TWO_VOICE_DIALOGUE)
    out = io.BytesIO()
    sf.write(out, channels.T, 16_000, format="WAV", subtype="PCM_16")
    return out.getvalue(), truth, speakers


def data_uri(wav: bytes) -> str:
    return "data:audio/wav;base64," + base64.b64encode(wav).decode()


def right_channel_share(result: dict[str, Any], truth: list[Any], speakers: list[str]) -> float:
    """Share of the words whose channel is the channel of the person speaking at their middle."""
    words = [word for segment in result["segments"] for word in segment["words"] if "start" in word]
    right = 0
    for word in words:
        middle = (word["start"] + word["end"]) / 2
        nearest = min(truth, key=lambda true: abs((true.start + true.end) / 2 - middle))
        right += word["channel"] == speakers.index(nearest.speaker)
    return right / len(words)


def said_by(result: dict[str, Any], channel: int) -> str:
    return " ".join(segment["text"] for segment in result["segments"] if segment["channel"] == channel)


def assert_one_person_per_channel(result: dict[str, Any], truth: list[Any], speakers: list[str]) -> None:
    assert right_channel_share(result, truth, speakers) >= 0.95
    for channel, speaker in enumerate(speakers):
        spoken = " ".join(line for who, line in TWO_VOICE_DIALOGUE if who == speaker)
        # Each person's words once: nothing leaked in from the other channel is transcribed again.
        assert wer(normalise(spoken), normalise(said_by(result, channel))) <= 0.25, said_by(result, channel)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with in_process_worker(tmp_path_factory.mktemp("worker")):
        yield


def test_each_channel_is_its_own_speaker_through_the_worker(
    worker: None, call: tuple[bytes, Any, Any]
) -> None:
    wav, truth, speakers = call
    response = run_job(
        "speech_to_text",
        file=data_uri(wav),
        multichannel=True,
        channel_names=["agent", "caller"],
    )
    assert "error" not in response, response
    result = response["result"]
    assert result["speakers"] == ["agent", "caller"] and result["backends"]["diarization"] == "channels"
    assert {segment["speaker"] for segment in result["segments"] if segment["channel"] == 1} == {"caller"}
    assert all(
        word["speaker"] == segment["speaker"] for segment in result["segments"] for word in segment["words"]
    )
    assert_one_person_per_channel(result, truth, speakers)
    starts = [segment["start"] for segment in result["segments"]]
    assert starts == sorted(starts)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"file": data_uri(silent_wav(1.0)), "multichannel": True}, "not_multichannel"),
        ({"channel_names": ["agent"]}, "invalid_input"),
    ],
)
def test_what_cannot_be_split_by_channel_is_refused(
    worker: None, call: tuple[bytes, Any, Any], fields: dict[str, Any], code: str
) -> None:
    response = run_job("transcribe", **{"file": data_uri(call[0]), **fields})
    assert error_of(response)["code"] == code, response


def test_more_names_than_channels_is_refused(worker: None, call: tuple[bytes, Any, Any]) -> None:
    response = run_job("transcribe", file=data_uri(call[0]), multichannel=True, channel_names=["a", "b", "c"])
    error = error_of(response)
    assert error["code"] == "invalid_input" and "channel" in error["message"], error


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with in_process_app(tmp_path_factory.mktemp("api")) as client:
        yield client


def test_each_channel_is_its_own_speaker_through_the_rest_api(
    api: TestClient, call: tuple[bytes, Any, Any]
) -> None:
    wav, truth, speakers = call
    response = api.post(
        "/service/transcribe",
        params={"wait": "true"},
        files={"file": ("call.wav", wav, "audio/wav")},
        data={"multichannel": "true", "word_timestamps": "true"},
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert {segment["speaker"] for segment in result["segments"]} == {"channel_0", "channel_1"}
    assert_one_person_per_channel(result, truth, speakers)
    srt = api.post(
        "/service/transcribe",
        params={"wait": "true"},
        files={"file": ("call.wav", wav, "audio/wav")},
        data={"multichannel": "true", "output_format": "srt"},
    )
    assert srt.status_code == 200 and "[channel_1]" in srt.text, srt.text


def test_openais_diarized_json_names_the_channels(api: TestClient, call: tuple[bytes, Any, Any]) -> None:
    client = OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=api, max_retries=0)
    answer = client.audio.transcriptions.create(
        model="whisper-1",
        file=("call.wav", call[0]),
        response_format="diarized_json",
        extra_body={"multichannel": True, "channel_names": ["agent", "caller"]},
    )
    speakers = [segment.speaker for segment in answer.segments]
    assert set(speakers) == {"agent", "caller"} and speakers[0] == "agent", speakers
