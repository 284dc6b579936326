"""Audio with spans bleeped out: what a redacted transcript leaves out, silenced in the sound too."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16_000
BLEEP_HZ = 1_000.0
BLEEP_LEVEL = 0.25
"""The tone's amplitude (-12 dBFS): plainly a bleep, never louder than speech."""


def bleeped(samples: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    """`samples` (16 kHz mono) with every `(start, end)` span, in seconds, replaced by a 1 kHz tone."""
    out = samples.astype(np.float32, copy=True)
    for start, end in spans:
        first, last = max(0, int(start * SAMPLE_RATE)), min(len(out), int(np.ceil(end * SAMPLE_RATE)))
        if last > first:
            time = np.arange(last - first) / SAMPLE_RATE
            out[first:last] = BLEEP_LEVEL * np.sin(2 * np.pi * BLEEP_HZ * time)
    return out


def flac(samples: np.ndarray) -> bytes:
    """16 kHz mono samples as a FLAC file."""
    out = io.BytesIO()
    sf.write(out, samples, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return out.getvalue()
