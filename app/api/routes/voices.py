"""The voice library: enroll voices (from clips, or a finished task's speaker), manage them, identify a clip.

Routes that take audio read a JSON body (`clips: [{"audio": …}]`, each a data URI, base64 or an http(s) URL)
or a multipart form whose uploads become clips, validated by the schemas the worker's voice actions use.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from app.api.bodies import is_form, json_object
from app.api.deps import OwnerDep, RuntimeDep
from app.api.middleware import FORM_FIELD_MAX_BYTES
from app.errors import invalid_input, validated
from app.json_types import JSONObject, JSONValue
from app.services import voices
from app.voice_schemas import (
    ClipSource,
    VoiceClips,
    VoiceEnroll,
    VoiceFromTask,
    VoiceIdentified,
    VoiceOut,
    VoiceUpdate,
)

router = APIRouter(prefix="/voices", tags=["voices"])

CLIP_PARTS = ("files", "clips")
"""Form parts that each hold one clip of the voice: an upload, or a text holding a URL, data URI or base64."""
AUDIO_PARTS = ("file", "audio")
"""Form parts that hold the one clip to identify."""


class VoiceDeleted(BaseModel):
    identifier: str
    message: str


async def _clip_text(value: UploadFile | str) -> str:
    """A form part as a clip source: an upload's bytes as base64, a text as it is."""
    if isinstance(value, UploadFile):
        return base64.b64encode(await value.read()).decode()
    return value


async def _form_fields(request: Request, clip_parts: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """A form's fields (an upload among them as base64), and the clips its `clip_parts` hold, in order."""
    form = await request.form(max_part_size=FORM_FIELD_MAX_BYTES)
    fields: dict[str, str] = {}
    clips: list[str] = []
    for key, value in form.multi_items():
        if key in clip_parts:
            clips.append(await _clip_text(value))
        else:
            fields[key] = await _clip_text(value)
    return fields, clips


async def clips_fields(request: Request) -> Mapping[str, object]:
    """The fields of a request giving clips: a JSON object, or a form whose `files` uploads and `clips` texts
    are the clips (`name` and `description` fields beside them)."""
    if not is_form(request):
        return await json_object(request)
    fields, clips = await _form_fields(request, CLIP_PARTS)
    return {**fields, "clips": [{"audio": clip} for clip in clips]} if clips else fields


async def clip_fields(request: Request) -> Mapping[str, object]:
    """The fields of a request giving one clip: `{"audio": …}` as JSON, or a form with a `file` upload (or an
    `audio` text)."""
    if not is_form(request):
        return await json_object(request)
    fields, clips = await _form_fields(request, AUDIO_PARTS)
    if len(clips) > 1:
        raise invalid_input([{"loc": ("file",), "msg": "give one clip"}])
    return {**fields, "audio": clips[0]} if clips else fields


# What the routes read: validated by the voice schemas, which name any field at fault.
ClipsFields = Annotated[Mapping[str, object], Depends(clips_fields)]
ClipFields = Annotated[Mapping[str, object], Depends(clip_fields)]


def _inlined(schema: JSONObject) -> JSONValue:
    """A model's JSON schema with its `$defs` written in place, as an OpenAPI request body can hold it."""
    found = schema.pop("$defs", {})
    definitions = found if isinstance(found, dict) else {}

    def inline(node: JSONValue) -> JSONValue:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return inline(definitions[reference.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)


_UPLOADS: JSONObject = {
    "type": "array",
    "items": {"type": "string", "format": "binary"},
    "description": "Clips of the voice as uploaded files (2–30 s each)",
}
_TEXT_CLIPS: JSONObject = {
    "type": "array",
    "items": {"type": "string"},
    "description": "Clips of the voice as http(s) URLs, data URIs or base64",
}


def _body(model: type[BaseModel], form: JSONObject, example: JSONObject) -> JSONObject:
    """A request body documented as JSON (`model`) or a multipart `form`."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inlined(model.model_json_schema()), "example": example},
                "multipart/form-data": {"schema": {"type": "object", **form}},
            },
        }
    }


# A data URI (shortened here); an http(s) URL is taken too.
_CLIP_EXAMPLE: JSONObject = {
    "audio": "data:audio/wav;base64,UklGRiQAAABXQVZFZm10IBAAAAABAAEAgD4AAAB9AAACABAAZGF0YQ…"
}
ENROLL_BODY = _body(
    VoiceEnroll,
    {
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "files": _UPLOADS,
            "clips": _TEXT_CLIPS,
        },
    },
    {"name": "Dana", "description": "Support lead", "clips": [_CLIP_EXAMPLE]},
)
CLIPS_BODY = _body(
    VoiceClips, {"properties": {"files": _UPLOADS, "clips": _TEXT_CLIPS}}, {"clips": [_CLIP_EXAMPLE]}
)
IDENTIFY_BODY = _body(
    ClipSource,
    {
        "properties": {
            "file": {"type": "string", "format": "binary", "description": "The clip (2–30 s)"},
            "audio": {"type": "string", "description": "The clip as an http(s) URL, data URI or base64"},
        }
    },
    _CLIP_EXAMPLE,
)


@router.post("", status_code=201, response_model=VoiceOut, openapi_extra=ENROLL_BODY)
def enroll_voice(runtime: RuntimeDep, owner: OwnerDep, fields: ClipsFields) -> VoiceOut:
    """Enroll a voice from one or more clips of one person (combined into one voice): a JSON body, or a form
    with `name`, `description` and the clips as `files` uploads or `clips` texts."""
    request = validated(VoiceEnroll, fields)
    return voices.enroll_voice(runtime, owner, request)


@router.post("/from-task", status_code=201, response_model=VoiceOut)
def enroll_task_speaker(runtime: RuntimeDep, owner: OwnerDep, request: VoiceFromTask) -> VoiceOut:
    """Enroll a speaker of a finished diarizing task under a name ("this `SPEAKER_01` is Dana")."""
    return voices.enroll_task_speaker(runtime, owner, request)


@router.post("/identify", response_model=VoiceIdentified, openapi_extra=IDENTIFY_BODY)
def identify_voice(runtime: RuntimeDep, owner: OwnerDep, fields: ClipFields) -> VoiceIdentified:
    """Whose voice a clip is: the most similar enrolled voices, and `match` when one is similar enough."""
    return voices.identify_voice(runtime, owner, validated(ClipSource, fields))


@router.get("", response_model=list[VoiceOut])
def list_voices(
    runtime: RuntimeDep,
    owner: OwnerDep,
    name: Annotated[str | None, Query(max_length=64, description="Only names containing this")] = None,
) -> list[VoiceOut]:
    """The enrolled voices, by name."""
    return voices.list_voices(runtime, owner, name_contains=name)


@router.get("/{identifier}", response_model=VoiceOut)
def get_voice(runtime: RuntimeDep, owner: OwnerDep, identifier: str) -> VoiceOut:
    """An enrolled voice."""
    return voices.get_voice(runtime, owner, identifier)


@router.patch("/{identifier}", response_model=VoiceOut)
def update_voice(runtime: RuntimeDep, owner: OwnerDep, identifier: str, request: VoiceUpdate) -> VoiceOut:
    """Rename a voice, or describe it."""
    return voices.update_voice(runtime, owner, identifier, request)


@router.post("/{identifier}/clips", response_model=VoiceOut, openapi_extra=CLIPS_BODY)
def add_voice_clips(runtime: RuntimeDep, owner: OwnerDep, identifier: str, fields: ClipsFields) -> VoiceOut:
    """More clips of an enrolled voice (JSON `clips`, or `files` uploads and `clips` texts of a form); it is
    embedded again from all its clips."""
    return voices.add_clips(runtime, owner, identifier, validated(VoiceClips, fields))


@router.delete("/{identifier}", response_model=VoiceDeleted)
def delete_voice(runtime: RuntimeDep, owner: OwnerDep, identifier: str) -> VoiceDeleted:
    """Delete a voice, its clips and its embeddings."""
    voices.delete_voice(runtime, owner, identifier)
    return VoiceDeleted(identifier=identifier, message="Voice deleted")
