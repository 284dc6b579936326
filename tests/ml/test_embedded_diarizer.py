"""The offline diarizer (bundled segmentation + Resemblyzer embedding) on real and synthetic speech, scored by DER."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from pyannote.audio.pipelines import SpeakerDiarization
from pyannote.core import Annotation, Segment
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate
from whisperx.diarize import DiarizationPipeline

from app.ml.embedded_diarizer import build_embedded_pipeline
from tests.synth import SAMPLE_RATE, TWO_VOICE_DIALOGUE, TrueWord, dialogue

pytestmark = pytest.mark.slow

PYANNOTE_SAMPLE = Path(importlib.util.find_spec("pyannote.audio").origin).parent / "sample"
# Measured with bench/tune_embedded_diarizer.py, collar 0: 0.043 on the sample (count known or not) and
# 0.015 on the dialogue; the limits leave margin for platform differences in the numerics.
SAMPLE_MAX_DER = 0.10
DIALOGUE_MAX_DER = 0.05


@pytest.fixture(scope="module")
def pipeline() -> SpeakerDiarization:
    return build_embedded_pipeline()


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, Annotation]:
    samples, rate = sf.read(PYANNOTE_SAMPLE / "sample.wav", dtype="float32")
    assert rate == SAMPLE_RATE
    return samples, load_rttm(PYANNOTE_SAMPLE / "sample.rttm")["sample"]


@pytest.fixture(scope="module")
def two_voices() -> tuple[np.ndarray, Annotation]:
    samples, words = dialogue(TWO_VOICE_DIALOGUE)
    return samples, _turn_reference(words)


def _turn_reference(words: list[TrueWord]) -> Annotation:
    """One segment per turn, from its first word's start to its last word's end."""
    reference = Annotation(uri="dialogue")
    for _, turn in itertools.groupby(words, key=lambda word: word.speaker):
        turn = list(turn)
        reference[Segment(turn[0].start, turn[-1].end)] = turn[0].speaker
    return reference


def _diarize(pipeline: SpeakerDiarization, samples: np.ndarray, **counts: int) -> Annotation:
    output = pipeline({"waveform": torch.from_numpy(samples)[None], "sample_rate": SAMPLE_RATE}, **counts)
    return output.speaker_diarization


def _der(reference: Annotation, hypothesis: Annotation) -> float:
    return DiarizationErrorRate(collar=0.0)(reference, hypothesis)


def test_sample_with_known_speaker_count(
    pipeline: SpeakerDiarization, sample: tuple[np.ndarray, Annotation]
) -> None:
    samples, reference = sample
    hypothesis = _diarize(pipeline, samples, num_speakers=2)
    assert len(hypothesis.labels()) == 2
    assert _der(reference, hypothesis) <= SAMPLE_MAX_DER


def test_sample_with_unknown_speaker_count(
    pipeline: SpeakerDiarization, sample: tuple[np.ndarray, Annotation]
) -> None:
    samples, reference = sample
    hypothesis = _diarize(pipeline, samples)
    assert len(hypothesis.labels()) == 2
    assert _der(reference, hypothesis) <= SAMPLE_MAX_DER


def test_two_voice_dialogue_through_whisperx_diarization_pipeline(
    pipeline: SpeakerDiarization, two_voices: tuple[np.ndarray, Annotation]
) -> None:
    samples, reference = two_voices
    # The service swaps this model in for the hub pipeline whisperx would otherwise download.
    diarizer = DiarizationPipeline.__new__(DiarizationPipeline)
    diarizer.model = pipeline

    frame = diarizer(samples, min_speakers=1, max_speakers=4)

    assert isinstance(frame, pd.DataFrame)
    assert {"start", "end", "speaker"} <= set(frame.columns)
    assert frame["speaker"].nunique() == 2
    hypothesis = Annotation(uri="dialogue")
    for row in frame.itertuples():
        hypothesis[Segment(row.start, row.end)] = row.speaker
    assert _der(reference, hypothesis) <= DIALOGUE_MAX_DER


def test_max_speakers_caps_the_speaker_count(
    pipeline: SpeakerDiarization, two_voices: tuple[np.ndarray, Annotation]
) -> None:
    samples, reference = two_voices
    # The opening turns are enough to hold both voices and keep the run short.
    opening = samples[: 12 * SAMPLE_RATE]
    assert len(reference.crop(Segment(0, 12)).labels()) == 2
    assert len(_diarize(pipeline, opening, max_speakers=1).labels()) == 1
