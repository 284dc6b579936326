"""The speech use cases both front doors offer, as one table of actions: the request schema, the task type it is
recorded as, and the work that runs it on the validated request and its audio.

A task row (type, parameters, documents, kept upload or URL) is enough to rebuild its work, so a queued task
runs after a restart, on whichever process claims it.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO, Generic

from app.audio.decode import Audio, decode_audio, probe_audio
from app.audio.fetch import probe_url
from app.audio.sources import (
    check_reference_clips,
    is_url,
    load_audio_source,
    safe_file_name,
)
from app.config import Settings
from app.db.models import ACTIVE_STATUSES, Task, TaskStatus, TaskType
from app.errors import ServiceError
from app.outbox.webhooks import deliver_due, record_delivery
from app.runtime import Runtime
from app.schemas import (
    AlignJob,
    AudioJob,
    CombineJob,
    DetectLanguageJob,
    DiarizeJob,
    JobInput,
    SpeechToTextJob,
    TranscribeJob,
    WebhookBody,
)
from app.services.model_requests import check_model_request
from app.services.pipeline import Progress, whisper_spec
from app.services.speech_work import (
    Input,
    Job,
    TaskScope,
    Work,
    alignment,
    combination,
    diarization,
    full_process,
    language_detection,
    transcription,
)
from app.services.tasks import get_task, run_task, submit_task
from app.services.text_rules import decoding_options
from app.services.uploads import UPLOADS, remove_upload
from app.services.vocabularies import rules_with_vocabulary
from app.services.voices import check_enrolled_names
from app.task_schemas import TaskOut

log = logging.getLogger(__name__)


NO_AUDIO = ("invalid_input", "Give the audio as `file` (a data URI, base64 or a URL) or `url`.")


@dataclass(frozen=True)
class SpeechAction(Generic[Job, Input]):
    request: type[Job]
    task_type: TaskType
    work: Work[Job, Input]
    documents: tuple[str, ...] = ()
    """Request fields (dotted paths into groups) kept in the task's `inputs` rather than its visible `params`
    (they can be large)."""

    @property
    def needs_audio(self) -> bool:
        return issubclass(self.request, AudioJob)

    @property
    def document_fields(self) -> dict[str, Any]:
        """`documents` as pydantic's nested include/exclude: `{"diarize_params": {"known_speakers": True}}`."""
        fields: dict[str, Any] = {}
        for path in self.documents:
            *groups, name = path.split(".")
            level = fields
            for group in groups:
                level = level.setdefault(group, {})
            level[name] = True
        return fields


KNOWN_SPEAKERS = "diarize_params.known_speakers"


# Dispatched by the request's type at run time: each action's work takes its own request and audio.
SPEECH_ACTIONS: tuple[SpeechAction[Any, Any], ...] = (
    SpeechAction(SpeechToTextJob, TaskType.full_process, full_process, (KNOWN_SPEAKERS,)),
    SpeechAction(TranscribeJob, TaskType.transcription, transcription),
    SpeechAction(AlignJob, TaskType.transcription_alignment, alignment, ("transcript",)),
    SpeechAction(DiarizeJob, TaskType.diarization, diarization, (KNOWN_SPEAKERS,)),
    SpeechAction(
        CombineJob,
        TaskType.combine_transcript_diarization,
        combination,
        ("aligned_transcript", "diarization_result"),
    ),
    SpeechAction(DetectLanguageJob, TaskType.language_detection, language_detection),
)
BY_REQUEST: dict[type[JobInput], SpeechAction[Any, Any]] = {
    action.request: action for action in SPEECH_ACTIONS
}
BY_TASK_TYPE = {action.task_type: action for action in SPEECH_ACTIONS}


def _record(
    runtime: Runtime,
    job: JobInput,
    *,
    shared: bool,
    identifier: str | None = None,
    upload_path: str | None = None,
    file_name: str | None = None,
    external_job_id: str | None = None,
    owner: str | None = None,
) -> Task:
    """The task row of a request: its parameters, documents and where its audio is (never the audio itself)."""
    action = BY_REQUEST[type(job)]
    source = job.source if isinstance(job, AudioJob) else None
    return submit_task(
        runtime,
        task_type=action.task_type,
        params=job.model_dump(mode="json", exclude={"file": True, **action.document_fields}),
        inputs=job.model_dump(mode="json", include=action.document_fields) if action.documents else None,
        file_name=safe_file_name(file_name or getattr(job, "filename", None)),
        url=source if source and is_url(source) else None,
        external_job_id=external_job_id,
        shared=shared,
        identifier=identifier,
        upload_path=upload_path,
        owner=owner,
    )


def _admit(runtime: Runtime, job: JobInput, *, uploaded: bool, owner: str | None) -> None:
    """Refuse, before anything is recorded or loaded, a job without audio, naming a model it may not use, a
    vocabulary not saved or a voice not enrolled."""
    settings = runtime.settings
    if BY_REQUEST[type(job)].needs_audio and not uploaded and getattr(job, "source", None) is None:
        raise ServiceError(*NO_AUDIO)
    if isinstance(job, SpeechToTextJob | TranscribeJob | AlignJob | DetectLanguageJob):
        transcribes = isinstance(job, SpeechToTextJob | TranscribeJob)
        check_model_request(settings, job.model_params, transcribes=transcribes)
    if isinstance(job, SpeechToTextJob | TranscribeJob):
        rules = rules_with_vocabulary(runtime, owner, job)
        if rules.keyterms:
            # Keyterms past Whisper's prompt budget (the vocabulary's with the job's) are refused before anything
            # is queued.
            decoding_options(job.asr_options, rules, whisper_spec(settings, job.model_params))
    if isinstance(job, SpeechToTextJob | DiarizeJob):
        check_reference_clips(job.diarize_params.reference_clips, settings=settings)
        check_enrolled_names(runtime, owner, job.diarize_params)


def _load_audio(settings: Settings, task: Task, job: JobInput) -> Audio | None:
    """The task's audio: its kept upload, or the `file`/`url` it names. The one place audio is loaded."""
    if not BY_REQUEST[type(job)].needs_audio:
        return None
    if task.upload_path:
        path = settings.data_dir / task.upload_path
        if not path.is_file():
            raise ServiceError("interrupted", "The upload of this task is gone; submit the task again.")
        try:
            return decode_audio(
                path, max_seconds=settings.limits.max_audio_seconds, max_channels=_max_channels(settings, job)
            )
        finally:  # decoded (or undecodable): the task never reads it again, even if it is interrupted
            remove_upload(settings, task.identifier)
    source = (job.source if isinstance(job, AudioJob) else None) or task.url
    if source is None:
        raise ServiceError(*NO_AUDIO)
    return load_audio_source(source, settings=settings, max_channels=_max_channels(settings, job))


def _max_channels(settings: Settings, job: JobInput) -> int | None:
    """How many channels a `multichannel` job's audio may keep (None: the job takes it mixed to mono)."""
    return settings.limits.max_channels if getattr(job, "multichannel", False) else None


def _run(
    runtime: Runtime, task: Task, job: JobInput, *, claimed: bool, on_progress: Progress | None
) -> TaskOut:
    work = BY_REQUEST[type(job)].work
    settings = runtime.settings
    return run_task(
        runtime,
        task.identifier,
        lambda progress: work(
            job, _load_audio(settings, task, job), progress, TaskScope(runtime, task.identifier, task.owner)
        ),
        on_progress=on_progress,
        claimed=claimed,
    )


def run_job(
    runtime: Runtime,
    job: JobInput,
    *,
    external_job_id: str | None = None,
    on_progress: Progress | None = None,
) -> TaskOut:
    """Record one action as a task of this process, run it now, and try its webhook once (the worker's way;
    the deliverer thread retries from the outbox).

    A job id already recorded gives back that task, which runs only if it never started.
    """
    existing = runtime.tasks.get_by_external_id(external_job_id) if external_job_id else None
    if existing is not None and existing.status != TaskStatus.queued:
        finished = get_task(runtime, existing.identifier)
    else:
        _admit(runtime, job, uploaded=False, owner=None)
        task = existing or _record(runtime, job, shared=False, external_job_id=external_job_id)
        finished = _run(runtime, task, job, claimed=False, on_progress=on_progress)
    if finished.status in ACTIVE_STATUSES or finished.webhook is not None:
        return finished  # still running elsewhere, or its webhook is already in the outbox
    if record_delivery(runtime, finished, *_webhook(job), wake=False):
        deliver_due(runtime, task_identifier=finished.identifier)
        finished = get_task(runtime, finished.identifier)
    return finished


def queue_job(
    runtime: Runtime,
    job: JobInput,
    *,
    upload: BinaryIO | None = None,
    file_name: str | None = None,
    owner: str | None = None,
) -> str:
    """Record one action of the API key `owner` in the shared queue, keeping its upload under `DATA_DIR`;
    returns its identifier.

    What the task would certainly fail with is refused first, and nothing is recorded: an upload that is empty,
    not audio or declared too long (read from its header), a URL the downloader would refuse or that does not
    answer with a file. A full queue (`LIMITS__QUEUE_SIZE` queued tasks) refuses it with `queue_full`, and the
    refusal is recorded.
    """
    settings = runtime.settings
    _admit(runtime, job, uploaded=upload is not None, owner=owner)
    source = job.source if isinstance(job, AudioJob) else None
    if upload is None and source and (is_url(source) or getattr(job, "url", None)):
        probe_url(source, settings.fetch)  # a `url` must be an http(s) URL whatever it looks like
    if runtime.tasks.count_queued() >= settings.limits.queue_size:
        refused = _record(runtime, job, shared=False, file_name=file_name, owner=owner)
        error = ServiceError("queue_full", "The service is busy; retry later.", details={"retry_after": 30})
        runtime.tasks.fail(refused.identifier, code=error.code, message=error.message)
        raise error
    identifier = str(uuid.uuid4())
    relative = f"{UPLOADS}/{identifier}/upload" if upload is not None else None
    try:
        if upload is not None and relative is not None:
            path = settings.data_dir / relative
            path.parent.mkdir(parents=True)
            with path.open("wb") as out:
                shutil.copyfileobj(upload, out, 1 << 20)
            probe_audio(path, max_seconds=settings.limits.max_audio_seconds)
        _record(
            runtime,
            job,
            shared=True,
            identifier=identifier,
            upload_path=relative,
            file_name=file_name,
            owner=owner,
        )
    except BaseException:
        remove_upload(settings, identifier)
        raise
    return identifier


def run_queued(runtime: Runtime, task: Task) -> TaskOut:
    """Run a task claimed from the shared queue, rebuilt from its row; then drop its upload and queue its
    webhook."""
    try:
        action = BY_TASK_TYPE[TaskType(task.task_type)]
        rebuilt = action.request.model_validate_json(json.dumps(_merged(task.params, task.inputs or {})))
    except (KeyError, ValueError):
        log.exception("task %s cannot be rebuilt from its row", task.identifier)
        runtime.tasks.fail(
            task.identifier,
            code="internal_error",
            message="The task could not be run.",
            worker_id=runtime.worker_id,
        )
        finished = get_task(runtime, task.identifier)
        job: JobInput | None = None
    else:
        log.info("task %s started (%s)", task.identifier, task.task_type)
        finished = _run(runtime, task, rebuilt, claimed=True, on_progress=None)
        job = rebuilt
    finally:
        remove_upload(runtime.settings, task.identifier)
    record_delivery(runtime, finished, *_webhook(job))
    return finished


def _merged(params: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """A task's request from its row: `inputs` laid back into `params`, group by group."""
    merged = dict(params)
    for key, value in inputs.items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merged(merged[key], value) if both else value
    return merged


def _webhook(job: JobInput | None) -> tuple[str | None, WebhookBody]:
    """Where the job's webhook goes, and in which shape."""
    return getattr(job, "webhook_url", None), getattr(job, "webhook_body", "task")
