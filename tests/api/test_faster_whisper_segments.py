"""The one shaper of faster-whisper's segments, for OpenAI's verbose answer and worker-faster_whisper's output."""

from __future__ import annotations

from app.contracts.faster_whisper_segments import faster_whisper_segments
from app.ml.transcription import WhisperSpec, token_ids

SPEC = WhisperSpec("tiny.en", "cpu", 0, "int8", 1)
SEGMENTS = [
    {"start": 1.005, "end": 2.0, "text": " Hello there.", "avg_logprob": -0.2, "temperature": 0.0},
    {"start": 2.5, "end": 3.0, "text": " Bye.", "tokens": [50, 51], "no_speech_prob": None},
]


def test_numbering_seek_and_missing_figures_follow_each_contract() -> None:
    openai = faster_whisper_segments(SEGMENTS, SPEC, first_id=0, missing=0.0)
    worker = faster_whisper_segments(SEGMENTS, SPEC, first_id=1, missing=None)
    assert [s["id"] for s in openai] == [0, 1] and [s["id"] for s in worker] == [1, 2]
    assert [s["seek"] for s in openai] == [100, 250] == [s["seek"] for s in worker]  # rounded, not cut
    assert openai[1]["no_speech_prob"] == 0.0 and worker[1]["no_speech_prob"] is None
    assert openai[0]["avg_logprob"] == worker[0]["avg_logprob"] == -0.2


def test_a_segments_own_tokens_are_kept_and_the_rest_tokenized() -> None:
    (first, second) = faster_whisper_segments(SEGMENTS, SPEC, first_id=0, missing=0.0)
    assert second["tokens"] == [50, 51]
    assert first["tokens"] == token_ids(SPEC, [" Hello there."])[0]
