"""What a live session reports, in the order it happens; each protocol shapes them its own way. Turns are
numbered from 1 in the order they began; times are milliseconds of the session's audio."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import ServiceError
from app.ml.results import TokenLogprob


@dataclass(frozen=True)
class SpeechStarted:
    turn: int
    audio_start_ms: int
    """Where the turn's audio begins: the speech, less the prefix padding."""


@dataclass(frozen=True)
class SpeechStopped:
    turn: int
    audio_end_ms: int
    """Where the turn's audio ends: the speech, and the silence that ended it."""


@dataclass(frozen=True)
class TurnCommitted:
    turn: int


@dataclass(frozen=True)
class TurnDelta:
    turn: int
    text: str
    """More of the turn's text: the deltas add up to the completed transcript."""


@dataclass(frozen=True)
class TurnCompleted:
    turn: int
    transcript: str
    seconds: float
    """The turn's audio."""
    logprobs: list[TokenLogprob] | None = None


@dataclass(frozen=True)
class TurnFailed:
    turn: int
    error: ServiceError


LiveEvent = SpeechStarted | SpeechStopped | TurnCommitted | TurnDelta | TurnCompleted | TurnFailed
