"""The audio a live session still needs, on the session's timeline (16 kHz samples since it began), with the
VAD's probability of each 32 ms frame; what no turn needs any more is dropped from the front."""

from __future__ import annotations

import numpy as np

from app.ml.live_vad import FRAME_SAMPLES


class _Growing:
    """An array appended to at the end and dropped from the front, without copying it all on each append."""

    def __init__(self) -> None:
        self._data = np.zeros(16_000, dtype=np.float32)
        self._start = 0  # index in _data of the first kept item
        self._end = 0

    def __len__(self) -> int:
        return self._end - self._start

    def append(self, values: np.ndarray) -> None:
        if self._end + len(values) > len(self._data):
            kept = self._data[self._start : self._end]
            grown = np.zeros(max(2 * len(kept) + len(values), 16_000), dtype=np.float32)
            grown[: len(kept)] = kept
            self._data, self._start, self._end = grown, 0, len(kept)
        self._data[self._end : self._end + len(values)] = values
        self._end += len(values)

    def drop(self, count: int) -> None:
        self._start += min(count, len(self))

    def view(self, start: int, end: int) -> np.ndarray:
        return self._data[self._start + start : self._start + end]


class Timeline:
    """Samples and frame probabilities from `start` (a sample) to `end`."""

    def __init__(self) -> None:
        self._samples = _Growing()
        self._probabilities = _Growing()
        self.start = 0
        self.end = 0
        self.first_frame = 0
        """The absolute number of the first kept probability."""

    @property
    def frames(self) -> int:
        """Frames scored so far (absolute): the next frame's number."""
        return self.first_frame + len(self._probabilities)

    def append(self, samples: np.ndarray, probabilities: np.ndarray) -> None:
        self._samples.append(samples)
        self.end += len(samples)
        self._probabilities.append(probabilities)

    def audio(self, start: int, end: int) -> np.ndarray:
        """A copy of the samples from `start` to `end` (timeline positions, clipped to what is kept)."""
        start, end = max(start, self.start), min(end, self.end)
        return self._samples.view(start - self.start, end - self.start).copy() if end > start else np.zeros(0)

    def probabilities(self) -> np.ndarray:
        """The kept frames' probabilities, from `first_frame` on."""
        return self._probabilities.view(0, len(self._probabilities))

    def forget_before(self, position: int) -> None:
        """Drop the samples before `position`, and the frames that end before it."""
        position = min(max(position, self.start), self.end)
        self._samples.drop(position - self.start)
        self.start = position
        frames = min(position // FRAME_SAMPLES, self.frames) - self.first_frame
        if frames > 0:
            self._probabilities.drop(frames)
            self.first_frame += frames
