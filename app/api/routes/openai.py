"""OpenAI-compatible routes: `/v1/audio/transcriptions`, `/v1/audio/translations`, `/v1/models`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError

from app.api.deps import ExecutorDep, RuntimeDep
from app.api.submit import enqueue, task_result_response
from app.db.models import TaskStatus
from app.errors import invalid_input
from app.services.openai_compat import OpenAITranscriptionRequest, to_job, to_response
from app.services.render import MEDIA_TYPES

router = APIRouter(prefix="/v1", tags=["openai"])

Granularities = Annotated[
    list[Literal["word", "segment"]] | None,
    Form(alias="timestamp_granularities[]", description="`word` and/or `segment` (verbose_json)"),
]


def _transcribe(
    runtime: RuntimeDep,
    executor: ExecutorDep,
    file: UploadFile,
    task: Literal["transcribe", "translate"],
    fields: dict[str, object],
) -> Response:
    try:
        request = OpenAITranscriptionRequest.model_validate(
            {k: v for k, v in fields.items() if v is not None}
        )
        job = to_job(request, task=task)
    except ValidationError as error:
        raise invalid_input(error) from None
    finished = executor.wait(enqueue(runtime, executor, job, upload=file))
    if finished.status != TaskStatus.completed or finished.result is None:
        return task_result_response(finished, job)
    body = to_response(finished.result, request, task=task, job=job, settings=runtime.settings)
    if isinstance(body, str):
        media = MEDIA_TYPES.get(request.response_format, "text/plain")
        return PlainTextResponse(body, media_type=media)
    return JSONResponse(body)


@router.post("/audio/transcriptions")
def transcriptions(
    runtime: RuntimeDep,
    executor: ExecutorDep,
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form()] = "whisper-1",
    language: Annotated[str | None, Form()] = None,
    prompt: Annotated[str | None, Form()] = None,
    response_format: Annotated[str, Form()] = "json",
    temperature: Annotated[float, Form()] = 0.0,
    timestamp_granularities: Granularities = None,
) -> Response:
    """Transcribe audio, in OpenAI's request and response shapes."""
    return _transcribe(
        runtime,
        executor,
        file,
        "transcribe",
        {
            "model": model,
            "language": language,
            "prompt": prompt,
            "response_format": response_format,
            "temperature": temperature,
            "timestamp_granularities": timestamp_granularities,
        },
    )


@router.post("/audio/translations")
def translations(
    runtime: RuntimeDep,
    executor: ExecutorDep,
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form()] = "whisper-1",
    prompt: Annotated[str | None, Form()] = None,
    response_format: Annotated[str, Form()] = "json",
    temperature: Annotated[float, Form()] = 0.0,
) -> Response:
    """Translate speech into English text, in OpenAI's shapes."""
    return _transcribe(
        runtime,
        executor,
        file,
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
    """The models this server answers to."""
    names = ["whisper-1", runtime.settings.whisper_model]
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "whisperx-service"} for name in names
        ],
    }
