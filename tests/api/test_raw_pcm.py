"""Raw PCM uploads (whisper-asr-webservice's `encode=false`): what is refused, and the WAV stream the rest is
handed on as."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.audio.decode import decode_audio
from app.contracts.whisper_asr_webservice.raw_pcm import as_wav, check_raw_pcm
from app.errors import ServiceError


def test_raw_pcm_decodes_to_the_same_samples(tmp_path: Path) -> None:
    samples = (np.sin(np.arange(16_000 * 3) / 10) * 12_000).astype("<i2")
    path = tmp_path / "upload"
    path.write_bytes(as_wav(io.BytesIO(samples.tobytes())).read())
    read, rate = sf.read(path, dtype="int16")
    assert rate == 16_000 and np.array_equal(read, samples)
    decoded = decode_audio(path, max_seconds=60).samples
    assert len(decoded) == len(samples)
    assert np.allclose(decoded, samples / 32768, atol=1e-4)


def test_the_stream_is_read_in_pieces_without_holding_the_body() -> None:
    body = io.BytesIO(b"\x01\x00" * 100_000)
    stream = as_wav(body)
    pieces = iter(lambda: stream.read(4096), b"")
    assert sum(len(piece) for piece in pieces) == 44 + 200_000


@pytest.mark.parametrize(
    ("head", "size", "code", "says"),
    [
        (b"", 0, "empty_audio", "empty"),
        (b"\x00\x00\x01", 3, "not_audio", "even"),
        (b"\x7fELF\x02\x01\x01" + bytes(100), 10_000, "not_audio", "ELF executable"),
        (b"MZ\x90\x00" + bytes(60) + b"PE\0\0" + bytes(100), 10_000, "not_audio", "Windows executable"),
        (b"PK\x03\x04" + bytes(100), 10_000, "not_audio", "ZIP archive"),
        (b"%PDF-1.7\n" + bytes(100), 10_000, "not_audio", "PDF"),
        (b"<!doctype html><html><body>" + b"hello world " * 50, 10_000, "not_audio", "text"),
    ],
)
def test_what_cannot_be_pcm_is_refused(head: bytes, size: int, code: str, says: str) -> None:
    with pytest.raises(ServiceError) as refused:
        check_raw_pcm(head, size)
    assert refused.value.code == code
    assert says in refused.value.message


def test_pcm_that_happens_to_start_like_a_signature_is_kept() -> None:
    # "MZ" is the sample 23117; without a PE header after it, it is audio.
    check_raw_pcm(b"MZ" + bytes(4094), 100_000)
    check_raw_pcm(bytes(4096), 100_000)  # silence
