"""Which Whisper models a request may use, checked before anything is queued or loaded."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.errors import ServiceError
from app.schemas import ModelParams
from app.services.model_requests import check_model_request


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, device="cpu", **values)  # type: ignore[call-arg]


def refusal(settings: Settings, transcribes: bool = True, **params: object) -> ServiceError:
    with pytest.raises(ServiceError) as error:
        check_model_request(settings, ModelParams(**params), transcribes=transcribes)  # type: ignore[arg-type]
    return error.value


def test_the_configured_model_is_served_alone_by_default() -> None:
    assert settings().served_models == ["tiny.en"]
    check_model_request(settings(), ModelParams(), transcribes=True)
    check_model_request(settings(), ModelParams(model="tiny.en", language="en"), transcribes=True)
    error = refusal(settings(), model="large-v3")
    assert error.code == "model_not_allowed" and error.http_status == 400
    assert "'large-v3'" in error.message and "tiny.en" in error.message
    assert error.details == [{"field": "model_params.model", "message": error.message}]


def test_allowed_models_add_to_the_configured_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", '["large-v3", "tiny.en"]')
    served = settings()
    assert served.served_models == ["tiny.en", "large-v3"]
    check_model_request(served, ModelParams(model="large-v3", task="translate"), transcribes=True)
    assert refusal(served, model="medium").code == "model_not_allowed"


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"task": "translate"}, "model_params.task", "cannot translate"),
        ({"language": "es"}, "model_params.language", "cannot transcribe Spanish"),
    ],
)
def test_an_english_only_model_refuses_what_it_cannot_do(
    params: dict[str, str], field: str, reason: str
) -> None:
    error = refusal(settings(), **params)
    assert error.code == "english_only_model" and error.http_status == 400
    assert "'tiny.en'" in error.message and reason in error.message
    assert error.details[0]["field"] == field


def test_jobs_that_do_not_transcribe_may_name_other_languages() -> None:
    check_model_request(settings(), ModelParams(language="de"), transcribes=False)
    assert refusal(settings(), transcribes=False, model="large-v3").code == "model_not_allowed"
