"""Chunks for the batched decoder: padded into pauses, cut at a pause wide enough for the padding, words decoded
twice kept once."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from app.config import Settings
from app.ml.chunking import EDGE_PAD, PYANNOTE_PAD, chunk_budget, drop_repeated_words, plan_chunks
from app.schemas import ModelParams, PipelineParams
from app.services.pipeline import run_transcription
from tests.corpus import normalise, wer
from tests.synth import SAMPLE_RATE, TWO_VOICE_DIALOGUE, dialogue

TAIL_TURNS = [
    ("B", "thursday works for me at ten"),
    ("A", "several friends told me your service was excellent"),
]


def test_chunks_are_padded_into_pauses_and_never_overlap_there() -> None:
    spans = [(1.0, 12.0), (12.7, 25.0), (25.3, 29.0), (29.5, 33.0)]
    chunks = plan_chunks(spans, 30, duration=34.0)
    assert [chunk["segments"] for chunk in chunks] == [spans[:3], spans[3:]]
    first, second = chunks
    assert first["start"] == pytest.approx(1.0 - EDGE_PAD)
    # A 0.5 s pause is shared: each side gets half, so the chunks meet and do not overlap.
    assert first["end"] == pytest.approx(29.25) and second["start"] == pytest.approx(29.25)
    assert second["end"] == pytest.approx(33.0 + EDGE_PAD)
    assert all(chunk["end"] - chunk["start"] <= 30 for chunk in chunks)


def test_a_minimum_silence_moves_the_cut_to_a_pause_that_long() -> None:
    # Pauses of 1.6 s at 15.4 s and 0.9 s at 20 s: the last wide enough for the padding is at 20 s; a chunk cut
    # only at silences of a second or more is cut at 15.4 s.
    spans = [(0.0, 6.0), (6.2, 15.4), (17.0, 20.0), (20.9, 24.0), (24.2, 27.8), (28.0, 34.0)]
    assert plan_chunks(spans, 30)[0]["segments"] == spans[:3]
    assert plan_chunks(spans, 30, min_silence=1.0)[0]["segments"] == spans[:2]


def test_a_long_run_is_cut_at_the_only_pause_wide_enough_for_both_paddings() -> None:
    # Pauses of 0.2 s everywhere except one of 0.9 s at 18 s; whisperx would cut at the last pause (27.8 s).
    spans = [(0.0, 6.0), (6.2, 12.0), (12.2, 18.0), (18.9, 24.0), (24.2, 27.8), (28.0, 34.0)]
    chunks = plan_chunks(spans, 30)
    assert chunks[0]["segments"] == spans[:3]
    assert chunks[1]["segments"] == spans[3:]


def test_a_long_run_is_cut_at_the_last_wide_pause_so_chunks_stay_long() -> None:
    # Wide pauses at 18 s (1.5 s) and 25 s (0.9 s): the later keeps the first chunk long.
    spans = [(0.0, 6.0), (6.2, 12.0), (12.2, 18.0), (19.5, 25.0), (25.9, 27.8), (28.0, 34.0)]
    first, second = plan_chunks(spans, 30)
    assert first["segments"] == spans[:4]
    assert second["segments"] == spans[4:]


def test_without_a_wide_pause_a_long_run_is_cut_at_the_widest() -> None:
    spans = [(0.0, 6.0), (6.2, 12.0), (12.2, 18.0), (18.5, 24.0), (24.2, 27.8), (28.0, 34.0)]
    first, _second = plan_chunks(spans, 30)
    assert first["segments"] == spans[:3]


def test_a_cut_through_speech_overlaps_both_chunks() -> None:
    budget = chunk_budget(30)
    spans = [(0.0, budget), (budget, budget + 10.0)]  # the VAD cut one run of speech in two
    first, second = plan_chunks(spans, 30)
    assert first["end"] - second["start"] == pytest.approx(2 * EDGE_PAD)
    assert first["end"] - first["start"] <= 30


def test_chunks_never_exceed_the_chunk_size() -> None:
    rng = np.random.default_rng(1)
    cursor, spans = 0.0, []
    for _ in range(300):
        start = cursor + float(rng.uniform(0.0, 1.5))
        cursor = start + float(rng.uniform(0.2, chunk_budget(15)))
        spans.append((start, cursor))
    chunks = plan_chunks(spans, 15)
    assert sum(len(chunk["segments"]) for chunk in chunks) == len(spans)
    assert all(chunk["end"] - chunk["start"] <= 15 + 1e-9 for chunk in chunks)


def test_words_decoded_by_two_overlapping_chunks_are_kept_once() -> None:
    segments = [
        {"start": 0.0, "end": 10.4, "text": " and then we went to the"},
        {"start": 9.6, "end": 20.0, "text": " to the station early"},
        {"start": 20.0, "end": 25.0, "text": " early enough"},  # chunks meet in a pause: nothing is dropped
    ]
    texts = [segment["text"] for segment in drop_repeated_words(segments)]
    assert texts == [" and then we went to the", " station early", " early enough"]


def test_pyannote_chunks_take_the_smaller_pad_and_still_keep_words_decoded_twice_once() -> None:
    budget = chunk_budget(30, PYANNOTE_PAD)
    # One run of speech the VAD cut at the budget, then a 0.6 s pause before a long run.
    spans = [(0.5, 0.5 + budget), (0.5 + budget, 5.5 + budget), (6.1 + budget, 31.1 + budget)]
    first, second, third = plan_chunks(spans, 30, duration=70.0, pad=PYANNOTE_PAD)
    assert first["start"] == pytest.approx(0.5 - PYANNOTE_PAD)
    assert first["end"] - first["start"] <= 30 + 1e-9
    assert first["end"] - second["start"] == pytest.approx(2 * PYANNOTE_PAD)
    assert third["start"] - second["end"] == pytest.approx(0.6 - 2 * PYANNOTE_PAD)
    segments = [
        {"start": first["start"], "end": first["end"], "text": " we went to the"},
        {"start": second["start"], "end": second["end"], "text": " the station"},
    ]
    assert [segment["text"] for segment in drop_repeated_words(segments)] == [" we went to the", " station"]


@cache
def _dialogue_with_turn_at(start: float) -> tuple[np.ndarray, list[str]]:
    """Five turns (25 s), a pause, then a turn opening softly ("th") at `start` s and one more: the 30 s chunk
    cannot hold them, so whisperx starts a chunk where the VAD hears the "th" turn begin."""
    head, _ = dialogue(TWO_VOICE_DIALOGUE[:5], turn_gap=0.45)
    tail, _ = dialogue(TAIL_TURNS, turn_gap=0.45, lead=0.5)
    pause = np.zeros(int((start - 0.5) * SAMPLE_RATE) - len(head), dtype=np.float32)
    return np.concatenate([head, pause, tail]), [text for _, text in [*TWO_VOICE_DIALOGUE[:5], *TAIL_TURNS]]


@pytest.mark.slow
@pytest.mark.parametrize("turn_start", [29.6, 30.4, 31.3, 32.1])
def test_no_turn_loses_its_first_words_at_a_chunk_edge(turn_start: float) -> None:
    audio, turns = _dialogue_with_turn_at(turn_start)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    def transcript(chunk_size: int) -> str:
        params = PipelineParams(model_params=ModelParams(language="en", chunk_size=chunk_size))
        result, _decoded_words = run_transcription(audio, params, settings)
        return normalise(" ".join(segment["text"] for segment in result["segments"]))

    heard = transcript(30)
    for turn in turns:
        assert " ".join(normalise(turn).split()[:3]) in heard, (turn, heard)
    reference = " ".join(turns)
    assert wer(reference, heard) <= wer(reference, transcript(15)) + 0.02
