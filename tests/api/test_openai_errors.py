"""The one table from our error codes to OpenAI's statuses, types, params and codes."""

from __future__ import annotations

import pytest

from app.contracts.openai.errors import OPENAI_ERRORS, openai_error, openai_error_content
from app.errors import HTTP_STATUS, ServiceError, invalid_input

OPENAI_STATUSES = {400, 401, 404, 405, 413, 429, 500, 502, 503}


@pytest.mark.parametrize("code", sorted(HTTP_STATUS))
def test_every_code_has_an_openai_status(code: str) -> None:
    row = openai_error(code)
    assert row.status in OPENAI_STATUSES
    assert row.type == ("invalid_request_error" if row.status < 500 else "server_error")
    # Only capacity is worth a retry: a client error must never be one the client retries.
    assert (row.retry_after is not None) == (code in {"queue_full", "out_of_memory"})


def test_rows_name_registered_codes() -> None:
    # `unauthorized` is the API-key refusal: its row stands ready for the code.
    assert set(OPENAI_ERRORS) - set(HTTP_STATUS) <= {"unauthorized"}


def test_a_bad_key_is_openais_invalid_api_key() -> None:
    assert openai_error("unauthorized").status == 401
    assert openai_error("unauthorized").code == "invalid_api_key"
    assert openai_error("unauthorized").type == "invalid_request_error"


def test_the_body_names_the_form_field_at_fault() -> None:
    status, body, headers = openai_error_content(
        invalid_input([{"loc": ("body", "model_params", "language"), "msg": "unsupported"}])
    )
    assert (status, headers) == (400, {})
    assert body["error"] == {
        "message": "Invalid input: model_params.language: unsupported.",
        "type": "invalid_request_error",
        "param": "language",
        "code": "invalid_input",
    }
    status, body, _ = openai_error_content(ServiceError("not_audio", "The file could not be decoded."))
    assert (status, body["error"]["param"]) == (400, "file")


def test_capacity_errors_say_when_to_retry() -> None:
    error = ServiceError("queue_full", "Busy.", details={"retry_after": 7})
    status, body, headers = openai_error_content(error)
    assert (status, headers, body["error"]["type"]) == (503, {"Retry-After": "7"}, "server_error")
