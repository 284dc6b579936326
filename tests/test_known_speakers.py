"""Known speakers by name through both front doors, on a generated two-voice dialogue with reference clips of
each voice saying other sentences: the official `openai` client's `known_speaker_names[]` /
`known_speaker_references[]`, and `diarize_params.known_speakers` of the REST routes and the worker."""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from collections.abc import Iterator
from functools import cache
from typing import Any

import numpy as np
import openai
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from openai import OpenAI

from app.ml.speaker_names import MATCH_THRESHOLD
from handler import handler
from tests.corpus import silent_wav, two_voice_dialogue
from tests.servers import in_process_app
from tests.synth import SAMPLE_RATE, TrueWord, dialogue

pytestmark = pytest.mark.slow

NAMES = {"A": "Avery", "B": "Blake"}
REFERENCE_TEXT = {
    "A": "the weather is lovely today and the sun is shining on the hills",
    "B": "please remember to bring the blue folder to the meeting",
    "C": "our train leaves the station at half past nine tomorrow",  # a voice the dialogue does not hold
}


def wav_bytes(samples: np.ndarray) -> bytes:
    out = io.BytesIO()
    sf.write(out, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return out.getvalue()


def data_url(wav: bytes) -> str:
    return "data:audio/wav;base64," + base64.b64encode(wav).decode()


@cache
def reference(voice: str) -> str:
    """A clip of `voice` saying a sentence the dialogue does not, as a data URL."""
    samples, _ = dialogue([(voice, REFERENCE_TEXT[voice])], lead=0.2)
    assert 2 < len(samples) / SAMPLE_RATE < 10
    return data_url(wav_bytes(samples))


@cache
def dialogue_wav() -> bytes:
    return wav_bytes(two_voice_dialogue()[0])


def true_speaker(start: float, end: float, truth: tuple[TrueWord, ...]) -> str | None:
    """Who says most of the words whose middle lies in [start, end]."""
    speakers = Counter(w.speaker for w in truth if start <= (w.start + w.end) / 2 <= end)
    return speakers.most_common(1)[0][0] if speakers else None


def named_right(segments: list[dict[str, Any]], names: dict[str, str]) -> float:
    """The share of segments whose speaker is the name of the voice that speaks in it."""
    truth = two_voice_dialogue()[1]
    right = [names.get(true_speaker(s["start"], s["end"], truth) or "") == s["speaker"] for s in segments]
    return sum(right) / len(right)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The REST app, and (sharing its settings and models) the worker's handler."""
    with in_process_app(tmp_path_factory.mktemp("known-speakers")) as client:
        yield client


@pytest.fixture(scope="module")
def client(service: TestClient) -> OpenAI:
    return OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=service, max_retries=0)


def test_the_openai_client_gets_known_speakers_by_name(service: TestClient, client: OpenAI) -> None:
    result = client.audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize",
        file=("call.wav", dialogue_wav()),
        response_format="diarized_json",
        known_speaker_names=["Avery", "Blake"],
        known_speaker_references=[reference("A"), reference("B")],
    )
    segments = [segment.model_dump() for segment in result.segments]
    assert {s["speaker"] for s in segments} == {"Avery", "Blake"}, segments
    assert named_right(segments, NAMES) >= 0.9, segments

    # The task behind it shows the names in its result and its subtitles, and keeps the clips out of its
    # visible parameters.
    task = service.get("/task/all?task_type=full_process").json()["tasks"][0]  # the newest
    shown = service.get(f"/task/{task['identifier']}").json()
    assert set(shown["result"]["speakers"]) == {"Avery", "Blake"}
    assert {s["speaker"] for s in shown["result"]["segments"]} == {"Avery", "Blake"}
    matches = shown["result"]["known_speakers"]
    assert all(match["similarity"] >= MATCH_THRESHOLD for match in matches.values()), matches
    assert "known_speakers" not in shown["params"]["diarize_params"]
    assert "base64" not in json.dumps(shown["params"])
    subtitles = service.get(f"/task/{task['identifier']}/result?format=srt").text
    assert "[Avery]: " in subtitles and "[Blake]: " in subtitles


def worker_diarize(**known_speakers: str) -> dict[str, Any]:
    response = handler(
        {
            "input": {
                "action": "diarize",
                "file": data_url(dialogue_wav()),
                "diarize_params": {"known_speakers": known_speakers},
            }
        }
    )
    assert "result" in response, response
    return response["result"]  # type: ignore[no-any-return]


def test_the_worker_names_the_diarized_speakers(service: TestClient) -> None:
    result = worker_diarize(Avery=reference("A"), Blake=reference("B"))
    turns = result["segments"]
    assert {turn["speaker"] for turn in turns} == {"Avery", "Blake"}
    # Diarization turns include slivers of a few milliseconds at each change: count speech time, not turns.
    truth = two_voice_dialogue()[1]
    spoken = [
        (turn["end"] - turn["start"], NAMES.get(true_speaker(turn["start"], turn["end"], truth) or ""))
        for turn in turns
    ]
    right = sum(length for (length, name), turn in zip(spoken, turns, strict=True) if name == turn["speaker"])
    assert right / sum(length for length, _ in spoken) >= 0.9, turns
    assert result["known_speakers"]["Avery"]["speaker"] != result["known_speakers"]["Blake"]["speaker"]


def test_a_voice_that_is_absent_names_nobody(service: TestClient) -> None:
    result = worker_diarize(Casey=reference("C"))
    assert {turn["speaker"] for turn in result["segments"]} == {"SPEAKER_00", "SPEAKER_01"}
    match = result["known_speakers"]["Casey"]
    assert match["speaker"] is None and match["similarity"] < MATCH_THRESHOLD, match


def clip(seconds: float) -> str:
    return data_url(silent_wav(seconds))


# (case, known_speakers, code, what the message says)
BAD_REFERENCES = [
    ("too short", {"Avery": clip(1.5)}, "invalid_input", "'Avery'"),
    ("too long", {"Avery": clip(10.5)}, "invalid_input", "'Avery'"),
    ("not audio", {"Avery": data_url(b"these are notes, not a recording")}, "invalid_input", "'Avery'"),
    ("not base64", {"Avery": "not a clip at all!"}, "invalid_input", "'Avery'"),
    ("a private URL", {"Avery": "http://127.0.0.1/avery.wav"}, "url_not_allowed", "'Avery'"),
    ("a label for a name", {"SPEAKER_01": clip(3)}, "invalid_input", "SPEAKER_00"),
    ("five speakers", {name: clip(3) for name in "VWXYZ"}, "invalid_input", "known_speakers"),
]


@pytest.mark.parametrize(
    ("case", "known", "code", "said"), BAD_REFERENCES, ids=[c[0] for c in BAD_REFERENCES]
)
def test_bad_references_are_refused_by_the_worker_before_a_task_exists(
    service: TestClient, case: str, known: dict[str, str], code: str, said: str
) -> None:
    tasks = handler({"input": {"action": "get_all_tasks"}})["result"]["total"]
    for action in ("speech_to_text", "diarize"):
        job = {"action": action, "file": clip(3), "diarize_params": {"known_speakers": known}}
        error = json.loads(handler({"input": job})["error"])
        assert error["code"] == code and said in error["message"], error
    assert handler({"input": {"action": "get_all_tasks"}})["result"]["total"] == tasks


@pytest.mark.parametrize(
    ("case", "known", "code", "said"), BAD_REFERENCES, ids=[c[0] for c in BAD_REFERENCES]
)
def test_bad_references_are_refused_by_the_rest_routes_before_a_task_exists(
    service: TestClient, case: str, known: dict[str, str], code: str, said: str
) -> None:
    tasks = service.get("/task/all").json()["total"]
    for route in ("/speech-to-text", "/service/diarize"):
        answer = service.post(
            route,
            files={"file": ("call.wav", silent_wav(3), "audio/wav")},
            data={"diarize_params": json.dumps({"known_speakers": known})},
        )
        assert answer.status_code in (400, 422), answer.text
        error = answer.json()["error"]
        assert error["code"] == code and said in error["message"], error
    assert service.get("/task/all").json()["total"] == tasks


# (case, names, references, other arguments, param)
OPENAI_REFUSALS = [
    ("too short", ["Avery"], [clip(1.5)], {}, "known_speaker_references"),
    ("not audio", ["Avery"], [data_url(b"notes")], {}, "known_speaker_references"),
    ("a reference missing", ["Avery", "Blake"], [clip(3)], {}, "known_speaker_references"),
    ("a name twice", ["Avery", "Avery"], [clip(3), clip(3)], {}, "known_speaker_names"),
    ("a label for a name", ["SPEAKER_00"], [clip(3)], {}, "known_speaker_names"),
    ("not diarized", ["Avery"], [clip(3)], {"response_format": "verbose_json"}, "known_speaker_names"),
]


@pytest.mark.parametrize(
    ("case", "names", "references", "other", "param"), OPENAI_REFUSALS, ids=[c[0] for c in OPENAI_REFUSALS]
)
def test_bad_references_are_openai_errors_naming_the_field(
    client: OpenAI, case: str, names: list[str], references: list[str], other: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        client.audio.transcriptions.create(
            model="gpt-4o-transcribe-diarize",
            file=("call.wav", silent_wav(3)),
            known_speaker_names=names,
            known_speaker_references=references,
            **{"response_format": "diarized_json", **other},
        )
    assert (error.value.status_code, error.value.param, error.value.code) == (400, param, "invalid_input")
