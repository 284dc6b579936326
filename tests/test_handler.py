from pathlib import Path

import pytest

from handler import handler


def test_health_action(service_env: Path) -> None:
    response = handler({"id": "job-1", "input": {"action": "health"}})
    assert response["message"] == "ok"
    assert response["result"]["database"]["kind"] == "sqlite"
    assert "error" not in response


@pytest.mark.parametrize(
    ("job", "code"),
    [
        ({"id": "j", "input": {"action": "paint"}}, "unknown_action"),
        ({"id": "j", "input": {}}, "unknown_action"),
        ({"id": "j", "input": {"action": ["health"]}}, "unknown_action"),
        ({"id": "j", "input": "health"}, "invalid_input"),
        ({"id": "j"}, "invalid_input"),
        ("not a job", "invalid_input"),
    ],
)
def test_bad_jobs_return_an_error_code(service_env: Path, job: object, code: str) -> None:
    response = handler(job)  # type: ignore[arg-type]
    assert response["error"]["code"] == code
    assert response["error"]["message"]
