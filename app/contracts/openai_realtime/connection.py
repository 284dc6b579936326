"""One Realtime WebSocket connection: a transcription session's client events in, its server events out.

Everything the client sends is taken in order; audio is decoded and scored on a worker thread, so the event loop
never waits for it. Events go out through one queue, whichever thread finds them, in the order they happen. The
session ends when the client leaves (its decodes not started are dropped), when it has lasted
`REALTIME__MAX_SESSION_SECONDS`, or when the server stops.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import json
import logging
import time

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError
from starlette import status as ws_status

from app.config import Settings
from app.contracts.openai.errors import SERVER_ERROR
from app.contracts.openai_realtime.events import (
    RealtimeError,
    ServerEvent,
    ServerEvents,
    identifier,
    session_event,
)
from app.contracts.openai_realtime.schemas import (
    CLIENT_EVENTS,
    DEFAULT_SESSION,
    BufferAppend,
    BufferClear,
    BufferCommit,
    ClearedField,
    Session,
    SessionUpdate,
    input_encoding,
    live_config,
    updated_session,
)
from app.errors import ServiceError
from app.runtime import LiveSessions
from app.services.live.events import LiveEvent
from app.services.live.session import LiveSession

log = logging.getLogger(__name__)

SHORTEST_COMMIT_MS = 100
"""OpenAI refuses to commit less audio than this."""
TRY_AGAIN_LATER = 1013


class RealtimeConnection:
    """Serves one accepted WebSocket as a Realtime transcription session."""

    def __init__(self, websocket: WebSocket, settings: Settings, sessions: LiveSessions) -> None:
        self.websocket = websocket
        self.settings = settings
        self.sessions = sessions
        self.outbox: asyncio.Queue[ServerEvent | LiveEvent | None] = asyncio.Queue()
        self.shapes = ServerEvents()
        self.session: Session = copy.deepcopy(DEFAULT_SESSION)
        self.session["id"] = identifier("sess")
        self.session["object"] = "realtime.transcription_session"
        self.session["expires_at"] = int(time.time() + settings.realtime.max_session_seconds)
        self.live: LiveSession | None = None

    async def serve(self, intent: str | None) -> None:
        if intent not in (None, "transcription"):
            message = "Only transcription sessions are served here: connect with `intent=transcription`."
            await self._refuse(
                RealtimeError(message, "invalid_value", "intent"), ws_status.WS_1008_POLICY_VIOLATION
            )
            return
        try:
            self.sessions.claim(self.settings)
        except ServiceError as error:
            await self._refuse(RealtimeError.of(error), TRY_AGAIN_LATER)
            return
        try:
            await self._serve_claimed()
        finally:
            self.sessions.release()

    async def _refuse(self, error: RealtimeError, code: int) -> None:
        await self.websocket.send_json(error.event())
        await self.websocket.close(code=code, reason=error.message[:120])

    async def _serve_claimed(self) -> None:
        loop = asyncio.get_running_loop()

        def emit(event: LiveEvent) -> None:
            loop.call_soon_threadsafe(self.outbox.put_nowait, event)

        try:
            self.live = await asyncio.to_thread(LiveSession, self.settings, live_config(self.session), emit)
        except ServiceError as error:  # the model could not be loaded
            await self._refuse(RealtimeError.of(error), ws_status.WS_1011_INTERNAL_ERROR)
            return
        self.live.set_encoding(*input_encoding(self.session))
        sender = asyncio.create_task(self._send_events())
        self.outbox.put_nowait(session_event("session.created", self.session))
        try:
            async with asyncio.timeout(self.settings.realtime.max_session_seconds):
                await self._receive_events()
        except TimeoutError:
            seconds = self.settings.realtime.max_session_seconds
            limit = f"{seconds / 60:g} minutes" if seconds % 60 == 0 else f"{seconds:g} seconds"
            message = f"Your session hit the maximum duration of {limit}."
            self.outbox.put_nowait(RealtimeError(message, "session_expired").event())
        except WebSocketDisconnect:
            pass
        finally:
            self.live.close()
            self.outbox.put_nowait(None)
            try:
                await asyncio.wait_for(sender, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                sender.cancel()
        with contextlib.suppress(RuntimeError):  # the client may have closed it already
            await self.websocket.close()

    async def _send_events(self) -> None:
        """Send what the outbox holds, in order, until it holds None or the client has gone."""
        while (item := await self.outbox.get()) is not None:
            events = [item] if isinstance(item, dict) else self.shapes.shape(item)
            try:
                for event in events:
                    await self.websocket.send_text(json.dumps(event, ensure_ascii=False))
            except (WebSocketDisconnect, RuntimeError, OSError):
                return

    async def _receive_events(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            text = message.get("text")
            if text is None:
                self._error(RealtimeError("Events are JSON text frames, not binary ones.", "invalid_json"))
                continue
            await self._take(text)

    def _error(self, error: RealtimeError, event_id: str | None = None) -> None:
        self.outbox.put_nowait(error.event(event_id))

    async def _take(self, text: str) -> None:
        """Act on one client event; a bad one is answered with an `error` event and the session goes on."""
        try:
            raw = json.loads(text)
        except ValueError:
            self._error(RealtimeError("The event is not valid JSON.", "invalid_json"))
            return
        kind = raw.get("type") if isinstance(raw, dict) else None
        event_id = (
            raw.get("event_id") if isinstance(raw, dict) and isinstance(raw.get("event_id"), str) else None
        )
        if kind not in CLIENT_EVENTS:
            supported = ", ".join(f"'{name}'" for name in CLIENT_EVENTS)
            shown = str(kind)[:64]
            message = f"Invalid value: '{shown}'. Supported values are: {supported}."
            self._error(RealtimeError(message, "invalid_value", "type"), event_id)
            return
        try:
            event = CLIENT_EVENTS[kind].model_validate(raw)
            await self._act(event)
        except ValidationError as error:
            self._error(RealtimeError.invalid(error), event_id)
        except ServiceError as error:
            self._error(RealtimeError.of(error), event_id)
        except RealtimeError as error:
            self._error(error, event_id)
        except ClearedField as cleared:
            self._error(RealtimeError(str(cleared), "invalid_value", cleared.param), event_id)
        except Exception:
            log.exception("live session failed on a %s event", kind)
            failure = RealtimeError("The server failed on this event.", "internal_error", type=SERVER_ERROR)
            self._error(failure, event_id)

    def _append(self, encoded: str) -> None:
        assert self.live is not None
        try:
            audio = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            message = "Invalid 'audio'. Expected base64-encoded audio bytes."
            raise RealtimeError(message, "invalid_value", "audio") from None
        self.live.append(audio)

    async def _act(self, event: BaseModel) -> None:
        assert self.live is not None
        if isinstance(event, BufferAppend):
            await asyncio.to_thread(self._append, event.audio)
        elif isinstance(event, BufferCommit):
            buffered_ms = self.live.buffered_seconds * 1000
            if buffered_ms < SHORTEST_COMMIT_MS:
                message = (
                    "Error committing input audio buffer: buffer too small. Expected at least "
                    f"{SHORTEST_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio."
                )
                raise RealtimeError(message, "input_audio_buffer_commit_empty")
            await asyncio.to_thread(self.live.commit)
        elif isinstance(event, BufferClear):
            await asyncio.to_thread(self.live.clear)
            self.outbox.put_nowait({"type": "input_audio_buffer.cleared", "event_id": identifier("event")})
        elif isinstance(event, SessionUpdate):
            session = updated_session(self.session, event.session)
            await asyncio.to_thread(self.live.configure, live_config(session))
            self.live.set_encoding(*input_encoding(session))
            self.session = session
            self.outbox.put_nowait(session_event("session.updated", session))
