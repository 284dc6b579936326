"""The FastAPI application: `uvicorn app.main:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app import __version__
from app.api.auth import authenticate, document_keys, log_open_access
from app.api.errors import ERROR_RESPONSES, install_error_handlers
from app.api.middleware import (
    FORM_FIELD_MAX_BYTES,
    BodyLimitMiddleware,
    CollapsedSlashesMiddleware,
    RequestIdMiddleware,
)
from app.api.routes import health, metrics, tasks, vocabularies, voices
from app.api.routes.web import mount_web
from app.config import get_settings
from app.contracts import register_contracts
from app.contracts.openai import routes as openai
from app.contracts.openai_realtime import routes as openai_realtime
from app.contracts.whisper_asr_webservice import routes as whisper_asr_webservice
from app.contracts.whisperx_fastapi import health as whisperx_health
from app.contracts.whisperx_fastapi import routes as speech
from app.contracts.whisperx_fastapi import speakers
from app.contracts.whisperx_fastapi import tasks as whisperx_tasks
from app.process.executor import start_executor
from app.process.lifecycle import start_service
from app.runtime import stop_runtime

# Room for the form fields that travel with an upload.
FORM_FIELDS_ALLOWANCE = 2**20


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    log_open_access()
    runtime = start_service(in_background=True)
    app.state.runtime = runtime
    app.state.executor = start_executor(runtime)
    yield
    stop_runtime()  # stops the executor after its running task; queued tasks stay queued


def create_app() -> FastAPI:
    register_contracts()
    settings = get_settings()
    app = FastAPI(
        title="WhisperX speech-to-text",
        version=__version__,
        description="Transcription, word alignment and speaker diarization with WhisperX. Long work runs as "
        "tasks: a POST answers with a task identifier (or waits with `wait=true`), `/task/{identifier}` "
        'follows it. Errors are `{"error": {"code", "message"}}`.',
        lifespan=lifespan,
        dependencies=[Depends(authenticate)],
        form_limits={"max_part_size": FORM_FIELD_MAX_BYTES},
    )
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=int(settings.limits.max_upload_mb * 2**20) + FORM_FIELDS_ALLOWANCE
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(CollapsedSlashesMiddleware)
    # A method a path does not serve is refused in the error shape of the first router serving that path.
    routers = (
        speech,
        tasks,
        whisperx_tasks,
        voices,
        vocabularies,
        speakers,
        whisper_asr_webservice,
        whisperx_health,
        metrics,
    )
    for module in routers:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(openai.router)  # documents OpenAI's error shape itself
    app.include_router(openai_realtime.router)
    app.include_router(health.ping_router)
    mount_web(app)
    document_keys(app)
    return app


def create_ping_app(app: FastAPI) -> FastAPI:
    """`/ping` alone, reporting on `app`: served on `PORT_HEALTH` when it differs from `PORT`."""
    ping_app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    ping_app.state = app.state
    ping_app.include_router(health.ping_router)
    return ping_app


app = create_app()
