"""Jobs shaped for the two public RunPod whisper workers, served by our pipeline and answered in their shape.

A job without `action` that carries `audio` or `audio_base64` is worker-faster_whisper's; one that carries
`audio_file` is whisperx-worker's. Each becomes our `transcribe` or `speech_to_text` job, recorded as a task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

from app.contracts.faster_whisper_segments import FasterWhisperSegment, faster_whisper_segments
from app.contracts.runpod_workers.inputs import FasterWhisperInput, TextFormat, WhisperXWorkerInput
from app.errors import refused_as_invalid_input, validated
from app.ml.results import Caption, Segment, Transcript
from app.runtime import Runtime
from app.schemas import ModelParams, SpeechToTextJob, TranscribeJob
from app.services.pipeline import Progress, whisper_spec
from app.services.render import render
from app.services.speech import run_job
from app.services.tasks import task_outcome

TRANSLATION_SUFFIX = "/translation"


class TimedWord(TypedDict):
    word: str
    start: float | None
    end: float | None


class FasterWhisperOutput(TypedDict):
    """worker-faster_whisper's output."""

    segments: list[FasterWhisperSegment]
    detected_language: str | None
    transcription: str
    translation: str | None
    device: str
    model: str
    word_timestamps: NotRequired[list[TimedWord]]


class WhisperXWorkerOutput(TypedDict):
    """whisperx-worker's output."""

    segments: list[Segment]
    detected_language: str | None


def worker_schema(job_input: Mapping[str, object]) -> type[FasterWhisperInput | WhisperXWorkerInput] | None:
    """Which public worker's input this is, if any (a job with `action` is always ours)."""
    if "action" in job_input:
        return None
    if "audio_file" in job_input:
        return WhisperXWorkerInput
    if "audio" in job_input or "audio_base64" in job_input:
        return FasterWhisperInput
    return None


def job_task_ids(job_id: str) -> list[str]:
    """The external ids under which one RunPod job's tasks are recorded (a translation is a second task)."""
    return [job_id, job_id + TRANSLATION_SUFFIX]


def serve_worker_input(
    runtime: Runtime,
    job_input: Mapping[str, object],
    *,
    external_job_id: str | None = None,
    on_progress: Progress | None = None,
) -> FasterWhisperOutput | WhisperXWorkerOutput | None:
    """Serve a public worker's input in that worker's output shape; None when `job_input` is not one."""
    schema = worker_schema(job_input)
    if schema is None:
        return None
    request = validated(schema, job_input)
    if isinstance(request, FasterWhisperInput):
        return _faster_whisper(runtime, request, external_job_id, on_progress)
    return _whisperx_worker(runtime, request, external_job_id, on_progress)


def _run_as_task(
    runtime: Runtime,
    job: TranscribeJob | SpeechToTextJob,
    external_job_id: str | None,
    on_progress: Progress | None,
) -> Transcript:
    """Run `job` as a task; its result (a transcription, or the full pipeline's), or its failure as a
    `ServiceError`."""
    result: Transcript = task_outcome(
        run_job(runtime, job, external_job_id=external_job_id, on_progress=on_progress)
    )
    return result


def _faster_whisper(
    runtime: Runtime,
    request: FasterWhisperInput,
    external_job_id: str | None,
    on_progress: Progress | None,
) -> FasterWhisperOutput:
    with refused_as_invalid_input():
        job = request.transcribe_job()
    result = _run_as_task(runtime, job, external_job_id, on_progress)
    spec = whisper_spec(runtime.settings, ModelParams(model=request.model))
    # faster-whisper numbers segments from 1 and leaves a figure it did not make as None.
    segments = faster_whisper_segments(result["segments"], spec, first_id=1, missing=None)
    output = FasterWhisperOutput(
        segments=segments,
        detected_language=result.get("language"),
        transcription=_as_text(segments, request.transcription),
        translation=None,
        device=spec.device,
        model=spec.name,
    )
    if request.translate:
        translate_id = external_job_id + TRANSLATION_SUFFIX if external_job_id else None
        with refused_as_invalid_input():
            job = request.transcribe_job(task="translate")
        translated = _run_as_task(runtime, job, translate_id, on_progress)
        output["translation"] = _as_text(translated["segments"], request.translation)
    if request.word_timestamps:
        output["word_timestamps"] = [
            TimedWord(word=word["word"], start=word.get("start"), end=word.get("end"))
            for word in result.get("word_segments", [])
        ]
    return output


def _as_text(segments: Sequence[Caption], text_format: TextFormat) -> str:
    """A transcript as worker-faster_whisper formats it (`plain_text`, `formatted_text`, `srt`, `vtt`)."""
    if text_format == "plain_text":
        return " ".join(segment["text"].strip() for segment in segments)
    if text_format == "formatted_text":
        return "\n".join(segment["text"].strip() for segment in segments)
    plain = [Segment(start=s["start"], end=s["end"], text=s["text"]) for s in segments]
    return render(Transcript(segments=plain), "srt" if text_format == "srt" else "vtt")


def _whisperx_worker(
    runtime: Runtime,
    request: WhisperXWorkerInput,
    external_job_id: str | None,
    on_progress: Progress | None,
) -> WhisperXWorkerOutput:
    with refused_as_invalid_input():
        job = request.job()
    result = _run_as_task(runtime, job, external_job_id, on_progress)
    segments = result["segments"]
    if not request.align_output:
        # Without alignment whisperx-worker's segments carry no words (speakers are assigned per segment).
        segments = [_without_words(segment) for segment in segments]
    return WhisperXWorkerOutput(segments=segments, detected_language=result.get("language"))


def _without_words(segment: Segment) -> Segment:
    copy = segment.copy()
    copy.pop("words", None)
    return copy
