"""Speech found window by window: the first chunk is planned after one short window, and the whole plan is the
one the whole recording heard at once gives; the plan as speech arrives is the plan of all of it."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml import speech_finder
from app.ml.chunking import PYANNOTE_PAD, ChunkPlanner, plan_chunks
from app.ml.segmentation import speaker_activity
from app.ml.speech_finder import SpeechOptions, speech_chunks
from tests.corpus import recurring_voices

OPTIONS = SpeechOptions(method="pyannote", onset=0.5, offset=0.363)


def test_the_plan_made_as_speech_arrives_is_the_plan_of_all_the_speech() -> None:
    rng = np.random.default_rng(7)
    starts = np.cumsum(rng.uniform(0.5, 6.0, size=200))
    spans = [(float(start), float(start + rng.uniform(0.3, 4.0))) for start in starts]
    spans = [
        span
        for span, following in zip(spans, spans[1:] + [(1e9, 1e9)], strict=True)
        if span[1] < following[0]
    ]
    duration = spans[-1][1] + 1.0
    planner = ChunkPlanner(30, PYANNOTE_PAD, duration)
    arriving = []
    for index in range(0, len(spans), 7):
        arriving += planner.add(spans[index : index + 7])
    arriving += planner.finish()
    assert arriving == plan_chunks(spans, 30, duration, PYANNOTE_PAD)
    assert len(arriving) > 10


@pytest.mark.slow
def test_a_long_recording_is_heard_window_by_window_as_a_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    audio, _reference = recurring_voices(10)  # 629 s
    heard: list[float] = []
    spans = speech_finder.PyannoteSpeech.spans

    def heard_until(
        finder: speech_finder.PyannoteSpeech, audio: np.ndarray, start: float, end: float
    ) -> list:
        heard.append(end)
        return spans(finder, audio, start, end)

    monkeypatch.setattr(speech_finder.PyannoteSpeech, "spans", heard_until)
    chunks = speech_chunks(audio, OPTIONS, chunk_size=30, device="cpu")
    first = next(chunks)
    # The first chunk is ready once the first short window was heard, not the whole recording.
    assert heard == [speech_finder.FIRST_CHUNK_SIZE + speech_finder.FIRST_WINDOW_BEYOND_CHUNK]
    assert first["end"] - first["start"] <= speech_finder.FIRST_CHUNK_SIZE
    windowed = [first, *chunks]
    assert heard[-1] == pytest.approx(len(audio) / 16_000)
    whole = list(
        speech_chunks(audio, OPTIONS, chunk_size=30, device="cpu", activity=speaker_activity(audio, "cpu"))
    )
    assert len(windowed) == len(whole) >= 20
    edges = np.array([(c["start"], c["end"]) for c in windowed]) - np.array(
        [(c["start"], c["end"]) for c in whole]
    )
    assert np.abs(edges).max() < 0.1


def test_the_first_chunk_is_short_and_the_rest_full_length() -> None:
    spans = [(float(start), float(start) + 1.5) for start in range(0, 120, 2)]
    planner = ChunkPlanner(30, PYANNOTE_PAD, 121.0, first_chunk_size=12)
    chunks = planner.add(spans) + planner.finish()
    lengths = [chunk["end"] - chunk["start"] for chunk in chunks]
    assert 6 <= lengths[0] <= 12
    assert all(25 <= length <= 30 for length in lengths[1:-1]), lengths
