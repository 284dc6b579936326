"""Helpers for live transcription tests: audio in the Realtime protocol's encodings, and each server event
checked against the official client's own types (`openai.types.realtime`)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import soxr
from openai.types import realtime as types

from app.audio.live import G711_TABLES
from tests.synth import SAMPLE_RATE

SERVER_EVENTS: dict[str, type[Any]] = {
    "session.created": types.SessionCreatedEvent,
    "session.updated": types.SessionUpdatedEvent,
    "input_audio_buffer.speech_started": types.InputAudioBufferSpeechStartedEvent,
    "input_audio_buffer.speech_stopped": types.InputAudioBufferSpeechStoppedEvent,
    "input_audio_buffer.committed": types.InputAudioBufferCommittedEvent,
    "input_audio_buffer.cleared": types.InputAudioBufferClearedEvent,
    "conversation.item.added": types.ConversationItemAdded,
    "conversation.item.done": types.ConversationItemDone,
    "conversation.item.input_audio_transcription.delta": types.ConversationItemInputAudioTranscriptionDeltaEvent,
    "conversation.item.input_audio_transcription.completed": (
        types.ConversationItemInputAudioTranscriptionCompletedEvent
    ),
    "conversation.item.input_audio_transcription.failed": types.ConversationItemInputAudioTranscriptionFailedEvent,
    "error": types.RealtimeErrorEvent,
}


def checked(raw: dict[str, Any]) -> Any:
    """`raw` validated as the official client types its event (every required field, every literal)."""
    event = SERVER_EVENTS[raw["type"]].model_validate(raw)
    if raw["type"].startswith("session."):
        types.RealtimeTranscriptionSessionCreateRequest.model_validate(raw["session"])
    if raw["type"].startswith("conversation.item.") and "item" in raw:
        types.RealtimeConversationItemUserMessage.model_validate(raw["item"])
    return event


def pcm24(audio: np.ndarray) -> bytes:
    """16 kHz float audio as the protocol's `audio/pcm`: 24 kHz 16-bit little-endian."""
    return (np.clip(soxr.resample(audio, SAMPLE_RATE, 24_000), -1, 1) * 32767).astype("<i2").tobytes()


def g711(audio: np.ndarray, encoding: str) -> bytes:
    """16 kHz float audio as 8 kHz G.711 (`mulaw` or `alaw`): each sample's nearest code."""
    linear = np.clip(soxr.resample(audio, SAMPLE_RATE, 8_000), -1, 1) * 32767
    table = G711_TABLES[encoding].astype(np.float64)
    order = np.argsort(table)
    position = np.clip(np.searchsorted(table[order], linear), 1, len(table) - 1)
    below, above = order[position - 1], order[position]
    nearest = np.where(np.abs(table[below] - linear) <= np.abs(table[above] - linear), below, above)
    return nearest.astype(np.uint8).tobytes()


def pieces(data: bytes, size: int) -> list[str]:
    """`data` cut into appends of `size` bytes, base64 as `input_audio_buffer.append` carries them."""
    return [base64.b64encode(data[start : start + size]).decode() for start in range(0, len(data), size)]
