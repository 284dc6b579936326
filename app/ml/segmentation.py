"""One pass of pyannote's segmentation model per recording, shared by whisperx's VAD and the embedded diarizer.

Both use the PyanNet checkpoint that ships with whisperx. For each 5 s window it gives the activity of up to
three local speakers, frame by frame. whisperx's VAD keeps the likeliest speaker of each frame and averages the
overlapping windows (pyannote's `VoiceActivityDetection`); the embedded diarizer takes the windows as they are.
Computed once, at the diarizer's step, the windows serve both, so a full run no longer segments the recording
twice. whisperx's own VAD steps its windows every 0.5 s, as the diarizer does up to a minute of audio; every
1.25 s (beyond) its chunks start and end within 0.03 s of the same places on the sample, the dialogue and the
recurring-voices recording, for a fifth of the segmentation time on long files.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import whisperx
from pyannote.audio import Inference, Model
from pyannote.audio.core.task import Specifications
from pyannote.core import Segment, SlidingWindow, SlidingWindowFeature
from whisperx.audio import SAMPLE_RATE

from app.ml.registry import registry

SEGMENTATION_CHECKPOINT = Path(whisperx.__file__).parent / "assets" / "pytorch_model.bin"

# Windows step by this fraction of their 5 s duration; past LONG_RECORDING seconds embeddings are plenty at a
# coarser step, which cuts segmentation and embedding cost by 2.5 (bench/diarizer.py).
WINDOW_STEP = 0.1
LONG_RECORDING = 60.0
LONG_WINDOW_STEP = 0.25
BATCH_SIZE = 32


def is_long_recording(seconds: float) -> bool:
    """Past LONG_RECORDING seconds the diarizer's windows step coarser and embed every other one."""
    return seconds > LONG_RECORDING


def specifications(model: Model) -> Specifications:
    """What a segmentation model gives (one task: its window duration, whether it is powerset)."""
    specs = model.specifications
    if isinstance(specs, tuple):
        raise TypeError("a segmentation model with one task is expected")
    return specs


def window_step(num_samples: int) -> float:
    """The windows' step, as a fraction of their duration, for a recording of `num_samples`."""
    return LONG_WINDOW_STEP if is_long_recording(num_samples / SAMPLE_RATE) else WINDOW_STEP


def load_segmentation(device: str) -> Model:
    """The segmentation model, loaded once per device."""

    def load() -> Model:
        model = Model.from_pretrained(SEGMENTATION_CHECKPOINT)
        if model is None:
            raise FileNotFoundError(f"no segmentation model at {SEGMENTATION_CHECKPOINT}")
        model.eval()
        return model.to(torch.device(device))

    return registry.get(("segmentation", device), load)


@dataclass(frozen=True)
class SpeakerActivity:
    """Local speakers' activity in each window of one recording, with what is needed to aggregate it."""

    windows: SlidingWindowFeature  # (windows, frames, local speakers)
    frames: SlidingWindow  # the model's frames (receptive field)
    warm_up: tuple[float, float]
    num_samples: int

    def speech_scores(self) -> SlidingWindowFeature:
        """Speech probability per frame, as pyannote's `VoiceActivityDetection` computes it for whisperx."""
        loudest = np.max(self.windows.data, axis=-1, keepdims=True)
        scores = Inference.aggregate(
            SlidingWindowFeature(loudest, self.windows.sliding_window),
            self.frames,
            warm_up=self.warm_up,
            hamming=True,
            missing=0.0,
        )
        window, step = self.windows.sliding_window.duration, self.windows.sliding_window.step
        window_samples, step_samples = round(window * SAMPLE_RATE), round(step * SAMPLE_RATE)
        padded = self.num_samples < window_samples or (self.num_samples - window_samples) % step_samples > 0
        if padded:
            # The last window was zero-padded: its frames past the end are no speech.
            scores.data = scores.crop(Segment(0.0, self.num_samples / SAMPLE_RATE), mode="loose")
        return scores


# The recording's speaker activity when the VAD computed it already (set around one diarization call).
_shared: ContextVar[SpeakerActivity | None] = ContextVar("shared_activity", default=None)


@contextmanager
def sharing_activity(activity: SpeakerActivity) -> Iterator[None]:
    """Let the embedded diarizer take `activity` as its segmentation instead of segmenting again."""
    token = _shared.set(activity)
    try:
        yield
    finally:
        _shared.reset(token)


def shared_activity() -> SpeakerActivity | None:
    return _shared.get()


def speaker_activity(audio: np.ndarray, device: str, *, step: float | None = None) -> SpeakerActivity:
    """Run the segmentation model over 16 kHz mono `audio` (`step`: a fraction of the window duration)."""
    model = load_segmentation(device)
    duration = specifications(model).duration
    inference = Inference(
        model,
        duration=duration,
        step=(step or window_step(len(audio))) * duration,
        skip_aggregation=True,
        batch_size=BATCH_SIZE,
        device=torch.device(device),
    )
    waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
    windows = inference({"waveform": waveform, "sample_rate": SAMPLE_RATE})
    warm_up: tuple[float, float] = inference.warm_up or (0.0, 0.0)
    return SpeakerActivity(windows, model.receptive_field, warm_up, len(audio))
