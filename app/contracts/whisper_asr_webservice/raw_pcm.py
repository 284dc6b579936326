"""Raw uploads (`encode=false`): 16 kHz mono signed 16-bit little-endian PCM, as Bazarr sends it after its own
FFmpeg step. The body is handed on as a WAV stream (the same samples behind a header), so it is decoded like any
upload; what cannot be such PCM is refused first."""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

from typing_extensions import Buffer

from app.errors import ServiceError

SAMPLE_RATE = 16_000
SAMPLE_BYTES = 2

NOT_AUDIO_SIGNATURES = {
    b"\x7fELF": "an ELF executable",
    b"\xcf\xfa\xed\xfe": "a Mach-O executable",
    b"\xca\xfe\xba\xbe": "a Mach-O executable",
    b"#!/": "a script",
    b"PK\x03\x04": "a ZIP archive",
    b"\x1f\x8b\x08": "a gzip archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
}
"""What a body starting this way is: a file, not 16-bit samples."""
TEXT_SNIFF_BYTES = 4096
_TEXT = frozenset(b"\t\n\r") | frozenset(range(0x20, 0x7F))


def check_raw_pcm(head: bytes, size: int) -> None:
    """Refuse a raw body that cannot be 16-bit PCM: empty, of odd length, or visibly some other file (`head`
    is its first bytes)."""
    if size == 0:
        raise ServiceError("empty_audio", "The file is empty.")
    if size % SAMPLE_BYTES:
        raise ServiceError(
            "not_audio",
            f"A raw upload (encode=false) is 16-bit PCM, so its length is even; this one is {size} bytes. "
            "Send encode=true to have the file decoded instead.",
        )
    kind = next((name for magic, name in NOT_AUDIO_SIGNATURES.items() if head.startswith(magic)), None)
    if head.startswith(b"MZ") and b"PE\0\0" in head:
        kind = "a Windows executable"
    elif kind is None and size >= 64 and set(head) <= _TEXT:
        kind = "text"
    if kind is not None:
        raise ServiceError(
            "not_audio", f"A raw upload (encode=false) must be 16 kHz 16-bit PCM; this one is {kind}."
        )


def wav_header(data_bytes: int) -> bytes:
    """The 44-byte RIFF header of 16 kHz mono 16-bit PCM holding `data_bytes` of samples."""
    byte_rate = SAMPLE_RATE * SAMPLE_BYTES
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + data_bytes, b"WAVE",
        b"fmt ", 16, 1, 1, SAMPLE_RATE, byte_rate, SAMPLE_BYTES, 8 * SAMPLE_BYTES,
        b"data", data_bytes,
    )  # fmt: skip


class _Prefixed(io.RawIOBase):
    """`prefix`, then the rest of `body`, read as one stream (the body is never held in memory)."""

    def __init__(self, prefix: bytes, body: BinaryIO) -> None:
        self._prefix = prefix
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer, /) -> int:
        view = memoryview(buffer)
        if self._prefix:
            count = min(len(view), len(self._prefix))
            view[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        chunk = self._body.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)


def as_wav(body: BinaryIO) -> BinaryIO:
    """The raw PCM `body` (positioned at its start) as a WAV stream, once `check_raw_pcm` accepts it."""
    body.seek(0, io.SEEK_END)
    size = body.tell()
    body.seek(0)
    check_raw_pcm(body.read(TEXT_SNIFF_BYTES), size)
    body.seek(0)
    return io.BufferedReader(_Prefixed(wav_header(size), body), buffer_size=1 << 20)
