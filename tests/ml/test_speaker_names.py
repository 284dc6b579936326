"""Naming diarized speakers after reference clips: the one-to-one matching, and the hub pipeline's glue (whisperx's
own `DiarizationPipeline` around a stand-in for pyannote's pipeline, since the hub is unreachable here)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput
from pyannote.core import Annotation, Segment
from pydantic import SecretStr
from whisperx.diarize import DiarizationPipeline

from app.ml import diarization
from app.ml.speaker_names import (
    MATCH_THRESHOLD,
    match_speakers,
    reference_embeddings,
    speaker_names,
    turns_of_someone_else,
)


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float64)
    return vector / np.linalg.norm(vector)


def test_each_name_goes_to_the_speaker_it_matches_best() -> None:
    speakers = {"SPEAKER_00": unit(1, 0, 0), "SPEAKER_01": unit(0, 1, 0), "SPEAKER_02": unit(0, 0, 1)}
    references = {"Blake": unit(0.1, 1, 0), "Avery": unit(1, 0.1, 0)}
    matches = match_speakers(speakers, references, threshold=0.9)
    assert speaker_names(matches) == {"SPEAKER_00": "Avery", "SPEAKER_01": "Blake"}
    assert matches["Avery"]["similarity"] == pytest.approx(0.995, abs=1e-3)


def test_one_name_is_never_given_to_two_speakers() -> None:
    # Both speakers resemble Avery; the closer one takes the name, the other keeps its label.
    speakers = {"SPEAKER_00": unit(1, 0.3), "SPEAKER_01": unit(1, 0.1)}
    matches = match_speakers(speakers, {"Avery": unit(1, 0)}, threshold=0.9)
    assert speaker_names(matches) == {"SPEAKER_01": "Avery"}


def test_the_assignment_maximises_the_pairs_kept_not_each_name_greedily() -> None:
    # Greedy would give Avery to SPEAKER_00 (0.99) and leave Blake with nobody over the threshold.
    speakers = {"SPEAKER_00": unit(1, 0.15), "SPEAKER_01": unit(1, 0.6)}
    references = {"Avery": unit(1, 0.3), "Blake": unit(1, 0)}
    matches = match_speakers(speakers, references, threshold=0.95)
    assert speaker_names(matches) == {"SPEAKER_01": "Avery", "SPEAKER_00": "Blake"}


def test_below_the_threshold_nobody_is_named() -> None:
    speakers = {"SPEAKER_00": unit(1, 0), "SPEAKER_01": unit(0, 1)}
    matches = match_speakers(speakers, {"Casey": unit(1, 1)}, threshold=0.8)
    assert matches == {"Casey": {"speaker": None, "similarity": pytest.approx(0.707, abs=1e-3)}}


def test_speakers_without_an_embedding_match_nothing() -> None:
    # pyannote pads the centroids of speakers that clustering did not produce with zeros.
    matches = match_speakers({"SPEAKER_00": np.zeros(3)}, {"Avery": unit(1, 0, 0)}, threshold=0.5)
    assert matches == {"Avery": {"speaker": None, "similarity": -1.0}}
    assert match_speakers({}, {"Avery": unit(1, 0)}, threshold=0.5) == {
        "Avery": {"speaker": None, "similarity": None}
    }


class SpeakerEmbeddingStandIn:
    """pyannote's embedding interface: the embedding of a clip is (its mean, 1 - its mean)."""

    dimension = 2

    def __call__(self, waveforms: torch.Tensor, masks: torch.Tensor | None = None) -> np.ndarray:
        assert waveforms.ndim == 3 and waveforms.shape[1] == 1
        level = waveforms.mean(dim=(1, 2)).numpy()
        return np.stack([level, 1 - level], axis=1)


class HubPipelineStandIn:
    """What pyannote's hub `SpeakerDiarization` gives whisperx: turns, and one centroid per speaker label."""

    def __init__(self) -> None:
        self._embedding = SpeakerEmbeddingStandIn()
        self.calls: list[dict[str, Any]] = []

    def __call__(self, audio: dict[str, Any], **counts: Any) -> DiarizeOutput:
        self.calls.append(counts)
        turns = Annotation()
        turns[Segment(0.0, 1.0)] = "SPEAKER_00"
        turns[Segment(1.2, 2.0)] = "SPEAKER_01"
        turns[Segment(2.1, 3.0)] = "SPEAKER_00"
        return DiarizeOutput(
            speaker_diarization=turns,
            exclusive_speaker_diarization=turns,
            speaker_embeddings=np.array([[0.9, 0.1], [0.1, 0.9]]),
        )


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> HubPipelineStandIn:
    stand_in = HubPipelineStandIn()
    pipeline = DiarizationPipeline.__new__(DiarizationPipeline)
    pipeline.model = stand_in
    monkeypatch.setattr(diarization, "load_diarizer", lambda *_a, **_k: (pipeline, "pyannote/hub-pipeline"))
    # Voices are named in one embedding whichever diarizer ran: here the stand-in's.
    monkeypatch.setattr(diarization, "load_voice_encoder", lambda _device: stand_in._embedding)
    return stand_in


def levels(*spans: tuple[float, float]) -> np.ndarray:
    """Audio whose stand-in embedding over each (seconds, level) span is (level, 1 - level)."""
    return np.concatenate([np.full(int(seconds * 16_000), level, np.float32) for seconds, level in spans])


# The stand-in's turns in the voices of their centroids: SPEAKER_00 at 0.9, SPEAKER_01 at 0.1.
HUB_AUDIO = levels((1.1, 0.9), (0.95, 0.1), (0.95, 0.9))


def run_hub(references: dict[str, np.ndarray] | None) -> dict[str, Any]:
    return diarization.diarize(
        HUB_AUDIO,
        device="cpu",
        max_speakers=3,
        model_name="pyannote/hub-pipeline",
        hf_token=SecretStr("unused"),
        references=references,
    )


def test_the_hub_pipelines_speakers_are_named_by_their_own_speech(hub: HubPipelineStandIn) -> None:
    # Clips whose stand-in embeddings are (0.1, 0.9) and (0.85, 0.15): Blake's is SPEAKER_01's voice, whose
    # turns are embedded as (0.1, 0.9).
    references = {"Blake": np.full(32_000, 0.1, np.float32), "Avery": np.full(32_000, 0.85, np.float32)}
    result = run_hub(references)
    assert [turn["speaker"] for turn in result["segments"]] == ["Avery", "Blake", "Avery"]
    assert result["known_speakers"]["Blake"] == {"speaker": "SPEAKER_01", "similarity": 1.0}
    assert result["backend"] == "pyannote/hub-pipeline"
    assert hub.calls == [{"num_speakers": None, "min_speakers": None, "max_speakers": 3}]


def test_a_voice_over_the_threshold_is_named(hub: HubPipelineStandIn) -> None:
    # (0.5, 0.5) is at cosine 0.78 from both speakers' voices: over the threshold.
    assert MATCH_THRESHOLD < 0.78
    result = run_hub({"Casey": np.full(32_000, 0.5, np.float32)})
    assert result["known_speakers"]["Casey"]["speaker"] is not None


def test_without_references_the_turns_keep_their_labels(hub: HubPipelineStandIn) -> None:
    result = run_hub(None)
    assert [turn["speaker"] for turn in result["segments"]] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00"]
    assert "known_speakers" not in result


def test_a_turn_whose_voice_is_another_looked_for_keeps_its_label() -> None:
    # SPEAKER_00 is named Avery (0.9); its second turn sounds like Blake (0.15), its third (0.6) more like Avery.
    voices = {"Avery": np.array([0.9, 0.1]), "Blake": np.array([0.1, 0.9])}
    audio = levels((2.0, 0.9), (2.0, 0.15), (2.0, 0.6), (0.5, 0.1))
    turns = [
        {"start": 0.0, "end": 2.0, "speaker": "SPEAKER_00"},
        {"start": 2.0, "end": 4.0, "speaker": "SPEAKER_00"},
        {"start": 4.0, "end": 6.0, "speaker": "SPEAKER_00"},
        {"start": 6.0, "end": 6.5, "speaker": "SPEAKER_00"},  # too short to tell: keeps the name
        {"start": 2.0, "end": 4.0, "speaker": "SPEAKER_01"},  # nobody's name: not checked
    ]
    embedding = SpeakerEmbeddingStandIn()
    assert turns_of_someone_else(embedding, audio, turns, {"SPEAKER_00": "Avery"}, voices) == {1}
    # With one voice looked for, there is no other voice a turn could be more like.
    assert (
        turns_of_someone_else(embedding, audio, turns, {"SPEAKER_00": "Avery"}, {"Avery": voices["Avery"]})
        == set()
    )


def test_reference_clips_go_to_the_embedding_as_one_mono_batch() -> None:
    embeddings = reference_embeddings(SpeakerEmbeddingStandIn(), {"Avery": np.full(16_000, 0.25)})
    np.testing.assert_allclose(embeddings["Avery"], [0.25, 0.75])
