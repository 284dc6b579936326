"""Silero VAD through the ONNX file faster-whisper ships, in whisperx's VAD interface."""

from __future__ import annotations

from typing import Any

import numpy as np
from whisperx.vads.vad import Vad


class SileroOnnxVad(Vad):
    """Silero VAD through the ONNX file faster-whisper ships (whisperx's Silero fetches from torch.hub)."""

    def __init__(self, onset: float, chunk_size: int) -> None:
        super().__init__(onset)
        self.onset = onset
        self.chunk_size = chunk_size

    def __call__(self, audio: dict[str, Any], **_: Any) -> list[Any]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
        from whisperx.diarize import Segment

        rate = audio["sample_rate"]
        spans = get_speech_timestamps(
            audio["waveform"],
            VadOptions(threshold=self.onset, max_speech_duration_s=self.chunk_size),
            sampling_rate=rate,
        )
        return [Segment(span["start"] / rate, span["end"] / rate, "UNKNOWN") for span in spans]

    @staticmethod
    def preprocess_audio(audio: np.ndarray) -> np.ndarray:
        return audio

    @staticmethod
    def merge_chunks(segments: list[Any], chunk_size: int, onset: float, offset: float | None) -> list[dict]:
        return Vad.merge_chunks(segments, chunk_size, onset, offset) if segments else []
