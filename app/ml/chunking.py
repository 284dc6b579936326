"""Where the batched decoder cuts the audio: chunks that start and end in pauses, padded so no word is clipped.

whisperx merges voice-activity spans greedily into chunks of up to `chunk_size` seconds, starting and ending
each chunk exactly where the VAD heard speech begin and end. VADs react a few tens of milliseconds late, so the
first syllable of a chunk can be cut off, and Whisper then skips the whole clipped phrase. Here:

- speech runs longer than a chunk are cut by the VAD itself at its quietest point (pyannote: the lowest speech
  score in the run's second half; Silero: the last silence), within the chunk's budget;
- spans are grouped into chunks cut at the last pause in the chunk's second half wide enough for both chunks'
  padding (the widest pause there when none is), not simply at the last one;
- every chunk is padded into the pauses around it (the VAD's pad, or half the pause when it is shorter), and
  chunks cut inside continuous speech overlap by the pad on both sides, so each edge word is heard whole by
  at least one chunk; `drop_repeated_words` then keeps a word decoded by both chunks once.

The pad depends on the VAD. pyannote's regions already start within a few tens of milliseconds of the onset
(its onset/offset hysteresis), so 0.2 s is enough to keep a soft first syllable ("th", "f", "s"); padding
tiny.en's chunks further into the pauses changed what it heard elsewhere. Silero, run without its own
padding, reacts later and gets faster-whisper's 0.4 s.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from whisperx.vads.vad import Vad

EDGE_PAD = 0.4
"""Seconds of audio added at each edge of a Silero chunk (faster-whisper's own VAD pads speech by 0.4 s too)."""
PYANNOTE_PAD = 0.2
"""Seconds of audio added at each edge of a pyannote chunk."""
MIN_PAUSE = 0.05
"""A gap shorter than this between two chunks is a cut through speech, not a pause."""
MAX_REPEATED_WORDS = 4
"""At most this many words fit in two overlapping paddings."""
MIN_OVERLAP = PYANNOTE_PAD
"""Two chunks overlapping by this much were cut through speech (they overlap by about twice the pad there;
chunks meeting in a pause share an edge, their times rounded alike)."""

Span = tuple[float, float]


def chunk_budget(chunk_size: float, pad: float = EDGE_PAD) -> float:
    """Longest speech a chunk may hold, leaving room for its padding within `chunk_size`."""
    return max(chunk_size - 2 * pad, chunk_size / 2)


def _cut_index(group: list[Span], budget: float, pad: float) -> int:
    """Where to split an over-long group, among the pauses that leave a first part of at least half the budget
    (and at most the whole budget): the last one wide enough for both chunks' padding, else the widest; the last
    pause when none qualifies. The latest safe cut keeps chunks long, so there are few of them (each costs a
    full 30 s pass of the encoder, however little it holds)."""
    start = group[0][0]
    candidates = [
        index
        for index in range(1, len(group))
        if start + budget / 2 <= group[index - 1][1] and group[index - 1][1] - start <= budget
    ]
    if not candidates:
        return len(group) - 1
    wide = [index for index in candidates if group[index][0] - group[index - 1][1] >= 2 * pad]
    if wide:
        return wide[-1]
    return max(candidates, key=lambda index: group[index][0] - group[index - 1][1])


def plan_chunks(
    spans: list[Span], chunk_size: float, duration: float | None = None, pad: float = EDGE_PAD
) -> list[dict[str, Any]]:
    """Group speech `spans` (sorted, each within the budget) into chunks of at most `chunk_size` s padded by
    `pad` s, in whisperx's shape: `{"start", "end", "segments": [(start, end), ...]}`."""
    budget = chunk_budget(chunk_size, pad)
    groups: list[list[Span]] = []
    current: list[Span] = []
    for span in spans:
        current.append(span)
        while len(current) > 1 and current[-1][1] - current[0][0] > budget:
            cut = _cut_index(current, budget, pad)
            groups.append(current[:cut])
            current = current[cut:]
    if current:
        groups.append(current)
    chunks = [{"start": g[0][0], "end": g[-1][1], "segments": list(g)} for g in groups]
    for chunk, following in zip(chunks, chunks[1:], strict=False):
        pause = following["start"] - chunk["end"]
        edge = pad if pause < MIN_PAUSE else min(pad, pause / 2)
        chunk["end"] += edge
        following["start"] -= edge
    if chunks:
        chunks[0]["start"] = max(0.0, chunks[0]["start"] - pad)
        last_end = chunks[-1]["end"] + pad
        chunks[-1]["end"] = min(duration, last_end) if duration is not None else last_end
    return chunks


def _plain(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def drop_repeated_words(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where two chunks overlap, remove from the second the words that end the first (decoded twice)."""
    for previous, segment in zip(segments, segments[1:], strict=False):
        if previous["end"] - segment["start"] < MIN_OVERLAP:
            continue  # the chunks meet in a pause (times are rounded): nothing was decoded twice
        before = [_plain(word) for word in previous["text"].split()]
        words = segment["text"].split()
        after = [_plain(word) for word in words]
        for count in range(min(MAX_REPEATED_WORDS, len(before), len(after)), 0, -1):
            if before[-count:] == after[:count]:
                segment["text"] = " " + " ".join(words[count:])
                break
    return [segment for segment in segments if segment["text"].strip()]


class PyannoteChunks(Vad):
    """pyannote's VAD (its scores), its speech grouped by `plan_chunks`."""

    def __init__(self, pyannote: Any) -> None:
        self.pyannote = pyannote
        self.duration: float | None = None

    def __call__(self, audio: dict[str, Any], **kwargs: Any) -> Any:
        self.duration = audio["waveform"].shape[-1] / audio["sample_rate"]
        return self.pyannote(audio, **kwargs)

    def preprocess_audio(self, audio: np.ndarray) -> Any:  # type: ignore[override]
        return self.pyannote.preprocess_audio(audio)

    def merge_chunks(  # type: ignore[override]
        self, segments: Any, chunk_size: int, onset: float, offset: float | None
    ) -> list[dict[str, Any]]:
        from whisperx.vads.pyannote import Binarize

        budget = chunk_budget(chunk_size, PYANNOTE_PAD)
        speech = Binarize(max_duration=budget, onset=onset, offset=offset)(segments)
        spans = [(turn.start, turn.end) for turn in speech.get_timeline()]
        return plan_chunks(spans, chunk_size, self.duration, PYANNOTE_PAD)


class SileroOnnxChunks(Vad):
    """Silero VAD through the ONNX file faster-whisper ships (whisperx's Silero fetches from torch.hub), its
    speech grouped by `plan_chunks`."""

    def __init__(self, onset: float, chunk_size: int) -> None:
        super().__init__(onset)
        self.onset = onset
        self.chunk_size = chunk_size
        self.duration: float | None = None

    def __call__(self, audio: dict[str, Any], **_: Any) -> list[Span]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        rate = audio["sample_rate"]
        self.duration = len(audio["waveform"]) / rate
        # No padding here: `plan_chunks` pads every chunk by one rule, whichever VAD found the speech.
        options = VadOptions(
            threshold=self.onset, max_speech_duration_s=chunk_budget(self.chunk_size), speech_pad_ms=0
        )
        spans = get_speech_timestamps(audio["waveform"], options, sampling_rate=rate)
        return [(span["start"] / rate, span["end"] / rate) for span in spans]

    @staticmethod
    def preprocess_audio(audio: np.ndarray) -> np.ndarray:
        return audio

    def merge_chunks(  # type: ignore[override]
        self, segments: list[Span], chunk_size: int, onset: float, offset: float | None
    ) -> list[dict[str, Any]]:
        return plan_chunks(segments, chunk_size, self.duration)
