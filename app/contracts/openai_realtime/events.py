"""The server events of OpenAI's Realtime protocol: our live session's events with OpenAI's item ids, and
errors in the shape of OpenAI's `error` event."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Literal, NotRequired, TypedDict

from pydantic import ValidationError

from app.contracts.openai.errors import INVALID_REQUEST, openai_error
from app.contracts.openai_realtime.schemas import Session
from app.errors import ServiceError
from app.ml.results import TokenLogprob
from app.services.live import events as live_events

# Our request fields as a transcription session names them.
SESSION_FIELDS = {
    "model_params.model": "session.audio.input.transcription.model",
    "model_params.language": "session.audio.input.transcription.language",
    "asr_options.initial_prompt": "session.audio.input.transcription.prompt",
}


class Failure(TypedDict):
    type: str
    code: str | None
    message: str
    param: str | None


class EventFailure(Failure):
    event_id: str | None
    """The client event that failed."""


class ErrorEvent(TypedDict):
    type: Literal["error"]
    event_id: str
    error: EventFailure


class SessionEvent(TypedDict):
    type: Literal["session.created", "session.updated"]
    event_id: str
    session: Session


class BufferCleared(TypedDict):
    type: Literal["input_audio_buffer.cleared"]
    event_id: str


class AudioContent(TypedDict):
    type: Literal["input_audio"]
    transcript: str | None


class UserAudio(TypedDict):
    """A user's audio message item, as conversation events show it (without its audio)."""

    id: str
    type: Literal["message"]
    object: Literal["realtime.item"]
    status: Literal["completed"]
    role: Literal["user"]
    content: list[AudioContent]


class ItemEvent(TypedDict):
    """An event about one item (a turn): what each carries besides its type."""

    event_id: str
    item_id: str


class SpeechStarted(ItemEvent):
    type: Literal["input_audio_buffer.speech_started"]
    audio_start_ms: int


class SpeechStopped(ItemEvent):
    type: Literal["input_audio_buffer.speech_stopped"]
    audio_end_ms: int


class BufferCommitted(ItemEvent):
    type: Literal["input_audio_buffer.committed"]
    previous_item_id: str | None


class ItemAdded(TypedDict):
    type: Literal["conversation.item.added"]
    event_id: str
    previous_item_id: str | None
    item: UserAudio


class ItemDone(TypedDict):
    type: Literal["conversation.item.done"]
    event_id: str
    item: UserAudio


class TranscriptionDelta(ItemEvent):
    type: Literal["conversation.item.input_audio_transcription.delta"]
    content_index: int
    delta: str


class Usage(TypedDict):
    type: Literal["duration"]
    seconds: float


class TranscriptionCompleted(ItemEvent):
    type: Literal["conversation.item.input_audio_transcription.completed"]
    content_index: int
    transcript: str
    usage: Usage
    logprobs: NotRequired[list[TokenLogprob]]


class TranscriptionFailed(ItemEvent):
    type: Literal["conversation.item.input_audio_transcription.failed"]
    content_index: int
    error: Failure


ServerEvent = (
    ErrorEvent
    | SessionEvent
    | BufferCleared
    | SpeechStarted
    | SpeechStopped
    | BufferCommitted
    | ItemAdded
    | ItemDone
    | TranscriptionDelta
    | TranscriptionCompleted
    | TranscriptionFailed
)
"""What the server sends, as OpenAI's `openai.types.realtime` types it."""


def identifier(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class RealtimeError(Exception):
    """An error as OpenAI's `error` event carries it."""

    def __init__(
        self, message: str, code: str | None = None, param: str | None = None, type: str = INVALID_REQUEST
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.param, self.type = message, code, param, type

    @classmethod
    def of(cls, error: ServiceError) -> RealtimeError:
        """One of our errors, with OpenAI's type and, where it has one, its code."""
        row = openai_error(error.code)
        details = error.details
        field = details[0].get("field", "") if details and not isinstance(details, Mapping) else ""
        return cls(error.message, row.code or error.code, SESSION_FIELDS.get(field), row.type)

    @classmethod
    def invalid(cls, error: ValidationError) -> RealtimeError:
        """A client event that does not validate, worded as OpenAI words it (never echoing the value)."""
        first = error.errors(include_url=False, include_input=False, include_context=False)[0]
        param = ".".join(
            str(part) for part in first["loc"] if not str(part).startswith(("function-", "tagged"))
        )
        if first["type"] == "extra_forbidden":
            return cls(f"Unknown parameter: '{param}'.", "unknown_parameter", param)
        if first["type"] == "missing":
            return cls(f"Missing required parameter: '{param}'.", "missing_required_parameter", param)
        return cls(f"Invalid value for '{param}': {first['msg']}.", "invalid_value", param)

    def event(self, client_event_id: str | None = None) -> ErrorEvent:
        return {
            "type": "error",
            "event_id": identifier("event"),
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
                "event_id": client_event_id,
            },
        }


def session_event(kind: Literal["session.created", "session.updated"], session: Session) -> SessionEvent:
    """`session.created` or `session.updated`, showing the whole session."""
    return {"type": kind, "event_id": identifier("event"), "session": session}


class ServerEvents:
    """Our live events as OpenAI's, each turn one conversation item with an id of its own."""

    def __init__(self) -> None:
        self._items: dict[int, str] = {}
        self._last_committed: str | None = None

    def item_id(self, turn: int) -> str:
        return self._items.setdefault(turn, identifier("item"))

    def shape(self, event: live_events.LiveEvent) -> list[ServerEvent]:
        item = self.item_id(event.turn)
        base: ItemEvent = {"event_id": identifier("event"), "item_id": item}
        if isinstance(event, live_events.SpeechStarted):
            return [
                {"type": "input_audio_buffer.speech_started", **base, "audio_start_ms": event.audio_start_ms}
            ]
        if isinstance(event, live_events.SpeechStopped):
            return [{"type": "input_audio_buffer.speech_stopped", **base, "audio_end_ms": event.audio_end_ms}]
        if isinstance(event, live_events.TurnCommitted):
            previous, self._last_committed = self._last_committed, item
            return [
                {"type": "input_audio_buffer.committed", **base, "previous_item_id": previous},
                {
                    "type": "conversation.item.added",
                    "event_id": identifier("event"),
                    "previous_item_id": previous,
                    "item": _user_audio(item, None),
                },
            ]
        if isinstance(event, live_events.TurnDelta):
            delta: TranscriptionDelta = {
                "type": "conversation.item.input_audio_transcription.delta",
                **base,
                "content_index": 0,
                "delta": event.text,
            }
            return [delta]
        if isinstance(event, live_events.TurnCompleted):
            self._items.pop(event.turn, None)
            completed: TranscriptionCompleted = {
                "type": "conversation.item.input_audio_transcription.completed",
                "event_id": base["event_id"],
                "item_id": base["item_id"],
                "content_index": 0,
                "transcript": event.transcript,
                "usage": {"type": "duration", "seconds": round(event.seconds, 3)},
            }
            if event.logprobs is not None:
                completed["logprobs"] = event.logprobs
            done: ItemDone = {
                "type": "conversation.item.done",
                "event_id": identifier("event"),
                "item": _user_audio(item, event.transcript),
            }
            return [completed, done]
        assert isinstance(event, live_events.TurnFailed)
        self._items.pop(event.turn, None)
        error = RealtimeError.of(event.error)
        body: Failure = {
            "type": error.type,
            "code": error.code,
            "message": error.message,
            "param": error.param,
        }
        failed: TranscriptionFailed = {
            "type": "conversation.item.input_audio_transcription.failed",
            **base,
            "content_index": 0,
            "error": body,
        }
        return [failed]


def _user_audio(item: str, transcript: str | None) -> UserAudio:
    """A user's audio message item, as conversation events show it (without its audio)."""
    return {
        "id": item,
        "type": "message",
        "object": "realtime.item",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }
