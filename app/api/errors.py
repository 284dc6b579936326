"""One mapping from errors to HTTP responses: `{"error": {"code", "message"}}` with the code's status, and on
the OpenAI-compatible `/v1` routes OpenAI's statuses and shape (`app/contracts/openai/errors.py`)."""

from __future__ import annotations

import logging
from typing import cast

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette import status as status_codes
from starlette.exceptions import HTTPException
from starlette.routing import Match

from app.api.auth import authenticate
from app.contracts.openai.errors import is_openai_path, openai_error_content
from app.contracts.whisperx_fastapi import edge as whisperx_fastapi
from app.contracts.whisperx_fastapi.edge import is_whisperx_fastapi_route
from app.errors import HTTP_STATUS, ServiceError, invalid_input
from app.schemas import ErrorEnvelope

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}

# Documented on every route, so the OpenAPI schema describes each error a client can get.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorEnvelope, "description": 'Error: `{"error": {"code", "message"}}`'}
    for status in sorted({*HTTP_STATUS.values(), 404, 405, 413})
}


def error_content(
    error: ServiceError, path: str = "", *, method: str = "", request_id: str | None = None
) -> tuple[int, dict[str, object], dict[str, str]]:
    """Status, body and headers of `error` answered to `method` on `path` (the request's id as correlation id
    on whisperX-FastAPI's routes)."""
    if is_openai_path(path):
        status, body, headers = openai_error_content(error)
    elif is_whisperx_fastapi_route(method, path):
        status, body = whisperx_fastapi.whisperx_error_content(error, request_id, path)
        headers = {}
    else:
        status, body, headers = error.http_status, {"error": error.to_dict()}, {}
    if error.code == "queue_full" and not is_openai_path(path):
        headers["Retry-After"] = str((error.details or {}).get("retry_after", 30))
    if error.code == "unauthorized":
        headers["WWW-Authenticate"] = "Bearer"
    return status, body, headers


def error_response(
    error: ServiceError,
    path: str = "",
    headers: dict[str, str] | None = None,
    request: Request | None = None,
) -> JSONResponse:
    method = request.method if request is not None else ""
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    status, body, own_headers = error_content(error, path, method=method, request_id=request_id)
    return JSONResponse(body, status_code=status, headers={**own_headers, **(headers or {})})


def _allowed_methods(request: Request) -> set[str]:
    """Every method some route serves at this path (Starlette names only the first matching route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return methods


async def refuse_websocket(websocket: WebSocket, error: ServiceError) -> None:
    """Refuse a WebSocket before it opens: the error's status and body as the handshake's answer, where the
    server can send one; else the socket is closed as a policy violation."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        status, body, headers = error_content(error, websocket.url.path)
        await websocket.send_denial_response(JSONResponse(body, status_code=status, headers=headers))
    else:
        await websocket.close(code=status_codes.WS_1008_POLICY_VIOLATION, reason=error.message[:120])


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse | None:
        if request.scope["type"] == "websocket":  # a WebSocket's dependencies refused it (its key)
            await refuse_websocket(cast(WebSocket, request), exc)
            return None
        return error_response(exc, request.url.path, request=request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A body that is not even JSON is refused before the key is checked; without a key, say that instead.
        try:
            authenticate(request)
        except ServiceError as refused:
            return error_response(refused, request.url.path, request=request)
        return error_response(invalid_input(exc.errors()), request.url.path, request=request)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, ServiceError):  # e.g. the body limit, hit while FastAPI parsed a form
            return error_response(exc.__cause__, request.url.path, request=request)
        headers = exc.headers
        if exc.status_code == 405:
            headers = {"Allow": ", ".join(sorted(_allowed_methods(request)))}
        code = _HTTP_CODES.get(
            exc.status_code, "invalid_input" if exc.status_code < 500 else "internal_error"
        )
        message = exc.detail if isinstance(exc.detail, str) else "The request was refused."
        if is_openai_path(request.url.path) or is_whisperx_fastapi_route(request.method, request.url.path):
            return error_response(ServiceError(code, message), request.url.path, headers, request)
        return JSONResponse(
            {"error": {"code": code, "message": message}}, status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected failure serving %s %s", request.method, request.url.path)
        error = ServiceError("internal_error", "The server failed unexpectedly.")
        return error_response(error, request.url.path, request=request)
