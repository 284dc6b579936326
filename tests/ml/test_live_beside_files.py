"""Live decodes beside a file task: a live window is decoded while the file task's batch is, not after it."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from app.config import Settings
from app.ml import transcription
from app.ml.live_decoding import WindowDecoder
from app.ml.transcription import WhisperSpec, load_whisper
from app.schemas import ASROptions, ModelParams, VADOptions
from app.services.pipeline import speech_options
from tests.corpus import sample_audio

pytestmark = pytest.mark.slow

FILE_THREAD = "file-task"


def test_a_live_window_is_decoded_while_a_file_batch_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = WhisperSpec("tiny.en", "cpu", 0, "int8", 2, workers=Settings(_env_file=None).whisper_workers)  # type: ignore[call-arg]
    model = load_whisper(spec)
    batches: list[tuple[float, float]] = []
    full_batch = threading.Event()
    decode_batch = model.generate_segment_batched

    def timed(features: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name != FILE_THREAD:
            return decode_batch(features, *args, **kwargs)
        started = time.monotonic()
        if len(features) > 1:  # past the first batch, which holds one chunk
            full_batch.set()
        try:
            return decode_batch(features, *args, **kwargs)
        finally:
            batches.append((started, time.monotonic()))

    monkeypatch.setattr(model, "generate_segment_batched", timed)
    recording = np.tile(sample_audio(), 8)  # four minutes of speech: batches of eight 30 s chunks
    file_task = threading.Thread(
        target=transcription.transcribe,
        args=(recording,),
        kwargs={
            "spec": spec,
            "language": "en",
            "task": "transcribe",
            "chunk_size": ModelParams().chunk_size,
            "asr_options": ASROptions().model_dump(),
            "speech": speech_options(VADOptions(vad_method="silero")),
            "batch_size": 8,
        },
        name=FILE_THREAD,
    )
    file_task.start()
    assert full_batch.wait(timeout=120)
    live = WindowDecoder(spec, language="en", asr_options=ASROptions().model_dump(), token_logprobs=False)
    started = time.monotonic()
    text = live.decode(sample_audio()[: 16_000 * 5])
    ended = time.monotonic()
    file_task.join(timeout=600)
    assert text.text, "the live window was decoded"
    running = [(start, end) for start, end in batches if start <= started < end]
    assert running, "a file batch was under way when the live window came"
    assert ended < running[0][1], (
        f"the live window ({ended - started:.2f} s) waited for the file batch to end "
        f"({running[0][1] - started:.2f} s after it came)"
    )
