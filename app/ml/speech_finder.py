"""Speech found window by window, so decoding starts while the rest of a long recording is still unheard.

The VAD first hears a short window (enough for a short first chunk and the speech after it), then windows
twice as long each time, up to `WINDOW`. Speech
running into a window's end may go on past it, so a window keeps only the speech that ends a little before its
end, and the next window starts where the kept speech stops (heard with a few seconds of context before it,
as the VAD's own windows need). `ChunkPlanner` plans each chunk as soon as the speech after it is known, so
the first chunk is ready about one short window into the recording, whatever its length.

When the recording's speaker activity was computed already (the full pipeline shares it with the diarizer),
its speech is read at once and nothing is heard twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from app.ml.chunking import EDGE_PAD, PYANNOTE_PAD, Chunk, ChunkPlanner, Span, chunk_budget

if TYPE_CHECKING:
    from app.ml.segmentation import SpeakerActivity

SAMPLE_RATE = 16_000
FIRST_CHUNK_SIZE = 12.0
"""Seconds of the first chunk at most: about a third of a full chunk's decoding, so the first text comes out
about a second into a recording of any length (bench/first_text.py)."""
FIRST_WINDOW_BEYOND_CHUNK = 15.0
"""The first window holds the first chunk and this many seconds more: enough to know where the chunk ends."""
WINDOW = 300.0
"""The longest window: seconds heard at a time once the windows have grown (each twice the one before), about
the speech of one batch of 8 chunks and more."""
SETTLE = 1.0
"""Speech ending within this many seconds of a window's end may go on past it: the next window hears it."""
CONTEXT = 2.0
"""Seconds before a window's start that the VAD hears too, as context; speech found there was kept already."""
SILERO_MIN_SILENCE = 2.0
"""The shortest pause that separates Silero's speech by default (faster-whisper's own default)."""


@dataclass(frozen=True)
class SpeechOptions:
    """How speech is told from silence, and how chunks are padded.

    `onset`/`offset`: the speech score at which speech starts and stops; `pad`: seconds kept into the pauses
    around each chunk (None: the VAD's measured pad); `min_silence`: the shortest pause a chunk is cut at
    when one is in reach (None: any pause wide enough for the padding; Silero also hears shorter pauses as
    part of the speech around them, 2 s by default)."""

    method: str = "pyannote"
    onset: float = 0.5
    offset: float | None = None
    pad: float | None = None
    min_silence: float | None = None

    @property
    def chunk_pad(self) -> float:
        if self.pad is not None:
            return self.pad
        return PYANNOTE_PAD if self.method == "pyannote" else EDGE_PAD


class SpeechFinder(Protocol):
    def spans(self, audio: np.ndarray, start: float, end: float) -> list[Span]:
        """The speech heard in `audio` between `start` and `end` seconds, in seconds from the audio's start."""
        ...


class PyannoteSpeech:
    """pyannote's segmentation (the weights whisperx ships), its scores binarised as whisperx's VAD does."""

    def __init__(self, device: str, options: SpeechOptions, budget: float, step: float) -> None:
        self.device = device
        self.options = options
        self.budget = budget
        self.step = step

    def spans(self, audio: np.ndarray, start: float, end: float) -> list[Span]:
        from app.ml.segmentation import speaker_activity

        first = int(start * SAMPLE_RATE)
        activity = speaker_activity(audio[first : int(end * SAMPLE_RATE)], self.device, step=self.step)
        return [(start + s, start + e) for s, e in activity_spans(activity, self.options, self.budget)]


class SileroSpeech:
    """Silero VAD through the ONNX file faster-whisper ships (whisperx's Silero fetches from torch.hub)."""

    def __init__(self, options: SpeechOptions, budget: float) -> None:
        self.options = options
        self.budget = budget

    def spans(self, audio: np.ndarray, start: float, end: float) -> list[Span]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        silence = self.options.min_silence if self.options.min_silence is not None else SILERO_MIN_SILENCE
        # No padding here: the chunk plan pads every chunk by one rule, whichever VAD found the speech.
        vad = VadOptions(
            threshold=self.options.onset,
            max_speech_duration_s=self.budget,
            min_silence_duration_ms=round(silence * 1000),
            speech_pad_ms=0,
        )
        window = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        found = get_speech_timestamps(window, vad, sampling_rate=SAMPLE_RATE)
        return [(start + span["start"] / SAMPLE_RATE, start + span["end"] / SAMPLE_RATE) for span in found]


def activity_spans(activity: SpeakerActivity, options: SpeechOptions, budget: float) -> list[Span]:
    """Speech in a recording's speaker activity, by whisperx's hysteresis (runs over `budget` cut at their
    quietest point)."""
    from whisperx.vads.pyannote import Binarize

    binarize = Binarize(onset=options.onset, offset=options.offset, max_duration=budget)
    return [(turn.start, turn.end) for turn in binarize(activity.speech_scores()).get_timeline()]


def speech_chunks(
    audio: np.ndarray,
    options: SpeechOptions,
    *,
    chunk_size: int,
    device: str,
    activity: SpeakerActivity | None = None,
) -> Iterator[Chunk]:
    """The chunks to decode, in whisperx's shape (`{"start", "end", "segments"}`), each as soon as it is
    planned; `activity`: the recording's speaker activity, when it was computed already."""
    from app.ml.segmentation import window_step

    duration = len(audio) / SAMPLE_RATE
    pad = options.chunk_pad
    budget = chunk_budget(chunk_size, pad)
    first_chunk_size = min(chunk_size, FIRST_CHUNK_SIZE)
    planner = ChunkPlanner(chunk_size, pad, duration, options.min_silence or 0.0, first_chunk_size)
    if activity is not None:
        yield from planner.add(activity_spans(activity, options, budget))
        yield from planner.finish()
        return
    finder: SpeechFinder = (
        PyannoteSpeech(device, options, budget, window_step(len(audio)))
        if options.method == "pyannote"
        else SileroSpeech(options, budget)
    )
    heard, window = 0.0, first_chunk_size + FIRST_WINDOW_BEYOND_CHUNK
    while heard < duration:
        end = min(duration, heard + window)
        found = [
            (max(start, heard), stop)
            for start, stop in finder.spans(audio, max(0.0, heard - CONTEXT), end)
            if stop > heard
        ]
        if end >= duration:
            kept, heard = found, duration
        else:
            kept = [span for span in found if span[1] <= end - SETTLE]
            unsettled = found[len(kept) :]
            if unsettled and unsettled[0][0] <= heard:  # one run fills the window: keep it as the VAD cut it
                kept.append(unsettled[0])
                heard = unsettled[0][1]
            else:
                heard = unsettled[0][0] if unsettled else end - SETTLE
        yield from planner.add(kept)
        window = min(WINDOW, 2 * window)
    yield from planner.finish()
