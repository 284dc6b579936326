"""ASGI middleware: a request id on every request and response, and a cap on request body size."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_content
from app.errors import ServiceError
from app.observability import metrics

log = logging.getLogger("app.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SLASHES = re.compile(r"/{2,}")

# The most one text field may hold (the body limit still holds the whole): four known speakers' reference
# clips of 10 s as base64 WAV (48 kHz stereo, 16-bit) come to about 10 MiB. A voice's clip sent as form text
# is held to it too.
FORM_FIELD_MAX_BYTES = 16 * 2**20


class RequestIdMiddleware:
    """Tags each request with `X-Request-ID` (the client's, if sane), logs one line per request and counts it
    by route template (never the raw path, so identifiers do not multiply the series)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        # A new id is a UUID in its hyphenated form, as clients (and whisperX-FastAPI's `correlation_id`) expect.
        request_id = given if _SAFE_ID.match(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics.observe_request(scope["method"], route, status)
            log.info(
                "%s %s %d %.0f ms request_id=%s",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                request_id,
            )


class CollapsedSlashesMiddleware:
    """Serves `//asr` as `/asr`: clients that join a base URL ending in `/` with a path starting with one send
    doubled slashes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "//" in scope["path"]:
            path = _SLASHES.sub("/", scope["path"])
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes` with 413, whether declared by Content-Length or streamed chunked."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _send_too_large(send, self.max_bytes, scope)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _too_large(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


def _too_large(max_bytes: int) -> ServiceError:
    return ServiceError(
        "too_large", f"The request body is larger than the limit of {max_bytes // 2**20} MiB."
    )


async def _send_too_large(send: Send, max_bytes: int, scope: Scope) -> None:
    import json

    # Refused before routing: the shape is that of the route the request was for.
    status, content, extra = error_content(_too_large(max_bytes), scope)
    body = json.dumps(content).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in extra.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
