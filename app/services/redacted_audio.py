"""A redacting task's audio with the redacted words bleeped, kept beside the task until it is deleted."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.audio.bleep import bleeped, flac
from app.config import Settings
from app.services.results import RedactedAudio

REDACTED = "redacted"
"""Folder of `DATA_DIR` holding the bleeped audio, one FLAC file per task."""
MEDIA_TYPE = "audio/flac"


def redacted_audio_path(settings: Settings, identifier: str) -> Path:
    return settings.data_dir / REDACTED / f"{identifier}.flac"


def keep_bleeped(
    settings: Settings, identifier: str, samples: np.ndarray, spans: list[tuple[float, float]]
) -> RedactedAudio:
    """Save the task's audio with `spans` bleeped; what the result says of it."""
    path = redacted_audio_path(settings, identifier)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(flac(bleeped(samples, spans)))
    partial.replace(path)  # whole or absent: never half a file under the task's name
    return RedactedAudio(
        url=f"/task/{identifier}/redacted-audio",
        media_type=MEDIA_TYPE,
        spans=[[round(start, 3), round(end, 3)] for start, end in spans],
    )


def remove_redacted_audio(settings: Settings, identifier: str) -> None:
    redacted_audio_path(settings, identifier).unlink(missing_ok=True)
