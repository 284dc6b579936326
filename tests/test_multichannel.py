"""A call recorded one party per channel, through both front doors with the real models: each channel's words
carry its channel and speaker, what leaked into the other channel is not transcribed twice, and a file that
cannot be split by channel is refused clearly."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
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


ROOM_CALL = [
    ("A", "good morning thank you for calling the support line"),
    ("B", "hello I would like to change the address on my account"),
    ("C", "I can help you with that what is your account number"),
    ("B", "yes it is seven four two nine one"),
    ("A", "thank you the new address has been saved"),
    ("B", "wonderful thank you very much for your help"),
    ("C", "you are welcome and have a good day"),
]
"""Two people in a room on one side of the call (A and C), one caller (B) on the other."""


@pytest.fixture(scope="module")
def room_call() -> tuple[bytes, list[Any]]:
    heard, truth, _ = stereo_call(ROOM_CALL)  # channels in order of first turn: A, B, C
    channels = np.vstack([heard[0] + heard[2], heard[1]])
    out = io.BytesIO()
    sf.write(out, channels.T, 16_000, format="WAV", subtype="PCM_16")
    return out.getvalue(), truth


def test_a_channel_with_several_people_is_diarized_within(
    worker: None, room_call: tuple[bytes, list[Any]]
) -> None:
    wav, truth = room_call
    response = run_job(
        "speech_to_text",
        file=data_uri(wav),
        multichannel=True,
        channel_names=["room", "caller"],
        diarize_channels=True,
    )
    assert "error" not in response, response
    result = response["result"]
    room = [speaker for speaker in result["speakers"] if speaker.startswith("room:")]
    assert len(room) == 2 and [s for s in result["speakers"] if not s.startswith("room:")] == [
        "caller:SPEAKER_00"
    ]
    assert result["backends"]["diarization"].startswith("channels+")
    assert {turn["speaker"] for turn in result["diarization"]} == set(result["speakers"])
    # Each person of the room is one of its speakers: the words of A and of C go to two different labels.
    said: dict[str, dict[str, int]] = {"A": {}, "B": {}, "C": {}}
    for word in (word for segment in result["segments"] for word in segment["words"] if "start" in word):
        middle = (word["start"] + word["end"]) / 2
        person = min(truth, key=lambda true: abs((true.start + true.end) / 2 - middle)).speaker
        said[person][word["speaker"]] = said[person].get(word["speaker"], 0) + 1
    labels = {person: max(counts, key=lambda label: counts[label]) for person, counts in said.items()}
    assert labels["B"] == "caller:SPEAKER_00" and labels["A"] != labels["C"], said
    for person, counts in said.items():
        assert counts[labels[person]] >= 0.9 * sum(counts.values()), said


def test_diarizing_within_channels_needs_channels_and_speakers(
    worker: None, room_call: tuple[bytes, list[Any]]
) -> None:
    for action, fields in (
        ("speech_to_text", {"diarize_channels": True}),
        ("transcribe", {"multichannel": True, "diarize_channels": True}),
    ):
        error = error_of(run_job(action, file=data_uri(room_call[0]), **fields))
        assert error["code"] == "invalid_input" and "diarize_channels" in error["message"], error


def test_openais_diarized_json_diarizes_within_channels(
    api: TestClient, room_call: tuple[bytes, list[Any]]
) -> None:
    client = OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=api, max_retries=0)
    answer = client.audio.transcriptions.create(
        model="whisper-1",
        file=("call.wav", room_call[0]),
        response_format="diarized_json",
        extra_body={"multichannel": True, "channel_names": ["room", "caller"], "diarize_channels": True},
    )
    # The people found within a channel are lettered after it, as OpenAI letters speakers.
    speakers = [segment.speaker for segment in answer.segments]
    assert speakers[:2] == ["room:A", "caller:B"] and set(speakers) == {"room:A", "caller:B", "room:C"}, (
        speakers
    )
