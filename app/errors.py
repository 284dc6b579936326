"""Errors as values: a stable code, a human message, and one table mapping codes to HTTP statuses."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import NotRequired, TypeAlias, TypedDict, TypeVar

from pydantic import BaseModel, ValidationError

from app.json_types import JSONValue

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
    "not_multichannel": 400,
    "too_many_channels": 400,
    "url_not_allowed": 400,
    "callback_unreachable": 400,
    "download_failed": 502,
    "unsupported_language": 422,
    "prompt_too_long": 422,
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


class FieldError(TypedDict):
    """One field a request got wrong, and why."""

    field: str
    message: str


class Refusal(TypedDict):
    """One refused field as a validator words it (pydantic's and FastAPI's errors are these, and more)."""

    loc: tuple[int | str, ...]
    msg: str


Details: TypeAlias = Sequence[FieldError] | Mapping[str, JSONValue]
"""What an error adds to its message: the fields at fault (`invalid_input` and its kin), or figures such as
`{"retry_after": 30}` or the task it names."""


class ErrorBody(TypedDict):
    code: str
    message: str
    details: NotRequired[Details]


class ServiceError(Exception):
    """An expected failure with a stable `code` that clients can act on."""

    def __init__(self, code: str, message: str, *, details: Details | None = None) -> None:
        if code not in HTTP_STATUS:
            raise ValueError(f"unregistered error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def to_dict(self) -> ErrorBody:
        """The client-facing shape, `{"code", "message"}` (plus `details` when present)."""
        body: ErrorBody = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class NotFoundError(ServiceError):
    def __init__(self, what: str, identifier: str) -> None:
        super().__init__("not_found", f"{what} {identifier!r} was not found")


def invalid_input(error: ValidationError | Sequence[Refusal]) -> ServiceError:
    """A validation failure as `invalid_input`, naming each bad field (never echoing the values sent)."""
    items = (
        error.errors(include_url=False, include_input=False, include_context=False)
        if isinstance(error, ValidationError)
        else error
    )
    details: list[FieldError] = [
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


def validated(schema: type[Model], data: object) -> Model:
    """`data` validated by `schema`, or `invalid_input` naming each bad field."""
    with refused_as_invalid_input():
        return schema.model_validate(data)
