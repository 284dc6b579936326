"""Sweep the embedded diarizer's parameters over several recordings and print DER per setting.

Recordings: pyannote's bundled sample (real speech, two speakers, with and without the count given),
espeak-ng dialogues with two and three voices, and with `--recurring N` the sample and the two-voice dialogue
alternating N times (four voices that come back). Segmentation and embeddings are computed once per
(step, exclude-overlap, segmentation threshold) and reused across clustering settings.

    HF_HUB_OFFLINE=1 PYANNOTE_METRICS_ENABLED=false .venv/bin/python bench/tune_embedded_diarizer.py
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyannote.audio  # noqa: E402
from pyannote.core import Annotation, Segment  # noqa: E402
from pyannote.database.util import load_rttm  # noqa: E402
from pyannote.metrics.diarization import DiarizationErrorRate  # noqa: E402

from app.ml.embedded_diarizer import (  # noqa: E402
    EMBEDDING_EXCLUDE_OVERLAP,
    MIN_EMBEDDED_SPEECH,
    PARAMETERS,
    PARTIAL_STEP,
    SEGMENTATION_CHECKPOINT,
    SEGMENTATION_STEP,
    EmbeddedSpeakerDiarization,
    ResemblyzerEmbedding,
)
from tests import corpus, synth  # noqa: E402

SAMPLE_DIR = Path(pyannote.audio.__file__).parent / "sample"

# A third espeak-ng voice, distinct from the two in tests/synth.py, registered for this process only.
THIRD_VOICE = ["-v", "en-gb-scotland+m7", "-p", "55", "-s", "135"]
THREE_VOICE_DIALOGUE = [
    ("A", "welcome everyone to the weekly planning meeting"),
    ("B", "thanks I have two updates about the release"),
    ("C", "before that can we review the budget numbers"),
    ("A", "sure let us start with the budget then"),
    ("C", "we spent about eighty percent of the quarter"),
    ("B", "that matches what finance told me yesterday"),
    ("A", "good the release can wait a few minutes"),
    ("C", "I will send the full report this afternoon"),
]


@dataclass(frozen=True)
class Recording:
    name: str
    waveform: np.ndarray
    reference: Annotation
    num_speakers: int


@dataclass(frozen=True)
class Case:
    """One recording, diarized with the speaker count given or not."""

    recording: Recording
    count_known: bool

    @property
    def label(self) -> str:
        return f"{self.recording.name}/{'known' if self.count_known else 'unknown'}"


def turn_reference(words: list[synth.TrueWord], uri: str) -> Annotation:
    """One reference segment per turn, from its first word's start to its last word's end."""
    reference = Annotation(uri=uri)
    for _, turn in itertools.groupby(words, key=lambda word: word.speaker):
        turn = list(turn)
        reference[Segment(turn[0].start, turn[-1].end)] = turn[0].speaker
    return reference


def load_recordings(three_voices: bool, recurring: int = 0) -> list[Recording]:
    samples, rate = sf.read(SAMPLE_DIR / "sample.wav", dtype="float32")
    assert rate == synth.SAMPLE_RATE
    recordings = [Recording("sample", samples, load_rttm(SAMPLE_DIR / "sample.rttm")["sample"], 2)]
    audio, words = synth.dialogue(synth.TWO_VOICE_DIALOGUE)
    recordings.append(Recording("synth2", audio, turn_reference(words, "synth2"), 2))
    if three_voices:
        synth.VOICES.setdefault("C", THIRD_VOICE)
        audio, words = synth.dialogue(THREE_VOICE_DIALOGUE)
        recordings.append(Recording("synth3", audio, turn_reference(words, "synth3"), 3))
    if recurring:
        audio, reference = corpus.recurring_voices(recurring)
        recordings.append(Recording(f"recur{recurring}", audio, reference, 4))
    return recordings


def parse_args() -> argparse.Namespace:
    """Every grid defaults to the shipped setting, so a bare run scores exactly what the service uses."""
    segmentation, clustering = PARAMETERS["segmentation"], PARAMETERS["clustering"]
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps", type=float, nargs="+", default=[SEGMENTATION_STEP], help="x chunk duration"
    )
    parser.add_argument(
        "--exclude-overlap",
        choices=["on", "off", "both"],
        default="on" if EMBEDDING_EXCLUDE_OVERLAP else "off",
    )
    parser.add_argument("--seg-thresholds", type=float, nargs="+", default=[segmentation["threshold"]])
    parser.add_argument(
        "--min-duration-off", type=float, nargs="+", default=[segmentation["min_duration_off"]]
    )
    parser.add_argument("--methods", nargs="+", default=[clustering["method"]])
    parser.add_argument("--cluster-thresholds", type=float, nargs="+", default=[clustering["threshold"]])
    parser.add_argument("--min-cluster-sizes", type=int, nargs="+", default=[clustering["min_cluster_size"]])
    parser.add_argument(
        "--min-duration", type=float, default=MIN_EMBEDDED_SPEECH, help="shortest speech embedded (s)"
    )
    parser.add_argument("--partial-step", type=int, default=PARTIAL_STEP, help="mel frames between partials")
    parser.add_argument("--no-three-voices", action="store_true", help="skip the 3-voice dialogue")
    parser.add_argument(
        "--recurring",
        type=int,
        default=0,
        help="add the sample and 2-voice dialogue alternating this many times",
    )
    parser.add_argument("--top", type=int, default=25, help="rows to print, lowest worst-case DER first")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    warnings.filterwarnings("ignore")
    recordings = load_recordings(three_voices=not args.no_three_voices, recurring=args.recurring)
    cases = [Case(recording, known) for recording in recordings for known in (True, False)]
    segmentation = pyannote.audio.Model.from_pretrained(SEGMENTATION_CHECKPOINT)
    embedding = ResemblyzerEmbedding(min_duration=args.min_duration, partial_step=args.partial_step)
    overlaps = {"on": [True], "off": [False], "both": [True, False]}[args.exclude_overlap]

    rows: list[tuple[str, list[float]]] = []
    for step, exclude_overlap in itertools.product(args.steps, overlaps):
        pipeline = EmbeddedSpeakerDiarization(
            segmentation, embedding, segmentation_step=step, embedding_exclude_overlap=exclude_overlap
        )
        # Training mode makes pyannote cache segmentation and embeddings in the file dicts between runs.
        pipeline.training = True
        files = {
            recording.name: {
                "waveform": torch.from_numpy(recording.waveform)[None],
                "sample_rate": synth.SAMPLE_RATE,
                "uri": recording.name,
            }
            for recording in recordings
        }
        for seg_threshold in args.seg_thresholds:
            started = time.perf_counter()
            for min_off, method, threshold, min_size in itertools.product(
                args.min_duration_off, args.methods, args.cluster_thresholds, args.min_cluster_sizes
            ):
                pipeline.instantiate(
                    {
                        "segmentation": {"threshold": seg_threshold, "min_duration_off": min_off},
                        "clustering": {
                            "method": method,
                            "threshold": threshold,
                            "min_cluster_size": min_size,
                        },
                    }
                )
                ders = []
                for case in cases:
                    count = case.recording.num_speakers if case.count_known else None
                    # pyannote's clustering prints when it cannot reach the requested count.
                    with contextlib.redirect_stdout(io.StringIO()):
                        output = pipeline.apply(files[case.recording.name], num_speakers=count)
                    ders.append(
                        DiarizationErrorRate(collar=0.0)(case.recording.reference, output.speaker_diarization)
                    )
                setting = (
                    f"step={step} excl={int(exclude_overlap)} seg={seg_threshold} off={min_off} "
                    f"{method} thr={threshold} min={min_size}"
                )
                rows.append((setting, ders))
            print(
                f"# step={step} excl={exclude_overlap} seg={seg_threshold}: "
                f"{time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )

    # Worst case first: a setting must hold on every recording, not just on most of them.
    rows.sort(key=lambda row: (max(row[1]), statistics.median(row[1])))
    header = f"{'setting':<72}" + "".join(f"{case.label:>15}" for case in cases) + f"{'median':>9}{'max':>7}"
    print(header)
    for setting, ders in rows[: args.top]:
        print(
            f"{setting:<72}"
            + "".join(f"{der:>15.3f}" for der in ders)
            + f"{statistics.median(ders):>9.3f}{max(ders):>7.3f}"
        )


if __name__ == "__main__":
    main()
