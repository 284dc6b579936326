"""The voice library's requests and answers, shared by the REST routes and the RunPod actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.schemas import DIARIZATION_LABEL, SpeakerName

MAX_CLIPS = 10


def _not_a_label(name: str) -> str:
    if DIARIZATION_LABEL.fullmatch(name):
        raise ValueError("a voice's name must not look like a diarizer's label (SPEAKER_00)")
    return name


VoiceName = Annotated[SpeakerName, AfterValidator(_not_a_label)]
"""A voice's name: a later recording would confuse a diarizer's label (`SPEAKER_00`) with its own speakers."""


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClipSource(_Request):
    audio: str = Field(
        min_length=1, description="A 2–30 s clip of the voice: a data URI, base64, or an http(s) URL"
    )


class VoiceEnroll(_Request):
    name: VoiceName = Field(description="The name requests use for this voice (unique in the library)")
    description: str | None = Field(None, max_length=2000)
    clips: list[ClipSource] = Field(
        min_length=1, max_length=MAX_CLIPS, description="Clips of this one person, combined into one voice"
    )


class VoiceFromTask(_Request):
    task_id: str = Field(min_length=1, max_length=64, description="A finished task that diarized")
    speaker: str = Field(min_length=1, max_length=64, description="The speaker's label in that task's result")
    name: VoiceName
    description: str | None = Field(None, max_length=2000)


class VoiceUpdate(_Request):
    name: VoiceName | None = None
    description: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _something(self) -> VoiceUpdate:
        if self.name is None and self.description is None:
            raise ValueError("give a new name, a description, or both")
        return self


class VoiceClips(_Request):
    clips: list[ClipSource] = Field(min_length=1, max_length=MAX_CLIPS)


class VoiceOut(BaseModel):
    id: str
    name: str
    description: str | None
    task_id: str | None = Field(description="The diarizing task the voice was taken from, if it was")
    clips: int = Field(description="Clips kept (a voice enrolled from a task's speaker has none)")
    seconds: float = Field(description="Seconds of audio in its clips")
    backends: list[str] = Field(description="The diarizers that have embedded it")
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _identifier_as_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "identifier" in data:
            data = {**data, "id": data.pop("identifier")}
        return data


class VoiceMatch(BaseModel):
    id: str
    name: str
    similarity: float


class VoiceIdentified(BaseModel):
    match: VoiceMatch | None = Field(description="The voice the clip's is, when one reaches the threshold")
    candidates: list[VoiceMatch] = Field(description="The most similar enrolled voices, most similar first")
    backend: str = Field(description="The diarizer whose embeddings were compared")
