"""Our RunPod action contract: `handler(job)` dispatches `job["input"]["action"]` to the core and answers in the
handler's shape, `{"identifier", "result", "message"}`, or `{"error": '{"code": …, "message": …}'}`.

A job without `action` in worker-faster_whisper's or whisperx-worker's input shape is served as they serve it.
A streaming worker (`handler.py`) also yields each segment as it is decoded: `segment_stream`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from app.config import Settings
from app.contracts.runpod.answers import Answer, Refusal, StreamItem
from app.contracts.runpod.vocabulary_actions import VOCABULARY_ACTIONS
from app.contracts.runpod.voice_actions import VOICE_ACTIONS
from app.contracts.runpod_workers.serve import (
    FasterWhisperOutput,
    WhisperXWorkerOutput,
    serve_worker_input,
    worker_schema,
)
from app.errors import Model, ServiceError, validated
from app.json_types import JSONObject
from app.ml.results import Caption
from app.outbox.webhooks import start_deliverer
from app.process.health import health_report
from app.runtime import Runtime, get_runtime
from app.schemas import AlignJob, CombineJob, DetectLanguageJob, DiarizeJob, SpeechToTextJob, TranscribeJob
from app.services import tasks
from app.services.pipeline import Progress, Segments
from app.services.redacted_audio import MEDIA_TYPE, redacted_audio_path
from app.services.render import rendered_result
from app.services.speech import run_job
from app.task_schemas import TaskOut, TaskQuery, TaskRef

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    """What an action uses of its RunPod job: its id (a retried job finds its task by it) and where the
    progress of its work goes."""

    id: str | None
    progress: Progress | None = None


Output = Answer | Refusal | FasterWhisperOutput | WhisperXWorkerOutput
"""What a job gives: our answer, a refusal, or a public worker's output for its input shape."""

Action = Callable[[Runtime, JSONObject, JobContext], Output]


def _validated(schema: type[Model], job_input: JSONObject) -> Model:
    return validated(schema, {k: v for k, v in job_input.items() if k != "action"})


def runpod_progress(job: JSONObject) -> Progress | None:
    """Progress updates through RunPod, when running on RunPod (locally there is nowhere to send them): the
    stage, the fraction done and, once transcription has decoded some, the newest segment's text."""
    if not os.environ.get("RUNPOD_WEBHOOK_POST_OUTPUT"):
        return None
    import runpod

    newest: dict[str, str] = {}

    def update(fraction: float, stage: str, partial: Segments | None = None) -> None:
        if partial:
            newest["text"] = partial[-1]["text"].strip()
        runpod.serverless.progress_update(job, {"stage": stage, "progress": round(fraction, 3), **newest})

    return update


def segment_stream(emit: Callable[[StreamItem], None]) -> Progress:
    """A progress listener that calls `emit` with one stream item per newly decoded segment:
    `{"segment": {"start", "end", "text"}, "progress"}`, `progress` being the job's fraction done."""
    sent: Segments = []

    def listen(fraction: float, stage: str, partial: Segments | None = None) -> None:
        if not partial:  # a report of the stage and fraction alone
            return
        shown = [
            Caption(start=segment["start"], end=segment["end"], text=segment["text"]) for segment in partial
        ]
        if shown[: len(sent)] != sent:  # not the segments sent so far: the job's second task (a translation)
            sent.clear()
        for segment in shown[len(sent) :]:
            emit(StreamItem(segment=segment, progress=round(fraction, 3)))
            sent.append(segment)

    return listen


def _together(*listeners: Progress | None) -> Progress | None:
    present = [listener for listener in listeners if listener is not None]
    if len(present) < 2:
        return present[0] if present else None

    def both(fraction: float, stage: str, partial: Segments | None = None) -> None:
        for listener in present:
            listener(fraction, stage, partial)

    return both


def _task_response(task: TaskOut, request: BaseModel, settings: Settings) -> Answer | Refusal:
    try:
        tasks.task_outcome(task)
    except ServiceError as error:
        return _error({"code": error.code, "message": error.message, "identifier": task.identifier})
    answer = Answer(
        identifier=task.identifier,
        result=rendered_result(task, request),
        message=f"{task.task_type.value} completed",
    )
    bleeped = redacted_audio_path(settings, task.identifier)
    if bleeped.is_file():
        # A worker serves no files: the bleeped audio travels in the answer (never in the task table).
        answer["redacted_audio"] = (
            f"data:{MEDIA_TYPE};base64,{base64.b64encode(bleeped.read_bytes()).decode()}"
        )
    return answer


def _job_figures(task: TaskOut) -> JSONObject:
    """One job's figures as the worker logs them, one structured line per job."""
    result = task.result if isinstance(task.result, dict) else {}
    return {
        "event": "job_finished",
        "identifier": task.identifier,
        "task_type": task.task_type.value,
        "status": task.status.value,
        "error_code": task.error.code if task.error else None,
        "audio_seconds": task.audio_duration,
        "duration_seconds": task.duration,
        "stage_seconds": result.get("timings") or {},
        "webhook": task.webhook.status if task.webhook else None,
    }


def _job_action(
    schema: type[SpeechToTextJob | TranscribeJob | AlignJob | DiarizeJob | CombineJob | DetectLanguageJob],
) -> Action:
    def action(runtime: Runtime, job_input: JSONObject, job: JobContext) -> Output:
        request = _validated(schema, job_input)
        start_deliverer(runtime)  # retries what this attempt (or an earlier worker) left undelivered
        task = run_job(runtime, request, external_job_id=job.id, on_progress=job.progress)
        log.info(json.dumps(_job_figures(task)))
        return _task_response(task, request, runtime.settings)

    return action


def _task_view(task: TaskOut, message: str) -> Answer:
    return Answer(identifier=task.identifier, result=task.model_dump(mode="json"), message=message)


def _get_task(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Output:
    task = tasks.get_task(runtime, _validated(TaskRef, job_input).identifier)
    return _task_view(task, f"task is {task.status.value}")


def _get_all_tasks(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Output:
    page = tasks.list_tasks(runtime, _validated(TaskQuery, job_input))
    return Answer(identifier=None, result=page.model_dump(mode="json"), message=f"{page.total} task(s)")


def _delete_task(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Output:
    identifier = _validated(TaskRef, job_input).identifier
    tasks.delete_task(runtime, identifier)
    return Answer(identifier=identifier, result=None, message="task deleted")


def _cancel_task(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Output:
    task = tasks.cancel_task(runtime, _validated(TaskRef, job_input).identifier)
    return _task_view(task, "task cancelled")


def _health(runtime: Runtime, _input: JSONObject, _job: JobContext) -> Output:
    report = health_report(runtime)
    return Answer(identifier=None, result=report.model_dump(mode="json"), message=report.status)


def _worker_input(runtime: Runtime, job_input: JSONObject, job: JobContext) -> Output:
    start_deliverer(runtime)
    result = serve_worker_input(runtime, job_input, external_job_id=job.id, on_progress=job.progress)
    assert result is not None  # only chosen for inputs `worker_schema` recognises
    return result


ACTIONS: dict[str, Action] = {
    "speech_to_text": _job_action(SpeechToTextJob),
    "speech_to_text_url": _job_action(SpeechToTextJob),
    "transcribe": _job_action(TranscribeJob),
    "align": _job_action(AlignJob),
    "diarize": _job_action(DiarizeJob),
    "combine": _job_action(CombineJob),
    "detect_language": _job_action(DetectLanguageJob),
    "get_task": _get_task,
    "get_all_tasks": _get_all_tasks,
    "delete_task": _delete_task,
    "cancel_task": _cancel_task,
    "health": _health,
    **VOICE_ACTIONS,
    **VOCABULARY_ACTIONS,
}


def _error(body: Mapping[str, object]) -> Refusal:
    # RunPod keeps only the `error` key of a failed job's output, and its API types that key as a string, so the
    # code and message travel as one JSON string: `json.loads(output["error"])["code"]`.
    if body.get("code") == "audio_too_long":
        body = {**body, "message": f"{body['message']} {WORKER_LIMIT_HINT}"}
    response = Refusal(error=json.dumps(body, ensure_ascii=False))
    if body.get("code") == "device_error":
        response["refresh_worker"] = True
    return response


WORKER_LIMIT_HINT = (
    "The worker's limit is WORKER__MAX_AUDIO_SECONDS; raise it only together with the endpoint's "
    "execution timeout (executionTimeout), which must cover the longest audio it accepts."
)


def _worker_runtime() -> Runtime:
    """The process's runtime under the worker's own audio-length limit (the server's does not apply here)."""
    runtime = get_runtime()
    limits, worker_limit = runtime.settings.limits, runtime.settings.worker.max_audio_seconds
    if worker_limit == limits.max_audio_seconds:
        return runtime
    settings = runtime.settings.model_copy(
        update={"limits": limits.model_copy(update={"max_audio_seconds": worker_limit})}
    )
    return dataclasses.replace(runtime, settings=settings)


def error_response(error: ServiceError) -> Refusal:
    """The handler's error shape: `{"error": "<JSON of {code, message}>"}`."""
    return _error(error.to_dict())


def handler(job: JSONObject, on_progress: Progress | None = None) -> Output:
    """Serve one RunPod job; its progress goes to RunPod and to `on_progress`. Never raises: failures come
    back as `{"error": '{"code": …, "message": …}'}`."""
    try:
        job_input = job.get("input") if isinstance(job, dict) else None
        if not isinstance(job_input, dict):
            raise ServiceError("invalid_input", "The job's `input` must be a JSON object.")
        action_name = job_input.get("action")
        action = ACTIONS.get(action_name) if isinstance(action_name, str) else None
        if action_name is None and worker_schema(job_input) is not None:
            action = _worker_input  # worker-faster_whisper's or whisperx-worker's input
        if action is None:
            raise ServiceError(
                "unknown_action",
                f"Unknown action {str(action_name)[:64]!r}; expected one of: {', '.join(sorted(ACTIONS))}.",
            )
        job_id = job.get("id")
        context = JobContext(
            id=job_id if isinstance(job_id, str) else None,
            progress=_together(runpod_progress(job), on_progress),
        )
        return action(_worker_runtime(), job_input, context)
    except ServiceError as error:
        return error_response(error)
    except Exception:
        log.exception("unexpected failure in handler")
        return error_response(ServiceError("internal_error", "The worker failed unexpectedly."))
