"""One mapping from errors to HTTP responses. The route that answers decides the shape: a contract's routes carry
their contract's `ErrorShape` (their router's `route_class`, a `ShapedRoute`); every other answer is ours,
`{"error": {"code", "message"}}` with the code's status."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import ClassVar, Protocol, cast

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette import status as status_codes
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from app.api.auth import authenticate
from app.errors import HTTP_STATUS, ServiceError, invalid_input
from app.schemas import ErrorEnvelope

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}

# Documented on every route, so the OpenAPI schema describes each error a client can get.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorEnvelope, "description": 'Error: `{"error": {"code", "message"}}`'}
    for status in sorted({*HTTP_STATUS.values(), 404, 405, 413})
}

ErrorContent = tuple[int, Mapping[str, object], Mapping[str, str]]
"""An error's answer: its status, JSON body and headers."""


class ErrorShape(Protocol):
    """How a contract answers an error on its routes."""

    def content(self, error: ServiceError, request_id: str | None) -> ErrorContent:
        """Status, body and headers of `error` (`request_id`: the request's `X-Request-ID`, where it has one)."""
        ...


class ServiceErrorShape:
    """Ours: `{"error": {"code", "message"}}` (and `details`) with the code's status."""

    def content(self, error: ServiceError, request_id: str | None) -> ErrorContent:
        return error.http_status, {"error": error.to_dict()}, {}


SERVICE_ERRORS = ServiceErrorShape()


class ShapedRoute(APIRoute):
    """A route whose errors take its contract's shape: the contract's router names a subclass setting
    `error_shape` as its `route_class`."""

    error_shape: ClassVar[ErrorShape]


class ShapedWebSocketRoute(APIWebSocketRoute):
    """A WebSocket route whose refusals take its contract's shape (FastAPI has no `route_class` for WebSockets:
    the contract's router lists an instance of a subclass in its `routes`)."""

    error_shape: ClassVar[ErrorShape]


def _matched_route(scope: Scope) -> BaseRoute | None:
    """The route the app's router matches to `scope`, as declared: the first that matches it fully, else the
    first that matches its path. FastAPI serves a WebSocket of an included router through a copy of its route,
    and a middleware refuses before routing, so neither finds its route in `scope["route"]`."""
    if "app" not in scope:
        return None
    partial: BaseRoute | None = None
    # An included router matches as a whole and says nothing of the route it matched: its routes are matched
    # one by one, each with its router's prefix.
    for context in iter_route_contexts(scope["app"].routes):
        match, _ = context.matches(scope)
        if match == Match.FULL:
            return context.original_route
        if match == Match.PARTIAL and partial is None:
            partial = context.original_route
    return partial


def error_shape(scope: Scope) -> ErrorShape:
    """The shape of an error answered to `scope`: its route's contract's, else ours."""
    route = scope.get("route")
    if route is None or scope["type"] == "websocket":
        route = _matched_route(scope)
    if isinstance(route, (ShapedRoute, ShapedWebSocketRoute)):
        return route.error_shape
    return SERVICE_ERRORS


def error_content(error: ServiceError, scope: Scope) -> ErrorContent:
    """Status, body and headers of `error` answered to `scope`, in the shape of the route that answers it."""
    request_id = scope.get("state", {}).get("request_id")
    status, body, shaped_headers = error_shape(scope).content(error, request_id)
    headers = dict(shaped_headers)
    if error.code == "queue_full":  # a contract's own wait (OpenAI's) stands
        wait = error.details.get("retry_after", 30) if isinstance(error.details, Mapping) else 30
        headers.setdefault("Retry-After", str(wait))
    if error.code == "unauthorized":
        headers["WWW-Authenticate"] = "Bearer"
    return status, body, headers


def error_response(
    error: ServiceError, request: Request, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    status, body, own_headers = error_content(error, request.scope)
    return JSONResponse(body, status_code=status, headers={**own_headers, **(headers or {})})


def _allowed_methods(scope: Scope) -> set[str]:
    """RFC 9110's `Allow`: the methods served at the path's own template, the most specific one it fits (the
    fewest parameters: `/voices/identify` is that path's, though it also fits `/voices/{voice_id}`)."""
    contexts = list(iter_route_contexts(scope["app"].routes))
    fitting = [c.path_format for c in contexts if c.path_format and c.matches(scope)[0] != Match.NONE]
    template = min(fitting, key=lambda path: path.count("{"), default=None)
    methods: set[str] = set()
    for context in contexts:
        if template is not None and context.path_format == template:
            methods |= getattr(context.original_route, "methods", None) or set()
    return methods


async def refuse_websocket(websocket: WebSocket, error: ServiceError) -> None:
    """Refuse a WebSocket before it opens: the error's status and body as the handshake's answer, where the
    server can send one; else the socket is closed as a policy violation."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        status, body, headers = error_content(error, websocket.scope)
        await websocket.send_denial_response(JSONResponse(body, status_code=status, headers=headers))
    else:
        await websocket.close(code=status_codes.WS_1008_POLICY_VIOLATION, reason=error.message[:120])


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse | None:
        if request.scope["type"] == "websocket":  # a WebSocket's dependencies refused it (its key)
            await refuse_websocket(cast(WebSocket, request), exc)
            return None
        return error_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A body that is not even JSON is refused before the key is checked; without a key, say that instead.
        try:
            authenticate(request)
        except ServiceError as refused:
            return error_response(refused, request)
        return error_response(invalid_input(exc.errors()), request)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, ServiceError):  # e.g. the body limit, hit while FastAPI parsed a form
            return error_response(exc.__cause__, request)
        headers = exc.headers
        if exc.status_code == 405:
            headers = {"Allow": ", ".join(sorted(_allowed_methods(request.scope)))}
        code = _HTTP_CODES.get(
            exc.status_code, "invalid_input" if exc.status_code < 500 else "internal_error"
        )
        message = exc.detail if isinstance(exc.detail, str) else "The request was refused."
        if error_shape(request.scope) is SERVICE_ERRORS:  # ours keeps the status Starlette chose
            return JSONResponse(
                {"error": {"code": code, "message": message}}, status_code=exc.status_code, headers=headers
            )
        return error_response(ServiceError(code, message), request, headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected failure serving %s %s", request.method, request.url.path)
        error = ServiceError("internal_error", "The server failed unexpectedly.")
        return error_response(error, request)
