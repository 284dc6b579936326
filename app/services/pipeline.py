"""The speech pipeline's stages and the full run, on shared models: transcribe → align → diarize → combine."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from app.config import Settings
from app.ml import alignment, diarization, transcription
from app.ml.devices import beside, device_failures_as_errors
from app.ml.registry import registry
from app.ml.speech_finder import SpeechOptions
from app.ml.transcription import WhisperSpec
from app.process import metrics
from app.schemas import AlignParams, DiarizeParams, ModelParams, PipelineParams, VADOptions
from app.services.segments import split_segments

if TYPE_CHECKING:
    from app.ml.segmentation import SpeakerActivity

Segments = list[dict[str, Any]]

BESIDE_CPU_THREADS = 1
"""torch threads for diarization beside transcription on the CPU: the speaker encoder's LSTM is no faster on two
(bench/diarizer.py), and the other cores go on decoding."""
TRANSCRIBE_SHARE, ALIGN_SHARE, DIARIZE_SHARE = (0.0, 0.45), (0.45, 0.6), (0.6, 0.95)
"""The part of the full pipeline's progress each stage's own fraction done is reported in (combine: the rest)."""
WAITING_REPORT_SECONDS = 1.0
"""How often the full pipeline reports diarization's progress while it waits for it to end beside it: a task
cancelled then stops within about this long, plus one batch of embeddings."""


class Progress(Protocol):
    """Called with the task's overall progress (0–1) and the current stage and, while transcribing, the
    segments decoded so far (`start`, `end`, `text`); it may raise to stop the task."""

    def __call__(self, fraction: float, stage: str, partial: Segments | None = None) -> None: ...


def whisper_spec(settings: Settings, model_params: ModelParams) -> WhisperSpec:
    """The Whisper model a request asks for, with the settings filling what it leaves out."""
    device = model_params.device or settings.resolved_device
    return WhisperSpec(
        name=model_params.model or settings.whisper_model,
        device=device,
        device_index=model_params.device_index,
        compute_type=model_params.compute_type or settings.compute_type_for(device),
        threads=model_params.threads or settings.resolved_threads,
    )


def speech_options(vad: VADOptions) -> SpeechOptions:
    """How a request's VAD options find speech and pad chunks, in `app.ml`'s terms."""
    return SpeechOptions(
        method=vad.vad_method,
        onset=vad.vad_onset,
        offset=vad.vad_offset,
        pad=vad.vad_pad,
        min_silence=vad.vad_min_silence,
    )


def preload_models(settings: Settings) -> list[str]:
    """Load the configured models now, so the first request finds them ready. Returns what is loaded."""
    spec = whisper_spec(settings, ModelParams())
    transcription.load_whisper(spec)
    transcription.load_vad(VADOptions().vad_method, spec.device)
    for language in settings.align_languages:
        alignment.load_wav2vec2(language, spec.device, None)
    diarization.load_diarizer(spec.device, model_name=settings.diarization_model, hf_token=settings.hf_token)
    return registry.loaded()


@contextmanager
def _stage(name: str, device: str, timings: dict[str, float], *, exclusive: bool = True) -> Iterator[None]:
    """Time a stage; an exclusive one holds its device, so other stages wait for it."""
    started = time.perf_counter()
    # A stage beside the others shares the device; its models are still held, so none is released as idle.
    with registry.device(device) if exclusive else registry.holding(), device_failures_as_errors(name):
        yield
    elapsed = time.perf_counter() - started
    timings[name] = round(elapsed, 3)
    metrics.observe_stage(name, elapsed)


def run_transcription(
    audio: np.ndarray,
    params: PipelineParams,
    settings: Settings,
    *,
    on_progress: Callable[[float, Segments], None] | None = None,
    timings: dict[str, float] | None = None,
    words: bool = False,
    token_logprobs: bool = False,
) -> dict[str, Any]:
    """Transcribe: whisperx's `{"segments", "language"}` plus the backend used; `on_progress` hears the
    fraction done and the segments so far as each chunk is decoded. With `words` (the words will be aligned
    next, with `params.align_params`), Whisper's word alignments are made as the chunks are decoded, where
    Whisper gives the timings, and `decoded_words` holds them for `run_alignment`. With `token_logprobs`, each
    segment has `logprobs`: its tokens with the decoder's log-probability of each."""
    spec = whisper_spec(settings, params.model_params)
    with _stage("transcribe", spec.device, timings if timings is not None else {}):
        return _transcribed(
            audio, params, settings, spec, on_progress=on_progress, words=words, token_logprobs=token_logprobs
        )


def _transcribed(
    audio: np.ndarray,
    params: PipelineParams,
    settings: Settings,
    spec: WhisperSpec,
    *,
    on_progress: Callable[[float, Segments], None] | None,
    activity: SpeakerActivity | None = None,
    words: bool = False,
    token_logprobs: bool = False,
) -> dict[str, Any]:
    aligns_words = (
        partial(
            alignment.aligns_with_whisper, device=spec.device, align_model=params.align_params.align_model
        )
        if words
        else None
    )
    result = transcription.transcribe(
        audio,
        spec=spec,
        language=params.model_params.language,
        task=params.model_params.task,
        chunk_size=params.model_params.chunk_size,
        asr_options=params.asr_options.model_dump(),
        speech=speech_options(params.vad_options),
        batch_size=params.model_params.batch_size or settings.batch_size,
        on_progress=on_progress,
        activity=activity,
        aligns_words=aligns_words,
        token_logprobs=token_logprobs,
    )
    return {**result, "backend": f"faster-whisper:{spec.name}", "vad": params.vad_options.vad_method}


def run_language_detection(
    audio: np.ndarray, model_params: ModelParams, settings: Settings
) -> dict[str, Any]:
    """The language of the audio's first 30 s: `{"language", "language_probability"}` and the model used."""
    spec = whisper_spec(settings, model_params)
    with _stage("detect_language", spec.device, {}):
        language, probability = transcription.detect_language(audio, spec=spec)
    return {
        "language": language,
        "language_probability": round(probability, 4),
        "backend": f"faster-whisper:{spec.name}",
    }


def run_alignment(
    audio: np.ndarray,
    transcript: dict[str, Any],
    settings: Settings,
    *,
    align_params: AlignParams,
    model_params: ModelParams | None = None,
    device: str | None = None,
    timings: dict[str, float] | None = None,
    decoded_words: dict[float, Any] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Word timings for a transcript: `{"segments" (with words), "word_segments", "language", "aligner"}`;
    `decoded_words`: the word alignments its decoding made, when it made them."""
    model_params = model_params or ModelParams()
    spec = whisper_spec(settings, model_params)
    device = device or spec.device
    language = transcript.get("language") or model_params.language or "en"
    with _stage("align", device, timings if timings is not None else {}):
        return alignment.align(
            audio,
            transcript,
            language=language,
            device=device,
            align_model=align_params.align_model,
            interpolate_method=align_params.interpolate_method,
            return_char_alignments=align_params.return_char_alignments,
            whisper_model=transcription.load_whisper(spec),
            whisper_name=spec.name,
            decoded_words=decoded_words,
            on_progress=on_progress,
        )


def run_diarization(
    audio: np.ndarray,
    settings: Settings,
    *,
    diarize_params: DiarizeParams,
    device: str | None = None,
    timings: dict[str, float] | None = None,
    exclusive: bool = True,
    activity: SpeakerActivity | None = None,
    references: dict[str, np.ndarray] | None = None,
    voices: dict[str, np.ndarray] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Who spoke when: `{"segments": [{"start", "end", "speaker"}], "backend", "speaker_embeddings"}`; speakers
    matching one of the `references` (name → clip) or enrolled `voices` (name → embedding by the diarizer in
    use) go by its name, and `known_speakers` says who matched whom; `activity`: the
    recording's segmentation, when the VAD computed it already; `on_progress` hears the percent done and may
    raise to stop."""
    device = device or settings.resolved_device
    with _stage("diarize", device, timings if timings is not None else {}, exclusive=exclusive):
        return diarization.diarize(
            audio,
            device=device,
            num_speakers=diarize_params.num_speakers,
            min_speakers=diarize_params.min_speakers,
            max_speakers=diarize_params.max_speakers,
            model_name=settings.diarization_model,
            hf_token=settings.hf_token,
            activity=activity,
            references=references,
            voices=voices,
            on_progress=on_progress,
        )


def run_combine(aligned: dict[str, Any], diarization_segments: list[dict[str, Any]]) -> dict[str, Any]:
    """Speakers onto an aligned transcript's segments and words; a segment whose words change speaker is cut
    there, so no segment holds two speakers."""
    started = time.perf_counter()
    combined = diarization.assign_speakers(aligned, diarization_segments)
    segments = split_segments(combined["segments"], language=combined.get("language"))
    metrics.observe_stage("combine", time.perf_counter() - started)
    return {**combined, "segments": segments}


class _Abandoned(Exception):
    """The stages beside which diarization ran have failed or were cancelled: its result is not wanted."""


def _stop_when_set(abandoned: threading.Event, _percent: float) -> None:
    if abandoned.is_set():
        raise _Abandoned


@contextmanager
def _abandoned_on_failure(abandoned: threading.Event) -> Iterator[None]:
    """Set `abandoned` when the block fails, so diarization beside it stops at its next batch of embeddings."""
    try:
        yield
    except BaseException:
        abandoned.set()
        raise


def _within(share: tuple[float, float], fraction: float) -> float:
    """A stage's own fraction done as the full pipeline's progress, inside the stage's share."""
    low, high = share
    return low + (high - low) * fraction


def _awaited(pending: Future[dict[str, Any]], still_waiting: Callable[[], None]) -> dict[str, Any]:
    """The result of work running beside this thread; while waiting for it, `still_waiting` is called every
    `WAITING_REPORT_SECONDS` (a progress report, which raises to stop when the task was cancelled)."""
    while True:
        try:
            return pending.result(timeout=WAITING_REPORT_SECONDS)
        except TimeoutError:
            still_waiting()


def _no_progress(_fraction: float, _stage: str, _partial: Segments | None = None) -> None:
    pass


def run_full_pipeline(
    audio: np.ndarray,
    params: PipelineParams,
    settings: Settings,
    *,
    progress: Progress | None = None,
    references: dict[str, np.ndarray] | None = None,
    voices: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Transcribe, align, diarize and combine; progress is reported as each stage starts, after each decoded
    chunk and each batch of speaker embeddings. Speakers matching one of the `references` (name → clip) or
    enrolled `voices` go by its name; `speaker_embeddings` holds each speaker's centroid (for the voice library,
    not for a response).

    With pyannote's VAD the recording is segmented once, for the VAD and the embedded diarizer alike (counted
    in the transcription stage). When Whisper gives the word timings, the decoder aligns each chunk's words on
    the encoder output it has at hand (counted in the transcription stage too). With `overlap_diarization`,
    diarization (which needs no transcript) runs on the same audio beside transcription and alignment, sharing
    the device with them."""
    report = progress or _no_progress
    timings: dict[str, float] = {}
    spec = whisper_spec(settings, params.model_params)
    device = spec.device
    pending: Future[dict[str, Any]] | None = None
    abandoned = threading.Event()
    diarized_percent = 0.0

    def diarization_progress(percent: float) -> None:
        nonlocal diarized_percent
        _stop_when_set(abandoned, percent)
        diarized_percent = percent
        if not settings.overlap_diarization:  # on this thread, after alignment: it reports for itself
            report_diarization()

    def report_diarization() -> None:
        report(_within(DIARIZE_SHARE, diarized_percent / 100), "diarize")

    with _abandoned_on_failure(abandoned):
        report(0.0, "transcribe")
        with _stage("transcribe", device, timings):
            activity = None
            if params.vad_options.vad_method == "pyannote":
                from app.ml.segmentation import speaker_activity

                activity = speaker_activity(audio, device)
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
                on_progress=diarization_progress,
            )
            if settings.overlap_diarization:
                pending = beside(diarize, torch_threads=BESIDE_CPU_THREADS if device == "cpu" else None)
            transcript = _transcribed(
                audio,
                params,
                settings,
                spec,
                on_progress=lambda part, partial: report(
                    _within(TRANSCRIBE_SHARE, part), "transcribe", partial
                ),
                activity=activity,
                words=True,
            )
        report(_within(ALIGN_SHARE, 0.0), "align")
        aligned = run_alignment(
            audio,
            transcript,
            settings,
            align_params=params.align_params,
            model_params=params.model_params,
            timings=timings,
            decoded_words=transcript.pop("decoded_words", None),
            on_progress=lambda part: report(_within(ALIGN_SHARE, part), "align"),
        )
        report_diarization()
        speakers = _awaited(pending, report_diarization) if pending else diarize()
    report(DIARIZE_SHARE[1], "combine")
    started = time.perf_counter()
    combined = run_combine(aligned, speakers["segments"])
    timings["combine"] = round(time.perf_counter() - started, 3)
    return {
        "language": transcript["language"],
        "segments": combined["segments"],
        "word_segments": combined["word_segments"],
        "speakers": sorted({segment["speaker"] for segment in speakers["segments"]}),
        "diarization": speakers["segments"],
        "backends": {
            "transcription": transcript["backend"],
            "vad": transcript["vad"],
            "alignment": aligned["aligner"],
            "diarization": speakers["backend"],
        },
        "timings": timings,
        "audio_duration": round(len(audio) / 16_000, 3),
        "speaker_embeddings": speakers["speaker_embeddings"],
    } | ({"known_speakers": speakers["known_speakers"]} if "known_speakers" in speakers else {})
