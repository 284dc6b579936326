"""The shapes of what the models produce, from decoding to speakers: whisperx's dicts, typed.

Every layer above passes these along (the use cases, the task store, each contract's mapping), so a key read
anywhere is a key declared here. They stay dicts at run time: whisperx makes and takes them, and they are JSON
as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NotRequired

# pydantic validates these where a model holds them (a running task's captions), which needs this TypedDict
# before Python 3.12.
from typing_extensions import TypedDict

if TYPE_CHECKING:
    from app.ml.whisper_aligner import DecodedWords

# The decoder's figures for a segment, as faster-whisper names them.
CONFIDENCE_FIELDS: Final = ("avg_logprob", "no_speech_prob", "compression_ratio", "temperature")


class TokenLogprob(TypedDict):
    """A decoded token with its log-probability and its UTF-8 bytes (OpenAI's `logprobs` item)."""

    token: str
    logprob: float
    bytes: list[int]


class Word(TypedDict):
    """A word with its timing once aligned (a word the aligner could not place has none), its confidence and
    its speaker once assigned."""

    word: str
    start: NotRequired[float]
    end: NotRequired[float]
    score: NotRequired[float]
    probability: NotRequired[float]
    speaker: NotRequired[str]
    channel: NotRequired[int]


class Char(TypedDict):
    char: str
    start: NotRequired[float]
    end: NotRequired[float]
    score: NotRequired[float]


class Caption(TypedDict):
    """What a segment says and when: all a progress report or a live caption carries."""

    start: float
    end: float
    text: str


class Segment(Caption):
    """A transcript segment: decoded, then aligned (words), then given a speaker."""

    id: NotRequired[int]
    words: NotRequired[list[Word]]
    chars: NotRequired[list[Char]]
    speaker: NotRequired[str]
    channel: NotRequired[int]
    """The channel of a `multichannel` file it was heard on."""
    tokens: NotRequired[list[int]]
    logprobs: NotRequired[list[TokenLogprob]]
    avg_logprob: NotRequired[float]
    no_speech_prob: NotRequired[float]
    compression_ratio: NotRequired[float]
    temperature: NotRequired[float]


class Transcript(TypedDict):
    """Transcription's result, and alignment's and speaker assignment's after it (`word_segments`, `aligner`)."""

    segments: list[Segment]
    language: NotRequired[str]
    """Always there once transcribed; a transcript given to align or combine may leave it out."""
    word_segments: NotRequired[list[Word]]
    aligner: NotRequired[str]


@dataclass(frozen=True)
class Decoding:
    """Transcription's result, and the word alignments its decoding made (`app.ml.whisper_aligner`) by each
    chunk's start, for alignment to reuse: in-process only, never part of a result."""

    transcript: Transcript
    decoded_words: dict[float, DecodedWords] | None = None


class Turn(TypedDict):
    """A stretch of one speaker's speech."""

    start: float
    end: float
    speaker: str


class KnownSpeaker(TypedDict):
    """Who a looked-for voice matched: the diarizer's label it named (None: nobody) and how alike they are
    (else the best it reached with anyone; None when there was no speaker)."""

    speaker: str | None
    similarity: float | None


class Diarization(TypedDict):
    """Who spoke when, each speaker's voice embedding by the speaker's label, and who the looked-for voices
    matched."""

    segments: list[Turn]
    backend: str
    speaker_embeddings: NotRequired[dict[str, list[float]]]
    known_speakers: NotRequired[dict[str, KnownSpeaker]]
