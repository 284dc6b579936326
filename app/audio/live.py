"""Live audio as it arrives in pieces: 16-bit PCM or G.711 (µ-law, A-law) bytes, turned into 16 kHz mono float32
as each piece comes, by one resampler that keeps its state from piece to piece (no clicks where pieces meet)."""

from __future__ import annotations

from typing import Literal

import av
import numpy as np

from app.audio.decode import SAMPLE_RATE

Encoding = Literal["pcm16", "mulaw", "alaw"]
BYTES_PER_SAMPLE: dict[Encoding, int] = {"pcm16": 2, "mulaw": 1, "alaw": 1}


def _mulaw_table() -> np.ndarray:
    """G.711 µ-law: each byte's 16-bit linear value."""
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (code >> 4) & 0x07
    magnitude = ((((code & 0x0F) << 3) + 0x84) << exponent) - 0x84
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> np.ndarray:
    """G.711 A-law: each byte's 16-bit linear value."""
    code = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


G711_TABLES: dict[Encoding, np.ndarray] = {"mulaw": _mulaw_table(), "alaw": _alaw_table()}


class LiveAudioDecoder:
    """Bytes of one encoding and rate in, 16 kHz mono float32 out, piece by piece."""

    def __init__(self, encoding: Encoding, rate: int) -> None:
        self.encoding = encoding
        self.rate = rate
        self._carry = b""  # a sample split between two pieces
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def decode(self, data: bytes) -> np.ndarray:
        """The samples `data` completes (a sample cut in two waits for its other half)."""
        data = self._carry + data
        width = BYTES_PER_SAMPLE[self.encoding]
        usable = len(data) - len(data) % width
        self._carry = data[usable:]
        if not usable:
            return np.zeros(0, dtype=np.float32)
        if self.encoding == "pcm16":
            linear = np.frombuffer(data[:usable], dtype="<i2")
        else:
            linear = G711_TABLES[self.encoding][np.frombuffer(data[:usable], dtype=np.uint8)]
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(linear).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = self.rate
        pieces = [out.to_ndarray().reshape(-1) for out in self._resampler.resample(frame)]
        return np.concatenate(pieces).astype(np.float32, copy=False) if pieces else np.zeros(0, np.float32)
