"""The voice library given and searched as embedding vectors, as whisperX-FastAPI's `/speakers` works with it:
a voice stored from a vector (one a diarizing task returned with `return_embeddings`), its vector changed,
and the voices most like a vector.

A vector here is a voice in the embedding voices are compared in (`diarization.VOICE_EMBEDDING`), so a voice
stored from one is named in later diarizations. A vector of another dimension comes from another model: it is
refused, never stored or compared, as its similarities would mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.errors import FieldError, NotFoundError, ServiceError
from app.ml import diarization, speaker_names
from app.runtime import Runtime
from app.services.voices import list_voices
from app.voice_schemas import VoiceOut


@dataclass(frozen=True)
class VoiceVector:
    voice: VoiceOut
    vector: list[float]


@dataclass(frozen=True)
class VoiceSimilarity:
    voice: VoiceVector
    similarity: float


def checked_vector(vector: list[float]) -> list[float]:
    """`vector`, when it is a voice in the embedding voices are compared in; else `invalid_input`."""
    space, dimension = diarization.embedding_space()
    if len(vector) != dimension:
        message = (
            f"The embedding has {len(vector)} dimensions; voices here are compared in {space}, {dimension} "
            "dimensions. Use an embedding a diarization returned with `return_embeddings`."
        )
        raise ServiceError("invalid_input", message, details=[FieldError(field="embedding", message=message)])
    return vector


def with_vectors(runtime: Runtime, owner: str | None, voices: list[VoiceOut]) -> list[VoiceVector]:
    """Each voice with its latest embedding (empty when it has none)."""
    vectors = runtime.voices.vectors(owner, [voice.id for voice in voices])
    return [VoiceVector(voice, [float(x) for x in vectors.get(voice.id, [])]) for voice in voices]


def store_voice_vector(
    runtime: Runtime,
    owner: str | None,
    *,
    name: str,
    vector: list[float],
    description: str | None = None,
    task_id: str | None = None,
) -> str:
    """A new voice from a vector (its name may repeat another voice's); its identifier."""
    return runtime.voices.create(
        owner=owner,
        name=name,
        description=description,
        clips=[],
        task_id=task_id,
        unique_name=False,
        embedding=(diarization.VOICE_EMBEDDING, checked_vector(vector)),
    )


def update_voice_vector(
    runtime: Runtime,
    owner: str | None,
    identifier: str,
    *,
    name: str | None = None,
    description: str | None = None,
    vector: list[float] | None = None,
) -> None:
    """Rename, describe or re-embed a voice (what is given changes; its name may repeat another voice's)."""
    if vector is not None:
        checked_vector(vector)
    if not runtime.voices.update(owner, identifier, name=name, description=description, unique_name=False):
        raise NotFoundError("Voice", identifier)
    if vector is not None:
        runtime.voices.set_embedding(owner, identifier, diarization.VOICE_EMBEDDING, vector)


def search_voice_vectors(
    runtime: Runtime, owner: str | None, vector: list[float], *, threshold: float, limit: int
) -> list[VoiceSimilarity]:
    """The voices whose embeddings (in the voice embedding) reach `threshold` cosine similarity with `vector`,
    most similar first, at most `limit`: one scan of one matrix."""
    space, _ = diarization.embedding_space()
    identifiers, _names, matrix = runtime.voices.embeddings(owner, space, len(checked_vector(vector)))
    if not identifiers:
        return []
    similarities = speaker_names.cosine_similarities(np.asarray(vector, np.float64)[None, :], matrix)[0]
    best: dict[str, float] = {}
    for index in np.argsort(-similarities):
        if similarities[index] < threshold or len(best) == limit:
            break
        best.setdefault(identifiers[index], round(float(similarities[index]), 4))
    rank = {identifier: place for place, identifier in enumerate(best)}
    listed = sorted(list_voices(runtime, owner, identifiers=best), key=lambda voice: rank[voice.id])
    found = with_vectors(runtime, owner, listed)
    return [VoiceSimilarity(voice, best[voice.voice.id]) for voice in found]


def delete_task_voices(runtime: Runtime, owner: str | None, task_id: str) -> int:
    """Delete the voices taken from a task; how many there were."""
    return runtime.voices.delete_from_task(owner, task_id)
