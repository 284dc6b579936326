"""Our errors as OpenAI's: on its routes (`OpenAIRoute`) every error is `{"error": {"message", "type", "param",
"code"}}` with the status OpenAI would send, so code written for OpenAI (and its client's exception classes) works."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from app.api.errors import ErrorContent, ShapedRoute, ShapedWebSocketRoute
from app.errors import HTTP_STATUS, ServiceError

INVALID_REQUEST = "invalid_request_error"
SERVER_ERROR = "server_error"


@dataclass(frozen=True)
class OpenAIError:
    """How one of our codes looks on OpenAI's routes."""

    status: int
    type: str = INVALID_REQUEST
    param: str | None = None
    """The form field at fault, when the error itself does not name one."""
    code: str | None = None
    """OpenAI's own code where clients look for it; otherwise ours is sent."""
    retry_after: int | None = None
    """Seconds for `Retry-After`: only capacity errors are worth retrying."""


# Codes not listed take the rule in `openai_error`: a client error is OpenAI's 400, a server error keeps its
# status with `server_error`.
OPENAI_ERRORS: dict[str, OpenAIError] = {
    "not_found": OpenAIError(404),
    "method_not_allowed": OpenAIError(405),
    "empty_audio": OpenAIError(400, param="file"),
    "audio_too_short": OpenAIError(400, param="file"),
    "not_audio": OpenAIError(400, param="file"),
    "audio_too_long": OpenAIError(400, param="file"),
    "too_large": OpenAIError(413, param="file"),
    "unsupported_language": OpenAIError(400, param="language"),
    "model_not_allowed": OpenAIError(400, param="model"),
    "english_only_model": OpenAIError(400, param="model"),
    "unauthorized": OpenAIError(401, code="invalid_api_key"),
    "queue_full": OpenAIError(503, SERVER_ERROR, retry_after=30),
    "out_of_memory": OpenAIError(503, SERVER_ERROR, retry_after=10),
    # A model that fails to load is not a capacity problem: retrying the same request will not help.
    "model_unavailable": OpenAIError(500, SERVER_ERROR),
}

# Our request fields as the OpenAI form names them (errors from the shared job schemas name ours).
OPENAI_FIELDS = {
    "model_params.model": "model",
    "model_params.task": "model",
    "model_params.language": "language",
    "asr_options.initial_prompt": "prompt",
    "asr_options.temperatures": "temperature",
    # Known speakers are the only diarization parameters OpenAI's form sets: a reference clip, else a name.
    "diarize_params.known_speakers": "known_speaker_references",
    "diarize_params": "known_speaker_names",
}


class OpenAIErrorBody(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIErrorEnvelope(BaseModel):
    """Every error on OpenAI's routes: `{"error": {"message", "type", "param", "code"}}`."""

    error: OpenAIErrorBody


def openai_error(code: str) -> OpenAIError:
    """The OpenAI form of `code`: its row, or the rule for codes without one."""
    if code in OPENAI_ERRORS:
        return OPENAI_ERRORS[code]
    status = HTTP_STATUS.get(code, 500)
    return OpenAIError(400) if status < 500 else OpenAIError(status, SERVER_ERROR)


def _named_field(details: Any) -> str | None:
    """The first field an error's details name, as OpenAI's form calls it."""
    if not isinstance(details, list) or not details or not isinstance(details[0], dict):
        return None
    field = str(details[0].get("field", ""))
    if field in ("", "input"):
        return None
    return OPENAI_FIELDS.get(field) or OPENAI_FIELDS.get(field.split(".")[0], field.split(".")[0])


def openai_error_content(error: ServiceError) -> tuple[int, dict[str, object], dict[str, str]]:
    """Status, body and headers of `error` on OpenAI's routes."""
    row = openai_error(error.code)
    body = OpenAIErrorBody(
        message=error.message,
        type=row.type,
        param=_named_field(error.details) or row.param,
        code=row.code or error.code,
    )
    headers = {}
    if row.retry_after is not None:
        retry_after = (error.details or {}).get("retry_after") if isinstance(error.details, dict) else None
        headers["Retry-After"] = str(retry_after or row.retry_after)
    return row.status, OpenAIErrorEnvelope(error=body).model_dump(), headers


class OpenAIErrorShape:
    """Errors on OpenAI's routes, HTTP and WebSocket."""

    def content(self, error: ServiceError, request_id: str | None) -> ErrorContent:
        return openai_error_content(error)


OPENAI_ERROR_SHAPE = OpenAIErrorShape()


class OpenAIRoute(ShapedRoute):
    """An OpenAI route: its router's `route_class`."""

    error_shape = OPENAI_ERROR_SHAPE


class OpenAIWebSocketRoute(ShapedWebSocketRoute):
    """An OpenAI WebSocket route (the Realtime one): refused before it opens in OpenAI's shape."""

    error_shape = OPENAI_ERROR_SHAPE


OPENAI_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": OpenAIErrorEnvelope,
        "description": 'Error: `{"error": {"message", "type", "param", "code"}}`',
    }
    for status in sorted({openai_error(code).status for code in {*HTTP_STATUS, *OPENAI_ERRORS}})
}
