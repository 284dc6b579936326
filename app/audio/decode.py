"""Decode audio and video containers to 16 kHz mono float32 with PyAV, within size and duration limits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile

from app.errors import ServiceError

SAMPLE_RATE = 16_000
MIN_SECONDS = 0.1
"""Shorter clips cannot hold speech (OpenAI refuses them too)."""


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray
    """16 kHz mono float32 in [-1, 1]."""
    channels: np.ndarray | None = None
    """Each channel on its own, `(channels, samples)`, when they were asked to be kept (`multichannel`)."""

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


# FFmpeg demuxers for audio and video containers. Anything else (playlists, concat lists, HLS, SDP, images,
# devices, text) cannot be opened: FFmpeg refuses a format off this list before reading its header.
DEMUXERS = (
    "wav", "w64", "flac", "mp3", "ogg", "mov", "matroska", "webm", "aac", "amr", "amrnb", "amrwb", "aiff",
    "caf", "mpegts", "asf", "avi", "au", "wv", "ape", "tta", "ac3", "eac3", "dts", "flv", "mpc", "mpc8",
    "gsm", "voc", "xwma", "dsf", "rm", "mpeg", "nut", "truehd", "mlp", "shn", "tak",
)  # fmt: skip
OPEN_OPTIONS = {
    "format_whitelist": ",".join(DEMUXERS),
    # Local files only: no demuxer may open a network stream.
    "protocol_whitelist": "file",
}


RESAMPLED_FRAME_SECONDS = 10
PLAIN_PCM_CODECS = frozenset({"pcm_s16le", "pcm_f32le"})
"""Codecs of a WAV already at 16 kHz mono that libsndfile reads straight into float32, to the same samples as
FFmpeg's decoder and resampler and several times faster (an hour: about 0.25 s against 0.9 s)."""


@contextmanager
def _first_audio_stream(
    path: Path, max_seconds: float
) -> Iterator[tuple[av.container.InputContainer, av.audio.AudioStream]]:
    """The container and its first audio stream, after refusing empty, non-audio and declared-too-long input."""
    if path.stat().st_size == 0:
        raise ServiceError("empty_audio", "The file is empty.")
    try:
        with av.open(str(path), metadata_errors="ignore", container_options=OPEN_OPTIONS) as container:
            if not container.streams.audio:
                raise ServiceError("not_audio", "The file has no audio stream.")
            stream = container.streams.audio[0]
            declared = _declared_seconds(container, stream)
            if declared is not None and declared > max_seconds:
                raise _too_long(max_seconds)
            yield container, stream
    except ServiceError:
        raise
    except (av.FFmpegError, ValueError, IndexError) as error:
        raise ServiceError("not_audio", "The file could not be decoded as audio.") from error


def probe_audio(path: Path, *, max_seconds: float) -> float | None:
    """Refuse what `decode_audio` would refuse from the container's header alone (without decoding): empty,
    not audio, or declared longer than `max_seconds`. Returns the declared duration, when there is one."""
    with _first_audio_stream(path, max_seconds) as (container, stream):
        return _declared_seconds(container, stream)


def decode_audio(path: Path, *, max_seconds: float, max_channels: int | None = None) -> Audio:
    """Decode the first audio stream of `path`, refusing empty, non-audio, too short and over-long input. With
    `max_channels`, each channel is kept too (`Audio.channels`), and a file of one channel or of more than
    `max_channels` is refused."""
    max_samples = int(max_seconds * SAMPLE_RATE)
    with _first_audio_stream(path, max_seconds) as (container, stream):
        declared = _declared_seconds(container, stream)
        count = 1 if max_channels is None else _channel_count(stream, max_channels)
        plain = _plain_pcm(path, max_samples) if count == 1 and _is_plain_pcm(container, stream) else None
        if plain is not None:
            if plain.size > max_samples:
                raise _too_long(max_seconds)
            return _checked(Audio(plain))
        collected = [_Collected(int((declared or 0) * SAMPLE_RATE) + SAMPLE_RATE) for _ in range(count)]
        # Output in frames of RESAMPLED_FRAME_SECONDS: a few hundred arrays an hour rather than one per packet,
        # which decodes an hour of WAV several times faster.
        resampler = av.AudioResampler(
            format="flt" if count == 1 else "fltp",
            layout="mono" if count == 1 else stream.layout.name,
            rate=SAMPLE_RATE,
            frame_size=RESAMPLED_FRAME_SECONDS * SAMPLE_RATE,
        )
        for frame in container.decode(stream):
            for resampled in resampler.resample(frame):
                _add(collected, resampled)
                if collected[0].size > max_samples:
                    raise _too_long(max_seconds)
        for resampled in resampler.resample(None):
            _add(collected, resampled)
    samples = collected[0].samples()
    if count == 1:
        return _checked(Audio(samples))
    channels = np.stack([piece.samples() for piece in collected])
    return _checked(Audio(channels.mean(axis=0), channels))


def _is_plain_pcm(container: av.container.InputContainer, stream: av.audio.AudioStream) -> bool:
    return (
        container.format.name == "wav"
        and stream.codec_context.name in PLAIN_PCM_CODECS
        and stream.sample_rate == SAMPLE_RATE
        and stream.channels == 1
    )


def _plain_pcm(path: Path, max_samples: int) -> np.ndarray | None:
    """Up to `max_samples` + 1 samples of a plain PCM WAV, by libsndfile; None where it cannot read the file (FFmpeg
    then decodes it)."""
    try:
        samples: np.ndarray = soundfile.read(path, dtype="float32", frames=max_samples + 1)[0]
    except soundfile.LibsndfileError:
        return None
    return samples


def _checked(audio: Audio) -> Audio:
    """`audio`, unless it holds no samples or too few to hold speech."""
    samples = audio.samples
    if samples.size == 0:
        raise ServiceError("empty_audio", "The file contains no audio samples.")
    if samples.size < MIN_SECONDS * SAMPLE_RATE:
        raise ServiceError(
            "audio_too_short",
            f"The audio is {samples.size / SAMPLE_RATE:.3f} s long; the least is {MIN_SECONDS} s.",
        )
    return audio


def _channel_count(stream: av.audio.AudioStream, max_channels: int) -> int:
    count = stream.channels
    if count < 2:
        raise ServiceError(
            "not_multichannel", "`multichannel` needs a file of two or more channels; this one has one."
        )
    if count > max_channels:
        raise ServiceError(
            "too_many_channels",
            f"The file has {count} channels; `multichannel` takes at most {max_channels}.",
        )
    return int(count)


def _add(collected: list[_Collected], frame: av.AudioFrame) -> None:
    planes: np.ndarray = frame.to_ndarray().reshape(len(collected), -1)
    for channel, plane in zip(collected, list(planes), strict=True):
        channel.add(plane)


class _Collected:
    """Decoded samples gathered into one array sized from the container's declared duration, so the audio is
    never held twice (pieces joined at the end); in pieces where the duration is unknown or understated."""

    def __init__(self, capacity: int) -> None:
        self._array = np.empty(capacity, np.float32)
        self._pieces: list[np.ndarray] = []
        self.size = 0

    def add(self, chunk: np.ndarray) -> None:
        if not self._pieces and self.size + len(chunk) <= len(self._array):
            self._array[self.size : self.size + len(chunk)] = chunk
        else:
            if not self._pieces:
                self._pieces.append(self._array[: self.size])
            self._pieces.append(chunk.astype(np.float32, copy=False))
        self.size += len(chunk)

    def samples(self) -> np.ndarray:
        return np.concatenate(self._pieces) if self._pieces else self._array[: self.size]


def _declared_seconds(container: av.container.InputContainer, stream: av.audio.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _too_long(max_seconds: float) -> ServiceError:
    return ServiceError("audio_too_long", f"The audio is longer than the limit of {max_seconds:.0f} seconds.")
