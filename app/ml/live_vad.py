"""Speech probability of live audio, frame by frame, with Silero's VAD (the ONNX model faster-whisper ships and
builds once per process): the model's recurrent state and each frame's context carry from one piece of audio to
the next, so a stream cut into pieces scores as it would whole."""

from __future__ import annotations

import numpy as np

FRAME_SAMPLES = 512
"""One frame: 32 ms at 16 kHz, Silero's window."""
CONTEXT_SAMPLES = 64
"""The samples before each frame the model also sees."""


class SpeechProbabilities:
    """Feed 16 kHz audio in pieces; get the speech probability of each 32 ms frame it completes."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session = get_vad_model().session
        self._pending = np.zeros(0, dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)

    def feed(self, samples: np.ndarray) -> np.ndarray:
        """Probabilities (0–1) of the frames `samples` completes; the rest waits for the next piece."""
        audio = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        count = len(audio) // FRAME_SAMPLES
        self._pending = audio[count * FRAME_SAMPLES :]
        if not count:
            return np.zeros(0, dtype=np.float32)
        frames = audio[: count * FRAME_SAMPLES].reshape(count, FRAME_SAMPLES)
        contexts = np.concatenate([self._context[np.newaxis], frames[:-1, -CONTEXT_SAMPLES:]])
        self._context = frames[-1, -CONTEXT_SAMPLES:].copy()
        batch = np.ascontiguousarray(np.concatenate([contexts, frames], axis=1))
        output, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        return np.asarray(output, dtype=np.float32).reshape(-1)
