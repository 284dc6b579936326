"""Live transcription over `/v1/realtime`, through the real server and the official client.

    .venv/bin/python bench/realtime.py                       # 1 session, 4 sessions, 4 sessions beside a file task
    .venv/bin/python bench/realtime.py --sessions 1 4 --no-file
    .venv/bin/python bench/realtime.py --sessions 4 --whisper-workers 1 2   # live beside files, each way

Starts the REST server (models preloaded, as in production) and streams a recording in real time (100 ms
appends of 24 kHz PCM, each sent once its audio has been "recorded") through N concurrent sessions with server
VAD (OpenAI's defaults: threshold 0.5, 300 ms padding, 500 ms of silence), each session starting a little after
the one before. The recording is the two-voice dialogue of `tests/synth.py` (six short turns) then
pyannote's sample phone call (real speech, one turn of about 20 s), with a second of silence after each.

Reports, over every turn of every session: seconds from `speech_stopped` to the turn's `completed`, and from the
end of its speech (`audio_end_ms` less the silence that ended it, as sent in real time) to `completed`, median
and p90; for turns longer than 5 s, how many deltas came before `speech_stopped` and how long after the speech
began the first one came; the WER of the completed transcripts against the file transcription of the same
recording (`/v1/audio/transcriptions`) and against the reference text; the growth of the server's memory per
session. With a file task, the same while a file (30 minutes of the recording, by default) is transcribed beside
the sessions, and how long that task took, against the same file alone.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
import soundfile as sf  # noqa: E402
import soxr  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from tests.corpus import sample_audio, sample_lines, two_voice_dialogue, wer  # noqa: E402
from tests.servers import api_server  # noqa: E402
from tests.synth import SAMPLE_RATE, TWO_VOICE_DIALOGUE  # noqa: E402

CHUNK_SECONDS = 0.1
SILENCE_MS = 500
STAGGER_SECONDS = 0.7
LONG_TURN_SECONDS = 5.0


@dataclass
class Turn:
    started: float | None = None
    """Wall time of `speech_started`."""
    stopped: float | None = None
    audio_start_ms: int = 0
    audio_end_ms: int = 0
    deltas_while_speaking: int = 0
    first_delta: float | None = None
    completed: float | None = None
    transcript: str = ""


@dataclass
class SessionRun:
    origin: float = 0.0
    """Wall time the session's audio began (its first sample)."""
    turns: dict[str, Turn] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        done = sorted((t for t in self.turns.values() if t.completed), key=lambda t: t.audio_start_ms)
        return " ".join(t.transcript for t in done)


def recording() -> np.ndarray:
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
    dialogue, _ = two_voice_dialogue()
    return np.concatenate([dialogue, silence, sample_audio(), silence])


def reference_text() -> str:
    return " ".join([text for _, text in TWO_VOICE_DIALOGUE] + [line[3] for line in sample_lines()])


def pcm24(audio: np.ndarray) -> bytes:
    return (np.clip(soxr.resample(audio, SAMPLE_RATE, 24_000), -1, 1) * 32767).astype("<i2").tobytes()


async def run_session(client: AsyncOpenAI, pcm: bytes, delay: float) -> SessionRun:
    await asyncio.sleep(delay)
    run = SessionRun()
    chunk = int(24_000 * CHUNK_SECONDS) * 2
    async with client.realtime.connect(extra_query={"intent": "transcription"}) as connection:
        await connection.session.update(
            session={
                "type": "transcription",
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "transcription": {"model": "whisper-1", "language": "en"},
                        "turn_detection": {"type": "server_vad", "silence_duration_ms": SILENCE_MS},
                    }
                },
            }
        )

        async def send() -> None:
            run.origin = time.perf_counter()
            for index, start in enumerate(range(0, len(pcm), chunk)):
                # A piece is sent once it has been "recorded".
                await asyncio.sleep(max(0.0, run.origin + (index + 1) * CHUNK_SECONDS - time.perf_counter()))
                await connection.input_audio_buffer.append(
                    audio=base64.b64encode(pcm[start : start + chunk]).decode()
                )
            await asyncio.sleep(5)
            await connection.close()

        sender = asyncio.create_task(send())
        async for event in connection:
            now = time.perf_counter()
            if event.type == "error":
                run.errors.append(event.error.message)
                continue
            item = getattr(event, "item_id", None)
            if item is None:
                continue
            turn = run.turns.setdefault(item, Turn())
            if event.type == "input_audio_buffer.speech_started":
                turn.started, turn.audio_start_ms = now, event.audio_start_ms
            elif event.type == "input_audio_buffer.speech_stopped":
                turn.stopped, turn.audio_end_ms = now, event.audio_end_ms
            elif event.type == "conversation.item.input_audio_transcription.delta":
                turn.first_delta = turn.first_delta or now
                turn.deltas_while_speaking += turn.stopped is None
            elif event.type == "conversation.item.input_audio_transcription.completed":
                turn.completed, turn.transcript = now, event.transcript
        await sender
    return run


def server_process() -> psutil.Process:
    (child,) = [p for p in psutil.Process().children(recursive=True) if "uvicorn" in " ".join(p.cmdline())]
    return child


def wav_bytes(audio: np.ndarray) -> bytes:
    out = io.BytesIO()
    sf.write(out, audio, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return out.getvalue()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def long_file(audio: np.ndarray, minutes: float) -> bytes:
    samples = round(minutes * 60 * SAMPLE_RATE)
    return wav_bytes(np.tile(audio, int(np.ceil(samples / len(audio))))[:samples])


def transcribe_seconds(base: str, wav: bytes) -> float:
    started = time.perf_counter()
    response = httpx.post(
        f"{base}/v1/audio/transcriptions",
        files={"file": ("long.wav", wav)},
        data={"model": "whisper-1"},
        timeout=3600,
    )
    response.raise_for_status()
    return time.perf_counter() - started


async def measure(
    base: str, sessions: int, audio: np.ndarray, file_text: str, file_wav: bytes | None
) -> None:
    client = AsyncOpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
    pcm = pcm24(audio)
    server = server_process()
    idle_rss = server.memory_info().rss
    peak = [idle_rss]

    async def watch_memory() -> None:
        while True:
            peak.append(server.memory_info().rss)
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch_memory())
    file_seconds: list[float] = []

    async def file_task(wav: bytes) -> None:
        file_seconds.append(await asyncio.to_thread(transcribe_seconds, base, wav))

    filer = asyncio.create_task(file_task(file_wav)) if file_wav is not None else None
    if filer is not None:
        await asyncio.sleep(3)  # the file task is decoding when the sessions begin
    runs = await asyncio.gather(
        *(run_session(client, pcm, index * STAGGER_SECONDS) for index in range(sessions))
    )
    watcher.cancel()
    if filer is not None:
        await filer
    turns = [turn for run in runs for turn in run.turns.values() if turn.completed and turn.stopped]
    after_stop = [turn.completed - turn.stopped for turn in turns]  # type: ignore[operator]
    after_speech = [
        turn.completed - (run.origin + (turn.audio_end_ms - SILENCE_MS) / 1000)  # type: ignore[operator]
        for run in runs
        for turn in run.turns.values()
        if turn.completed and turn.stopped
    ]
    long_turns = [t for t in turns if (t.audio_end_ms - t.audio_start_ms) / 1000 >= LONG_TURN_SECONDS]
    first_text = [t.first_delta - t.started for t in long_turns if t.first_delta and t.started]
    wers = [wer(file_text, run.text) for run in runs]
    reference = [wer(reference_text(), run.text) for run in runs]
    errors = [message for run in runs for message in run.errors]
    per_session = (max(peak) - idle_rss) / sessions / 2**20
    label = f"{sessions}" + (" + file task" if file_wav is not None else "")
    print(
        f"| {label} | {len(turns)} | {statistics.median(after_stop):.2f} / {percentile(after_stop, 0.9):.2f} | "
        f"{statistics.median(after_speech):.2f} / {percentile(after_speech, 0.9):.2f} | "
        f"{statistics.median([t.deltas_while_speaking for t in long_turns]):.0f} "
        f"({statistics.median(first_text):.1f} s) | {statistics.mean(wers):.3f} | {statistics.mean(reference):.3f} | "
        f"{per_session:.0f} MiB | {f'{file_seconds[0]:.0f} s' if file_seconds else '-'} |"
        + (f" errors: {errors[:3]}" if errors else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--no-file", action="store_true", help="skip the run beside a file task")
    parser.add_argument("--file-minutes", type=float, default=30)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument(
        "--whisper-workers",
        type=int,
        nargs="+",
        default=[2],
        help="WHISPER_WORKERS of each server run in turn (1: live decodes wait for a file task's batch)",
    )
    args = parser.parse_args()
    audio = recording()
    for workers in args.whisper_workers:
        print(f"WHISPER_WORKERS={workers}")
        serve(args, audio, workers)
        print()


def serve(args: argparse.Namespace, audio: np.ndarray, workers: int) -> None:
    with api_server(
        Path(tempfile.mkdtemp(prefix="bench-realtime-")),
        PRELOAD_MODELS="true",
        WHISPER_MODEL=args.model,
        WHISPER_WORKERS=str(workers),
        REALTIME__MAX_SESSIONS=str(max(args.sessions)),
    ) as base:
        file_text = httpx.post(
            f"{base}/v1/audio/transcriptions",
            files={"file": ("talk.wav", wav_bytes(audio))},
            data={"model": "whisper-1"},
            timeout=600,
        ).json()["text"]
        file_wav = None if args.no_file else long_file(audio, args.file_minutes)
        alone = (
            ""
            if file_wav is None
            else f"; the {args.file_minutes:g}-minute file alone {transcribe_seconds(base, file_wav):.0f} s"
        )
        load = os.getloadavg()
        print(
            f"model {args.model}, {os.cpu_count()} CPUs, load average before {load[0]:.1f}; "
            f"recording {len(audio) / SAMPLE_RATE:.0f} s sent in real time; seconds median / p90; "
            f"file transcription's WER vs reference {wer(reference_text(), file_text):.3f}{alone}"
        )
        print()
        print(
            "| sessions | turns | completed after speech_stopped | completed after speech ended | "
            "deltas before speech_stopped, long turns (first after) | WER vs file | WER vs reference | "
            "memory per session | file task |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        runs: list[tuple[int, bytes | None]] = [(count, None) for count in args.sessions]
        if file_wav is not None:
            runs.append((max(args.sessions), file_wav))
        for count, wav in runs:
            asyncio.run(measure(base, count, audio, file_text, wav))


if __name__ == "__main__":
    main()
