"""whisperX-FastAPI's `/speakers` routes (its branch `feat/462-speaker-embeddings`): speakers stored as labelled
embedding vectors, listed, changed, deleted, searched and identified by cosine similarity, over our voice
library (`app.services.voice_vectors`), so a speaker stored here names people in later diarizations and a
voice enrolled from clips is found here.

Its names: `uuid` is a voice's id, `speaker_label` its name, `task_uuid` the task it was taken from. Unlike
our `/voices`, a label may repeat; a label that looks like a diarizer's (`SPEAKER_00`) is refused, since it
would be confused with the speakers of later recordings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.api.deps import OwnerDep, RuntimeDep
from app.contracts.whisperx_fastapi.edge import SpeakerRoute
from app.errors import ServiceError
from app.services import voice_vectors, voices
from app.services.voice_vectors import VoiceVector
from app.voice_schemas import VoiceName

router = APIRouter(tags=["Speakers (whisperX-FastAPI)"], route_class=SpeakerRoute)

MAX_DIMENSION = 8192
MAX_VALUE = 1e6
Embedding = Annotated[
    list[Annotated[float, Field(allow_inf_nan=False, ge=-MAX_VALUE, le=MAX_VALUE)]],
    Field(min_length=1, max_length=MAX_DIMENSION),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # no `true` for a number, no "1" for a count


class CreateSpeakerRequest(_Request):
    speaker_label: VoiceName = Field(description="The speaker's name")
    embedding: Embedding = Field(description="The speaker's voice embedding, as `return_embeddings` gives it")
    description: str | None = Field(None, max_length=2000)
    task_uuid: str | None = Field(None, max_length=64, description="The task the speaker was taken from")


class UpdateSpeakerRequest(_Request):
    speaker_label: VoiceName | None = None
    description: str | None = Field(None, max_length=2000)
    embedding: Embedding | None = Field(None, description="A new voice embedding")

    @model_validator(mode="after")
    def _something(self) -> UpdateSpeakerRequest:
        if self.speaker_label is None and self.description is None and self.embedding is None:
            raise ValueError("give speaker_label, description or embedding to update")
        return self


class SpeakerSearchRequest(_Request):
    embedding: Embedding = Field(description="The voice embedding to compare")
    limit: int = Field(5, ge=1, le=100)
    threshold: float = Field(0.7, ge=0.0, le=1.0, description="The least cosine similarity returned")


class SpeakerIdentifyRequest(_Request):
    embedding: Embedding = Field(description="The voice embedding to identify")
    threshold: float = Field(0.7, ge=0.0, le=1.0, description="The least cosine similarity of a match")


class SpeakerResponse(BaseModel):
    uuid: str
    task_uuid: str | None
    speaker_label: str
    description: str | None
    embedding: list[float] = Field(description="Its latest embedding (empty for a voice not embedded yet)")
    created_at: datetime


class SpeakerSearchResult(BaseModel):
    speaker: SpeakerResponse
    similarity: float


class SpeakerSearchResponse(BaseModel):
    results: list[SpeakerSearchResult]


class SpeakerIdentifyResponse(SpeakerSearchResult):
    pass


class SpeakerCreatedResponse(BaseModel):
    uuid: str
    message: str = "Speaker created"


class SpeakerMessageResponse(BaseModel):
    message: str


def _speaker(found: VoiceVector) -> SpeakerResponse:
    voice = found.voice
    return SpeakerResponse(
        uuid=voice.id,
        task_uuid=voice.task_id,
        speaker_label=voice.name,
        description=voice.description,
        embedding=found.vector,
        created_at=voice.created_at,
    )


@router.post("/speakers", status_code=201, response_model=SpeakerCreatedResponse)
def create_speaker(
    runtime: RuntimeDep, owner: OwnerDep, request: CreateSpeakerRequest
) -> SpeakerCreatedResponse:
    """Store a speaker from its embedding; later diarizations with `identify_speakers` name it."""
    identifier = voice_vectors.store_voice_vector(
        runtime,
        owner,
        name=request.speaker_label,
        vector=request.embedding,
        description=request.description,
        task_id=request.task_uuid,
    )
    return SpeakerCreatedResponse(uuid=identifier)


@router.get("/speakers", response_model=list[SpeakerResponse])
def list_speakers(
    runtime: RuntimeDep,
    owner: OwnerDep,
    task_id: Annotated[
        str | None, Query(max_length=64, description="Only those taken from this task")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[SpeakerResponse]:
    """The stored speakers (every voice of the library), by label."""
    listed = voices.list_voices(runtime, owner, task_id=task_id, limit=limit, offset=offset)
    return [_speaker(found) for found in voice_vectors.with_vectors(runtime, owner, listed)]


@router.get("/speakers/{uuid}", response_model=SpeakerResponse)
def get_speaker(runtime: RuntimeDep, owner: OwnerDep, uuid: str) -> SpeakerResponse:
    (found,) = voice_vectors.with_vectors(runtime, owner, [voices.get_voice(runtime, owner, uuid)])
    return _speaker(found)


@router.put("/speakers/{uuid}", response_model=SpeakerMessageResponse)
def update_speaker(
    runtime: RuntimeDep, owner: OwnerDep, uuid: str, request: UpdateSpeakerRequest
) -> SpeakerMessageResponse:
    """Change a speaker's label, description or embedding."""
    voice_vectors.update_voice_vector(
        runtime,
        owner,
        uuid,
        name=request.speaker_label,
        description=request.description,
        vector=request.embedding,
    )
    return SpeakerMessageResponse(message="Speaker updated")


@router.delete("/speakers/{uuid}", response_model=SpeakerMessageResponse)
def delete_speaker(runtime: RuntimeDep, owner: OwnerDep, uuid: str) -> SpeakerMessageResponse:
    voices.delete_voice(runtime, owner, uuid)
    return SpeakerMessageResponse(message="Speaker deleted")


@router.delete("/speakers", response_model=SpeakerMessageResponse)
def delete_task_speakers(
    runtime: RuntimeDep,
    owner: OwnerDep,
    task_id: Annotated[str, Query(min_length=1, max_length=64, description="The task they were taken from")],
) -> SpeakerMessageResponse:
    count = voice_vectors.delete_task_voices(runtime, owner, task_id)
    return SpeakerMessageResponse(message=f"Deleted {count} speaker(s)")


@router.post("/speakers/search", response_model=SpeakerSearchResponse)
def search_speakers(
    runtime: RuntimeDep, owner: OwnerDep, request: SpeakerSearchRequest
) -> SpeakerSearchResponse:
    """The speakers most like an embedding, from `threshold` cosine similarity up, most similar first."""
    found = voice_vectors.search_voice_vectors(
        runtime, owner, request.embedding, threshold=request.threshold, limit=request.limit
    )
    return SpeakerSearchResponse(
        results=[
            SpeakerSearchResult(speaker=_speaker(match.voice), similarity=match.similarity) for match in found
        ]
    )


@router.post("/speakers/identify", response_model=SpeakerIdentifyResponse)
def identify_speaker(
    runtime: RuntimeDep, owner: OwnerDep, request: SpeakerIdentifyRequest
) -> SpeakerIdentifyResponse:
    """The speaker an embedding is: the most similar from `threshold` up (404 when none reaches it)."""
    found = voice_vectors.search_voice_vectors(
        runtime, owner, request.embedding, threshold=request.threshold, limit=1
    )
    if not found:
        message = f"No stored speaker reaches cosine similarity {request.threshold} with this embedding."
        raise ServiceError("not_found", message)
    return SpeakerIdentifyResponse(speaker=_speaker(found[0].voice), similarity=found[0].similarity)
