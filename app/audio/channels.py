"""One person per channel: each channel's own speech, without what leaked into it from the others.

A call recorded one party per channel still carries each voice faintly on the other channels (echo, crosstalk
on the line, a headset heard by the other microphone). Transcribed as it is, that speech would come out twice,
once on the wrong channel. Where another channel is much louder at the same moment, what this channel holds is
that other voice: it is silenced here, before the VAD, so it is neither decoded twice nor given to the wrong
person. Two people speaking at once stay on both channels, each louder on its own.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d

SAMPLE_RATE = 16_000
FRAME = 320
"""20 ms frames: the level is measured per frame."""
BLEED_DB = 12.0
"""Another channel at least this much louder means this channel holds its echo, not its own speaker (a leak is
typically 20 to 40 dB down; two people talking at once differ by far less on each one's own channel)."""
HOLD_FRAMES = 10
"""Levels are the loudest within ±200 ms, so a word's quiet edges follow its loud middle."""
FLOOR_DB = -60.0


def own_speech(channels: np.ndarray, index: int) -> np.ndarray:
    """Channel `index` of `channels` (`(channels, samples)`), silent wherever another channel is `BLEED_DB`
    louder."""
    levels = _levels(channels)
    others = np.delete(levels, index, axis=0).max(axis=0)
    leaked = others - levels[index] >= BLEED_DB
    keep = np.repeat(~leaked, FRAME)[: channels.shape[1]]
    own: np.ndarray = channels[index].copy()
    own[: keep.size][~keep] = 0.0
    return own


def _levels(channels: np.ndarray) -> np.ndarray:
    """Each channel's level per frame in dB, held at its loudest over the frames around it."""
    frames = -(-channels.shape[1] // FRAME)
    padded = np.zeros((channels.shape[0], frames * FRAME), np.float32)
    padded[:, : channels.shape[1]] = channels
    power = np.square(padded.reshape(channels.shape[0], frames, FRAME)).mean(axis=2)
    decibels = 10 * np.log10(np.maximum(power, 10 ** (FLOOR_DB / 10)))
    held: np.ndarray = maximum_filter1d(decibels, size=2 * HOLD_FRAMES + 1, axis=1)
    return held
