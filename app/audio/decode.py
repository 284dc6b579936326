"""Decode any audio or video container to 16 kHz mono float32 with PyAV, within size and duration limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from app.errors import ServiceError

SAMPLE_RATE = 16_000
MIN_SECONDS = 0.1
"""Shorter clips cannot hold speech (OpenAI refuses them too)."""


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray
    """16 kHz mono float32 in [-1, 1]."""

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def decode_audio(path: Path, *, max_seconds: float) -> Audio:
    """Decode the first audio stream of `path`, refusing empty, non-audio, too short and over-long input."""
    if path.stat().st_size == 0:
        raise ServiceError("empty_audio", "The file is empty.")
    max_samples = int(max_seconds * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    decoded = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise ServiceError("not_audio", "The file has no audio stream.")
            stream = container.streams.audio[0]
            declared = _declared_seconds(container, stream)
            if declared is not None and declared > max_seconds:
                raise _too_long(max_seconds)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for resampled in resampler.resample(frame):
                    chunk = resampled.to_ndarray().reshape(-1)
                    decoded += len(chunk)
                    if decoded > max_samples:
                        raise _too_long(max_seconds)
                    chunks.append(chunk)
            for resampled in resampler.resample(None):
                chunks.append(resampled.to_ndarray().reshape(-1))
    except ServiceError:
        raise
    except (av.FFmpegError, ValueError, IndexError) as error:
        raise ServiceError("not_audio", "The file could not be decoded as audio.") from error
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise ServiceError("empty_audio", "The file contains no audio samples.")
    if samples.size < MIN_SECONDS * SAMPLE_RATE:
        raise ServiceError(
            "audio_too_short",
            f"The audio is {samples.size / SAMPLE_RATE:.3f} s long; the least is {MIN_SECONDS} s.",
        )
    return Audio(samples)


def _declared_seconds(container: av.container.InputContainer, stream: av.audio.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _too_long(max_seconds: float) -> ServiceError:
    return ServiceError("audio_too_long", f"The audio is longer than the limit of {max_seconds:.0f} seconds.")
