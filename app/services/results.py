"""What each kind of task gives: the models' results (`app.ml.results`) with what the use cases add, the
backends used, stage timings and the audio's length. A task stores its result as JSON; each door shapes it."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from app.ml.results import Diarization, KnownSpeaker, Transcript, Turn


class RedactedAudio(TypedDict):
    """Where the audio with the redacted words bleeped can be fetched, and the spans bleeped (seconds)."""

    url: str
    media_type: str
    spans: list[list[float]]


class Transcribed(Transcript):
    """A transcription (with aligned words when they were asked for)."""

    backend: str
    vad: str
    audio_duration: NotRequired[float]
    redacted_audio: NotRequired[RedactedAudio]


class Aligned(Transcript):
    """A given transcript with its words aligned."""

    audio_duration: NotRequired[float]


class Diarized(Diarization):
    """Who spoke when, on its own."""

    audio_duration: NotRequired[float]


class DetectedLanguage(TypedDict):
    language: str
    language_probability: float
    backend: str
    audio_duration: NotRequired[float]


class Backends(TypedDict):
    transcription: str
    vad: str
    alignment: str
    diarization: str


class FullResult(Transcript):
    """Transcribed, aligned, diarized and combined: every segment and word with its speaker."""

    speakers: list[str]
    diarization: list[Turn]
    backends: Backends
    timings: dict[str, float]
    audio_duration: float
    speaker_embeddings: NotRequired[dict[str, list[float]]]
    known_speakers: NotRequired[dict[str, KnownSpeaker]]
    redacted_audio: NotRequired[RedactedAudio]


TaskResult = Transcribed | Aligned | Diarized | DetectedLanguage | FullResult | Transcript
"""A finished task's result, by its kind (a combination is a `Transcript` with speakers)."""
