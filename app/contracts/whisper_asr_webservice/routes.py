"""whisper-asr-webservice's routes: `POST /asr` and `POST /detect-language`, each request a task of the shared
queue that the request waits for (and cancels if its client leaves). Errors are ours,
`{"error": {"code", "message"}}`, with our statuses."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from app.api.deps import ExecutorDep, OwnerDep, RuntimeDep
from app.api.submit import outcome_while_connected
from app.contracts.whisper_asr_webservice.mapping import (
    ENGINE,
    AsrQuery,
    DetectLanguageQuery,
    asr_body,
    asr_job,
    detected_language,
)
from app.contracts.whisper_asr_webservice.raw_pcm import as_wav
from app.ml.results import Transcript
from app.process.executor import TaskExecutor
from app.runtime import Runtime
from app.schemas import DetectLanguageJob, JobInput
from app.services.results import DetectedLanguage
from app.services.speech import queue_job
from app.services.tasks import task_outcome

router = APIRouter(tags=["whisper-asr-webservice"])

AudioFile = Annotated[
    UploadFile, File(description="The audio or video; with `encode=false`, raw 16 kHz mono s16le PCM")
]


async def _queued(
    runtime: Runtime,
    executor: TaskExecutor,
    job: JobInput,
    audio_file: UploadFile,
    *,
    encode: bool,
    video_file: str | None,
    owner: str | None,
) -> str:
    """Queue `job` on the upload (raw PCM handed on as WAV), named after the video when the client says it."""

    def queue() -> str:
        upload = audio_file.file if encode else as_wav(audio_file.file)
        name = video_file or audio_file.filename
        return queue_job(runtime, job, upload=upload, file_name=name, owner=owner)

    identifier = await run_in_threadpool(queue)
    executor.wake()
    return identifier


@router.post("/asr", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def asr(
    request: Request,
    runtime: RuntimeDep,
    executor: ExecutorDep,
    owner: OwnerDep,
    audio_file: AudioFile,
    query: Annotated[AsrQuery, Query()],
) -> Response:
    """Transcribe or translate the upload; the answer is the transcript in `output` (txt, vtt, srt, tsv or
    json) as text, named `<upload>.<output>`."""
    job = asr_job(query)
    identifier = await _queued(
        runtime, executor, job, audio_file, encode=query.encode, video_file=query.video_file, owner=owner
    )
    # A transcription's or the full pipeline's result: a transcript either way.
    result: Transcript = task_outcome(await outcome_while_connected(request, runtime, identifier))
    name = quote(audio_file.filename or "audio_file")
    return Response(
        asr_body(result, query.output),
        media_type="text/plain",
        headers={
            "Asr-Engine": ENGINE,
            "Content-Disposition": f'attachment; filename="{name}.{query.output}"',
        },
    )


@router.post("/detect-language")
async def detect_language(
    request: Request,
    runtime: RuntimeDep,
    executor: ExecutorDep,
    owner: OwnerDep,
    audio_file: AudioFile,
    query: Annotated[DetectLanguageQuery, Query()],
) -> JSONResponse:
    """The language spoken in the upload's first 30 s: `{"detected_language", "language_code",
    "confidence"}`."""
    identifier = await _queued(
        runtime,
        executor,
        DetectLanguageJob(),
        audio_file,
        encode=query.encode,
        video_file=query.video_file,
        owner=owner,
    )
    result: DetectedLanguage = task_outcome(await outcome_while_connected(request, runtime, identifier))
    return JSONResponse(detected_language(result))
