"""One segmentation pass shared by the VAD and the embedded diarizer: the VAD's chunks stay whisperx's, the
diarizer's speakers stay its own, and a long recording is segmented once."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pyannote.metrics.diarization import DiarizationErrorRate
from whisperx.vads import Pyannote

from app.ml import diarization, segmentation
from app.ml.segmentation import speaker_activity
from tests.corpus import annotation, recurring_voices, sample_audio, sample_reference, two_voice_dialogue

pytestmark = pytest.mark.slow

ONSET, OFFSET = 0.5, 0.363


def _chunks(scores: object) -> list[tuple[float, float]]:
    return [(c["start"], c["end"]) for c in Pyannote.merge_chunks(scores, 30, onset=ONSET, offset=OFFSET)]


@pytest.mark.parametrize("recording", ["sample", "dialogue", "recurring"])
def test_the_shared_segmentation_cuts_the_chunks_whisperx_cuts(recording: str) -> None:
    audio = {
        "sample": sample_audio,
        "dialogue": lambda: two_voice_dialogue()[0],
        "recurring": lambda: recurring_voices(2)[0],
    }[recording]()
    vad = Pyannote(torch.device("cpu"), vad_onset=ONSET, vad_offset=OFFSET)
    theirs = _chunks(vad({"waveform": vad.preprocess_audio(audio), "sample_rate": 16_000}))
    ours = _chunks(speaker_activity(audio, "cpu").speech_scores())
    assert len(ours) == len(theirs)
    assert np.allclose(ours, theirs, atol=0.05), (ours, theirs)


def _diarize(audio: np.ndarray, activity: segmentation.SpeakerActivity | None) -> list[dict]:
    return diarization.diarize(
        audio,
        device="cpu",
        model_name="pyannote/speaker-diarization-community-1",
        hf_token=None,
        activity=activity,
    )["segments"]


def test_the_diarizer_given_the_vads_segmentation_does_not_segment_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audio = sample_audio()
    activity = speaker_activity(audio, "cpu")
    own = _diarize(audio, None)
    calls: list[object] = []
    model = segmentation.load_segmentation("cpu")
    monkeypatch.setattr(model, "forward", lambda *a, **k: calls.append(a) or pytest.fail("segmented again"))
    shared = _diarize(audio, activity)
    assert not calls
    assert shared == own
    der = DiarizationErrorRate(collar=0.0)(sample_reference(), annotation(shared))
    assert der <= 0.10


@pytest.mark.parametrize("repeats", [10, 57], ids=["10 minutes", "an hour"])
def test_four_recurring_voices_keep_four_labels_with_the_count_unknown(repeats: int) -> None:
    # The sample's two callers and the dialogue's two voices, over and over (63 s a round).
    audio, reference = recurring_voices(repeats)
    assert len(audio) / 16_000 >= repeats * 60
    segments = _diarize(audio, speaker_activity(audio, "cpu"))
    hypothesis = annotation(segments)
    assert len(hypothesis.labels()) == 4
    # DER maps each true speaker to one label over the whole file, so a voice relabelled on its return fails.
    assert DiarizationErrorRate(collar=0.0)(reference, hypothesis) <= 0.08
