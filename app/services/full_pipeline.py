"""The full pipeline's run: transcribe → align → diarize → combine, diarization beside the other stages when
`overlap_diarization` is set, on shared models."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from app.config import Settings
from app.ml.devices import beside
from app.ml.results import Diarization, Transcript
from app.schemas import PipelineParams, VADOptions
from app.services.pipeline import (
    run_alignment,
    run_combine,
    run_diarization,
    timed_stage,
    transcribe_in_stage,
    whisper_spec,
)
from app.services.pipeline_progress import PipelineProgress, Progress, no_progress
from app.services.results import Backends, FullResult, Transcribed

if TYPE_CHECKING:
    from app.ml.segmentation import SpeakerActivity

BESIDE_CPU_THREADS = 1
"""torch threads for diarization beside transcription on the CPU: the speaker encoder's LSTM is no faster on two
(bench/diarizer.py), and the other cores go on decoding."""
WAITING_REPORT_SECONDS = 1.0
"""How often the full pipeline reports diarization's progress while it waits for it to end beside it: a task
cancelled then stops within about this long, plus one batch of embeddings."""


@contextmanager
def _abandoned_on_failure(abandoned: threading.Event) -> Iterator[None]:
    """Set `abandoned` when the block fails, so diarization beside it stops at its next batch of embeddings."""
    try:
        yield
    except BaseException:
        abandoned.set()
        raise


def _awaited(pending: Future[Diarization], still_waiting: Callable[[], None]) -> Diarization:
    """The result of work running beside this thread; while waiting for it, `still_waiting` is called every
    `WAITING_REPORT_SECONDS` (a progress report, which raises to stop when the task was cancelled)."""
    while True:
        try:
            return pending.result(timeout=WAITING_REPORT_SECONDS)
        except TimeoutError:
            still_waiting()


def run_full_pipeline(
    audio: np.ndarray,
    params: PipelineParams,
    settings: Settings,
    *,
    progress: Progress | None = None,
    references: dict[str, np.ndarray] | None = None,
    voices: dict[str, np.ndarray] | None = None,
) -> FullResult:
    """Transcribe, align, diarize and combine; progress is reported as each stage starts, after each decoded
    chunk and each batch of speaker embeddings. Speakers matching one of the `references` (name → clip) or
    enrolled `voices` go by its name; `speaker_embeddings` holds each speaker's centroid (for the voice library,
    not for a response).

    With pyannote's VAD the recording is segmented once, for the VAD and the embedded diarizer alike (counted
    in the transcription stage). When Whisper gives the word timings, the decoder aligns each chunk's words on
    the encoder output it has at hand (counted in the transcription stage too). With `overlap_diarization`,
    diarization (which needs no transcript) runs on the same audio beside transcription and alignment, sharing
    the device with them."""
    timings: dict[str, float] = {}
    spec = whisper_spec(settings, params.model_params)
    abandoned = threading.Event()
    reports = PipelineProgress(
        progress or no_progress, abandoned=abandoned, diarization_beside=settings.overlap_diarization
    )
    with _abandoned_on_failure(abandoned):
        reports.starting("transcribe")
        with timed_stage("transcribe", spec.device, timings):
            activity = _speaker_activity(audio, params.vad_options, spec.device)
            diarized = _diarization(
                audio,
                params,
                settings,
                device=spec.device,
                reports=reports,
                timings=timings,
                activity=activity,
                references=references,
                voices=voices,
            )
            transcript, decoded_words = transcribe_in_stage(
                audio,
                params,
                settings,
                spec,
                on_progress=reports.on_transcription,
                activity=activity,
                words=True,
            )
        reports.starting("align")
        aligned = run_alignment(
            audio,
            transcript,
            settings,
            align_params=params.align_params,
            model_params=params.model_params,
            timings=timings,
            decoded_words=decoded_words,
            on_progress=reports.on_alignment,
        )
        reports.report_diarization()
        speakers = diarized()
    reports.starting("combine")
    started = time.perf_counter()
    combined = run_combine(aligned, speakers["segments"])
    timings["combine"] = round(time.perf_counter() - started, 3)
    return _full_result(audio, transcript, aligned, speakers, combined, timings)


def _speaker_activity(audio: np.ndarray, vad: VADOptions, device: str) -> SpeakerActivity | None:
    """The recording's segmentation, when pyannote's VAD finds the speech: made once, for the VAD and the
    embedded diarizer alike."""
    if vad.vad_method != "pyannote":
        return None
    from app.ml.segmentation import speaker_activity

    return speaker_activity(audio, device)


def _diarization(
    audio: np.ndarray,
    params: PipelineParams,
    settings: Settings,
    *,
    device: str,
    reports: PipelineProgress,
    timings: dict[str, float],
    activity: SpeakerActivity | None,
    references: dict[str, np.ndarray] | None,
    voices: dict[str, np.ndarray] | None,
) -> Callable[[], Diarization]:
    """Diarization for the full pipeline, as a function that gives its result. With `overlap_diarization` it
    starts now, beside the stages to come, sharing `device` with them, and the function waits for it, reporting
    its progress meanwhile; otherwise the function runs it, holding the device."""
    diarize = partial(
        run_diarization,
        audio,
        settings,
        diarize_params=params.diarize_params,
        device=params.model_params.device,
        timings=timings,
        exclusive=not settings.overlap_diarization,
        activity=activity,
        references=references,
        voices=voices,
        on_progress=reports.on_diarization,
    )
    if not settings.overlap_diarization:
        return diarize
    pending = beside(diarize, torch_threads=BESIDE_CPU_THREADS if device == "cpu" else None)
    return partial(_awaited, pending, reports.report_diarization)


def _full_result(
    audio: np.ndarray,
    transcript: Transcribed,
    aligned: Transcript,
    speakers: Diarization,
    combined: Transcript,
    timings: dict[str, float],
) -> FullResult:
    """The full pipeline's result, from each stage's."""
    result = FullResult(
        language=transcript["language"],
        segments=combined["segments"],
        word_segments=combined.get("word_segments", []),
        speakers=sorted({segment["speaker"] for segment in speakers["segments"]}),
        diarization=speakers["segments"],
        backends=Backends(
            transcription=transcript["backend"],
            vad=transcript["vad"],
            alignment=aligned.get("aligner", ""),
            diarization=speakers["backend"],
        ),
        timings=timings,
        audio_duration=round(len(audio) / 16_000, 3),
        speaker_embeddings=speakers.get("speaker_embeddings", {}),
    )
    if "known_speakers" in speakers:
        result["known_speakers"] = speakers["known_speakers"]
    return result
