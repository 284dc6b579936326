"""Diarization time on long recordings: `app.ml.diarization.diarize` over the recurring voices (pyannote's sample
and the espeak-ng dialogue, about 63 s a pair), wall seconds and DER (overlap scored, collar 0), median of runs.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/diarization_time.py --repeats 10 57   # 10.5 minutes and the hour

Each recording's first run loads the models; the median is over the runs after it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyannote.metrics.diarization import DiarizationErrorRate  # noqa: E402

from app.ml import diarization  # noqa: E402
from tests import corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, nargs="+", default=[10, 57], help="sample+dialogue pairs")
    parser.add_argument("--runs", type=int, default=2, help="timed runs per recording, after a warm-up")
    args = parser.parse_args()
    print("| recording | diarization s (median) | realtime x | DER | speakers (of 4) |")
    print("| --- | --- | --- | --- | --- |")
    for repeats in args.repeats:
        audio, reference = corpus.recurring_voices(repeats)
        seconds = len(audio) / 16_000
        times, result = [], {}
        for run in range(args.runs + 1):
            started = time.perf_counter()
            result = diarization.diarize(audio, device="cpu", model_name="embedded", hf_token=None)
            if run:
                times.append(time.perf_counter() - started)
        hypothesis = corpus.annotation(result["segments"])
        der = DiarizationErrorRate(collar=0.0)(reference, hypothesis)
        median = statistics.median(times)
        print(
            f"| {seconds / 60:.1f} min | {median:.1f} | {seconds / median:.0f} | {der:.3f} | "
            f"{len(hypothesis.labels())} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
