"""Voices enrolled from one recording are named in another, in the full pipeline's transcript: the real models on
a synthetic meeting of three enrolled voices and a stranger saying other sentences, with a library of five."""

from __future__ import annotations

from collections import Counter
from functools import cache

import numpy as np
import pytest
from pyannote.core import Segment

from app.config import Settings
from app.ml import diarization
from app.schemas import PipelineParams
from app.services.full_pipeline import run_full_pipeline
from tests.corpus import MEETING_VOICES, enrolment_clips, meeting

pytestmark = pytest.mark.slow


def settings() -> Settings:
    return Settings(_env_file=None, device="cpu")  # type: ignore[call-arg]


@cache
def enrolled(voice: str) -> np.ndarray:
    return diarization.embed_voice(enrolment_clips(voice), device="cpu")[1]


# Two of bench/voice_library.py's six meetings (the bench scores all six).
@pytest.mark.parametrize("rotation", [0, 3])
def test_each_transcript_segment_carries_its_speakers_name_and_the_stranger_none(rotation: int) -> None:
    voices = MEETING_VOICES[rotation:] + MEETING_VOICES[:rotation]
    library = {voice: enrolled(voice) for voice in voices[:5]}
    audio, reference = meeting(voices)
    transcript = run_full_pipeline(audio, PipelineParams(), settings(), voices=library)
    outcomes: Counter[str] = Counter()
    for segment in transcript["segments"]:
        true = reference.crop(Segment(segment["start"], segment["end"])).argmax()  # who says most of it
        named = segment.get("speaker") if segment.get("speaker") in library else None
        if true in library:
            outcomes["right" if named == true else "wrong" if named else "unnamed"] += 1
        else:
            outcomes["stranger named" if named else "stranger unnamed"] += 1
    assert outcomes["wrong"] == outcomes["stranger named"] == 0, outcomes
    assert outcomes["right"] >= 0.95 * (outcomes["right"] + outcomes["unnamed"]), outcomes
    assert outcomes["stranger unnamed"] >= 3, "the stranger speaks five sentences"
