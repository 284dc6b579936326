"""Pipeline benchmark: realtime factor per stage and in total, cold and warm runs, peak memory, and the
service's overhead against calling whisperx directly with the same weights and settings, in one run (whisperx's
own chunking and batched decoder against the service's padded chunks, confidence figures and fallback).

    .venv/bin/python bench/pipeline.py                      # CPU, bundled tiny.en, pyannote's 30 s sample
    .venv/bin/python bench/pipeline.py --device cuda --model large-v3 --tile 10

Runs of the service and of the direct calls alternate, and medians are reported, because the machine is noisy.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from app.audio.decode import SAMPLE_RATE, decode_audio  # noqa: E402
from app.config import Settings  # noqa: E402
from app.ml import alignment, diarization, transcription  # noqa: E402
from app.schemas import PipelineParams  # noqa: E402
from app.services.pipeline import run_full_pipeline, whisper_spec  # noqa: E402

STAGES = ("transcribe", "align", "diarize", "combine")


def direct_whisperx(
    audio: np.ndarray, settings: Settings, params: PipelineParams, direct: dict[str, Any]
) -> dict:
    """The same work through whisperx's own API, on the same loaded weights, timed per stage."""
    import pandas as pd
    import whisperx

    spec = whisper_spec(settings, params.model_params)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    transcript = direct["asr"].transcribe(audio, batch_size=settings.batch_size, chunk_size=30)
    timings["transcribe"] = time.perf_counter() - started

    started = time.perf_counter()
    segments = transcript["segments"]
    if direct["wav2vec2"] is not None:
        model, metadata = direct["wav2vec2"]
        aligned = whisperx.align(segments, model, metadata, audio, spec.device)
    else:
        from app.ml.whisper_aligner import align_with_whisper

        aligned = align_with_whisper(direct["asr"].model, audio, segments, transcript["language"])
    timings["align"] = time.perf_counter() - started

    started = time.perf_counter()
    frame = direct["diarizer"](audio, min_speakers=None, max_speakers=None, num_speakers=None)
    timings["diarize"] = time.perf_counter() - started

    started = time.perf_counter()
    whisperx.assign_word_speakers(pd.DataFrame(frame), aligned, fill_nearest=True)
    timings["combine"] = time.perf_counter() - started
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--audio", type=Path, help="audio file (default: pyannote.audio's sample)")
    parser.add_argument("--tile", type=int, default=1, help="repeat the audio this many times")
    parser.add_argument("--runs", type=int, default=3, help="warm runs of each side")
    args = parser.parse_args()

    import pyannote.audio

    path = args.audio or Path(pyannote.audio.__file__).parent / "sample" / "sample.wav"
    audio = np.tile(decode_audio(path, max_seconds=24 * 3600).samples, args.tile)
    seconds = len(audio) / SAMPLE_RATE
    settings = Settings(_env_file=None, device=args.device, whisper_model=args.model)  # type: ignore[call-arg]
    params = PipelineParams()

    started = time.perf_counter()
    run_full_pipeline(audio, params, settings)
    cold = time.perf_counter() - started

    spec = whisper_spec(settings, params.model_params)
    import whisperx

    # whisperx as it ships: its own batched decoder (no confidence figures, no fallback) and its own chunking.
    plain_model = whisperx.asr.WhisperModel(
        transcription.whisper_source(spec.name),
        device=spec.device,
        compute_type=spec.compute_type,
        cpu_threads=spec.threads,
    )
    direct = {
        "asr": whisperx.load_model(
            spec.name,
            spec.device,
            compute_type=spec.compute_type,
            model=plain_model,
            vad_model=transcription.load_vad("pyannote", spec.device, params.vad_options, 30).pyannote,
            language="en" if spec.name.endswith(".en") else None,
        ),
        "wav2vec2": alignment.load_wav2vec2("en", spec.device, None),
        "diarizer": diarization.load_diarizer(
            spec.device, model_name=settings.diarization_model, hf_token=settings.hf_token
        )[0],
    }

    ours: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
    theirs: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
    for _ in range(args.runs):
        started = time.perf_counter()
        result = run_full_pipeline(audio, params, settings)
        ours["total"].append(time.perf_counter() - started)
        for stage in STAGES:
            ours[stage].append(result["timings"][stage])
        direct_timings = direct_whisperx(audio, settings, params, direct)
        theirs["total"].append(sum(direct_timings.values()))
        for stage in STAGES:
            theirs[stage].append(direct_timings[stage])

    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"audio {seconds:.1f} s ({path.name} x{args.tile}), device {spec.device}, model {spec.name}, "
        f"compute {spec.compute_type}, threads {spec.threads}, batch {settings.batch_size}, {args.runs} warm runs"
    )
    print(f"backends: {result['backends']}")
    print()
    print("| stage | service median s | realtime factor | whisperx direct median s | overhead |")
    print("| --- | --- | --- | --- | --- |")
    for stage in (*STAGES, "total"):
        mine, base = statistics.median(ours[stage]), statistics.median(theirs[stage])
        overhead = f"{(mine / base - 1) * 100:+.1f} %" if base > 0.01 else "n/a (< 10 ms)"
        print(f"| {stage} | {mine:.2f} | {mine / seconds:.3f} | {base:.2f} | {overhead} |")
    print()
    print(
        f"cold first run (loads every model): {cold:.1f} s; warm median: {statistics.median(ours['total']):.1f} s"
    )
    print(f"peak RSS: {peak_rss_mib:.0f} MiB")
    if spec.device == "cuda":
        import torch

        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
