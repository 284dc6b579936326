"""Time to the first words of a streamed transcription, through the real server and the official client.

    .venv/bin/python bench/first_text.py                        # 0.5, 10 and 60 minutes, 3 runs each
    .venv/bin/python bench/first_text.py --minutes 11 --runs 5
    .venv/bin/python bench/first_text.py --streamed-only --runs 2   # without the non-streamed comparison

Starts the REST server (models preloaded, as in production), then for each length streams a recording of four
recurring voices (pyannote's sample and a two-voice dialogue, alternating) through `/v1/audio/transcriptions`
with `stream=true`, and reports medians of: seconds from the request to the first `transcript.text.delta`, to
the done event, the number of deltas, and the same recording without streaming (the total to compare; left out
with `--streamed-only`).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from openai import OpenAI  # noqa: E402

from tests.corpus import recurring_voices  # noqa: E402
from tests.servers import api_server  # noqa: E402

SAMPLE_RATE = 16_000


def recording(minutes: float) -> bytes:
    """A WAV of `minutes` of four recurring voices (63 s a pair, cut to length)."""
    voices, _reference = recurring_voices(1)
    repeats = int(np.ceil(minutes * 60 * SAMPLE_RATE / len(voices)))
    audio = np.tile(voices, repeats)[: round(minutes * 60 * SAMPLE_RATE)]
    out = io.BytesIO()
    sf.write(out, audio, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return out.getvalue()


def streamed(client: OpenAI, wav: bytes) -> tuple[float, float, int]:
    """Seconds to the first delta, seconds to the done event, and the number of deltas."""
    started = time.perf_counter()
    first, deltas = None, 0
    with client.audio.transcriptions.create(model="whisper-1", file=("talk.wav", wav), stream=True) as events:
        for event in events:
            if event.type == "transcript.text.delta":
                deltas += 1
                first = first if first is not None else time.perf_counter() - started
    done = time.perf_counter() - started
    return first if first is not None else done, done, deltas


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, nargs="+", default=[0.5, 10, 60])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--streamed-only", action="store_true", help="skip the non-streamed comparison")
    args = parser.parse_args()
    with api_server(
        Path(tempfile.mkdtemp(prefix="bench-first-text-")),
        PRELOAD_MODELS="true",
        WHISPER_MODEL=args.model,
        LIMITS__MAX_UPLOAD_MB="1000",
    ) as base:
        client = OpenAI(base_url=f"{base}/v1", api_key="unused", timeout=7200, max_retries=0)
        client.audio.transcriptions.create(model="whisper-1", file=("warm.wav", recording(0.2)))
        print(f"model {args.model}, {os.cpu_count()} CPUs, {args.runs} runs each, medians")
        print()
        print("| recording | first delta s | done s | deltas | not streamed s |")
        print("| --- | --- | --- | --- | --- |")
        for minutes in args.minutes:
            wav = recording(minutes)
            firsts, dones, counts, plain = [], [], [], []
            for _ in range(args.runs):
                first, done, deltas = streamed(client, wav)
                firsts.append(first)
                dones.append(done)
                counts.append(deltas)
                if args.streamed_only:
                    continue
                started = time.perf_counter()
                client.audio.transcriptions.create(model="whisper-1", file=("talk.wav", wav))
                plain.append(time.perf_counter() - started)
            print(
                f"| {minutes:g} min | {statistics.median(firsts):.2f} | {statistics.median(dones):.1f} | "
                f"{statistics.median(counts):.0f} | {statistics.median(plain) if plain else float('nan'):.1f} |"
            )


if __name__ == "__main__":
    main()
