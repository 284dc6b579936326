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
padding, reacts later and gets faster-whisper's 0.4 s. A request may set its own pad (OpenAI's
`prefix_padding_ms`), and the shortest pause a chunk may be cut at (OpenAI's `silence_duration_ms`).

The speech itself is found window by window (`app.ml.speech_finder`), and `ChunkPlanner` plans each chunk as
soon as the speech after it is known.
"""

from __future__ import annotations

import re
from typing import TypedDict, TypeVar

from app.ml.results import Caption

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


class Chunk(TypedDict):
    """A stretch of audio decoded as one, in whisperx's shape: its edges and the speech spans inside."""

    start: float
    end: float
    segments: list[Span]


Captioned = TypeVar("Captioned", bound=Caption)


def chunk_budget(chunk_size: float, pad: float = EDGE_PAD) -> float:
    """Longest speech a chunk may hold, leaving room for its padding within `chunk_size`."""
    return max(chunk_size - 2 * pad, chunk_size / 2)


def _cut_index(group: list[Span], budget: float, pad: float, min_silence: float = 0.0) -> int:
    """Where to split an over-long group, among the pauses that leave a first part of at least half the budget
    (and at most the whole budget): the last one wide enough for both chunks' padding and at least `min_silence`
    long, else the widest; the last pause when none qualifies. The latest safe cut keeps chunks long, so there
    are few of them (each costs a full 30 s pass of the encoder, however little it holds)."""
    start = group[0][0]
    candidates = [
        index
        for index in range(1, len(group))
        if start + budget / 2 <= group[index - 1][1] and group[index - 1][1] - start <= budget
    ]
    if not candidates:
        return len(group) - 1
    wide = [
        index for index in candidates if group[index][0] - group[index - 1][1] >= max(2 * pad, min_silence)
    ]
    if wide:
        return wide[-1]
    return max(candidates, key=lambda index: group[index][0] - group[index - 1][1])


class ChunkPlanner:
    """`plan_chunks` as the speech arrives: each chunk is planned as soon as the speech after it is known (the
    next chunk's first span fixes where this one ends and how far it is padded), so decoding can start while
    the rest of the recording is still being searched for speech. Fed the same spans, it plans the same chunks
    as `plan_chunks`."""

    def __init__(
        self,
        chunk_size: float,
        pad: float = EDGE_PAD,
        duration: float | None = None,
        min_silence: float = 0.0,
        first_chunk_size: float | None = None,
    ) -> None:
        self.budget = chunk_budget(chunk_size, pad)
        self.first_budget = chunk_budget(first_chunk_size, pad) if first_chunk_size else self.budget
        """The first chunk's budget: a shorter first chunk decodes sooner, and its text comes out first."""
        self.pad = pad
        self.min_silence = min_silence
        self.duration = duration
        self.current: list[Span] = []
        self.next_start: float | None = None
        """Where the next chunk starts, padded: fixed when the chunk before it was planned."""

    def add(self, spans: list[Span]) -> list[Chunk]:
        """Take the next speech `spans` (sorted, after all spans given before); the chunks now planned."""
        planned = []
        for span in spans:
            self.current.append(span)
            while len(self.current) > 1 and self.current[-1][1] - self.current[0][0] > self._budget:
                cut = _cut_index(self.current, self._budget, self.pad, self.min_silence)
                group, self.current = self.current[:cut], self.current[cut:]
                planned.append(self._chunk(group, following=self.current[0][0]))
        return planned

    @property
    def _budget(self) -> float:
        return self.first_budget if self.next_start is None else self.budget

    def finish(self) -> list[Chunk]:
        """The last chunk, once every span was added (none when no speech was heard)."""
        if not self.current:
            return []
        group, self.current = self.current, []
        return [self._chunk(group, following=None)]

    def _chunk(self, group: list[Span], following: float | None) -> Chunk:
        start = self.next_start if self.next_start is not None else max(0.0, group[0][0] - self.pad)
        end = group[-1][1]
        if following is None:
            end += self.pad
            if self.duration is not None:
                end = min(self.duration, end)
        else:
            pause = following - end
            edge = self.pad if pause < MIN_PAUSE else min(self.pad, pause / 2)
            end += edge
            self.next_start = following - edge
        return {"start": start, "end": end, "segments": list(group)}


def plan_chunks(
    spans: list[Span],
    chunk_size: float,
    duration: float | None = None,
    pad: float = EDGE_PAD,
    min_silence: float = 0.0,
) -> list[Chunk]:
    """Group speech `spans` (sorted, each within the budget) into chunks of at most `chunk_size` s padded by
    `pad` s, cut at pauses of `min_silence` s or more where one is in reach, in whisperx's shape:
    `{"start", "end", "segments": [(start, end), ...]}`."""
    planner = ChunkPlanner(chunk_size, pad, duration, min_silence)
    return planner.add(spans) + planner.finish()


def _plain(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def drop_repeated_words(segments: list[Captioned]) -> list[Captioned]:
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
