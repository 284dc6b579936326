"""Live audio in pieces: G.711 as the standard decodes it, and pieces cut anywhere decoding as the whole."""

from __future__ import annotations

import numpy as np
import pytest

from app.audio.live import G711_TABLES, LiveAudioDecoder


def test_g711_codes_decode_to_the_standards_values() -> None:
    mulaw, alaw = G711_TABLES["mulaw"], G711_TABLES["alaw"]
    assert (mulaw[0xFF], mulaw[0x7F], mulaw[0x00], mulaw[0x80]) == (0, 0, -32124, 32124)
    assert (alaw[0xD5], alaw[0x55], alaw[0x2A], alaw[0xAA]) == (8, -8, -32256, 32256)
    for table in (mulaw, alaw):  # each half is monotonic: one sign, growing magnitude
        assert len(set(table.tolist())) >= 255


@pytest.mark.parametrize(
    ("encoding", "rate", "width"), [("pcm16", 24_000, 2), ("mulaw", 8_000, 1), ("alaw", 8_000, 1)]
)
def test_pieces_cut_anywhere_decode_as_the_whole(encoding: str, rate: int, width: int) -> None:
    seconds = 2
    tone = np.sin(2 * np.pi * 440 * np.arange(seconds * rate) / rate) * 0.5
    if encoding == "pcm16":
        data = (tone * 32767).astype("<i2").tobytes()
    else:
        table = G711_TABLES[encoding].astype(np.float64)
        data = (
            np.abs(table[np.newaxis, :] - tone[:, np.newaxis] * 32767)
            .argmin(axis=1)
            .astype(np.uint8)
            .tobytes()
        )
    whole = LiveAudioDecoder(encoding, rate).decode(data)  # type: ignore[arg-type]
    decoder = LiveAudioDecoder(encoding, rate)  # type: ignore[arg-type]
    cut = np.concatenate([decoder.decode(data[start : start + 333]) for start in range(0, len(data), 333)])
    assert whole.dtype == np.float32 and abs(len(whole) - seconds * 16_000) < 64
    assert len(cut) == len(whole)
    assert np.abs(cut - whole).max() < 1e-4
    # Still a 440 Hz tone at 16 kHz, at its level.
    spectrum = np.abs(np.fft.rfft(whole[:16_000]))
    assert abs(np.argmax(spectrum) - 440) <= 1
    assert 0.45 < np.abs(whole[1000:-1000]).max() < 0.55
