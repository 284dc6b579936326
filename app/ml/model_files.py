"""Where a Whisper model's files are on this machine, without downloading anything."""

from __future__ import annotations

from pathlib import Path

from app.ml.transcription import BUNDLED_MODEL, whisper_source


def whisper_files_time(name: str) -> int | None:
    """When `name`'s weights were written here (Unix seconds), or None when they are not on this machine."""
    from faster_whisper.utils import download_model

    try:
        folder = (
            whisper_source(name) if name == BUNDLED_MODEL else download_model(name, local_files_only=True)
        )
    except Exception:  # not in the cache (or no such model): nothing to date
        return None
    weights = Path(folder) / "model.bin"
    return int(weights.stat().st_mtime) if weights.is_file() else None
