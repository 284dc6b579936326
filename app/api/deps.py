"""FastAPI dependency aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.auth import authenticate
from app.process.executor import TaskExecutor
from app.runtime import Runtime


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime  # set by the app's lifespan (app/main.py)
    return runtime


def _executor(request: Request) -> TaskExecutor:
    executor: TaskExecutor = request.app.state.executor  # set by the app's lifespan (app/main.py)
    return executor


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
ExecutorDep = Annotated[TaskExecutor, Depends(_executor)]
OwnerDep = Annotated[str | None, Depends(authenticate)]
"""The key's owner fingerprint (None when keys are off): task lookups and new tasks are scoped to it."""
