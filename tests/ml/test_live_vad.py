"""Silero's speech probability of live audio: a stream scored in pieces scores as it would whole."""

from __future__ import annotations

import numpy as np
from faster_whisper.vad import get_vad_model

from app.ml.live_vad import FRAME_SAMPLES, SpeechProbabilities
from tests.corpus import sample_audio


def test_pieces_of_any_size_score_as_the_whole_recording() -> None:
    audio = sample_audio()[: 12 * 16_000]
    audio = audio[: len(audio) // FRAME_SAMPLES * FRAME_SAMPLES]
    whole = get_vad_model()(audio).reshape(-1)
    stream = SpeechProbabilities()
    sizes = [100, 1600, 7, 4800, 512]
    scored, position, index = [], 0, 0
    while position < len(audio):
        size = sizes[index % len(sizes)]
        scored.append(stream.feed(audio[position : position + size]))
        position, index = position + size, index + 1
    assert np.allclose(np.concatenate(scored), whole, atol=1e-5)
    assert whole.max() > 0.9 and whole[:100].max() < 0.3  # speech, after a quiet start
