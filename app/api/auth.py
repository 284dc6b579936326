"""API keys: one dependency guards every route, and names the caller so that tasks stay with their key."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
from typing import Any

from fastapi import FastAPI
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import HTTPConnection

from app.config import Settings, get_settings
from app.errors import ServiceError

log = logging.getLogger(__name__)

# Liveness and readiness probes (RunPod's load balancer polls `/ping`) come from orchestrators that hold no
# key; the page must load to ask for one.
OPEN_PATHS = frozenset({"/", "/health/live", "/health/ready", "/ping"})
OWNER_LABEL = b"whisperx-task-owner"
KEY_SUBPROTOCOL = "openai-insecure-api-key."
"""A WebSocket subprotocol carrying the key: browsers cannot set headers on a WebSocket, so OpenAI's Realtime
clients offer the key this way."""


def key_fingerprint(key: str) -> str:
    """What a task row records of the key that made it (HMAC-SHA256 of a fixed label): the key itself cannot
    be recovered from it."""
    return hmac.new(key.encode(), OWNER_LABEL, hashlib.sha256).hexdigest()


def _is_known_key(given: str, keys: list[str]) -> bool:
    # Digests make every comparison the same length; every key is compared, so timing says nothing either way.
    digest = hashlib.sha256(given.encode()).digest()
    known = False
    for key in keys:
        known |= hmac.compare_digest(digest, hashlib.sha256(key.encode()).digest())
    return known


def _settings(connection: HTTPConnection) -> Settings:
    """The serving runtime's settings, like every other part of a request; before the app has started (only
    while it is being built), the process's."""
    runtime = getattr(connection.app.state, "runtime", None)
    return runtime.settings if runtime is not None else get_settings()


def _offered_key(connection: HTTPConnection) -> str | None:
    """The key a caller sends: `Authorization: Bearer <key>`; or as the password of HTTP Basic authentication,
    which clients configured with a URL alone send from `http://user:<key>@host/` (Bazarr's Whisper provider);
    or on a WebSocket the key subprotocol."""
    scheme, given = get_authorization_scheme_param(connection.headers.get("Authorization"))
    if scheme.lower() == "bearer" and given:
        return given
    if scheme.lower() == "basic" and given:
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            _, _, password = base64.b64decode(given, validate=True).decode().partition(":")
            return password or None
    if connection.scope["type"] == "websocket":
        for subprotocol in connection.scope.get("subprotocols", []):
            if subprotocol.startswith(KEY_SUBPROTOCOL):
                return str(subprotocol).removeprefix(KEY_SUBPROTOCOL)
    return None


def authenticate(connection: HTTPConnection) -> str | None:
    """The caller's owner fingerprint; None when no keys are configured (one shared space) or on open paths."""
    keys = [key.get_secret_value() for key in _settings(connection).api_keys]
    if not keys or connection.url.path in OPEN_PATHS:
        return None
    given = _offered_key(connection)
    if given is None or not _is_known_key(given, keys):
        raise ServiceError(
            "unauthorized",
            "Send a valid API key as `Authorization: Bearer <key>` (or as the password of Basic authentication).",
        )
    return key_fingerprint(given)


def document_keys(app: FastAPI) -> None:
    """Declare the bearer key in the OpenAPI schema, on every route that needs it, when keys are configured
    (the schema then says what the server enforces, and `/docs` offers to send a key)."""
    if not get_settings().api_keys:
        return
    build = app.openapi

    # FastAPI's own signature for `app.openapi` (the schema is JSON it leaves untyped).
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()  # FastAPI's builder keeps it as `app.openapi_schema`
        schema.setdefault("components", {})["securitySchemes"] = {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "One of the server's `API_KEYS`",
            }
        }
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                operation["security"] = [] if path in OPEN_PATHS else [{"apiKey": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to change its schema


def log_open_access() -> None:
    """Say once, at start, that a server without keys serves anyone."""
    if not get_settings().api_keys:
        log.warning("API_KEYS is not set: the server answers anyone who can reach it, and tasks are shared")
