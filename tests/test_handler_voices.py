"""The worker's voice actions, through `handler(job)` on pyannote's sample call: enroll a caller, find and
manage the voice, identify a clip, and name the voice in a `speech_to_text` job."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from app.ml.diarization import VOICE_EMBEDDING
from handler import handler
from tests.corpus import SAMPLE_WAV, SOLO_SPANS, caller_share, first_caller_clips, sample_clip
from tests.servers import answered, error_of, in_process_worker, run_job

pytestmark = pytest.mark.slow

DANA_CLIPS, DANA_HELD_OUT = first_caller_clips()
OTHER = SOLO_SPANS["speaker91"]


def data_url(wav: bytes) -> str:
    return "data:audio/wav;base64," + base64.b64encode(wav).decode()


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with in_process_worker(tmp_path_factory.mktemp("voice-worker")):
        yield


@pytest.fixture(scope="module")
def dana(worker: None) -> dict[str, Any]:
    clips = [{"audio": data_url(clip)} for clip in DANA_CLIPS]
    response = run_job("enroll_voice", name="Dana", description="Support lead", clips=clips)
    assert response["message"] == "voice enrolled" and response["identifier"], response
    return answered(response)  # type: ignore[no-any-return]


def test_a_voice_is_enrolled_listed_and_identified(dana: dict[str, Any]) -> None:
    assert (dana["name"], dana["clips"], dana["backends"]) == ("Dana", 2, [VOICE_EMBEDDING])
    assert answered(run_job("list_voices")) == [dana]
    assert answered(run_job("list_voices", name="DAN")) == [dana]
    assert answered(run_job("get_voice", voice_id=dana["id"])) == dana

    held_out = data_url(DANA_HELD_OUT)
    for fields in ({"clip": {"audio": held_out}}, {"audio": held_out}):
        response = run_job("identify_voice", **fields)
        assert response["identifier"] == dana["id"] and answered(response)["match"]["name"] == "Dana", (
            response
        )
    other = answered(run_job("identify_voice", audio=data_url(sample_clip(OTHER[1]))))
    assert other["match"] is None, other


def test_a_voice_the_diarizer_has_not_embedded_is_embedded_from_its_clips(dana: dict[str, Any]) -> None:
    # As after a change of diarizer: the voice's embedding for the one in use is gone; its clips remain.
    from sqlalchemy import delete

    from app.db.models import VoiceEmbedding
    from app.runtime import get_runtime

    with get_runtime().engine.begin() as connection:
        connection.execute(delete(VoiceEmbedding))
    assert answered(run_job("get_voice", voice_id=dana["id"]))["backends"] == []
    identified = answered(run_job("identify_voice", audio=data_url(DANA_HELD_OUT)))
    assert identified["match"]["name"] == "Dana", identified
    assert answered(run_job("get_voice", voice_id=dana["id"]))["backends"] == [VOICE_EMBEDDING]


def test_speech_to_text_names_the_enrolled_voice_and_a_task_speaker_is_enrolled(dana: dict[str, Any]) -> None:
    response = run_job(
        "speech_to_text",
        file=data_url(SAMPLE_WAV.read_bytes()),
        diarize_params={"known_speakers": ["Dana"]},  # names of enrolled voices
    )
    segments = answered(response)["segments"]
    assert caller_share(segments, "Dana", "speaker90") >= 0.8, segments
    (label,) = {segment["speaker"] for segment in segments} - {"Dana"}

    remy = run_job("enroll_task_speaker", task_id=response["identifier"], speaker=label, name="Remy")
    assert answered(remy)["clips"] == 0, remy
    assert [voice["name"] for voice in answered(run_job("list_voices"))] == ["Dana", "Remy"]
    assert answered(run_job("delete_voice", voice_id=remy["identifier"])) is None
    assert error_of(run_job("get_voice", voice_id=remy["identifier"]))["code"] == "not_found"


def test_whisperx_workers_speaker_verification_names_enrolled_voices(dana: dict[str, Any]) -> None:
    audio = data_url(SAMPLE_WAV.read_bytes())
    for samples in ([{"name": "Dana"}], []):  # Dana by name, then the whole library
        job = {
            "audio_file": audio,
            "diarization": True,
            "speaker_verification": True,
            "speaker_samples": samples,
        }
        segments = answered_worker(handler({"input": job}))
        assert caller_share(segments, "Dana", "speaker90") >= 0.8, segments


def answered_worker(response: dict[str, Any]) -> list[dict[str, Any]]:
    assert "error" not in response, response
    return response["segments"]  # type: ignore[no-any-return]


def test_a_voice_is_updated_and_given_clips(dana: dict[str, Any]) -> None:
    updated = answered(run_job("update_voice", voice_id=dana["id"], description="Team lead"))
    assert (updated["name"], updated["description"]) == ("Dana", "Team lead")
    more = answered(
        run_job("add_voice_clips", voice_id=dana["id"], clips=[{"audio": data_url(DANA_HELD_OUT)}])
    )
    assert more["clips"] == 3 and more["backends"] == [VOICE_EMBEDDING]


# (case, action, fields, code, what the message says)
REFUSALS = [
    ("no such voice", "get_voice", {"voice_id": "nope"}, "not_found", "'nope'"),
    ("no voice_id", "delete_voice", {}, "invalid_input", "voice_id"),
    ("an unknown field", "get_voice", {"voice_id": "nope", "colour": "red"}, "invalid_input", "colour"),
    ("no clips", "enroll_voice", {"name": "Ned"}, "invalid_input", "clips"),
    (
        "a short clip",
        "enroll_voice",
        {"name": "Ned", "clips": [{"audio": data_url(sample_clip((8.35, 9.9)))}]},
        "invalid_input",
        "least is 2 s",
    ),
    (
        "a taken name",
        "enroll_voice",
        {"name": "Dana", "clips": [{"audio": data_url(DANA_CLIPS[0])}]},
        "conflict",
        "'Dana'",
    ),
    ("nothing to update", "update_voice", {"voice_id": "nope"}, "invalid_input", "description"),
    (
        "clip and audio",
        "identify_voice",
        {"clip": {"audio": "AAAA"}, "audio": "AAAA"},
        "invalid_input",
        "clip",
    ),
    (
        "no task",
        "enroll_task_speaker",
        {"task_id": "nope", "speaker": "SPEAKER_00", "name": "Ned"},
        "not_found",
        "'nope'",
    ),
    (
        "no enrolled voice",
        "diarize",
        {"file": data_url(DANA_CLIPS[0]), "diarize_params": {"known_speakers": {"Ned": None}}},
        "invalid_input",
        "'Ned'",
    ),
]


@pytest.mark.parametrize(
    ("case", "action", "fields", "code", "said"), REFUSALS, ids=[refusal[0] for refusal in REFUSALS]
)
def test_bad_voice_requests_are_refused(
    dana: dict[str, Any], case: str, action: str, fields: dict[str, Any], code: str, said: str
) -> None:
    error = error_of(run_job(action, **fields))
    assert error["code"] == code and said in error["message"], error
    assert [voice["name"] for voice in answered(run_job("list_voices"))] == ["Dana"]
