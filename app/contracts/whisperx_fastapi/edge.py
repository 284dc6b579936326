"""whisperX-FastAPI's contract at the edge of the routes we share with it: its error names, statuses and
`correlation_id`, its uploaded JSON documents and its callback check.

Codes stay those of `app/errors.py`; on its routes (`WhisperXRoute`, `SpeakerRoute`) an error also carries
whisperX-FastAPI's name for it (where it has one) as `code`, ours as `service_code`, the request id as
`correlation_id`, and FastAPI's `detail`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from fastapi import Request
from starlette.datastructures import UploadFile

from app.api.bodies import is_form, json_object
from app.api.errors import ErrorContent, ShapedRoute
from app.audio.fetch import checked_request
from app.config import FetchSettings
from app.errors import ServiceError, invalid_input

ERROR_NAMES = {"not_found": "TASK_NOT_FOUND", "download_failed": "FILE_DOWNLOAD_ERROR"}
"""Its names of our codes, where a client of it reads them."""
SPEAKER_ERROR_NAMES = {**ERROR_NAMES, "not_found": "SPEAKER_NOT_FOUND"}
"""Its names on its `/speakers` routes."""
ERROR_STATUSES = {"not_audio": 400, "download_failed": 503}
"""Its statuses, where they differ from ours: an unsupported file is 400, a failed download 503."""
DOCUMENT_FIELDS = ("transcript", "aligned_transcript", "diarization_result")
"""The JSON documents it uploads as `.json` file parts."""


def error_status(error: ServiceError) -> int:
    return ERROR_STATUSES.get(error.code, error.http_status)


@dataclass(frozen=True)
class WhisperXErrorShape:
    """Errors on its routes: our body, its names beside, the request id as `correlation_id`."""

    names: Mapping[str, str]
    """Its names of our codes on these routes."""

    def content(self, error: ServiceError, request_id: str | None) -> ErrorContent:
        body = {
            **error.to_dict(),
            "code": self.names.get(error.code, error.code),
            "service_code": error.code,
            "correlation_id": request_id,
        }
        detail: object = error.message
        if error.code == "invalid_input" and isinstance(error.details, list):
            detail = [{"loc": item["field"].split("."), "msg": item["message"]} for item in error.details]
        return error_status(error), {"error": body, "detail": detail}, {}


class WhisperXRoute(ShapedRoute):
    """One of its routes: their routers' `route_class`."""

    error_shape = WhisperXErrorShape(ERROR_NAMES)


class SpeakerRoute(ShapedRoute):
    """One of its `/speakers` routes."""

    error_shape = WhisperXErrorShape(SPEAKER_ERROR_NAMES)


def _document_text(value: object, field: str) -> object:
    if not isinstance(value, UploadFile):
        return value
    try:
        return value.file.read().decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_input([{"loc": (field,), "msg": "the file is not UTF-8 JSON text"}]) from None


def read_documents(fields: Mapping[str, object]) -> dict[str, object]:
    """`fields` with its uploaded JSON documents read as text (our forms send the same text as fields)."""
    return {
        key: _document_text(value, key) if key in DOCUMENT_FIELDS else value for key, value in fields.items()
    }


async def combine_fields(request: Request) -> dict[str, object]:
    """`/service/combine`'s fields from a JSON body (ours) or a multipart form of `.json` parts (its)."""
    if not is_form(request):
        return dict(await json_object(request))
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
