"""The FastAPI application: `uvicorn app.main:app`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app import __version__
from app.api.routes import health
from app.errors import ServiceError
from app.runtime import get_runtime, stop_runtime

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.runtime = get_runtime()
    yield
    stop_runtime()


def create_app() -> FastAPI:
    app = FastAPI(title="WhisperX speech-to-text", version=__version__, lifespan=lifespan)
    app.include_router(health.router)

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status)

    return app


app = create_app()
