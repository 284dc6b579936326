"""API keys: one dependency guards every route, and names the caller so that tasks stay with their key."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import get_settings
from app.errors import ServiceError

log = logging.getLogger(__name__)

# Liveness and readiness probes come from orchestrators that hold no key; the page must load to ask for one.
OPEN_PATHS = frozenset({"/", "/health/live", "/health/ready"})
OWNER_LABEL = b"whisperx-task-owner"

bearer = HTTPBearer(auto_error=False, description="One of the server's `API_KEYS`")


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


def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> str | None:
    """The caller's owner fingerprint; None when no keys are configured (one shared space) or on open paths."""
    keys = [key.get_secret_value() for key in get_settings().api_keys]
    if not keys or request.url.path in OPEN_PATHS:
        return None
    if credentials is None or not _is_known_key(credentials.credentials, keys):
        raise ServiceError("unauthorized", "Send a valid API key as `Authorization: Bearer <key>`.")
    return key_fingerprint(credentials.credentials)


def log_open_access() -> None:
    """Say once, at start, that a server without keys serves anyone."""
    if not get_settings().api_keys:
        log.warning("API_KEYS is not set: the server answers anyone who can reach it, and tasks are shared")
