"""The voice library's use cases: enroll a voice once (from clips, or from a speaker of a finished diarization
task), manage it, identify a clip, and name enrolled voices in later recordings.

Voices are compared in one speaker embedding, whichever diarizer runs (`diarization.VOICE_EMBEDDING`): a voice
keeps its embedding by each embedding model it met, made from its stored clips the first time that model needs
it. A voice enrolled from a task's speaker has no clips, only the embedding that task made of the speaker's
speech, so it is named only while that model is the one in use.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from app import voice_schemas
from app.audio.sources import load_audio_source
from app.config import Settings
from app.db.voices import NameTaken, VoiceRecord
from app.errors import FieldError, NotFoundError, ServiceError
from app.ml import diarization, speaker_names
from app.ml.results import Diarization
from app.runtime import Runtime
from app.schemas import DIARIZATION_LABEL, DiarizeParams
from app.services.results import FullResult

CLIP_SECONDS = (2.0, 30.0)
"""The shortest and longest clip a voice is enrolled from."""


def _not_found(identifier: str) -> ServiceError:
    return NotFoundError("Voice", identifier)


def _name_taken(name: str) -> ServiceError:
    message = f"A voice named {name!r} is already enrolled; rename it or add clips to it."
    return ServiceError("conflict", message, details=[{"field": "name", "message": message}])


def _out(record: VoiceRecord) -> voice_schemas.VoiceOut:
    return voice_schemas.VoiceOut.model_validate(asdict(record))


def _load_clips(
    sources: list[voice_schemas.ClipSource], settings: Settings
) -> list[tuple[np.ndarray, str | None]]:
    """Each clip decoded like any audio and 2 to 30 s long, with where it came from (a URL, or None)."""
    shortest, longest = CLIP_SECONDS
    clips = []
    for index, source in enumerate(sources):
        field = f"clips[{index}]"
        audio = load_audio_source(source.audio, settings=settings, max_seconds=longest, field=f"Clip {index}")
        if audio.duration < shortest:
            message = f"Clip {index} is {audio.duration:.2f} s long; the least is {shortest:.0f} s."
            raise ServiceError("invalid_input", message, details=[{"field": field, "message": message}])
        clips.append(
            (audio.samples, source.audio if source.audio.startswith(("http://", "https://")) else None)
        )
    return clips


def _embed(runtime: Runtime, owner: str | None, identifier: str, clips: list[np.ndarray]) -> None:
    backend, vector = diarization.embed_voice(clips, device=runtime.settings.resolved_device)
    runtime.voices.set_embedding(owner, identifier, backend, vector)


def enroll_voice(
    runtime: Runtime, owner: str | None, request: voice_schemas.VoiceEnroll
) -> voice_schemas.VoiceOut:
    """A new voice from one or more clips of one person (several are combined)."""
    loaded = _load_clips(request.clips, runtime.settings)
    try:
        identifier = runtime.voices.create(
            owner=owner, name=request.name, description=request.description, clips=loaded
        )
    except NameTaken:
        raise _name_taken(request.name) from None
    _embed(runtime, owner, identifier, [samples for samples, _ in loaded])
    return get_voice(runtime, owner, identifier)


def enroll_task_speaker(
    runtime: Runtime, owner: str | None, request: voice_schemas.VoiceFromTask
) -> voice_schemas.VoiceOut:
    """A new voice from a speaker of a finished diarizing task ("this `SPEAKER_01` is Dana"): the embedding
    that task made of that speaker's speech."""
    task_id, speaker, name = request.task_id, request.speaker, request.name
    task = runtime.tasks.get(task_id, owner=owner)
    if task is None:
        raise NotFoundError("Task", task_id)
    kept = task.speaker_embeddings or {}
    vector = (kept.get("speakers") or {}).get(speaker)
    if vector is None:
        speakers = ", ".join(sorted(kept.get("speakers") or {})) or "none (the task has not diarized)"
        message = f"Task {task_id!r} has no speaker {speaker!r}; its speakers: {speakers}."
        raise ServiceError("invalid_input", message, details=[{"field": "speaker", "message": message}])
    if kept.get("backend") != diarization.VOICE_EMBEDDING:
        message = (
            f"Task {task_id!r} embedded its speakers with another model than the one voices are compared in "
            f"({diarization.VOICE_EMBEDDING}); diarize the recording again, or enroll the voice from a clip."
        )
        raise ServiceError("invalid_input", message, details=[{"field": "task_id", "message": message}])
    try:
        identifier = runtime.voices.create(
            owner=owner,
            name=name,
            description=request.description,
            clips=[],
            task_id=task_id,
            embedding=(diarization.VOICE_EMBEDDING, vector),
        )
    except NameTaken:
        raise _name_taken(name) from None
    return get_voice(runtime, owner, identifier)


def add_clips(
    runtime: Runtime, owner: str | None, identifier: str, request: voice_schemas.VoiceClips
) -> voice_schemas.VoiceOut:
    """More clips of an enrolled voice; it is embedded again from all of them."""
    get_voice(runtime, owner, identifier)  # before any clip is fetched
    loaded = _load_clips(request.clips, runtime.settings)
    if not runtime.voices.add_clips(owner, identifier, loaded):
        raise _not_found(identifier)
    _embed(runtime, owner, identifier, runtime.voices.clips(owner, identifier))
    return get_voice(runtime, owner, identifier)


def get_voice(runtime: Runtime, owner: str | None, identifier: str) -> voice_schemas.VoiceOut:
    record = runtime.voices.get(owner, identifier)
    if record is None:
        raise _not_found(identifier)
    return _out(record)


def list_voices(runtime: Runtime, owner: str | None, **which: Any) -> list[voice_schemas.VoiceOut]:
    """The owner's voices by name; `which` narrows them as `VoiceRepository.list` does."""
    return [_out(record) for record in runtime.voices.list(owner, **which)]


def update_voice(
    runtime: Runtime, owner: str | None, identifier: str, request: voice_schemas.VoiceUpdate
) -> voice_schemas.VoiceOut:
    """Rename or describe a voice."""
    try:
        found = runtime.voices.update(owner, identifier, name=request.name, description=request.description)
    except NameTaken:
        raise _name_taken(request.name or "") from None
    if not found:
        raise _not_found(identifier)
    return get_voice(runtime, owner, identifier)


def delete_voice(runtime: Runtime, owner: str | None, identifier: str) -> None:
    if not runtime.voices.delete(owner, identifier):
        raise _not_found(identifier)


def _library(
    runtime: Runtime, owner: str | None, names: list[str] | None
) -> tuple[str, list[str], list[str], np.ndarray]:
    """The owner's voices (all, or those `names`) in the voice embedding, embedding from their clips those it
    has not embedded yet: the embedding's name, identifiers, names and matrix."""
    backend, dimension = diarization.embedding_space()
    for identifier in runtime.voices.unembedded(owner, backend, names=names):
        clips = runtime.voices.clips(owner, identifier)
        if clips:
            _embed(runtime, owner, identifier, clips)
    return backend, *runtime.voices.embeddings(owner, backend, dimension, names=names)


def identify_voice(
    runtime: Runtime, owner: str | None, clip: voice_schemas.ClipSource, *, limit: int = 5
) -> voice_schemas.VoiceIdentified:
    """The enrolled voices most like a clip's, most similar first; `match` is the one the clip's voice is
    (None when none reaches the diarizer's threshold)."""
    settings = runtime.settings
    ((samples, _),) = _load_clips([clip], settings)
    backend, identifiers, names, matrix = _library(runtime, owner, None)
    _, vector = diarization.embed_voice([samples], device=settings.resolved_device)
    if not identifiers:
        return voice_schemas.VoiceIdentified(match=None, candidates=[], backend=backend)
    similarities = speaker_names.cosine_similarities(vector[None, :], matrix)[0]
    order = np.argsort(-similarities)[:limit]
    candidates = [
        {"id": identifiers[i], "name": names[i], "similarity": round(float(similarities[i]), 3)}
        for i in order
    ]
    match = candidates[0] if candidates[0]["similarity"] >= speaker_names.MATCH_THRESHOLD else None
    return voice_schemas.VoiceIdentified.model_validate(
        {"match": match, "candidates": candidates, "backend": backend}
    )


def check_enrolled_names(runtime: Runtime, owner: str | None, params: DiarizeParams) -> None:
    """Refuse a diarizing request naming a voice the owner has not enrolled (`invalid_input`)."""
    names = params.enrolled_names
    missing = sorted(set(names) - set(runtime.voices.by_name(owner, names))) if names else []
    if missing:
        message = f"No voice enrolled as {', '.join(map(repr, missing))}; enroll it or give a clip."
        details = [FieldError(field="diarize_params.known_speakers", message=message)]
        raise ServiceError("invalid_input", message, details=details)


def enrolled_voices(runtime: Runtime, owner: str | None, params: DiarizeParams) -> dict[str, np.ndarray]:
    """The enrolled voices a diarizing request names (or, with `identify_speakers`, the whole library), name →
    embedding by the diarizer in use. A name with no enrolled voice is `invalid_input`."""
    names = None if params.identify_speakers else params.enrolled_names
    if names == []:
        return {}
    check_enrolled_names(runtime, owner, params)
    _backend, _identifiers, found, matrix = _library(runtime, owner, names)
    return dict(zip(found, matrix, strict=True))


def keep_speaker_embeddings(
    runtime: Runtime, owner: str | None, task_id: str, params: DiarizeParams, result: FullResult | Diarization
) -> None:
    """Keep the speakers' voice embeddings with the task, so a speaker can be enrolled later; they stay in
    `result` only with `return_embeddings`. With `auto_store_speakers`, each speaker no enrolled voice named becomes a
    voice of its own, taken from the task and named `SPEAKER_00 of task <id>` (rename it to name it)."""
    speakers = (
        result.get("speaker_embeddings")
        if params.return_embeddings
        else result.pop("speaker_embeddings", None)
    )
    if speakers is None:
        return
    backend = diarization.VOICE_EMBEDDING
    runtime.tasks.keep_speaker_embeddings(task_id, {"backend": backend, "speakers": speakers})
    if params.auto_store_speakers:
        unnamed = {
            f"{label} of task {task_id}": vector
            for label, vector in speakers.items()
            if DIARIZATION_LABEL.fullmatch(label)
        }
        stored = runtime.voices.by_name(owner, unnamed)  # by an earlier run of this task, stopped by a crash
        for name, vector in unnamed.items():
            if name not in stored:
                runtime.voices.create(
                    owner=owner,
                    name=name,
                    description=None,
                    clips=[],
                    task_id=task_id,
                    embedding=(backend, vector),
                )
