"""Which frames of a window are voiced, by an energy envelope: trims silence that DTW attributes to words.

The first word of a Whisper-aligned window always starts at the window's first frame, and pauses go to a
neighbouring word; the energy envelope gives such words back their real edges.
"""

from __future__ import annotations

import numpy as np
from whisperx.audio import HOP_LENGTH, SAMPLE_RATE

_ENERGY_FRAME = 2 * HOP_LENGTH
_ENERGY_FLOOR_RANGE_DB = 60.0
_MIN_DYNAMIC_RANGE_DB = 10.0
_VOICED_FRACTION = 0.2


def voiced_frames(window: np.ndarray) -> np.ndarray | None:
    """Which 10 ms frames of the window carry speech-level energy, or None when no silence stands out."""
    if len(window) < _ENERGY_FRAME:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(window, _ENERGY_FRAME)[::HOP_LENGTH]
    level = 10 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-12)
    loud = float(np.percentile(level, 95))
    quiet = max(float(np.percentile(level, 5)), loud - _ENERGY_FLOOR_RANGE_DB)
    if loud - quiet < _MIN_DYNAMIC_RANGE_DB:
        return None
    return np.asarray(level > quiet + _VOICED_FRACTION * (loud - quiet))


def trim_silence(voiced: np.ndarray | None, start: float, end: float) -> tuple[float, float]:
    """Shrink a word's span (seconds within its window) to its voiced frames, if it has any."""
    if voiced is None:
        return start, end
    frame_seconds = HOP_LENGTH / SAMPLE_RATE
    first = int(round(start / frame_seconds))
    last = min(int(round(end / frame_seconds)), len(voiced))
    inside = np.flatnonzero(voiced[first:last])
    if not inside.size:
        return start, end
    trimmed_start = max(start, float(first + inside[0]) * frame_seconds)
    trimmed_end = min(end, float(first + inside[-1]) * frame_seconds + _ENERGY_FRAME / SAMPLE_RATE)
    return trimmed_start, max(trimmed_start, trimmed_end)
