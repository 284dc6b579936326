"""Pipeline benchmark: realtime factor per stage and in total, cold and warm runs, peak memory, and the
service's overhead against calling whisperx directly with the same weights and settings, in one run (whisperx's
own chunking and batched decoder against the service's padded chunks, confidence figures and fallback).

    .venv/bin/python bench/pipeline.py                      # CPU, bundled tiny.en, pyannote's 30 s sample
    .venv/bin/python bench/pipeline.py --device cuda --model large-v3 --tile 10
    .venv/bin/python bench/pipeline.py --minutes 10 --runs 1  # four voices that keep coming back
    .venv/bin/python bench/pipeline.py --publish            # the service side records progress as a task does

Runs of the service and of the direct calls alternate, and medians are reported, because the machine is noisy.
CPU seconds per stage (`time.process_time`, every thread of the process) are reported beside wall seconds: on
a shared machine they are the figure to compare. `--minutes N` builds an N-minute recording (pyannote's sample
and a two-voice espeak-ng dialogue, alternating: 63 s a pair); with known turns, every run scores the words'
speakers (DER over the words' spans, collar 0) and counts the speakers found, the count not given.
`--no-direct` leaves out whisperx's own calls (long recordings). Every run also transcribes alone (what a
streamed transcription runs) and reports the time to its first text: the first decoded segment.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
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
from app.services import full_pipeline  # noqa: E402
from app.services.full_pipeline import run_full_pipeline  # noqa: E402
from app.services.pipeline import Progress, preload_models, run_transcription, whisper_spec  # noqa: E402

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


def cpu_timed(spent: dict[str, float]) -> None:
    """Add up the CPU seconds of each stage the service runs (its functions, looked up by name) in `spent`."""
    from app.ml import segmentation

    for stage, module, name in (
        ("transcribe", segmentation, "speaker_activity"),
        ("transcribe", full_pipeline, "transcribe_in_stage"),
        ("align", full_pipeline, "run_alignment"),
        ("diarize", full_pipeline, "run_diarization"),
    ):
        function = getattr(module, name)

        def timed(*args: Any, _function: Any = function, _stage: str = stage, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return _function(*args, **kwargs)
            finally:
                spent[_stage] = spent.get(_stage, 0.0) + time.process_time() - started

        setattr(module, name, timed)


def task_row_progress(folder: str) -> Progress:
    """What a running task does with its progress: record it, with the segments decoded so far, in its row
    (a SQLite task store in `folder`)."""
    from app.db.migrate import upgrade
    from app.db.models import TaskType
    from app.db.repository import TaskRepository
    from app.db.session import make_engine, make_session_factory

    engine = make_engine(f"sqlite:///{folder}/tasks.db")
    upgrade(engine)
    tasks = TaskRepository(make_session_factory(engine), lease_seconds=60)
    identifier = tasks.create(task_type=TaskType.full_process, worker_id="bench").identifier
    tasks.claim(identifier, worker_id="bench")

    def progress(fraction: float, stage: str, partial: list[dict[str, Any]] | None = None) -> None:
        tasks.progress(identifier, worker_id="bench", progress=fraction, stage=stage, partial=partial)

    return progress


def der_parts(reference: Any, hypothesis: Any, uem: Any = None) -> dict[str, float]:
    """DER (collar 0) with its parts as fractions of the reference speech: confusion (the wrong speaker), false
    alarm (speech found over a reference pause) and missed (reference speech without its speaker)."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    parts = DiarizationErrorRate(collar=0.0)(reference, hypothesis, uem=uem, detailed=True)
    total = parts["total"] or 1.0
    return {
        "der": parts["diarization error rate"],
        "confusion": parts["confusion"] / total,
        "false alarm": parts["false alarm"] / total,
        "missed": parts["missed detection"] / total,
    }


def words_der(reference: Any, result: dict) -> dict[str, float]:
    """DER of the words' speakers, over the words' spans only: a word's span over a reference pause is a false
    alarm, overlapped speech (where a word has one speaker) is missed."""
    from pyannote.core import Annotation, Segment, Timeline

    words = [w for w in result["word_segments"] if "start" in w and "end" in w and w["end"] > w["start"]]
    hypothesis = Annotation()
    for word in words:
        hypothesis[Segment(word["start"], word["end"])] = word.get("speaker", "none")
    return der_parts(
        reference, hypothesis, Timeline([Segment(w["start"], w["end"]) for w in words]).support()
    )


def turns_der(reference: Any, result: dict) -> dict[str, float]:
    """DER of the diarizer's own turns over the whole recording."""
    from tests.corpus import annotation

    return der_parts(reference, annotation(result["diarization"]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--audio", type=Path, help="audio file (default: pyannote.audio's sample)")
    parser.add_argument("--tile", type=int, default=1, help="repeat the audio this many times")
    parser.add_argument("--runs", type=int, default=3, help="warm runs of each side")
    parser.add_argument(
        "--minutes",
        type=float,
        help="an N-minute recording of four recurring voices (0.5 or less: pyannote's sample)",
    )
    parser.add_argument("--no-direct", action="store_true", help="skip whisperx's own calls")
    parser.add_argument(
        "--publish",
        action="store_true",
        help="the service side records progress and the segments so far in a task row, as a task does",
    )
    args = parser.parse_args()

    import pyannote.audio

    from tests.corpus import recurring_voices, sample_audio, sample_reference

    reference = None
    if args.minutes and args.minutes <= 0.5:
        path, audio, reference = Path("sample"), np.tile(sample_audio(), args.tile), sample_reference()
    elif args.minutes:
        repeats = max(1, round(args.minutes * 60 / 63))
        recording, reference = recurring_voices(repeats)
        path, audio = Path(f"recurring x{repeats}"), np.tile(recording, args.tile)
    else:
        path = args.audio or Path(pyannote.audio.__file__).parent / "sample" / "sample.wav"
        audio = np.tile(decode_audio(path, max_seconds=24 * 3600).samples, args.tile)
    seconds = len(audio) / SAMPLE_RATE
    settings = Settings(_env_file=None, device=args.device, whisper_model=args.model)  # type: ignore[call-arg]
    params = PipelineParams()
    progress = task_row_progress(tempfile.mkdtemp(prefix="bench-tasks-")) if args.publish else None

    # A cold run (every model loaded on the way) on short audio; long audio only loads the models first.
    started = time.perf_counter()
    if seconds > 120:
        preload_models(settings)
    else:
        run_full_pipeline(audio, params, settings, progress=progress)
    cold = time.perf_counter() - started

    spec = whisper_spec(settings, params.model_params)
    direct: dict[str, Any] = {}
    if not args.no_direct:
        import torch
        import whisperx

        # whisperx as it ships: its own batched decoder (no confidence figures, no fallback), its own VAD
        # (5 s windows every 0.5 s) and chunking.
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
                vad_model=whisperx.vads.Pyannote(
                    torch.device(spec.device),
                    vad_onset=params.vad_options.vad_onset,
                    vad_offset=params.vad_options.vad_offset,
                ),
                language="en" if spec.name.endswith(".en") else None,
            ),
            "wav2vec2": alignment.load_wav2vec2("en", spec.device, None),
            "diarizer": diarization.load_diarizer(
                spec.device, model_name=settings.diarization_model, hf_token=settings.hf_token
            )[0],
        }

    cpu: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
    spent: dict[str, float] = {}
    cpu_timed(spent)
    ours: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
    theirs: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
    transcription_only: list[float] = []
    first_text: list[float] = []
    segment_count = 0
    for _ in range(args.runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        spent.clear()
        result = run_full_pipeline(audio, params, settings, progress=progress)
        ours["total"].append(time.perf_counter() - started)
        cpu["total"].append(time.process_time() - cpu_started)
        for stage, seconds_spent in spent.items():
            cpu[stage].append(seconds_spent)
        for stage in STAGES:
            ours[stage].append(result["timings"][stage])
        started = time.perf_counter()
        firsts: list[float] = []
        transcript, _decoded_words = run_transcription(
            audio,
            params,
            settings,
            on_progress=lambda _part, _segments, _firsts=firsts, _at=started: _firsts.append(
                time.perf_counter() - _at
            ),
        )
        transcription_only.append(time.perf_counter() - started)
        first_text.append(firsts[0] if firsts else transcription_only[-1])
        segment_count = len(transcript["segments"])
        if direct:
            direct_timings = direct_whisperx(audio, settings, params, direct)
            theirs["total"].append(sum(direct_timings.values()))
            for stage in STAGES:
                theirs[stage].append(direct_timings[stage])

    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"audio {seconds:.1f} s ({path.name} x{args.tile}), device {spec.device}, model {spec.name}, "
        f"compute {spec.compute_type}, threads {spec.threads}, batch {settings.batch_size}, {args.runs} warm runs"
        + (", progress and segments so far recorded in a task row" if args.publish else "")
    )
    print(f"backends: {result['backends']}")
    print()
    print(
        "| stage | service median s | times realtime | service CPU median s | "
        "whisperx direct median s | overhead |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for stage in (*STAGES, "total"):
        mine = statistics.median(ours[stage])
        base = statistics.median(theirs[stage]) if theirs[stage] else 0.0
        spent = f"{statistics.median(cpu[stage]):.2f}" if cpu[stage] else "n/a"
        overhead = f"{(mine / base - 1) * 100:+.1f} %" if base > 0.01 else "n/a"
        print(f"| {stage} | {mine:.2f} | {seconds / mine:.1f}x | {spent} | {base:.2f} | {overhead} |")
    print()
    ratios = [total / part for total, part in zip(ours["total"], transcription_only, strict=True)]
    print(f"pipeline time / transcription-only time (same audio, same runs): {statistics.median(ratios):.2f}")
    print(
        f"transcription alone: {statistics.median(transcription_only):.2f} s, {segment_count} segments; "
        f"first text after {statistics.median(first_text):.2f} s"
    )
    if reference is not None:
        print(f"speakers found (count not given): {len(result['speakers'])} of {len(reference.labels())}")
        for what, scores in (
            ("the diarizer's turns", turns_der(reference, result)),
            ("the words' speakers", words_der(reference, result)),
        ):
            print(
                f"DER of {what}: {scores['der']:.3f} (confusion {scores['confusion']:.3f}, "
                f"false alarm {scores['false alarm']:.3f}, missed {scores['missed']:.3f})"
            )
    print(
        f"cold first run (loads every model): {cold:.1f} s; warm median: {statistics.median(ours['total']):.1f} s"
    )
    print(f"peak RSS: {peak_rss_mib:.0f} MiB")
    if spec.device == "cuda":
        import torch

        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
