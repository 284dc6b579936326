"""OpenAI's answers, typed as its API reference and its Python SDK's types give them (the tests check each
against the SDK's models)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from app.contracts.faster_whisper_segments import FasterWhisperSegment
from app.ml.results import TokenLogprob


class Usage(TypedDict):
    """A transcription's billed length: the audio's whole seconds."""

    type: Literal["duration"]
    seconds: int


class Transcription(TypedDict):
    """`json`: the text, with the tokens' log-probabilities when asked for."""

    text: str
    logprobs: NotRequired[list[TokenLogprob]]
    usage: NotRequired[Usage]


class TranscriptionWord(TypedDict):
    word: str
    start: float
    end: float


class VerboseTranscription(TypedDict):
    """`verbose_json`: language, duration, faster-whisper's segments and, when asked for, the words."""

    task: str
    language: str | None
    duration: float
    text: str
    segments: list[FasterWhisperSegment]
    words: NotRequired[list[TranscriptionWord]]
    usage: NotRequired[Usage]


class DiarizedSegment(TypedDict):
    type: Literal["transcript.text.segment"]
    id: str
    start: float
    end: float
    text: str
    speaker: str


class DiarizedTranscription(TypedDict):
    """`diarized_json`: segments with speakers, lettered or named."""

    task: str
    duration: float
    text: str
    segments: list[DiarizedSegment]
    usage: NotRequired[Usage]


Answer = Transcription | VerboseTranscription | DiarizedTranscription | str
"""An answer in one of OpenAI's response formats (text, SRT and VTT are strings)."""


class ModelCard(TypedDict):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class TextDelta(TypedDict):
    """A streamed transcription's `transcript.text.delta`."""

    type: Literal["transcript.text.delta"]
    delta: str


class TextDone(TypedDict):
    """A streamed transcription's `transcript.text.done`."""

    type: Literal["transcript.text.done"]
    text: str
    logprobs: NotRequired[list[TokenLogprob]]
    usage: NotRequired[Usage]
