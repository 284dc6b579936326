"""whisperX-FastAPI's contract at the edge of the routes we share with it: its error names, statuses and
`correlation_id`, its uploaded JSON documents, its callback check and its health bodies.

Codes stay those of `app/errors.py`; on these routes an error also carries whisperX-FastAPI's name for it
(where it has one) as `code`, ours as `service_code`, the request id as `correlation_id`, and FastAPI's `detail`.
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

import httpx
from fastapi import Request
from starlette.datastructures import UploadFile

from app.api.bodies import is_form, json_object
from app.audio.fetch import checked_request
from app.config import FetchSettings
from app.errors import ServiceError, invalid_input
from app.process.health import DatabaseHealth, HealthReport

ROUTES = re.compile(
    r"^(POST /(speech-to-text|speech-to-text-url|service/(transcribe|align|diarize|combine))"
    r"|GET /task/[^/]+|DELETE /task/[^/]+/delete|GET /health(/live|/ready)?"
    r"|(GET|POST|DELETE) /speakers|POST /speakers/(search|identify)|(GET|PUT|DELETE) /speakers/[^/]+)/?$"
)

ERROR_NAMES = {"not_found": "TASK_NOT_FOUND", "download_failed": "FILE_DOWNLOAD_ERROR"}
"""Its names of our codes, where a client of it reads them."""
SPEAKER_ERROR_NAMES = {**ERROR_NAMES, "not_found": "SPEAKER_NOT_FOUND"}
"""Its names on its `/speakers` routes."""
ERROR_STATUSES = {"not_audio": 400, "download_failed": 503}
"""Its statuses, where they differ from ours: an unsupported file is 400, a failed download 503."""
DOCUMENT_FIELDS = ("transcript", "aligned_transcript", "diarization_result")
"""The JSON documents it uploads as `.json` file parts."""


def is_whisperx_fastapi_route(method: str, path: str) -> bool:
    return ROUTES.match(f"{method} {path}") is not None


def error_status(error: ServiceError) -> int:
    return ERROR_STATUSES.get(error.code, error.http_status)


def whisperx_error_content(
    error: ServiceError, correlation_id: str | None, path: str = ""
) -> tuple[int, dict[str, Any]]:
    """Status and body of `error` on its route at `path`: our body, its names beside."""
    names = SPEAKER_ERROR_NAMES if path.startswith("/speakers") else ERROR_NAMES
    body = {
        **error.to_dict(),
        "code": names.get(error.code, error.code),
        "service_code": error.code,
        "correlation_id": correlation_id,
    }
    detail: Any = error.message
    if error.code == "invalid_input" and isinstance(error.details, list):
        detail = [{"loc": item["field"].split("."), "msg": item["message"]} for item in error.details]
    return error_status(error), {"error": body, "detail": detail}


def _document_text(value: Any, field: str) -> Any:
    if not isinstance(value, UploadFile):
        return value
    try:
        return value.file.read().decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_input([{"loc": (field,), "msg": "the file is not UTF-8 JSON text"}]) from None


def read_documents(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` with its uploaded JSON documents read as text (our forms send the same text as fields)."""
    return {
        key: _document_text(value, key) if key in DOCUMENT_FIELDS else value for key, value in fields.items()
    }


async def combine_fields(request: Request) -> dict[str, Any]:
    """`/service/combine`'s fields from a JSON body (ours) or a multipart form of `.json` parts (its)."""
    if not is_form(request):
        return await json_object(request)
    form = await request.form()
    fields = read_documents(dict(form.items()))
    if "callback_url" in fields:
        fields["webhook_url"] = fields.pop("callback_url")
    return fields


def check_callback(url: str, settings: FetchSettings) -> None:
    """Refuse a callback URL that is not allowed, or whose server does not answer a HEAD request."""
    try:
        request = checked_request(url, settings, method="HEAD")
        with httpx.Client(timeout=10) as client:
            status = client.send(request).status_code
    except ServiceError as refused:
        if refused.code == "url_not_allowed":
            raise
        status = None
    except httpx.HTTPError:
        status = None
    if status is None or (status >= 400 and status != 405):
        raise ServiceError("callback_unreachable", "Callback URL is not reachable.")


class HealthBody(HealthReport):
    """`/health` as whisperX-FastAPI answers it: our report with its `message`."""

    message: str


class ReadyBody(HealthBody):
    """`/health/ready` as whisperX-FastAPI answers it: its `status` and `database`, our report beside."""

    status: Literal["ok", "error"]  # type: ignore[assignment]
    database: Literal["connected", "disconnected"]  # type: ignore[assignment]
    database_detail: DatabaseHealth


def health_body(report: HealthReport) -> dict[str, Any]:
    return {**report.model_dump(mode="json"), "message": "Service is running"}


def live_body() -> dict[str, Any]:
    return {"status": "ok", "timestamp": time.time(), "message": "Application is live"}


def ready_body(report: HealthReport) -> dict[str, Any]:
    """Its readiness body: `status` `ok` or `error`, `database` `connected` or `disconnected`; our report
    beside, its database as `database_detail`."""
    body = report.model_dump(mode="json")
    reachable = report.database.reachable
    if report.ready:
        message = "Application is ready to accept requests"
    else:
        why = "the models are not loaded" if reachable else "the database does not answer"
        message = f"Application is not ready: {why}."
    body.update(
        status="ok" if report.ready else "error",
        database="connected" if reachable else "disconnected",
        database_detail=body["database"],
        message=message,
    )
    return body
