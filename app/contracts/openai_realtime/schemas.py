"""The client events of OpenAI's Realtime protocol that a transcription session takes, the session
configuration (as `openai.types.realtime` types it), and its mapping onto our live sessions."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, TypedDict, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from app.audio.live import Encoding
from app.contracts.openai.mapping import LISTED_ALIAS, whisper_model_name
from app.services.live.config import LiveConfig
from app.services.live.rules import LiveRules
from app.services.live.turns import TurnDetection
from app.text.redaction import RedactKind
from app.text_schemas import Spelling, Term

LOGPROBS = "item.input_audio_transcription.logprobs"
AudioType = Literal["audio/pcm", "audio/pcmu", "audio/pcma"]
Delay = Literal["minimal", "low", "medium", "high", "xhigh"]
Include = Literal["item.input_audio_transcription.logprobs"]
T = TypeVar("T")


class _Strict(BaseModel):
    # OpenAI refuses parameters it does not know ("Unknown parameter"), and so do we.
    model_config = ConfigDict(extra="forbid")


class AudioFormat(_Strict):
    type: AudioType = "audio/pcm"
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
    """Added to the prompt, as Whisper takes keywords, and written as given where the model spelt one nearly so."""
    languages: list[Annotated[str, Field(max_length=32)]] | None = Field(None, max_length=1)
    """At most one here: it is the language."""
    delay: Delay | None = None
    """Accepted; text comes as soon as it is heard either way."""
    replacements: dict[Term, Spelling] | None = Field(None, max_length=1000)
    """Ours, as on every transcribing job: spellings fixed before any text is sent."""
    redact: list[RedactKind] | None = Field(None, max_length=5)
    """Ours, as on every transcribing job: with it, a turn's text is sent once the turn ends, redacted."""


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
    include: list[Include] | None = None
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

# The session as `session.created` and `session.updated` show it.


class ShownFormat(TypedDict):
    type: AudioType
    rate: NotRequired[int]
    """PCM's only."""


class ShownNoiseReduction(TypedDict, total=False):
    """What was sent of it."""

    type: Literal["near_field", "far_field"] | None
    strength: float | None


class ShownTranscription(TypedDict):
    model: str
    language: str | None
    prompt: str | None
    keywords: NotRequired[list[str]]
    languages: NotRequired[list[str]]
    delay: NotRequired[Delay]
    replacements: NotRequired[dict[str, str]]
    redact: NotRequired[list[RedactKind]]


class ShownTurnDetection(TypedDict):
    type: Literal["server_vad"]
    threshold: float
    prefix_padding_ms: int
    silence_duration_ms: int


class ShownInput(TypedDict):
    format: ShownFormat
    transcription: ShownTranscription | None
    noise_reduction: ShownNoiseReduction | None
    turn_detection: ShownTurnDetection | None


class ShownAudio(TypedDict):
    input: ShownInput


class Session(TypedDict):
    type: Literal["transcription"]
    audio: ShownAudio
    include: list[Include] | None
    id: NotRequired[str]
    object: NotRequired[str]
    expires_at: NotRequired[int]


DEFAULT_TURN_DETECTION: ShownTurnDetection = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
}
DEFAULT_TRANSCRIPTION: ShownTranscription = {"model": LISTED_ALIAS, "language": None, "prompt": ""}
DEFAULT_SESSION: Session = {
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
INPUT_ENCODINGS: dict[AudioType, tuple[Encoding, int]] = {
    "audio/pcm": ("pcm16", 24000),
    "audio/pcmu": ("mulaw", 8000),
    "audio/pcma": ("alaw", 8000),
}


def updated_session(current: Session, update: TranscriptionSession) -> Session:
    """The session after `update`, in the shape `session.updated` shows it. As OpenAI updates a session, only
    the fields sent change, `null` clears one, and an object set where there was none starts from its
    default; a format is replaced whole (another format has other fields)."""
    session = current.copy()
    if "include" in update.model_fields_set:
        session["include"] = update.include
    if "audio" in update.model_fields_set:
        audio = _not_cleared(update.audio, "audio")
        if "input" in audio.model_fields_set:
            audio_input = _not_cleared(audio.input, "audio.input")
            session["audio"] = {"input": _updated_input(current["audio"]["input"], audio_input)}
    return session


class ClearedField(ValueError):
    """A `session.update` that sets to null a part of the session that cannot be cleared."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Invalid value for 'session.{name}': it cannot be null.")
        self.param = f"session.{name}"


def _not_cleared(value: T | None, name: str) -> T:
    if value is None:
        raise ClearedField(name)
    return value


def _updated_input(current: ShownInput, update: AudioInput) -> ShownInput:
    sent = update.model_fields_set
    shown = current.copy()
    kind = current["format"]["type"]
    if "format" in sent:
        kind = update.format.type if update.format is not None else "audio/pcm"
    shown["format"] = {"type": kind, "rate": 24000} if kind == "audio/pcm" else {"type": kind}
    if "transcription" in sent:
        transcription = update.transcription
        shown["transcription"] = (
            None if transcription is None else _updated_transcription(current["transcription"], transcription)
        )
    if "noise_reduction" in sent:
        noise = update.noise_reduction
        shown["noise_reduction"] = (
            None if noise is None else _updated_noise(current["noise_reduction"], noise)
        )
    if "turn_detection" in sent:
        vad = update.turn_detection
        shown["turn_detection"] = None if vad is None else _updated_vad(current["turn_detection"], vad)
    return shown


def _updated_transcription(current: ShownTranscription | None, update: Transcription) -> ShownTranscription:
    base = current if current is not None else DEFAULT_TRANSCRIPTION
    sent = update.model_fields_set
    model = update.model if "model" in sent else base["model"]
    shown: ShownTranscription = {
        "model": model or LISTED_ALIAS,
        "language": update.language if "language" in sent else base["language"],
        "prompt": update.prompt if "prompt" in sent else base["prompt"],
    }
    # The fields OpenAI's session leaves out unless set: each as sent, else as it was, shown when set.
    optional = {
        name: getattr(update, name) if name in sent else base.get(name)
        for name in ("keywords", "languages", "delay", "replacements", "redact")
    }
    shown.update(
        cast(ShownTranscription, {name: value for name, value in optional.items() if value is not None})
    )
    return shown


def _updated_noise(current: ShownNoiseReduction | None, update: NoiseReduction) -> ShownNoiseReduction:
    shown: ShownNoiseReduction = current.copy() if current is not None else {}
    if "type" in update.model_fields_set:
        shown["type"] = update.type
    if "strength" in update.model_fields_set:
        shown["strength"] = update.strength
    return shown


def _updated_vad(current: ShownTurnDetection | None, update: ServerVad) -> ShownTurnDetection:
    """Each field kept, or as sent; one sent as `null` is OpenAI's default."""
    base = current if current is not None else DEFAULT_TURN_DETECTION
    sent = update.model_fields_set
    threshold = update.threshold if "threshold" in sent else base["threshold"]
    prefix = update.prefix_padding_ms if "prefix_padding_ms" in sent else base["prefix_padding_ms"]
    silence = update.silence_duration_ms if "silence_duration_ms" in sent else base["silence_duration_ms"]
    default = DEFAULT_TURN_DETECTION
    return {
        "type": update.type,
        "threshold": default["threshold"] if threshold is None else threshold,
        "prefix_padding_ms": default["prefix_padding_ms"] if prefix is None else prefix,
        "silence_duration_ms": default["silence_duration_ms"] if silence is None else silence,
    }


def live_config(session: Session) -> LiveConfig:
    """What our live session does for an OpenAI transcription session."""
    audio_input = session["audio"]["input"]
    vad = audio_input["turn_detection"]
    transcription = audio_input["transcription"]
    detection = None
    if vad is not None:
        detection = TurnDetection(vad["threshold"], vad["prefix_padding_ms"], vad["silence_duration_ms"])
    if transcription is None:
        return LiveConfig(turn_detection=detection, transcribe=False)
    prompt = transcription["prompt"] or ""
    keywords = transcription.get("keywords")
    if keywords:
        prompt = f"{prompt} {', '.join(keywords)}".strip()
    language = transcription["language"] or next(iter(transcription.get("languages") or []), None)
    return LiveConfig(
        model=whisper_model_name(transcription["model"]),
        language=language,
        prompt=prompt or None,
        turn_detection=detection,
        token_logprobs=LOGPROBS in (session["include"] or []),
        rules=LiveRules(
            transcription.get("replacements") or {},
            tuple(transcription.get("redact") or ()),
            tuple(keywords or ()),
        ),
    )


def input_encoding(session: Session) -> tuple[Encoding, int]:
    """The encoding and sample rate of the session's input audio."""
    return INPUT_ENCODINGS[session["audio"]["input"]["format"]["type"]]
