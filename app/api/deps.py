"""FastAPI dependency aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.auth import authenticate
from app.process.executor import TaskExecutor
from app.runtime import Runtime


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _executor(request: Request) -> TaskExecutor:
    return request.app.state.executor  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
ExecutorDep = Annotated[TaskExecutor, Depends(_executor)]
OwnerDep = Annotated[str | None, Depends(authenticate)]
"""The key's owner fingerprint (None when keys are off): task lookups and new tasks are scoped to it."""
