"""Uploads kept under `DATA_DIR/uploads/<task id>` until their task has read them."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from app.config import Settings
from app.runtime import Runtime

UPLOADS = "uploads"
# A folder with no task row is left alone this long: its request may still be recording the task.
UNCLAIMED_UPLOAD_GRACE_S = 600


def remove_upload(settings: Settings, identifier: str) -> None:
    shutil.rmtree(settings.data_dir / UPLOADS / identifier, ignore_errors=True)


def sweep_uploads(runtime: Runtime) -> int:
    """Remove kept uploads whose task has ended or no longer exists; safe when processes share `DATA_DIR`."""
    root = runtime.settings.data_dir / UPLOADS
    folders = {folder.name: folder for folder in root.iterdir() if folder.is_dir()} if root.is_dir() else {}
    active = runtime.tasks.active_among(folders)
    removed = 0
    for identifier, folder in folders.items():
        if identifier in active or (runtime.tasks.get(identifier) is None and _younger_than_grace(folder)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


def _younger_than_grace(folder: Path) -> bool:
    try:
        return time.time() - folder.stat().st_mtime < UNCLAIMED_UPLOAD_GRACE_S
    except FileNotFoundError:
        return False
