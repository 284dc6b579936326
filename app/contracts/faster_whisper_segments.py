"""Segments in faster-whisper's `Segment` shape, the one rule behind OpenAI's `verbose_json` segments and
worker-faster_whisper's output: `id`, `seek` (the segment's start in 10 ms frames, rounded), `start`, `end`,
`text`, `tokens` (the segment's own when the result carries them, else its text in the model's tokens) and the
decoder's figures."""

from __future__ import annotations

from typing import Any

from app.ml.transcription import CONFIDENCE_FIELDS, WhisperSpec, token_ids


def faster_whisper_segments(
    segments: list[dict[str, Any]], spec: WhisperSpec, *, first_id: int, missing: float | None
) -> list[dict[str, Any]]:
    """`segments` numbered from `first_id`; a decoder figure the result lacks is `missing`."""
    tokens = [segment.get("tokens") for segment in segments]
    untokenized = [index for index, ids in enumerate(tokens) if ids is None]
    texts = [segments[index]["text"] for index in untokenized]
    for index, ids in zip(untokenized, token_ids(spec, texts) if texts else [], strict=True):
        tokens[index] = ids
    return [
        {
            "id": first_id + index,
            "seek": round(segment["start"] * 100),
            "start": segment["start"],
            "end": segment["end"],
            "text": segment["text"],
            "tokens": tokens[index],
            **{
                field: segment[field] if segment.get(field) is not None else missing
                for field in CONFIDENCE_FIELDS
            },
        }
        for index, segment in enumerate(segments)
    ]
