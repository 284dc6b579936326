"""The client events of OpenAI's Realtime protocol that a transcription session takes, the session
configuration (as `openai.types.realtime` types it), and its mapping onto our live sessions."""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.audio.live import Encoding
from app.contracts.openai.mapping import LISTED_ALIAS, whisper_model_name
from app.services.live.config import LiveConfig
from app.services.live.turns import TurnDetection

LOGPROBS = "item.input_audio_transcription.logprobs"


class _Strict(BaseModel):
    # OpenAI refuses parameters it does not know ("Unknown parameter"), and so do we.
    model_config = ConfigDict(extra="forbid")


class AudioFormat(_Strict):
    type: Literal["audio/pcm", "audio/pcmu", "audio/pcma"] = "audio/pcm"
    rate: Literal[24000] | None = None
    """PCM's rate, always 24 kHz (G.711 is 8 kHz)."""


class NoiseReduction(_Strict):
    """Accepted and shown back; the audio is not filtered (Silero's VAD copes with noise on its own)."""

    type: Literal["near_field", "far_field"] | None = None
    strength: float | None = Field(None, ge=0, le=1)


class Transcription(_Strict):
    model: str | None = Field(None, max_length=200)
    language: str | None = Field(None, max_length=32)
    prompt: str | None = Field(None, max_length=2000)
    keywords: list[Annotated[str, Field(max_length=200)]] | None = Field(None, max_length=100)
    """Added to the prompt, as Whisper takes keywords."""
    languages: list[Annotated[str, Field(max_length=32)]] | None = Field(None, max_length=1)
    """At most one here: it is the language."""
    delay: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None
    """Accepted; text comes as soon as it is heard either way."""


class ServerVad(_Strict):
    type: Literal["server_vad"]
    threshold: float | None = Field(None, ge=0, le=1)
    prefix_padding_ms: int | None = Field(None, ge=0, le=10_000)
    silence_duration_ms: int | None = Field(None, ge=0, le=10_000)
    # Response options of conversation sessions: accepted, nothing to respond here.
    create_response: bool | None = None
    interrupt_response: bool | None = None
    idle_timeout_ms: int | None = None


class AudioInput(_Strict):
    format: AudioFormat | None = None
    noise_reduction: NoiseReduction | None = None
    transcription: Transcription | None = None
    turn_detection: ServerVad | None = None


class Audio(_Strict):
    input: AudioInput | None = None


class TranscriptionSession(_Strict):
    type: Literal["transcription"]
    audio: Audio | None = None
    include: list[Literal["item.input_audio_transcription.logprobs"]] | None = None
    # What `session.created` shows, so a client may send back the session it was given.
    id: str | None = None
    object: str | None = None
    expires_at: int | None = None


class _ClientEvent(_Strict):
    event_id: str | None = Field(None, max_length=200)


class SessionUpdate(_ClientEvent):
    type: Literal["session.update"]
    session: TranscriptionSession


class BufferAppend(_ClientEvent):
    type: Literal["input_audio_buffer.append"]
    audio: str


class BufferCommit(_ClientEvent):
    type: Literal["input_audio_buffer.commit"]


class BufferClear(_ClientEvent):
    type: Literal["input_audio_buffer.clear"]


CLIENT_EVENTS: dict[str, type[BaseModel]] = {
    "session.update": SessionUpdate,
    "input_audio_buffer.append": BufferAppend,
    "input_audio_buffer.commit": BufferCommit,
    "input_audio_buffer.clear": BufferClear,
}
"""The client events a transcription session takes, by type."""

DEFAULT_TURN_DETECTION = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
}
DEFAULT_TRANSCRIPTION = {"model": LISTED_ALIAS, "language": None, "prompt": ""}
DEFAULT_SESSION: dict[str, Any] = {
    "type": "transcription",
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": DEFAULT_TRANSCRIPTION,
            "noise_reduction": None,
            "turn_detection": DEFAULT_TURN_DETECTION,
        }
    },
    "include": None,
}
"""A new session: 24 kHz PCM, the configured model, server VAD with OpenAI's defaults."""
SHOWN_TURN_DETECTION = ("type", "threshold", "prefix_padding_ms", "silence_duration_ms")
SHOWN_TRANSCRIPTION = ("model", "language", "prompt")


_DEFAULTS_OF = {"turn_detection": DEFAULT_TURN_DETECTION, "transcription": DEFAULT_TRANSCRIPTION}
"""What an object set where there was none starts from."""


def _merged(current: Any, update: Any, defaults: Any = None) -> Any:
    """`update` laid over `current`, as OpenAI updates a session: only the fields sent change, and `null`
    clears one."""
    if not isinstance(update, dict):
        return update
    merged = dict(current) if isinstance(current, dict) else copy.deepcopy(defaults or {})
    for key, value in update.items():
        if key == "format":  # replaced whole: another format has other fields
            merged[key] = value
        else:
            merged[key] = _merged(merged.get(key), value, _DEFAULTS_OF.get(key))
    return merged


def updated_session(current: dict[str, Any], update: TranscriptionSession) -> dict[str, Any]:
    """The session after `update`, in the shape `session.updated` shows it."""
    sent = update.model_dump(exclude_unset=True, exclude={"id", "object", "expires_at"})
    session: dict[str, Any] = _merged(current, sent)
    audio_input = session["audio"]["input"]
    kind = (audio_input.get("format") or {}).get("type", "audio/pcm")
    audio_input["format"] = {"type": kind, "rate": 24000} if kind == "audio/pcm" else {"type": kind}
    if audio_input.get("turn_detection"):
        vad = audio_input["turn_detection"]
        audio_input["turn_detection"] = {
            key: DEFAULT_TURN_DETECTION[key] if vad.get(key) is None else vad[key]
            for key in SHOWN_TURN_DETECTION
        }
    if audio_input.get("transcription"):
        transcription = audio_input["transcription"]
        shown = {key: transcription.get(key) for key in SHOWN_TRANSCRIPTION}
        shown["model"] = shown["model"] or LISTED_ALIAS
        extra = {key: transcription.get(key) for key in ("keywords", "languages", "delay")}
        audio_input["transcription"] = shown | {
            key: value for key, value in extra.items() if value is not None
        }
    return session


def live_config(session: dict[str, Any]) -> LiveConfig:
    """What our live session does for an OpenAI transcription session."""
    audio_input = session["audio"]["input"]
    vad = audio_input.get("turn_detection")
    transcription = audio_input.get("transcription")
    detection = None
    if vad is not None:
        detection = TurnDetection(vad["threshold"], vad["prefix_padding_ms"], vad["silence_duration_ms"])
    if transcription is None:
        return LiveConfig(turn_detection=detection, transcribe=False)
    prompt = transcription.get("prompt") or ""
    if transcription.get("keywords"):
        prompt = f"{prompt} {', '.join(transcription['keywords'])}".strip()
    language = transcription.get("language") or next(iter(transcription.get("languages") or []), None)
    return LiveConfig(
        model=whisper_model_name(transcription["model"]),
        language=language,
        prompt=prompt or None,
        turn_detection=detection,
        token_logprobs=LOGPROBS in (session.get("include") or []),
    )


def input_encoding(session: dict[str, Any]) -> tuple[Encoding, int]:
    """The encoding and sample rate of the session's input audio."""
    kind = session["audio"]["input"]["format"]["type"]
    encodings: dict[str, tuple[Encoding, int]] = {
        "audio/pcm": ("pcm16", 24000),
        "audio/pcmu": ("mulaw", 8000),
        "audio/pcma": ("alaw", 8000),
    }
    return encodings[kind]
