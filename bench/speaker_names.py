"""How close a reference clip's embedding comes to each diarized speaker's centroid: the figures the known-speaker
thresholds in `app/ml/speaker_names.py` are chosen from.

Two recordings, each diarized by the configured diarizer (the embedded one; the hub pipeline with `HF_TOKEN`):
the two-voice espeak-ng dialogue, with reference clips of both voices (and of a third, absent one) saying other
sentences; and pyannote's sample (two callers), with one stretch of each caller held out (silenced in the
recording) as that caller's reference. Each diarized speaker is matched to the true speaker it covers most.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/speaker_names.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from pyannote.core import Annotation, Segment  # noqa: E402

from app.config import get_settings  # noqa: E402
from app.ml.diarization import load_diarizer  # noqa: E402
from app.ml.speaker_names import cosine_similarities, reference_embeddings  # noqa: E402
from tests import corpus  # noqa: E402
from tests.synth import SAMPLE_RATE, dialogue  # noqa: E402

REFERENCE_TEXT = {
    "A": "the weather is lovely today and the sun is shining on the hills",
    "B": "please remember to bring the blue folder to the meeting",
    "C": "our train leaves the station at half past nine tomorrow",
}
HELD_OUT = {"speaker90": (10.6, 14.45), "speaker91": (21.8, 27.8)}


def synthetic() -> tuple[np.ndarray, Annotation, dict[str, np.ndarray]]:
    audio, truth = corpus.two_voice_dialogue()
    clips = {voice: dialogue([(voice, text)], lead=0.2)[0] for voice, text in REFERENCE_TEXT.items()}
    return audio, corpus.words_reference(truth), clips


def real() -> tuple[np.ndarray, Annotation, dict[str, np.ndarray]]:
    audio = corpus.sample_audio().copy()
    clips = {}
    for speaker, (start, end) in HELD_OUT.items():
        span = slice(round(start * SAMPLE_RATE), round(end * SAMPLE_RATE))
        clips[speaker] = audio[span].copy()
        audio[span] = 0
    return audio, corpus.sample_reference(), clips


def who_is_who(turns: Annotation, reference: Annotation) -> dict[str, str]:
    """Each diarized label → the true speaker it overlaps most."""
    found = {}
    for label in turns.labels():
        overlap = {
            speaker: reference.label_timeline(speaker).crop(turns.label_timeline(label)).duration()
            for speaker in reference.labels()
        }
        found[label] = max(overlap, key=lambda speaker: overlap[speaker])
    return found


def main() -> None:
    settings = get_settings()
    pipeline, backend = load_diarizer(
        "cpu", model_name=settings.diarization_model, hf_token=settings.hf_token
    )
    print(f"diarizer: {backend}")
    same, different = [], []
    for name, (audio, reference, clips) in {
        "espeak dialogue": synthetic(),
        "pyannote sample": real(),
    }.items():
        frame, centroids = pipeline(audio, return_embeddings=True)
        turns = Annotation()
        for row in frame.itertuples():
            turns[Segment(row.start, row.end)] = row.speaker
        truth = who_is_who(turns, reference)
        embedded = reference_embeddings(pipeline.model._embedding, clips)
        labels, voices = list(centroids), list(embedded)
        similarities = cosine_similarities(
            np.vstack([centroids[label] for label in labels]), np.vstack([embedded[v] for v in voices])
        )
        print(f"\n{name}: reference clip x diarized speaker (its true voice)")
        print("clip".ljust(12) + "".join(f"{label} ({truth[label]})".rjust(26) for label in labels))
        for column, voice in enumerate(voices):
            row = similarities[:, column]
            print(voice.ljust(12) + "".join(f"{value:26.3f}" for value in row))
            for label, value in zip(labels, row, strict=True):
                (same if truth[label] == voice else different).append(value)
    print(f"\nsame voice: {min(same):.3f} – {max(same):.3f}")
    print(f"different voices: {min(different):.3f} – {max(different):.3f}")


if __name__ == "__main__":
    main()
