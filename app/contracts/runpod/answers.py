"""The RunPod worker's answers: `{"identifier", "result", "message"}`, a refusal, a streamed segment."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from app.ml.results import Caption


class Answer(TypedDict):
    """The handler's answer: the task (or object) acted on, its result, and what happened."""

    identifier: str | None
    result: object
    message: str
    redacted_audio: NotRequired[str]
    """A task run with `redact_audio`: its audio with the redacted words bleeped, as a FLAC data URI."""


class Refusal(TypedDict):
    """A failed job's answer: RunPod keeps only `error`, a string, so it holds the JSON of `{code, message}`."""

    error: str
    refresh_worker: NotRequired[bool]
    """The worker is replaced after this job (its device failed)."""
    failed: NotRequired[bool]
    """Set where `error` would be alone, which RunPod's SDK drops (`handler.serve_job`)."""


class StreamItem(TypedDict):
    """A streaming worker's item for each newly decoded segment."""

    segment: Caption
    progress: float
