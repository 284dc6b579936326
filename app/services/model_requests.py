"""Which Whisper models a request may use: refused before the task is queued and before anything loads."""

from __future__ import annotations

from whisperx.utils import LANGUAGES

from app.config import Settings
from app.errors import ServiceError
from app.schemas import ModelParams
from app.services.pipeline import whisper_spec


def is_english_only(name: str) -> bool:
    """Whisper's English-only checkpoints are the `.en` ones (`tiny.en`, `distil-small.en`, …)."""
    return name.endswith(".en")


def _refusal(code: str, field: str, message: str) -> ServiceError:
    return ServiceError(code, message, details=[{"field": field, "message": message}])


def check_model_request(settings: Settings, model_params: ModelParams, *, transcribes: bool) -> None:
    """Refuse a model that is not served (`model_not_allowed`), and, when the job transcribes, an English-only
    model asked to translate or to transcribe another language (`english_only_model`)."""
    name = whisper_spec(settings, model_params).name
    served = settings.served_models
    if name not in served:
        raise _refusal(
            "model_not_allowed",
            "model_params.model",
            f"The model {name!r} is not served here; choose one of: {', '.join(served)}.",
        )
    if not transcribes or not is_english_only(name):
        return
    if model_params.task == "translate":
        raise _refusal(
            "english_only_model",
            "model_params.task",
            f"The model {name!r} only knows English, so it cannot translate; choose a multilingual model.",
        )
    if model_params.language not in (None, "en"):
        language = LANGUAGES.get(model_params.language, model_params.language)
        raise _refusal(
            "english_only_model",
            "model_params.language",
            f"The model {name!r} only knows English, so it cannot transcribe {language.title()}; "
            "choose a multilingual model.",
        )
