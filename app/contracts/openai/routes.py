"""OpenAI-compatible routes: `/v1/audio/transcriptions`, `/v1/audio/translations`, `/v1/models`.

Errors here take OpenAI's statuses and shape (`app/contracts/openai/errors.py`); unknown form fields are refused, as
OpenAI refuses unrecognised request arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from app.api.deps import ExecutorDep, OwnerDep, RuntimeDep
from app.api.submit import enqueue
from app.contracts.openai.errors import OPENAI_ERROR_RESPONSES, OpenAIRoute
from app.contracts.openai.event_stream import TranscriptEventStream
from app.contracts.openai.mapping import (
    CHUNKING_FIELDS,
    OpenAITranscriptionRequest,
    OpenAITranslationRequest,
    model_card,
    model_cards,
    to_job,
    to_response,
)
from app.contracts.openai.stream import TranscriptStream
from app.errors import ServiceError, refused_as_invalid_input
from app.services.render import MEDIA_TYPES
from app.services.tasks import task_outcome

router = APIRouter(prefix="/v1", tags=["openai"], responses=OPENAI_ERROR_RESPONSES, route_class=OpenAIRoute)

# Form names of list fields, as OpenAI's clients send them.
LIST_FIELDS = {
    name: f"{name}[]"
    for name in (
        "timestamp_granularities",
        "include",
        "known_speaker_names",
        "known_speaker_references",
        "keyterms",
        "redact",
        "channel_names",
    )
}

Granularities = Annotated[
    list[Literal["word", "segment"]] | None,
    Form(alias="timestamp_granularities[]", description="`word` and/or `segment` (verbose_json)"),
]
Include = Annotated[
    list[str] | None,
    Form(alias="include[]", description="`logprobs` (with `json`): each token's log-probability"),
]
KnownSpeakerNames = Annotated[
    list[str] | None,
    Form(
        alias="known_speaker_names[]",
        description="Up to 4 names of voices to recognise (diarized_json); a name without a reference names "
        "a voice enrolled in the library",
    ),
]
KnownSpeakerReferences = Annotated[
    list[str] | None,
    Form(
        alias="known_speaker_references[]",
        description="A 2–10 s clip of each named voice, as a data URL, in the order of the names",
    ),
]


Keyterms = Annotated[
    list[str] | None,
    Form(alias="keyterms[]", description="Words and phrases decoding is biased toward (`extra_body`)"),
]
Redact = Annotated[
    list[str] | None,
    Form(alias="redact[]", description="Kinds of entity replaced by their kind in brackets (`extra_body`)"),
]
ChannelNames = Annotated[
    list[str] | None,
    Form(
        alias="channel_names[]", description="The speaker of each channel, with `multichannel` (`extra_body`)"
    ),
]
Replacements = Annotated[
    str | None,
    Form(
        description='Spellings fixed after decoding: a JSON object (`{"acme pro": "Acme-Pro"}`), or '
        "`replacements[<spelling>]` fields as `extra_body` sends them"
    ),
]


REPLACEMENT_PREFIX = "replacements["


async def _flattened_replacements(request: Request) -> dict[str, Any] | None:
    """`replacements` as OpenAI's clients send an object of `extra_body`: `replacements[<key>]` form fields."""
    form = await request.form()
    fields = {
        name[len(REPLACEMENT_PREFIX) : -1]: value
        for name, value in form.items()
        if name.startswith(REPLACEMENT_PREFIX) and name.endswith("]")
    }
    return fields or None


FlattenedReplacements = Annotated[dict[str, Any] | None, Depends(_flattened_replacements)]


ChunkingStrategy = Annotated[
    str | None,
    Form(description="`auto`, or a `server_vad` object (as JSON, or as `chunking_strategy[<key>]` fields)"),
]


async def _flattened_chunking_strategy(request: Request) -> dict[str, Any] | None:
    """A `server_vad` object as OpenAI's clients send it: `chunking_strategy[type]`,
    `chunking_strategy[threshold]`, … form fields."""
    form = await request.form()
    names = {key: f"chunking_strategy[{key}]" for key in CHUNKING_FIELDS}
    fields = {key: form[name] for key, name in names.items() if name in form}
    return fields or None


FlattenedChunkingStrategy = Annotated[dict[str, Any] | None, Depends(_flattened_chunking_strategy)]


def _only_fields_of(schema: type[BaseModel]) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A dependency refusing form fields that `schema` (and the file) do not name."""
    known = {"file", *(LIST_FIELDS.get(name, name) for name in schema.model_fields)}
    if "chunking_strategy" in schema.model_fields:
        known |= {f"chunking_strategy[{key}]" for key in CHUNKING_FIELDS}

    flattened = ("replacements",) if "replacements" in schema.model_fields else ()

    async def refuse_unknown_fields(request: Request) -> None:
        unknown = [
            name
            for name in (await request.form())
            if name not in known and not any(name.startswith(f"{prefix}[") for prefix in flattened)
        ]
        if unknown:
            message = f"Unrecognized request argument supplied: {unknown[0]}"
            raise ServiceError("invalid_input", message, details=[{"field": unknown[0], "message": message}])

    return refuse_unknown_fields


def _transcribe(
    runtime: RuntimeDep,
    executor: ExecutorDep,
    owner: str | None,
    file: UploadFile,
    schema: type[OpenAITranslationRequest],
    task: Literal["transcribe", "translate"],
    fields: dict[str, object],
) -> Response:
    with refused_as_invalid_input():
        request = schema.model_validate({k: v for k, v in fields.items() if v is not None})
        job = to_job(request, task=task)
    identifier = enqueue(runtime, executor, job, upload=file, owner=owner)
    if getattr(request, "stream", False):
        return TranscriptEventStream(TranscriptStream(runtime, identifier))
    result = task_outcome(executor.wait(identifier))
    body = to_response(result, request, task=task, job=job, settings=runtime.settings)
    if isinstance(body, str):
        media = MEDIA_TYPES.get(request.response_format, "text/plain")
        return PlainTextResponse(body, media_type=media)
    return JSONResponse(body)


STREAMED: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}
}
"""With `stream`, the answer is OpenAI's server-sent events."""


@router.post(
    "/audio/transcriptions",
    dependencies=[Depends(_only_fields_of(OpenAITranscriptionRequest))],
    responses=STREAMED,
)
def transcriptions(
    runtime: RuntimeDep,
    executor: ExecutorDep,
    owner: OwnerDep,
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form()] = "whisper-1",
    language: Annotated[str | None, Form()] = None,
    prompt: Annotated[str | None, Form()] = None,
    response_format: Annotated[str, Form()] = "json",
    temperature: Annotated[float, Form()] = 0.0,
    timestamp_granularities: Granularities = None,
    include: Include = None,
    stream: Annotated[
        bool, Form(description="`true` (with `json` or `text`): server-sent events as segments are decoded")
    ] = False,
    known_speaker_names: KnownSpeakerNames = None,
    known_speaker_references: KnownSpeakerReferences = None,
    chunking_strategy: ChunkingStrategy = None,
    chunking_object: FlattenedChunkingStrategy = None,
    keyterms: Keyterms = None,
    replacements: Replacements = None,
    replacements_object: FlattenedReplacements = None,
    redact: Redact = None,
    vocabulary: Annotated[str | None, Form(description="A saved vocabulary's name (`extra_body`)")] = None,
    multichannel: Annotated[
        bool, Form(description="Each channel on its own, one speaker per channel (`extra_body`)")
    ] = False,
    channel_names: ChannelNames = None,
    diarize_channels: Annotated[
        bool,
        Form(description="With `multichannel` and `diarized_json`: also diarize each channel (`extra_body`)"),
    ] = False,
) -> Response:
    """Transcribe audio, in OpenAI's request and response shapes; with `stream`, as OpenAI's
    `transcript.text.delta` events, then `transcript.text.done`."""
    return _transcribe(
        runtime,
        executor,
        owner,
        file,
        OpenAITranscriptionRequest,
        "transcribe",
        {
            "model": model,
            "language": language,
            "prompt": prompt,
            "response_format": response_format,
            "temperature": temperature,
            "timestamp_granularities": timestamp_granularities,
            "include": include,
            "stream": stream,
            "known_speaker_names": known_speaker_names,
            "known_speaker_references": known_speaker_references,
            "chunking_strategy": chunking_object or chunking_strategy,
            "keyterms": keyterms,
            "replacements": replacements_object or replacements,
            "redact": redact,
            "vocabulary": vocabulary,
            "multichannel": multichannel,
            "channel_names": channel_names,
            "diarize_channels": diarize_channels,
        },
    )


@router.post("/audio/translations", dependencies=[Depends(_only_fields_of(OpenAITranslationRequest))])
def translations(
    runtime: RuntimeDep,
    executor: ExecutorDep,
    owner: OwnerDep,
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form()] = "whisper-1",
    prompt: Annotated[str | None, Form()] = None,
    response_format: Annotated[str, Form()] = "json",
    temperature: Annotated[float, Form()] = 0.0,
) -> Response:
    """Translate speech into English text, in OpenAI's shapes (a multilingual model is needed)."""
    return _transcribe(
        runtime,
        executor,
        owner,
        file,
        OpenAITranslationRequest,
        "translate",
        {
            "model": model,
            "prompt": prompt,
            "response_format": response_format,
            "temperature": temperature,
        },
    )


@router.get("/models")
def models(runtime: RuntimeDep) -> dict[str, object]:
    """The models this server answers to: `whisper-1` (the configured model) and each served Whisper model."""
    return {"object": "list", "data": model_cards(runtime.settings)}


@router.get("/models/{model}")
def model(runtime: RuntimeDep, model: str) -> dict[str, object]:
    """One model this server serves."""
    return dict(model_card(runtime.settings, model))
