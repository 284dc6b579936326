"""Voices live in one speaker embedding: a task's speakers embedded by another model are refused by name, never
compared with voices they cannot match."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from app import voice_schemas
from app.errors import ServiceError
from app.ml import diarization
from app.services import voices


class TaskStandIn:
    def __init__(self, backend: str) -> None:
        self.speaker_embeddings = {"backend": backend, "speakers": {"SPEAKER_00": [0.6, 0.8]}}


class TasksStandIn:
    def __init__(self, backend: str) -> None:
        self.task = TaskStandIn(backend)

    def get(self, task_id: str, *, owner: str | None) -> TaskStandIn:
        return self.task


class VoicesStandIn:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create(self, **voice: Any) -> str:
        self.created.append(voice)
        return "voice-1"


@pytest.fixture(autouse=True)
def created_voice_is_not_read_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(voices, "get_voice", lambda _runtime, _owner, identifier: identifier)


def enroll_from(backend: str) -> VoicesStandIn:
    library = VoicesStandIn()
    runtime: Any = SimpleNamespace(tasks=TasksStandIn(backend), voices=library)
    request = voice_schemas.VoiceFromTask(task_id="task-1", speaker="SPEAKER_00", name="Remy")
    voices.enroll_task_speaker(runtime, None, request)
    return library


def test_a_task_speaker_embedded_by_another_model_is_refused_by_name() -> None:
    with pytest.raises(ServiceError) as refused:
        enroll_from("embedded:whisperx-segmentation+resemblyzer")
    assert refused.value.code == "invalid_input"
    assert diarization.VOICE_EMBEDDING in refused.value.message
    assert refused.value.details == [{"field": "task_id", "message": refused.value.message}]


def test_a_task_speaker_in_the_voice_embedding_is_enrolled_in_it() -> None:
    library = enroll_from(diarization.VOICE_EMBEDDING)
    (created,) = library.created
    assert created["embedding"] == (diarization.VOICE_EMBEDDING, [0.6, 0.8])
    assert created["clips"] == [] and created["name"] == "Remy"
