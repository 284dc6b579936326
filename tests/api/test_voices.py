"""The voice library's REST routes on pyannote's sample call, with the embedded diarizer's own embeddings: a
caller enrolled from two clips is recognised in a clip held out and named in a later recording, a speaker of a
finished task is enrolled by its label, and each API key keeps its own library."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.ml.diarization import VOICE_EMBEDDING
from app.ml.speaker_names import MATCH_THRESHOLD
from tests.corpus import SAMPLE_WAV, SOLO_SPANS, caller_share, first_caller_clips, sample_clip
from tests.servers import Caller, in_process_app

pytestmark = pytest.mark.slow

KEY_A, KEY_B, KEY_C = "voices-key-a-5d1e", "voices-key-b-9c3f", "voices-key-c-2a7b"
DANA_CLIPS, DANA_HELD_OUT = first_caller_clips()  # the caller enrolled as Dana
OTHER = SOLO_SPANS["speaker91"]  # the other caller


def data_url(wav: bytes) -> str:
    return "data:audio/wav;base64," + base64.b64encode(wav).decode()


def clips(*wavs: bytes) -> list[dict[str, str]]:
    return [{"audio": data_url(wav)} for wav in wavs]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    keys = json.dumps([KEY_A, KEY_B, KEY_C])
    with in_process_app(tmp_path_factory.mktemp("voices"), API_KEYS=keys) as client:
        yield client


@pytest.fixture(scope="module")
def alice(service: TestClient) -> Caller:
    """The key whose library holds Dana (and, once enrolled from a task, Remy)."""
    return Caller(service, KEY_A)


@pytest.fixture(scope="module")
def bob(service: TestClient) -> Caller:
    return Caller(service, KEY_B)


@pytest.fixture(scope="module")
def carol(service: TestClient) -> Caller:
    """A key whose voices come and go, clear of Alice's library."""
    return Caller(service, KEY_C)


@pytest.fixture(scope="module")
def dana(alice: Caller) -> dict[str, Any]:
    """Dana, enrolled from two uploaded clips of the sample's first caller."""
    uploads = [("files", (f"dana-{i}.wav", clip, "audio/wav")) for i, clip in enumerate(DANA_CLIPS)]
    answer = alice("POST", "/voices", data={"name": "Dana", "description": "Support lead"}, files=uploads)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def error_code(answer: httpx.Response) -> str:
    return answer.json()["error"]["code"]  # type: ignore[no-any-return]


def test_a_voice_is_enrolled_from_clips_of_one_caller(alice: Caller, dana: dict[str, Any]) -> None:
    assert dana["name"] == "Dana" and dana["description"] == "Support lead"
    assert dana["clips"] == 2 and dana["seconds"] == pytest.approx(3.35 + 3.0, abs=0.01)
    assert dana["backends"] == [VOICE_EMBEDDING]
    assert alice("GET", f"/voices/{dana['id']}").json() == dana
    assert [voice["id"] for voice in alice("GET", "/voices").json()] == [dana["id"]]
    assert alice("GET", "/voices", params={"name": "an"}).json() == [dana]
    assert alice("GET", "/voices", params={"name": "zz"}).json() == []


def test_a_held_out_clip_of_the_caller_is_identified(alice: Caller, dana: dict[str, Any]) -> None:
    answer = alice("POST", "/voices/identify", json={"audio": data_url(DANA_HELD_OUT)})
    assert answer.status_code == 200, answer.text
    identified = answer.json()
    assert identified["match"]["id"] == dana["id"] and identified["match"]["name"] == "Dana", identified
    assert identified["backend"] == VOICE_EMBEDDING

    other = alice("POST", "/voices/identify", files={"file": ("other.wav", sample_clip(OTHER[1]))}).json()
    assert other["match"] is None or other["match"]["name"] != "Dana", other
    (as_dana,) = [candidate for candidate in other["candidates"] if candidate["name"] == "Dana"]
    assert as_dana["similarity"] < identified["match"]["similarity"]


def test_a_recording_names_the_enrolled_voice_and_a_task_speaker_is_enrolled(
    alice: Caller, dana: dict[str, Any]
) -> None:
    answer = alice(
        "POST",
        "/speech-to-text",
        params={"wait": "true"},
        files={"file": ("call.wav", SAMPLE_WAV.read_bytes(), "audio/wav")},
        data={"diarize_params": json.dumps({"known_speakers": {"Dana": None}})},
    )
    assert answer.status_code == 200, answer.text
    task = answer.json()
    segments = task["result"]["segments"]
    assert "Dana" in {segment["speaker"] for segment in segments}, segments
    assert caller_share(segments, "Dana", "speaker90") >= 0.8, segments
    match = task["result"]["known_speakers"]["Dana"]
    assert match["speaker"] is not None and match["similarity"] >= MATCH_THRESHOLD, match
    others = {segment["speaker"] for segment in segments} - {"Dana"}
    assert len(others) == 1, segments  # the other caller keeps the diarizer's label
    (label,) = others

    # "That speaker is Remy": the task's own voice of the other caller.
    request = {"task_id": task["identifier"], "speaker": label, "name": "Remy"}
    remy = alice("POST", "/voices/from-task", json=request)
    assert remy.status_code == 201, remy.text
    assert remy.json()["clips"] == 0 and remy.json()["backends"] == [VOICE_EMBEDDING]
    missing = alice("POST", "/voices/from-task", json={**request, "speaker": "SPEAKER_09", "name": "Ned"})
    assert missing.status_code == 422 and "SPEAKER_09" in missing.json()["error"]["message"]
    assert alice("POST", "/voices/from-task", json={**request, "task_id": "no-such-task"}).status_code == 404

    # A later run names everyone it can from the whole library.
    diarized = alice(
        "POST",
        "/service/diarize",
        params={"wait": "true"},
        files={"file": ("call.wav", SAMPLE_WAV.read_bytes(), "audio/wav")},
        data={"diarize_params": json.dumps({"identify_speakers": True})},
    )
    assert diarized.status_code == 200, diarized.text
    turns = diarized.json()["result"]["segments"]
    assert {turn["speaker"] for turn in turns} == {"Dana", "Remy"}, turns
    assert caller_share(turns, "Dana", "speaker90") >= 0.8, turns
    assert caller_share(turns, "Remy", "speaker91") >= 0.8, turns


def test_openais_known_speaker_names_may_name_an_enrolled_voice_without_a_reference(
    alice: Caller, dana: dict[str, Any]
) -> None:
    answer = alice(
        "POST",
        "/v1/audio/transcriptions",
        files={"file": ("call.wav", SAMPLE_WAV.read_bytes(), "audio/wav")},
        data={
            "model": "gpt-4o-transcribe-diarize",
            "response_format": "diarized_json",
            "known_speaker_names[]": "Dana",
        },
    )
    assert answer.status_code == 200, answer.text
    segments = answer.json()["segments"]
    assert caller_share(segments, "Dana", "speaker90") >= 0.8, segments
    assert {segment["speaker"] for segment in segments} - {"Dana"} == {"A"}  # the other caller, lettered
    unknown = alice(
        "POST",
        "/v1/audio/transcriptions",
        files={"file": ("call.wav", SAMPLE_WAV.read_bytes(), "audio/wav")},
        data={"model": "whisper-1", "response_format": "diarized_json", "known_speaker_names[]": "Nobody"},
    )
    assert unknown.status_code == 400 and "Nobody" in unknown.json()["error"]["message"], unknown.text


def test_a_voice_is_renamed_described_given_clips_and_deleted(carol: Caller) -> None:
    made = carol("POST", "/voices", json={"name": "Blake", "clips": clips(sample_clip(OTHER[0]))})
    assert made.status_code == 201, made.text
    blake = made.json()
    assert (blake["clips"], blake["description"]) == (1, None)
    path = f"/voices/{blake['id']}"

    again = carol("POST", "/voices", json={"name": "Blake", "clips": clips(sample_clip(OTHER[0]))})
    assert again.status_code == 409 and error_code(again) == "conflict", again.text

    renamed = carol("PATCH", path, json={"name": "Bailey"}).json()
    assert (renamed["name"], renamed["description"]) == ("Bailey", None)
    described = carol("PATCH", path, json={"description": "Night shift"}).json()
    assert (described["name"], described["description"]) == ("Bailey", "Night shift")
    assert carol("PATCH", path, json={}).status_code == 422
    assert carol("PATCH", path, json={"name": "SPEAKER_00"}).status_code == 422

    # Clips as a form's uploads and texts, then as JSON; the voice is embedded again from all of them.
    more = carol(
        "POST",
        f"{path}/clips",
        files=[("files", ("a.wav", sample_clip(OTHER[1]), "audio/wav"))],
        data={"clips": data_url(sample_clip((22.0, 25.0)))},
    )
    assert more.status_code == 200, more.text
    assert more.json()["clips"] == 3 and more.json()["backends"] == [VOICE_EMBEDDING]
    json_clips = carol("POST", f"{path}/clips", json={"clips": clips(sample_clip((24.0, 27.0)))})
    assert json_clips.json()["clips"] == 4, json_clips.text

    assert carol("DELETE", path).json() == {"identifier": blake["id"], "message": "Voice deleted"}
    for method, route, body in [
        ("GET", path, None),
        ("PATCH", path, {"name": "Nobody"}),
        ("DELETE", path, None),
        ("POST", f"{path}/clips", {"clips": clips(sample_clip(OTHER[0]))}),
    ]:
        answer = carol(method, route, json=body)
        assert answer.status_code == 404 and error_code(answer) == "not_found", (method, route, answer.text)
    assert carol("GET", "/voices").json() == []


def test_a_taken_name_is_a_conflict_on_rename(carol: Caller) -> None:
    first = carol("POST", "/voices", json={"name": "Casey", "clips": clips(sample_clip(OTHER[0]))}).json()
    second = carol("POST", "/voices", json={"name": "Drew", "clips": clips(sample_clip(OTHER[1]))}).json()
    answer = carol("PATCH", f"/voices/{second['id']}", json={"name": "Casey"})
    assert answer.status_code == 409 and error_code(answer) == "conflict", answer.text
    for voice in (first, second):
        assert carol("DELETE", f"/voices/{voice['id']}").status_code == 200


# (case, body, status, what the error says)
BAD_ENROLMENTS = [
    ("a clip under 2 s", {"name": "Shorty", "clips": clips(sample_clip((11.1, 12.6)))}, 422, "clips[0]"),
    ("no clips", {"name": "Nobody", "clips": []}, 422, "clips"),
    ("a label for a name", {"name": "SPEAKER_01", "clips": [{"audio": "AAAA"}]}, 422, "SPEAKER_00"),
    ("an unknown field", {"name": "Extra", "clips": [{"audio": "AAAA"}], "age": 3}, 422, "age"),
    ("not audio", {"name": "Notes", "clips": clips(b"meeting notes, not a recording")}, 415, "not_audio"),
]


@pytest.mark.parametrize(
    ("case", "body", "status", "said"), BAD_ENROLMENTS, ids=[c[0] for c in BAD_ENROLMENTS]
)
def test_bad_enrolments_are_refused_and_leave_no_voice(
    carol: Caller, case: str, body: dict[str, Any], status: int, said: str
) -> None:
    answer = carol("POST", "/voices", json=body)
    assert answer.status_code == status and said in json.dumps(answer.json()["error"]), answer.text
    assert carol("GET", "/voices").json() == []


def test_a_clip_is_refused_as_a_form_too(carol: Caller) -> None:
    short = carol(
        "POST", "/voices", data={"name": "Shorty"}, files={"files": ("s.wav", sample_clip((11.1, 12.6)))}
    )
    assert short.status_code == 422 and "least is 2 s" in short.json()["error"]["message"], short.text
    assert (
        carol(
            "POST", "/voices", content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 422
    )
    two = {"file": ("a.wav", sample_clip(OTHER[0])), "audio": (None, "AAAA")}
    assert carol("POST", "/voices/identify", files=two).status_code == 422
    assert carol("GET", "/voices").json() == []


def test_each_key_keeps_its_own_library(
    service: TestClient, alice: Caller, bob: Caller, dana: dict[str, Any]
) -> None:
    assert bob("GET", "/voices").json() == []
    for method, path in [("GET", f"/voices/{dana['id']}"), ("DELETE", f"/voices/{dana['id']}")]:
        assert bob(method, path).status_code == 404
    assert bob("PATCH", f"/voices/{dana['id']}", json={"name": "Stolen"}).status_code == 404
    # Bob's library is empty: the held-out clip matches nobody, and a request naming Dana is refused.
    unknown = bob("POST", "/voices/identify", json={"audio": data_url(DANA_HELD_OUT)}).json()
    assert unknown == {"match": None, "candidates": [], "backend": VOICE_EMBEDDING}
    refused = bob(
        "POST",
        "/service/diarize",
        files={"file": ("call.wav", SAMPLE_WAV.read_bytes(), "audio/wav")},
        data={"diarize_params": json.dumps({"known_speakers": ["Dana"]})},
    )
    assert refused.status_code == 422 and "'Dana'" in refused.json()["error"]["message"], refused.text
    # Names are unique within a library, not across them; Alice's Dana is untouched.
    own = bob("POST", "/voices", json={"name": "Dana", "clips": clips(DANA_CLIPS[0])})
    assert own.status_code == 201 and own.json()["id"] != dana["id"]
    assert alice("GET", f"/voices/{dana['id']}").json()["name"] == "Dana"
    assert bob("DELETE", f"/voices/{own.json()['id']}").status_code == 200
    assert service.get("/voices").status_code == 401
