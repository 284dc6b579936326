"""The voice library's RunPod actions, validated with the REST routes' schemas and answered in the handler's
shape, `{"identifier", "result", "message"}`; a `ServiceError` raised here becomes the handler's `{"error"}`.

The worker has no API keys: its voices are the keyless owner's (None), shared by every job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from app.contracts.runpod.answers import Answer
from app.errors import Model, validated
from app.json_types import JSONObject, JSONValue
from app.runtime import Runtime
from app.services import voices
from app.voice_schemas import ClipSource, VoiceClips, VoiceEnroll, VoiceFromTask, VoiceOut, VoiceUpdate

if TYPE_CHECKING:
    from app.contracts.runpod.actions import JobContext

OWNER = None


class VoiceRef(BaseModel):
    """The voice an action is about."""

    model_config = ConfigDict(extra="forbid")

    voice_id: str = Field(min_length=1, max_length=64)


class VoiceQuery(BaseModel):
    """Which voices `list_voices` lists."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=64, description="Only names containing this")


def _fields(job_input: JSONObject, *besides: str) -> JSONObject:
    return {key: value for key, value in job_input.items() if key not in ("action", *besides)}


def _voice_id(job_input: JSONObject) -> str:
    return validated(VoiceRef, _fields(job_input)).voice_id


def _with_voice(schema: type[Model], job_input: JSONObject) -> tuple[str, Model]:
    """The `voice_id` an action names, and its other fields validated by `schema`."""
    voice_id = validated(VoiceRef, {k: v for k, v in job_input.items() if k == "voice_id"}).voice_id
    return voice_id, validated(schema, _fields(job_input, "voice_id"))


def _voice(voice: VoiceOut, message: str) -> Answer:
    return Answer(identifier=voice.id, result=voice.model_dump(mode="json"), message=message)


def _enroll_voice(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    request = validated(VoiceEnroll, _fields(job_input))
    voice = voices.enroll_voice(runtime, OWNER, request)
    return _voice(voice, "voice enrolled")


def _enroll_task_speaker(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    request = validated(VoiceFromTask, _fields(job_input))
    voice = voices.enroll_task_speaker(runtime, OWNER, request)
    return _voice(voice, "voice enrolled")


def _list_voices(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    query = validated(VoiceQuery, _fields(job_input))
    listed = voices.list_voices(runtime, OWNER, name_contains=query.name)
    result: list[JSONValue] = [voice.model_dump(mode="json") for voice in listed]
    return Answer(identifier=None, result=result, message=f"{len(listed)} voice(s)")


def _get_voice(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    return _voice(voices.get_voice(runtime, OWNER, _voice_id(job_input)), "voice found")


def _update_voice(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    voice_id, request = _with_voice(VoiceUpdate, job_input)
    voice = voices.update_voice(runtime, OWNER, voice_id, request)
    return _voice(voice, "voice updated")


def _add_voice_clips(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    voice_id, request = _with_voice(VoiceClips, job_input)
    return _voice(voices.add_clips(runtime, OWNER, voice_id, request), "clips added")


def _delete_voice(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    voice_id = _voice_id(job_input)
    voices.delete_voice(runtime, OWNER, voice_id)
    return Answer(identifier=voice_id, result=None, message="voice deleted")


def _identify_voice(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    fields = _fields(job_input)
    # The clip as `clip: {"audio": …}`, as REST's JSON body holds it, or its `audio` alone.
    clip = validated(ClipSource, fields["clip"] if set(fields) == {"clip"} else fields)
    identified = voices.identify_voice(runtime, OWNER, clip)
    match = identified.match
    message = f"the voice is {match.name}" if match else "no enrolled voice matches"
    return Answer(identifier=match.id if match else None, result=identified.model_dump(), message=message)


VOICE_ACTIONS: dict[str, Callable[[Runtime, JSONObject, JobContext], Answer]] = {
    "enroll_voice": _enroll_voice,
    "enroll_task_speaker": _enroll_task_speaker,
    "list_voices": _list_voices,
    "get_voice": _get_voice,
    "update_voice": _update_voice,
    "add_voice_clips": _add_voice_clips,
    "delete_voice": _delete_voice,
    "identify_voice": _identify_voice,
}
