"""The speech use cases both front doors offer: one function per action, each recorded as a task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.audio.decode import Audio
from app.audio.sources import is_url, load_audio_source, safe_file_name
from app.config import Settings
from app.db.models import TaskStatus, TaskType
from app.errors import ServiceError
from app.runtime import Runtime
from app.schemas import (
    AlignJob,
    AudioJob,
    CombineJob,
    DiarizeJob,
    PipelineParams,
    RenderedJob,
    SpeechToTextJob,
    TaskOut,
    TranscribeJob,
)
from app.services.pipeline import (
    Progress,
    run_alignment,
    run_combine,
    run_diarization,
    run_full_pipeline,
    run_transcription,
)
from app.services.render import render
from app.services.tasks import get_task, run_task, submit_task

AudioLoader = Callable[[], Audio]
Work = Callable[[Audio | None, Progress], dict[str, Any]]


def full_process(job: SpeechToTextJob, settings: Settings) -> Work:
    # The job is itself a PipelineParams: it carries every parameter group.
    return lambda audio, progress: run_full_pipeline(audio.samples, job, settings, progress=progress)


def transcription(job: TranscribeJob, settings: Settings) -> Work:
    params = PipelineParams(
        model_params=job.model_params, asr_options=job.asr_options, vad_options=job.vad_options
    )
    share = 0.8 if job.word_timestamps else 1.0

    def work(audio: Audio, progress: Progress) -> dict[str, Any]:
        result = run_transcription(
            audio.samples, params, settings, on_progress=lambda part: progress(share * part, "transcribe")
        )
        if job.word_timestamps:
            progress(share, "align")
            aligned = run_alignment(
                audio.samples, result, settings, align_params=job.align_params, model_params=job.model_params
            )
            result = {**result, **aligned}
        return {**result, "audio_duration": round(audio.duration, 3)}

    return work


def alignment(job: AlignJob, settings: Settings) -> Work:
    transcript = job.transcript.model_dump(exclude_none=True)

    def work(audio: Audio, progress: Progress) -> dict[str, Any]:
        progress(0.0, "align")
        result = run_alignment(
            audio.samples,
            transcript,
            settings,
            align_params=job.align_params,
            model_params=job.model_params,
            device=job.device,
        )
        return {**result, "audio_duration": round(audio.duration, 3)}

    return work


def diarization(job: DiarizeJob, settings: Settings) -> Work:
    def work(audio: Audio, progress: Progress) -> dict[str, Any]:
        progress(0.0, "diarize")
        result = run_diarization(
            audio.samples, settings, diarize_params=job.diarize_params, device=job.device
        )
        return {**result, "audio_duration": round(audio.duration, 3)}

    return work


def combination(job: CombineJob, _settings: Settings) -> Work:
    aligned = job.aligned_transcript.model_dump(exclude_none=True)
    segments = [segment.model_dump() for segment in job.diarization_result]
    return lambda _audio, _progress: run_combine(aligned, segments)


TASK_TYPES: dict[type, TaskType] = {
    SpeechToTextJob: TaskType.full_process,
    TranscribeJob: TaskType.transcription,
    AlignJob: TaskType.transcription_alignment,
    DiarizeJob: TaskType.diarization,
    CombineJob: TaskType.combine_transcript_diarization,
}
WORK: dict[type, Callable[[Any, Settings], Work]] = {
    SpeechToTextJob: full_process,
    TranscribeJob: transcription,
    AlignJob: alignment,
    DiarizeJob: diarization,
    CombineJob: combination,
}


def task_params(job: Any) -> dict[str, Any]:
    """What a task row records of a request: everything but the audio itself."""
    return job.model_dump(
        mode="json", exclude={"file", "transcript", "aligned_transcript", "diarization_result"}
    )


@dataclass(frozen=True)
class PreparedJob:
    """A recorded task and the call that runs it (now, or later on an executor)."""

    identifier: str
    run: Callable[[], TaskOut]


def prepare_job(
    runtime: Runtime,
    job: AudioJob | CombineJob,
    *,
    load_audio: AudioLoader | None = None,
    file_name: str | None = None,
    external_job_id: str | None = None,
    on_progress: Progress | None = None,
    owner: str | None = None,
) -> PreparedJob:
    """Record one action as a queued task. Audio comes from the job's `file`/`url` unless `load_audio` is given.

    A job id already recorded gives back that task, which runs only if it never started.
    """
    existing = runtime.tasks.get_by_external_id(external_job_id) if external_job_id else None
    if existing is not None and existing.status != TaskStatus.queued:
        identifier = existing.identifier
        return PreparedJob(identifier, lambda: get_task(runtime, identifier))
    settings = runtime.settings
    source = job.source if isinstance(job, AudioJob) else None
    if isinstance(job, AudioJob) and load_audio is None and source is None:
        raise ServiceError(
            "invalid_input", "Give the audio as `file` (a data URI, base64 or a URL) or `url`."
        )
    task = submit_task(
        runtime,
        task_type=TASK_TYPES[type(job)],
        params=task_params(job),
        file_name=safe_file_name(file_name or getattr(job, "filename", None)),
        url=source if source and is_url(source) else None,
        external_job_id=external_job_id,
        owner=owner,
    )
    work = WORK[type(job)](job, settings)
    if load_audio is None and source is not None:
        load_audio = lambda: load_audio_source(source, settings=settings)  # noqa: E731
    loader = load_audio

    def run() -> TaskOut:
        return run_task(
            runtime,
            task.identifier,
            lambda progress: work(loader() if loader else None, progress),
            on_progress=on_progress,
        )

    return PreparedJob(task.identifier, run)


def rendered_result(task: TaskOut, job: RenderedJob | Any) -> Any:
    """A completed task's result in the format the job asked for (JSON stays an object)."""
    output_format = getattr(job, "output_format", "json")
    if task.result is None or output_format == "json":
        return task.result
    return render(task.result, output_format, job.subtitle_options)
