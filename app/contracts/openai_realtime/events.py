"""The server events of OpenAI's Realtime protocol: our live session's events with OpenAI's item ids, and
errors in the shape of OpenAI's `error` event."""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import ValidationError

from app.contracts.openai.errors import INVALID_REQUEST, openai_error
from app.errors import ServiceError
from app.services.live import events as live_events

# Our request fields as a transcription session names them.
SESSION_FIELDS = {
    "model_params.model": "session.audio.input.transcription.model",
    "model_params.language": "session.audio.input.transcription.language",
    "asr_options.initial_prompt": "session.audio.input.transcription.prompt",
}


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
        details = error.details if isinstance(error.details, list) else []
        field = details[0].get("field") if details and isinstance(details[0], dict) else None
        return cls(error.message, row.code or error.code, SESSION_FIELDS.get(field or ""), row.type)

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

    def event(self, client_event_id: str | None = None) -> dict[str, Any]:
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


def session_event(kind: str, session: dict[str, Any]) -> dict[str, Any]:
    """`session.created` or `session.updated`, showing the whole session."""
    return {"type": kind, "event_id": identifier("event"), "session": session}


class ServerEvents:
    """Our live events as OpenAI's, each turn one conversation item with an id of its own."""

    def __init__(self) -> None:
        self._items: dict[int, str] = {}
        self._last_committed: str | None = None

    def item_id(self, turn: int) -> str:
        return self._items.setdefault(turn, identifier("item"))

    def shape(self, event: live_events.LiveEvent) -> list[dict[str, Any]]:
        item = self.item_id(event.turn)
        base = {"event_id": identifier("event"), "item_id": item}
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
        prefix = "conversation.item.input_audio_transcription"
        if isinstance(event, live_events.TurnDelta):
            return [{"type": f"{prefix}.delta", **base, "content_index": 0, "delta": event.text}]
        if isinstance(event, live_events.TurnCompleted):
            self._items.pop(event.turn, None)
            completed = {
                "type": f"{prefix}.completed",
                **base,
                "content_index": 0,
                "transcript": event.transcript,
                "usage": {"type": "duration", "seconds": round(event.seconds, 3)},
            }
            if event.logprobs is not None:
                completed["logprobs"] = event.logprobs
            done = {"type": "conversation.item.done", "event_id": identifier("event")}
            return [completed, done | {"item": _user_audio(item, event.transcript)}]
        assert isinstance(event, live_events.TurnFailed)
        self._items.pop(event.turn, None)
        error = RealtimeError.of(event.error)
        body = {"type": error.type, "code": error.code, "message": error.message, "param": error.param}
        return [{"type": f"{prefix}.failed", **base, "content_index": 0, "error": body}]


def _user_audio(item: str, transcript: str | None) -> dict[str, Any]:
    """A user's audio message item, as conversation events show it (without its audio)."""
    return {
        "id": item,
        "type": "message",
        "object": "realtime.item",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }
