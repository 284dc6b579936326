"""`/v1/realtime`: OpenAI's Realtime WebSocket, for transcription sessions.

The key is checked as on every route (`app.api.auth`: `Authorization: Bearer`, or the
`openai-insecure-api-key.<key>` subprotocol browsers offer), before the socket opens.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from app.contracts.openai.errors import OpenAIWebSocketRoute
from app.contracts.openai_realtime.connection import RealtimeConnection

SUBPROTOCOL = "realtime"
"""The subprotocol OpenAI's browser clients offer (beside the key), answered in kind."""


async def realtime(websocket: WebSocket, intent: str | None = None, model: str | None = None) -> None:
    """Live transcription in OpenAI's Realtime protocol: `session.update`, `input_audio_buffer.append`,
    `commit` and `clear` in; speech, commit, transcription delta and completion events out. `model` (the
    conversation model OpenAI's clients may name) is not used: a transcription session names its model in
    `session.audio.input.transcription.model`."""
    offered = websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    runtime = websocket.app.state.runtime
    await RealtimeConnection(websocket, runtime.settings, runtime.live_sessions).serve(intent)


# Its refusals before the socket opens (the key) are OpenAI's errors.
router = APIRouter(routes=[OpenAIWebSocketRoute("/v1/realtime", realtime)])
