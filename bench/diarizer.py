"""Embedded diarizer: cost per stage and accuracy, pyannote's per-window embeddings against pooled ones, in one run.

For each variant (embedding way x segmentation step) and recording: CPU seconds (`time.process_time`, all
threads) and wall seconds for segmentation, embeddings and the rest (clustering, reconstruction) with the
speaker count given; DER (collar 0) with the count given and not; the speakers found without it. Each variant
runs in its own process, so its peak RSS is its own. Recordings: pyannote's sample, the two-voice espeak-ng
dialogue, and the two alternating (four voices that keep coming back) `--repeats` times, about 63 s each: 10
gives 10.5 minutes.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/diarizer.py
    HF_HUB_OFFLINE=1 .venv/bin/python bench/diarizer.py --variants pooled:0.1 pooled:0.2 --repeats 57  # 1 hour

CPU seconds are the figure to compare on a shared machine: wall time grows with everyone else's load.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import resource
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from pyannote.core import Annotation  # noqa: E402

STAGES = ("segmentation", "embeddings", "rest", "total")


@dataclass(frozen=True)
class Recording:
    name: str
    audio: np.ndarray
    reference: Annotation


def recordings(repeats: int) -> list[Recording]:
    from tests import corpus

    dialogue, truth = corpus.two_voice_dialogue()
    found = [
        Recording("sample", corpus.sample_audio(), corpus.sample_reference()),
        Recording("dialogue", dialogue, corpus.words_reference(truth)),
    ]
    if repeats:
        found.append(Recording(f"recurring x{repeats}", *corpus.recurring_voices(repeats)))
    return found


def _timed(method: Callable[..., Any], stage: str, cost: dict[str, list[float]]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        result = method(*args, **kwargs)
        cost[stage] = [time.process_time() - cpu, time.perf_counter() - wall]
        return result

    return run


def run_variant(variant: str, cases: list[Recording], threads: int) -> list[dict[str, Any]]:
    """Diarize every recording with one variant ("pooled:STEP" or "windows:STEP", and optionally ":PARTIAL_STEP"
    in mel frames); runs in a child process."""
    import torch
    from pyannote.audio import Model
    from pyannote.metrics.diarization import DiarizationErrorRate

    from app.ml import embedded_diarizer as ed

    warnings.filterwarnings("ignore")
    torch.set_num_threads(threads)
    way, step, *partial_step = variant.split(":")
    way, _, borrowed = way.partition("+")
    pipeline = ed.EmbeddedSpeakerDiarization(
        Model.from_pretrained(ed.SEGMENTATION_CHECKPOINT),
        ed.ResemblyzerEmbedding(**({"partial_step": int(partial_step[0])} if partial_step else {})),
        **(
            {}
            if step == "auto"
            else {"segmentation_step": float(step), "long_segmentation_step": float(step)}
        ),
        pooled_embeddings=way == "pooled",
        borrowed_embeddings=borrowed == "borrowed",
    )
    pipeline.instantiate(ed.PARAMETERS)
    # Training mode keeps a file's segmentation and embeddings between its two runs (count given, then not).
    pipeline.training = True
    cost: dict[str, list[float]] = {}
    pipeline.get_segmentations = _timed(pipeline.get_segmentations, "segmentation", cost)
    pipeline.get_embeddings = _timed(pipeline.get_embeddings, "embeddings", cost)
    rows = []
    for case in cases:
        file = {"waveform": torch.from_numpy(case.audio)[None], "sample_rate": 16_000, "uri": case.name}
        row: dict[str, Any] = {
            "variant": variant,
            "recording": case.name,
            "seconds": len(case.audio) / 16_000,
        }
        for count in (len(case.reference.labels()), None):
            run = _timed(pipeline.apply, "total", cost)
            # pyannote's clustering prints when it cannot reach the requested count.
            with contextlib.redirect_stdout(io.StringIO()):
                hypothesis = run(file, count).speaker_diarization
            row["der", count is None] = DiarizationErrorRate(collar=0.0)(case.reference, hypothesis)
            row["speakers"] = f"{len(hypothesis.labels())}/{len(case.reference.labels())}"
            if count is not None:
                total, segmentation, embeddings = cost["total"], cost["segmentation"], cost["embeddings"]
                cost["rest"] = [total[i] - segmentation[i] - embeddings[i] for i in (0, 1)]
                row["cost"] = dict(cost)
        rows.append(row)
    rows[-1]["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["windows:0.1", "windows:auto", "windows+borrowed:auto", "pooled:auto"],
        help="WAY:STEP[:PARTIAL_STEP], WAY 'windows' (each (window, speaker) embedded alone), 'windows+borrowed' "
        "(past a minute, every other window embedded, the others borrowing) or 'pooled'; STEP x "
        "the 5 s windows, or 'auto' for the shipped steps; PARTIAL_STEP: mel frames (10 ms) between the speaker "
        "encoder's 160-frame partials (default 80)",
    )
    parser.add_argument("--repeats", type=int, default=10, help="sample+dialogue pairs in the long recording")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()

    cases = recordings(args.repeats)
    context = multiprocessing.get_context("spawn")
    print(f"torch threads {args.threads}; CPU s counts every thread of the process")
    print()
    print(
        "| variant | recording | DER, count given | DER, count unknown | speakers found (unknown) | "
        "segmentation CPU / wall s | embeddings CPU / wall s | rest CPU / wall s | total CPU / wall s | "
        "realtime x (CPU s) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    peaks = {}
    for variant in args.variants:
        with context.Pool(1) as pool:
            rows = pool.apply(run_variant, (variant, cases, args.threads))
        peaks[variant] = rows[-1]["peak_rss_mib"]
        for row in rows:
            cost = row["cost"]
            cells = " | ".join(f"{cost[stage][0]:.1f} / {cost[stage][1]:.1f}" for stage in STAGES)
            print(
                f"| {row['variant']} | {row['recording']} ({row['seconds']:.0f} s) | {row['der', False]:.3f} | "
                f"{row['der', True]:.3f} | {row['speakers']} | {cells} | {row['seconds'] / cost['total'][0]:.0f} |",
                flush=True,
            )
    print()
    for variant, peak in peaks.items():
        print(f"peak RSS {variant}: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
