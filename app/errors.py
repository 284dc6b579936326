"""Errors as values: a stable code, a human message, and one table mapping codes to HTTP statuses."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)

# One place for every code the service returns and the HTTP status it maps to.
HTTP_STATUS: dict[str, int] = {
    "invalid_input": 422,
    "unknown_action": 400,
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_ready": 409,
    "conflict": 409,
    "empty_audio": 400,
    "audio_too_short": 400,
    "not_audio": 415,
    "too_large": 413,
    "audio_too_long": 413,
    "url_not_allowed": 400,
    "callback_unreachable": 400,
    "download_failed": 502,
    "unsupported_language": 422,
    "model_not_allowed": 400,
    "english_only_model": 400,
    "model_unavailable": 503,
    "out_of_memory": 503,
    "queue_full": 503,
    "cancelled": 409,
    "interrupted": 500,
    "device_error": 500,
    "internal_error": 500,
}


class ServiceError(Exception):
    """An expected failure with a stable `code` that clients can act on."""

    def __init__(self, code: str, message: str, *, details: Any = None) -> None:
        if code not in HTTP_STATUS:
            raise ValueError(f"unregistered error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def to_dict(self) -> dict[str, Any]:
        """The client-facing shape, `{"code", "message"}` (plus `details` when present)."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class NotFoundError(ServiceError):
    def __init__(self, what: str, identifier: str) -> None:
        super().__init__("not_found", f"{what} {identifier!r} was not found")


def invalid_input(error: ValidationError | Sequence[Any]) -> ServiceError:
    """A validation failure as `invalid_input`, naming each bad field (never echoing the values sent)."""
    items = (
        error.errors(include_url=False, include_input=False, include_context=False)
        if isinstance(error, ValidationError)
        else error
    )
    details = [
        {
            "field": ".".join(str(part) for part in item["loc"] if part != "body") or "input",
            "message": item["msg"],
        }
        for item in items
    ]
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
    return ServiceError("invalid_input", f"Invalid input: {summary}{more}.", details=details)


@contextmanager
def refused_as_invalid_input() -> Iterator[None]:
    """The one validation path: a pydantic refusal inside the block (of a request, or of the core job a
    contract maps it onto: a value only the core's schemas refuse is still the client's) becomes
    `invalid_input` naming each bad field."""
    try:
        yield
    except ValidationError as error:
        raise invalid_input(error) from None


def validated(schema: type[Model], data: Any) -> Model:
    """`data` validated by `schema`, or `invalid_input` naming each bad field."""
    with refused_as_invalid_input():
        return schema.model_validate(data)
