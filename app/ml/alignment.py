"""Word alignment: whisperx's wav2vec2 aligner when a model can be had, else Whisper's own word timings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from app.ml.registry import registry
from app.ml.results import CONFIDENCE_FIELDS, Caption, Segment, Transcript

if TYPE_CHECKING:
    from app.ml.whisper_aligner import DecodedWords

log = logging.getLogger(__name__)


Wav2vec2 = tuple[Any, dict[str, Any]]
"""whisperx's wav2vec2 model (a torch module) and its metadata (`language`, `dictionary`, `type`)."""


def load_wav2vec2(language: str, device: str, model_name: str | None) -> Wav2vec2 | None:
    """The wav2vec2 model and metadata for `language`, or None when none can be had (offline, or a
    language with no default model). The answer is remembered for the life of the process."""

    def load() -> Wav2vec2 | None:
        import whisperx

        from app.ml.nltk_setup import ensure_punkt_data

        ensure_punkt_data()
        try:
            model, metadata = whisperx.load_align_model(language, device, model_name=model_name)
            return model, metadata
        except Exception as error:
            log.warning(
                "no wav2vec2 aligner for %r (%s); Whisper's word timings will be used", language, error
            )
            return None

    return registry.get(("align", language, model_name or "default", device), load)


def aligns_with_whisper(language: str, *, device: str, align_model: str | None) -> bool:
    """Whether `align` takes Whisper's word timings for `language`: no wav2vec2 model can be had for it."""
    return load_wav2vec2(language, device, align_model) is None


def align(
    audio: np.ndarray,
    transcript: Transcript,
    *,
    language: str,
    device: str,
    align_model: str | None,
    interpolate_method: str = "nearest",
    return_char_alignments: bool = False,
    whisper_model: Any,
    whisper_name: str,
    decoded_words: dict[float, DecodedWords] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Transcript:
    """Align `transcript`'s segments to `audio`; the result's `aligner` names the method used. `on_progress`
    hears the fraction done (it may raise to stop): after each batch from Whisper's aligner, after each segment
    from wav2vec2's.
    `decoded_words`: the word alignments the decoder made (`transcription.transcribe`), used by Whisper's
    aligner where a segment is still the chunk they were made for."""
    import whisperx

    segments = [Caption(start=s["start"], end=s["end"], text=s["text"]) for s in transcript["segments"]]
    wav2vec2 = load_wav2vec2(language, device, align_model)
    if wav2vec2 is not None:
        model, metadata = wav2vec2
        result: Transcript = whisperx.align(
            segments,
            model,
            metadata,
            audio,
            device,
            interpolate_method=interpolate_method,
            return_char_alignments=return_char_alignments,
            progress_callback=(lambda percent: on_progress(percent / 100)) if on_progress else None,
        )
        aligner = f"wav2vec2:{align_model or metadata.get('language')}"
    else:
        from app.ml.whisper_aligner import align_with_whisper

        result = align_with_whisper(
            whisper_model, audio, segments, language, decoded=decoded_words, on_batch=on_progress
        )
        aligner = f"whisper:{whisper_name}"
    _keep_confidence(transcript["segments"], result["segments"])
    return {**result, "language": language, "aligner": aligner}


def _keep_confidence(decoded: list[Segment], aligned: list[Segment]) -> None:
    """Each aligned segment (a sentence of a decoded chunk) keeps the decoder's figures for its chunk."""
    decoded = [segment for segment in decoded if "avg_logprob" in segment]
    if not decoded:
        return
    for segment in aligned:
        middle = (segment["start"] + segment["end"]) / 2
        source = min(decoded, key=lambda s: max(s["start"] - middle, middle - s["end"], 0.0))
        for field in CONFIDENCE_FIELDS:
            if field in source:
                segment[field] = source[field]
