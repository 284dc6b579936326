"""What a live session transcribes with (model, language, prompt) and how it finds turns, checked as every
request's model and language are."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.errors import refused_as_invalid_input
from app.ml.live_decoding import WindowDecoder
from app.schemas import ASROptions, ModelParams
from app.services.live.rules import LiveRules
from app.services.live.turns import TurnDetection
from app.services.model_requests import check_model_request
from app.services.pipeline import whisper_spec


@dataclass(frozen=True)
class LiveConfig:
    """What a live session transcribes with and how it finds turns."""

    model: str | None = None
    """A served Whisper model; None: `WHISPER_MODEL`."""
    language: str | None = None
    prompt: str | None = None
    turn_detection: TurnDetection | None = TurnDetection()
    """None: turns end only when the caller commits them."""
    transcribe: bool = True
    """False: turns are found and committed, never decoded."""
    token_logprobs: bool = False
    rules: LiveRules = LiveRules()
    """Replacements and redaction of what is said, before it is sent."""


def window_decoder(settings: Settings, config: LiveConfig) -> WindowDecoder:
    """The decoder of a session's windows; a model not served, or a language it does not know, is refused as
    `app.services.model_requests` refuses them."""
    with refused_as_invalid_input():
        params = ModelParams(model=config.model, language=config.language)
        options = ASROptions(initial_prompt=config.prompt or None).model_dump()
    check_model_request(settings, params, transcribes=True)
    decoder = WindowDecoder(
        whisper_spec(settings, params),
        language=params.language,
        asr_options=options,
        token_logprobs=config.token_logprobs,
    )
    if config.transcribe:
        decoder.load()  # here, not on the decoding thread that every session shares
    return decoder
