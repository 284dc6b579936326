"""`auto_store_speakers`: each speaker no voice named is kept as a voice of its own, once per task, even when
the task runs again after a crash."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine

from app.db.session import make_session_factory
from app.db.voices import VoiceRepository
from app.schemas import DiarizeParams
from app.services.voices import keep_speaker_embeddings

OWNER = "c" * 64


def diarized() -> dict[str, Any]:
    return {
        "segments": [
            {"start": 0.0, "end": 1.0, "speaker": "Dana"},
            {"start": 1.0, "end": 2.0, "speaker": "SPEAKER_01"},
        ],
        "backend": "embedded",
        "speaker_embeddings": {"Dana": [1.0, 0.0], "SPEAKER_01": [0.0, 1.0]},
    }


def test_unnamed_speakers_are_stored_once_even_when_the_task_runs_again(engine: Engine) -> None:
    voices = VoiceRepository(make_session_factory(engine))
    kept: dict[str, Any] = {}
    runtime = SimpleNamespace(voices=voices, tasks=SimpleNamespace(keep_speaker_embeddings=kept.__setitem__))
    params = DiarizeParams(auto_store_speakers=True)
    for _run in range(2):  # the second run: the task claimed again after its worker crashed
        result = diarized()
        keep_speaker_embeddings(runtime, OWNER, "task-1", params, result)  # type: ignore[arg-type]
        assert "speaker_embeddings" not in result
    stored = voices.list(OWNER)
    assert [(voice.name, voice.task_id) for voice in stored] == [("SPEAKER_01 of task task-1", "task-1")]
    assert voices.vectors(OWNER, [stored[0].identifier])[stored[0].identifier].tolist() == [0.0, 1.0]
    assert kept["task-1"]["speakers"] == diarized()["speaker_embeddings"]
