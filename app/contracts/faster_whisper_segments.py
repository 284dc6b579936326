"""Segments in faster-whisper's `Segment` shape, the one rule behind OpenAI's `verbose_json` segments and
worker-faster_whisper's output: `id`, `seek` (the segment's start in 10 ms frames, rounded), `start`, `end`,
`text`, `tokens` (the segment's own when the result carries them, else its text in the model's tokens) and the
decoder's figures."""

from __future__ import annotations

from typing import TypedDict

from app.ml.results import Segment
from app.ml.transcription import WhisperSpec, token_ids


class FasterWhisperSegment(TypedDict):
    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    avg_logprob: float | None
    compression_ratio: float | None
    no_speech_prob: float | None
    temperature: float | None


def faster_whisper_segments(
    segments: list[Segment], spec: WhisperSpec, *, first_id: int, missing: float | None
) -> list[FasterWhisperSegment]:
    """`segments` numbered from `first_id`; a decoder figure the result lacks is `missing`."""
    untokenized = [segment["text"] for segment in segments if "tokens" not in segment]
    made = iter(token_ids(spec, untokenized) if untokenized else [])
    tokens = [segment["tokens"] if "tokens" in segment else next(made) for segment in segments]
    return [
        FasterWhisperSegment(
            id=first_id + index,
            seek=round(segment["start"] * 100),
            start=segment["start"],
            end=segment["end"],
            text=segment["text"],
            tokens=segment_tokens,
            avg_logprob=_or_missing(segment.get("avg_logprob"), missing),
            compression_ratio=_or_missing(segment.get("compression_ratio"), missing),
            no_speech_prob=_or_missing(segment.get("no_speech_prob"), missing),
            temperature=_or_missing(segment.get("temperature"), missing),
        )
        for index, (segment, segment_tokens) in enumerate(zip(segments, tokens, strict=True))
    ]


def _or_missing(figure: float | None, missing: float | None) -> float | None:
    return missing if figure is None else figure
