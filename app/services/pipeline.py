"""The speech pipeline's stages, each on its own, on shared models: transcribe, detect the language, align,
diarize, combine. The full run of them is in `app.services.full_pipeline`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from app.config import Settings
from app.ml import alignment, diarization, transcription
from app.ml.devices import device_failures_as_errors
from app.ml.registry import registry
from app.ml.results import Diarization, Transcript, Turn
from app.ml.speech_finder import SpeechOptions
from app.ml.transcription import WhisperSpec
from app.observability import metrics
from app.schemas import AlignParams, DiarizeParams, ModelParams, PipelineParams, VADOptions

# Part of the pipeline's signatures (the stages' and the full run's): their callers import them from here.
from app.services.pipeline_progress import Progress as Progress
from app.services.pipeline_progress import Segments as Segments
from app.services.results import DetectedLanguage, Transcribed
from app.services.segments import split_segments

if TYPE_CHECKING:
    from app.ml.segmentation import SpeakerActivity
    from app.ml.whisper_aligner import DecodedWords

DecodedWordsByChunk = dict[float, "DecodedWords"]


def whisper_spec(settings: Settings, model_params: ModelParams) -> WhisperSpec:
    """The Whisper model a request asks for, with the settings filling what it leaves out."""
    device = model_params.device or settings.resolved_device
    return WhisperSpec(
        name=model_params.model or settings.whisper_model,
        device=device,
        device_index=model_params.device_index,
        compute_type=model_params.compute_type or settings.compute_type_for(device),
        threads=model_params.threads or settings.resolved_threads,
        workers=settings.whisper_workers,
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
def timed_stage(
    name: str, device: str, timings: dict[str, float], *, exclusive: bool = True
) -> Iterator[None]:
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
) -> tuple[Transcribed, DecodedWordsByChunk | None]:
    """Transcribe: whisperx's `{"segments", "language"}` plus the backend used; `on_progress` hears the
    fraction done and the segments so far as each chunk is decoded. With `words` (the words will be aligned
    next, with `params.align_params`), Whisper's word alignments are made as the chunks are decoded, where
    Whisper gives the timings, and come second, for `run_alignment`. With `token_logprobs`, each
    segment has `logprobs`: its tokens with the decoder's log-probability of each."""
    spec = whisper_spec(settings, params.model_params)
    with timed_stage("transcribe", spec.device, timings if timings is not None else {}):
        return transcribe_in_stage(
            audio, params, settings, spec, on_progress=on_progress, words=words, token_logprobs=token_logprobs
        )


def transcribe_in_stage(
    audio: np.ndarray,
    params: PipelineParams,
    settings: Settings,
    spec: WhisperSpec,
    *,
    on_progress: Callable[[float, Segments], None] | None,
    activity: SpeakerActivity | None = None,
    words: bool = False,
    token_logprobs: bool = False,
) -> tuple[Transcribed, DecodedWordsByChunk | None]:
    """`run_transcription`'s work inside a `timed_stage("transcribe")` its caller holds, with the recording's
    segmentation (`activity`) when the VAD has made it already."""
    aligns_words = (
        partial(
            alignment.aligns_with_whisper, device=spec.device, align_model=params.align_params.align_model
        )
        if words
        else None
    )
    decoding = transcription.transcribe(
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
    transcript = decoding.transcript  # segments and language, all that decoding gives
    transcribed = Transcribed(
        segments=transcript["segments"],
        language=transcript["language"],
        backend=f"faster-whisper:{spec.name}",
        vad=params.vad_options.vad_method,
    )
    return transcribed, decoding.decoded_words


def run_language_detection(
    audio: np.ndarray, model_params: ModelParams, settings: Settings
) -> DetectedLanguage:
    """The language of the audio's first 30 s: `{"language", "language_probability"}` and the model used."""
    spec = whisper_spec(settings, model_params)
    with timed_stage("detect_language", spec.device, {}):
        language, probability = transcription.detect_language(audio, spec=spec)
    return {
        "language": language,
        "language_probability": round(probability, 4),
        "backend": f"faster-whisper:{spec.name}",
    }


def run_alignment(
    audio: np.ndarray,
    transcript: Transcript,
    settings: Settings,
    *,
    align_params: AlignParams,
    model_params: ModelParams | None = None,
    device: str | None = None,
    timings: dict[str, float] | None = None,
    decoded_words: DecodedWordsByChunk | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Transcript:
    """Word timings for a transcript: `{"segments" (with words), "word_segments", "language", "aligner"}`;
    `decoded_words`: the word alignments its decoding made, when it made them."""
    model_params = model_params or ModelParams()
    spec = whisper_spec(settings, model_params)
    device = device or spec.device
    language = transcript.get("language") or model_params.language or "en"
    with timed_stage("align", device, timings if timings is not None else {}):
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
) -> Diarization:
    """Who spoke when: `{"segments": [{"start", "end", "speaker"}], "backend", "speaker_embeddings"}`; speakers
    matching one of the `references` (name → clip) or enrolled `voices` (name → embedding by the diarizer in
    use) go by its name, and `known_speakers` says who matched whom; `activity`: the
    recording's segmentation, when the VAD computed it already; `on_progress` hears the percent done and may
    raise to stop."""
    device = device or settings.resolved_device
    with timed_stage("diarize", device, timings if timings is not None else {}, exclusive=exclusive):
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


def run_combine(aligned: Transcript, diarization_segments: list[Turn]) -> Transcript:
    """Speakers onto an aligned transcript's segments and words; a segment whose words change speaker is cut
    there, so no segment holds two speakers."""
    started = time.perf_counter()
    combined = diarization.assign_speakers(aligned, diarization_segments)
    segments = split_segments(combined["segments"], language=combined.get("language"))
    metrics.observe_stage("combine", time.perf_counter() - started)
    return {**combined, "segments": segments}
