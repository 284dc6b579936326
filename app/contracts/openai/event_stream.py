"""A transcript streamed as OpenAI streams it: server-sent events, one `data:` line of JSON per event.

The answer starts only once there is an event to send, so a task that fails before its first segment answers
with its error's own status; an error later ends the stream with an error event. A client that leaves cancels
the task.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence

from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.contracts.openai.errors import openai_error_content
from app.contracts.openai.stream import TranscriptStream
from app.errors import ServiceError

POLL_SECONDS = 0.1
KEEP_ALIVE_SECONDS = 15.0
"""Silence after which a comment line is sent, so proxies keep an idle stream open."""


def sse(event: Mapping[str, object]) -> bytes:
    return f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


class TranscriptEventStream(StreamingResponse):
    """`text/event-stream` of a transcription task's events, read from the task as it runs."""

    def __init__(self, stream: TranscriptStream) -> None:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        super().__init__(iter(()), media_type="text/event-stream", headers=headers)
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        left = asyncio.Event()
        listener = asyncio.create_task(self._wait_for_disconnect(receive, left))
        started = False
        try:
            silent = 0.0
            while not left.is_set():
                try:
                    events: Sequence[Mapping[str, object]] = await asyncio.to_thread(self.stream.next_events)
                except ServiceError as error:
                    if not started:
                        raise  # nothing sent yet: the /v1 error handler answers with the error's status
                    events = [{"type": "error", **openai_error_content(error)[1]}]
                if events or (started and silent >= KEEP_ALIVE_SECONDS):
                    if not started:
                        await send(
                            {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
                        )
                        started = True
                    body = b"".join(sse(event) for event in events) or b": keep-alive\n\n"
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    silent = 0.0
                if self.stream.finished:
                    break
                try:
                    await asyncio.wait_for(left.wait(), POLL_SECONDS)
                except TimeoutError:
                    silent += POLL_SECONDS
            if started and not left.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the connection broke while sending
            left.set()
        finally:
            listener.cancel()
            if left.is_set() or not self.stream.finished:
                await asyncio.to_thread(self.stream.abandon)

    @staticmethod
    async def _wait_for_disconnect(receive: Receive, left: asyncio.Event) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        left.set()
