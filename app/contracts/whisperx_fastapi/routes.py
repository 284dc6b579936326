"""The speech routes we share with whisperX-FastAPI: the full pipeline and each stage, queued as tasks.

Parameter groups travel as form fields holding JSON objects, and are validated by the same schemas as the
worker's input. whisperX-FastAPI's query parameters are taken too (`schemas.py` beside this: the form group
wins, key by key), and its `.json` file parts wherever a document is expected.
"""

# No `from __future__ import annotations`: the route factory's annotations must be evaluated (FastAPI
# reads them) while `form_type` is in scope.

from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

from app.api.deps import ExecutorDep, OwnerDep, RuntimeDep
from app.api.submit import TaskAccepted, queue_and_answer, validated_fields
from app.contracts.whisperx_fastapi.edge import (
    DOCUMENT_FIELDS,
    WhisperXRoute,
    check_callback,
    combine_fields,
    read_documents,
)
from app.contracts.whisperx_fastapi.schemas import (
    AlignServiceQuery,
    DiarizeServiceQuery,
    QueryGroup,
    SpeechToTextQuery,
    TranscribeQuery,
    job_fields,
)
from app.runtime import Runtime
from app.schemas import (
    AlignJob,
    AudioJob,
    CombineJob,
    DiarizeJob,
    OutputFormat,
    SpeechToTextJob,
    TranscribeJob,
)
from app.services.render import MEDIA_TYPES
from app.task_schemas import TaskOut

router = APIRouter(tags=["speech"], route_class=WhisperXRoute)

Upload = Annotated[UploadFile, File(description="Audio or video file (any format FFmpeg decodes)")]
Wait = Annotated[bool, Query(description="Answer with the result when the task finishes, not at once")]
RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "model": TaskAccepted | TaskOut,
        "description": "The task is queued; with `wait=true`, the finished task, or its result as text in the "
        "requested `output_format`",
        "content": {
            media: {"schema": {"type": "string"}} for media in MEDIA_TYPES.values() if "json" not in media
        },
    },
}


def _group(example: str) -> FieldInfo:
    """A parameter group as a form field: JSON text."""
    field: FieldInfo = Field(description=f"JSON object, e.g. `{example}`")
    return field


class _Delivery(BaseModel):
    callback_url: str | None = Field(None, description="URL that receives the finished task, signed")

    def job_fields(self) -> dict[str, object]:
        fields = self.model_dump()
        fields["webhook_url"] = fields.pop("callback_url")
        return fields


class _Rendered(_Delivery):
    output_format: OutputFormat = "json"
    subtitle_options: Annotated[str | None, _group('{"max_line_width": 42, "max_line_count": 2}')] = None


class TranscribeForm(_Rendered):
    model_params: Annotated[str | None, _group('{"language": "en", "batch_size": 8}')] = None
    asr_options: Annotated[str | None, _group('{"beam_size": 5, "initial_prompt": "Acme Corp"}')] = None
    vad_options: Annotated[str | None, _group('{"vad_method": "silero", "vad_onset": 0.5}')] = None

    keyterms: Annotated[str | None, Field(description='JSON list, e.g. `["Acme-Pro", "Zylofax"]`')] = None
    replacements: Annotated[str | None, _group('{"acme pro": "Acme-Pro"}')] = None
    redact: Annotated[str | None, Field(description='JSON list, e.g. `["card_number", "email"]`')] = None
    redact_audio: bool = Field(
        False, description="Keep the audio with the redacted words bleeped, to download"
    )
    multichannel: bool = Field(
        False, description="Transcribe each channel on its own: one speaker per channel"
    )
    channel_names: Annotated[str | None, Field(description='JSON list, e.g. `["agent", "caller"]`')] = None
    vocabulary: str | None = Field(None, description="The name of a saved vocabulary (`/vocabularies`)")


class TranscribeOnlyForm(TranscribeForm):
    word_timestamps: bool = Field(False, description="Also align words (no diarization)")


class SpeechToTextForm(TranscribeForm):
    align_params: Annotated[str | None, _group('{"interpolate_method": "nearest"}')] = None
    diarize_params: Annotated[str | None, _group('{"min_speakers": 1, "max_speakers": 3}')] = None
    diarize_channels: bool = Field(
        False, description="With `multichannel`: also diarize each channel (several people on one side)"
    )


class SpeechToTextUrlForm(SpeechToTextForm):
    url: str = Field(description="http(s) URL of the audio")


class AlignForm(_Rendered):
    transcript: UploadFile | str = Field(
        description='Transcript JSON, as text or a `.json` file: `{"language": "en", "segments": [{"start", '
        '"end", "text"}]}`'
    )
    align_params: Annotated[str | None, _group('{"interpolate_method": "nearest"}')] = None
    model_params: Annotated[str | None, _group('{"model": "tiny.en"}')] = None
    device: Literal["cpu", "cuda"] | None = None


class DiarizeForm(_Delivery):
    diarize_params: Annotated[str | None, _group('{"num_speakers": 2}')] = None
    device: Literal["cpu", "cuda"] | None = None


Job = TypeVar("Job", bound=AudioJob)


def _job(runtime: Runtime, job_type: type[Job], query: QueryGroup, form: _Delivery) -> Job:
    """The job from the query string and the form; a callback named in the query is checked reachable."""
    documents = {name: getattr(form, name) for name in DOCUMENT_FIELDS if hasattr(form, name)}
    job = validated_fields(job_type, job_fields(query, read_documents({**form.job_fields(), **documents})))
    if job.webhook_body != "task" and job.webhook_url:
        check_callback(job.webhook_url, runtime.settings.fetch)
    return job


def _upload_route(
    path: str,
    form_type: type[_Delivery],
    query_type: type[QueryGroup],
    job_type: type[AudioJob],
    summary: str,
) -> None:
    """A route taking an uploaded `file`, the form `form_type` and the query `query_type`, queuing `job_type`
    (the worker's schema)."""

    def route(
        runtime: RuntimeDep,
        executor: ExecutorDep,
        owner: OwnerDep,
        file: Upload,
        form: Annotated[form_type, Form()],  # type: ignore[valid-type]  # FastAPI reads the class given
        query: Annotated[query_type, Query()],  # type: ignore[valid-type]  # FastAPI reads the class given
        wait: Wait = False,
    ) -> Response:
        job = _job(runtime, job_type, query, form)
        return queue_and_answer(runtime, executor, job, upload=file, wait=wait, owner=owner)

    router.post(path, responses=RESPONSES, summary=summary, description=summary)(route)


_upload_route(
    "/speech-to-text",
    SpeechToTextForm,
    SpeechToTextQuery,
    SpeechToTextJob,
    "Transcribe, align, diarize and combine a file",
)
_upload_route(
    "/service/transcribe",
    TranscribeOnlyForm,
    TranscribeQuery,
    TranscribeJob,
    "Transcription only (`word_timestamps`: aligned words too)",
)
_upload_route(
    "/service/align",
    AlignForm,
    AlignServiceQuery,
    AlignJob,
    "Word timings for a given transcript (text or a `.json` file) against the uploaded audio",
)
_upload_route(
    "/service/diarize",
    DiarizeForm,
    DiarizeServiceQuery,
    DiarizeJob,
    "Speaker diarization only: who spoke when",
)


@router.post("/speech-to-text-url", responses=RESPONSES)
def speech_to_text_url(
    runtime: RuntimeDep,
    executor: ExecutorDep,
    owner: OwnerDep,
    form: Annotated[SpeechToTextUrlForm, Form()],
    query: Annotated[SpeechToTextQuery, Query()],
    wait: Wait = False,
) -> Response:
    """The full pipeline on audio fetched from an http(s) URL."""
    job = _job(runtime, SpeechToTextJob, query, form)
    return queue_and_answer(runtime, executor, job, wait=wait, owner=owner)


COMBINE_EXAMPLE = {
    "aligned_transcript": {
        "segments": [
            {
                "start": 0.0,
                "end": 1.2,
                "text": "Hello there",
                "words": [
                    {"word": "Hello", "start": 0.0, "end": 0.5},
                    {"word": "there", "start": 0.6, "end": 1.2},
                ],
            }
        ],
    },
    "diarization_result": [{"start": 0.0, "end": 1.3, "speaker": "SPEAKER_00"}],
}


def _or_null(schema: dict[str, object]) -> dict[str, object]:
    """A body field that may be null (null leaves the default), as the route reads it."""
    return {"anyOf": [schema, {"type": "null"}]}


_DOCUMENT = {"type": "string", "format": "binary", "description": "JSON text or a `.json` file"}
COMBINE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["aligned_transcript", "diarization_result"],
                    "properties": {
                        "aligned_transcript": {"type": "object", "description": "The `align` result"},
                        "diarization_result": {
                            "type": "array",
                            "items": {"type": "object"},
                            "description": "The `diarize` result's segments (or the result itself)",
                        },
                        "output_format": _or_null(
                            {"type": "string", "enum": ["json", "srt", "vtt", "txt", "tsv"]}
                        ),
                        "subtitle_options": _or_null({"type": "object"}),
                        "webhook_url": _or_null({"type": "string"}),
                    },
                },
                "example": COMBINE_EXAMPLE,
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["aligned_transcript", "diarization_result"],
                    "properties": {
                        "aligned_transcript": _DOCUMENT,
                        "diarization_result": _DOCUMENT,
                        "output_format": {"type": "string", "enum": ["json", "srt", "vtt", "txt", "tsv"]},
                        "subtitle_options": {"type": "string"},
                        "callback_url": {"type": "string"},
                    },
                }
            },
        },
    }
}


@router.post("/service/combine", responses=RESPONSES, openapi_extra=COMBINE_BODY)
def combine(
    runtime: RuntimeDep,
    executor: ExecutorDep,
    owner: OwnerDep,
    fields: Annotated[dict[str, object], Depends(combine_fields)],
    wait: Wait = False,
) -> Response:
    """Assign diarization speakers to an aligned transcript's segments and words: a JSON body, or a form whose
    `aligned_transcript` and `diarization_result` are JSON text or `.json` files."""
    job = validated_fields(CombineJob, fields)
    return queue_and_answer(runtime, executor, job, wait=wait, owner=owner)
