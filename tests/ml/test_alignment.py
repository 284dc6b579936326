"""The alignment stage's plumbing: wav2vec2's progress reaches the task, as Whisper's aligner's does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import whisperx

from app.ml import alignment


def test_wav2vec2_alignment_reports_its_progress_and_may_be_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    # No wav2vec2 model can be downloaded here: a stand-in aligner walks the segments as whisperx's does.
    monkeypatch.setattr(alignment, "load_wav2vec2", lambda *_args: (object(), {"language": "en"}))

    def align(segments: list[dict[str, Any]], *_args: Any, progress_callback: Any = None, **_kw: Any) -> Any:
        for index, _segment in enumerate(segments):
            if progress_callback is not None:
                progress_callback((index + 1) / len(segments) * 100)
        return {"segments": [], "word_segments": []}

    monkeypatch.setattr(whisperx, "align", align)
    transcript = {"segments": [{"start": float(i), "end": i + 1.0, "text": "word"} for i in range(4)]}
    heard: list[float] = []
    options: dict[str, Any] = {
        "language": "en",
        "device": "cpu",
        "align_model": None,
        "whisper_model": None,
        "whisper_name": "tiny.en",
    }
    result = alignment.align(
        np.zeros(16_000 * 4, np.float32), transcript, on_progress=heard.append, **options
    )
    assert heard == [0.25, 0.5, 0.75, 1.0] and result["aligner"] == "wav2vec2:en"

    class Stopped(Exception):
        pass

    def stop(_fraction: float) -> None:
        raise Stopped

    with pytest.raises(Stopped):
        alignment.align(np.zeros(16_000 * 4, np.float32), transcript, on_progress=stop, **options)
