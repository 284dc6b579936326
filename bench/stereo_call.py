"""A stereo call, one party per channel, each leaking into the other's channel `--bleed-db` down: how many words
land on the right channel, each channel's WER beside that channel transcribed alone (without the leak), and the
time of `multichannel` beside the mono full pipeline (diarization included) on the same call mixed down.

Material: a support call of two espeak-ng voices (`tests.synth.stereo_call`, the turns below, said `--repeats`
times). A word is on the right channel when its channel is that of the person speaking at its middle.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/stereo_call.py
    HF_HUB_OFFLINE=1 .venv/bin/python bench/stereo_call.py --repeats 2 --runs 3 --bleed-db 20 30
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


from app.audio.decode import Audio  # noqa: E402
from app.config import get_settings  # noqa: E402
from app.schemas import PipelineParams  # noqa: E402
from app.services.channels import transcribe_channels  # noqa: E402
from app.services.full_pipeline import run_full_pipeline  # noqa: E402
from app.services.pipeline import run_transcription  # noqa: E402
from app.services.pipeline_progress import no_progress  # noqa: E402
from tests.corpus import normalise, wer  # noqa: E402
from tests.synth import TrueWord, stereo_call  # noqa: E402

TURNS = [
    ("A", "good morning thank you for calling the support line my name is anna"),
    ("B", "hello anna I would like to change the address on my account please"),
    ("A", "of course I can help with that can you tell me your account number"),
    ("B", "yes it is seven four two nine one and the account is in my name"),
    ("A", "thank you and what is the new address you would like us to use"),
    ("B", "it is twelve river street in the old town near the station"),
    ("A", "thank you the new address has been saved is there anything else"),
    ("B", "no that is all wonderful thank you very much for your help"),
]


def right_share(segments: list, truth: list[TrueWord], speakers: list[str]) -> float:
    words = [word for segment in segments for word in segment.get("words", []) if "start" in word]
    right = 0
    for word in words:
        middle = (word["start"] + word["end"]) / 2
        nearest = min(truth, key=lambda true: abs((true.start + true.end) / 2 - middle))
        right += word["channel"] == speakers.index(nearest.speaker)
    return right / max(len(words), 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="times the call's turns are said")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bleed-db", type=float, nargs="+", default=[20.0])
    args = parser.parse_args()
    settings = get_settings()
    params = PipelineParams()
    rows = []
    for bleed in args.bleed_db:
        channels, truth, speakers = stereo_call(TURNS * args.repeats, bleed_db=bleed)
        clean, _truth, _speakers = stereo_call(TURNS * args.repeats, bleed_db=200.0)
        audio = Audio(channels.mean(axis=0), channels)
        said = {
            speaker: normalise(" ".join(line for who, line in TURNS * args.repeats if who == speaker))
            for speaker in speakers
        }
        alone = {
            speaker: wer(
                said[speaker],
                normalise(
                    " ".join(
                        s["text"] for s in run_transcription(clean[index], params, settings)[0]["segments"]
                    )
                ),
            )
            for index, speaker in enumerate(speakers)
        }
        split_seconds, mono_seconds = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = transcribe_channels(audio, params, settings, names=[], progress=no_progress, words=True)
            split_seconds.append(time.perf_counter() - started)
            started = time.perf_counter()
            run_full_pipeline(audio.samples, params, settings)
            mono_seconds.append(time.perf_counter() - started)
        per_channel = {
            speaker: wer(
                said[speaker],
                normalise(" ".join(s["text"] for s in result["segments"] if s["channel"] == index)),
            )
            for index, speaker in enumerate(speakers)
        }
        split, mono = statistics.median(split_seconds), statistics.median(mono_seconds)
        rows.append(
            f"| {bleed:.0f} dB | {len(audio.samples) / 16_000:.0f} s | "
            f"{100 * right_share(result['segments'], truth, speakers):.1f} % | "
            + " / ".join(f"{per_channel[s]:.3f}" for s in speakers)
            + " | "
            + " / ".join(f"{alone[s]:.3f}" for s in speakers)
            + f" | {split:.1f} s | {mono:.1f} s | {split / mono:.2f} |"
        )
    print(f"\nmodel {settings.whisper_model}, {os.cpu_count()} CPUs, {args.runs} runs, medians\n")
    print(
        "| bleed | call | words on the right channel | WER by channel | WER alone | multichannel | "
        "mono pipeline | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
