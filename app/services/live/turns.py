"""Where a live speaker's turns begin and end: speech found frame by frame by the VAD's probabilities, a turn
ending after a set stretch of silence, and where a turn too long for one window is best cut."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.ml.live_vad import FRAME_SAMPLES

FRAME_MS = FRAME_SAMPLES * 1000 // 16_000
HYSTERESIS = 0.15
"""Speech goes on until the probability falls this far below the threshold (Silero's own rule)."""
HEAD_START_MS = 320
"""A turn's text is decoded this long before its silence is long enough to end it, so that it is ready when it
does end (about one decode on two CPU cores); if the speaker goes on, that decode only adds to the text heard
so far."""


@dataclass(frozen=True)
class TurnDetection:
    """Server-side turn detection: speech starts at a frame whose probability reaches `threshold`, and the turn
    ends after `silence_duration_ms` of silence; `prefix_padding_ms` of audio before the speech is kept."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500

    @property
    def prefix_samples(self) -> int:
        return self.prefix_padding_ms * 16

    @property
    def head_start_frames(self) -> int:
        """Silent frames after which a turn is decoded ahead of its end."""
        return max(3, (self.silence_duration_ms - HEAD_START_MS) // FRAME_MS)


Step = Literal["started", "pausing", "stopped"] | None


class TurnDetector:
    """Turns from frame probabilities: `step` says when speech starts, when a pause has lasted long enough to
    decode ahead, and when the turn stops."""

    def __init__(self, detection: TurnDetection) -> None:
        self.detection = detection
        self.speaking = False
        self.silent_frames = 0

    def reset(self) -> None:
        self.speaking = False
        self.silent_frames = 0

    def step(self, probability: float) -> Step:
        threshold = self.detection.threshold
        if not self.speaking:
            if probability >= threshold:
                self.speaking, self.silent_frames = True, 0
                return "started"
            return None
        if probability >= threshold or (self.silent_frames == 0 and probability >= threshold - HYSTERESIS):
            self.silent_frames = 0
            return None
        self.silent_frames += 1
        if self.silent_frames * FRAME_MS >= self.detection.silence_duration_ms:
            self.reset()
            return "stopped"
        return "pausing" if self.silent_frames == self.detection.head_start_frames else None


def quietest_cut(probabilities: np.ndarray, first_frame: int, earliest: int, latest: int) -> int:
    """The frame boundary, between frames `earliest` and `latest` (absolute frame numbers; `probabilities`
    starts at `first_frame`), where speech is least likely: the latest of the quietest frames."""
    low, high = max(earliest, first_frame), min(latest, first_frame + len(probabilities))
    if high <= low:
        return latest
    window = probabilities[low - first_frame : high - first_frame]
    quietest = len(window) - 1 - int(np.argmin(window[::-1]))
    return low + quietest
