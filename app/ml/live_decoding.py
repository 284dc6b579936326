"""Decoding live speech: one window of a stream (at most Whisper's 30 s) at a time, with the shared Whisper model,
on one thread for the whole process that takes urgent windows (a finished turn) before the others (text while
someone still speaks).

The decodes never take the registry's device lock: a file task holds it for its whole transcription, and a live
turn cannot wait that long. They run beside it on the same model, which CTranslate2 serves with
`WHISPER_WORKERS` workers sharing its weights (two by default): a live window is decoded while a file task's
batch is, instead of after it.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import heapq
import io
import itertools
import logging
import math
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from app.ml.chunking import Chunk
from app.ml.devices import device_failures_as_errors
from app.ml.registry import registry
from app.ml.results import TokenLogprob
from app.ml.transcription import WhisperSpec, load_whisper

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

T = TypeVar("T")

SAMPLE_RATE = 16_000
HOP_SAMPLES = 160
"""Samples per mel frame."""
WINDOW_FRAMES = 3000
"""Whisper's window: 30 s of mel frames."""
SHORT_WINDOW_MIN_SECONDS = 10.0
SHORT_WINDOW_MARGIN_SECONDS = 5.0
"""On the CPU a short window is encoded over its own length plus this margin of silence, at least
`SHORT_WINDOW_MIN_SECONDS`, not over the full 30 s: the encoder's cost follows its input's length, and it is most
of a short window's decoding. With less silence after the speech than this, Whisper starts repeating itself."""
FRAME_STEP = 250
"""Encoder lengths are rounded up to 2.5 s steps."""


@dataclass(frozen=True)
class WindowText:
    """What one window decodes to."""

    text: str
    """The text, stripped; empty when Whisper took the window for silence."""
    logprobs: list[TokenLogprob] | None = None
    """Each token with its log-probability (`{"token", "logprob", "bytes"}`), when asked for."""


def encoder_frames(samples: int, *, device: str, full: bool) -> int:
    """The mel frames a window of `samples` is encoded over."""
    if full or device != "cpu":
        return WINDOW_FRAMES
    seconds = max(SHORT_WINDOW_MIN_SECONDS, samples / SAMPLE_RATE + SHORT_WINDOW_MARGIN_SECONDS)
    frames = math.ceil(seconds * SAMPLE_RATE / HOP_SAMPLES / FRAME_STEP) * FRAME_STEP
    return min(WINDOW_FRAMES, frames)


class WindowDecoder:
    """Decodes windows of one live stream: its model, language, prompt and whisperx's decoding options."""

    def __init__(
        self,
        spec: WhisperSpec,
        *,
        language: str | None,
        asr_options: Mapping[str, object],
        token_logprobs: bool,
    ) -> None:
        self.spec = spec
        self.language = language
        self.asr_options = asr_options
        self.token_logprobs = token_logprobs

    def load(self) -> None:
        """Load the model now, if it is not loaded."""
        with registry.holding(), device_failures_as_errors("transcribe"):
            load_whisper(self.spec)

    def decode(self, audio: np.ndarray) -> WindowText:
        """The text of up to 30 s of 16 kHz audio."""
        import whisperx

        if not len(audio):
            return WindowText("", [] if self.token_logprobs else None)

        with registry.holding(), device_failures_as_errors("transcribe"):
            model = load_whisper(self.spec)
            # whisperx builds the decoding options and tokenizer as the file pipeline has them; the VAD it would
            # build is never used here, so it is handed a stand-in (and prints a notice stdout does not want).
            with contextlib.redirect_stdout(io.StringIO()):
                pipeline = whisperx.load_model(
                    self.spec.name,
                    self.spec.device,
                    device_index=self.spec.device_index,
                    compute_type=self.spec.compute_type,
                    asr_options=self.asr_options,
                    language=self.language,
                    vad_model=True,
                    model=model,
                    task="transcribe",
                )
            live = _short_window_pipeline().from_pipeline(pipeline)
            # Token scores are forced decoding over the full window's encoder output.
            live.frames = encoder_frames(len(audio), device=self.spec.device, full=self.token_logprobs)
            decoding = live.transcribe(
                audio,
                [Chunk(start=0.0, end=len(audio) / SAMPLE_RATE, segments=[])],
                batch_size=1,
                language=self.language,
                task="transcribe",
                token_logprobs=self.token_logprobs,
            )
        segment = decoding.transcript["segments"][0]
        options = live.options
        silent = (
            options.no_speech_threshold is not None
            and segment["no_speech_prob"] > options.no_speech_threshold
            and options.log_prob_threshold is not None
            and segment["avg_logprob"] < options.log_prob_threshold
        )
        if silent:
            return WindowText("", [] if self.token_logprobs else None)
        return WindowText(segment["text"].strip(), segment.get("logprobs"))


@functools.cache
def _short_window_pipeline() -> Any:
    """The file pipeline's decoding over `frames` mel frames instead of always 30 s (defined on first use:
    whisperx and torch load only once a live stream decodes)."""
    from whisperx.audio import log_mel_spectrogram

    from app.ml.decoding import ConfidentPipeline

    class ShortWindowPipeline(ConfidentPipeline):
        frames = WINDOW_FRAMES

        def preprocess(self, inputs: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
            audio = inputs["inputs"][: self.frames * HOP_SAMPLES]
            mels = self.model.feat_kwargs.get("feature_size") or 80
            features = log_mel_spectrogram(audio, n_mels=mels, padding=self.frames * HOP_SAMPLES - len(audio))
            return {"inputs": features[:, : self.frames]}

    return ShortWindowPipeline


URGENT, AHEAD, HEARING = 0, 1, 2
"""Priorities: a finished turn's windows, windows decoded ahead of a turn's end, text while one is spoken."""


class LiveDecodeQueue:
    """One thread decoding for every live stream of the process, one window at a time: the most urgent work
    first, each priority in the order it came."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Callable[[], Any], Future[Any]]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def submit(self, work: Callable[[], T], priority: int) -> Future[T]:
        """Run `work` when the thread is free and nothing more urgent waits; cancel the future to drop it."""
        future: Future[T] = Future()
        self._push(priority, work, future)
        return future

    def hurry(self, future: Future[Any], work: Callable[[], Any]) -> None:
        """Make the waiting `future` (of `work`) urgent; one under way or done is left alone."""
        if not future.done() and not future.running():
            self._push(URGENT, work, future)  # the old entry finds the future taken, and is skipped

    def _push(self, priority: int, work: Callable[[], Any], future: Future[Any]) -> None:
        with self._ready:
            heapq.heappush(self._heap, (priority, next(self._order), work, future))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="live-decoder", daemon=True)
                self._thread.start()
            self._ready.notify()

    def stop(self) -> None:
        """Let the decode under way end and start no other (at exit: a model torn down mid-decode aborts the
        process)."""
        with self._ready:
            self._stopped = True
            for *_, future in self._heap:
                future.cancel()
            self._heap.clear()
            self._ready.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=60)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._heap and not self._stopped:
                    self._ready.wait()
                if self._stopped:
                    return
                _, _, work, future = heapq.heappop(self._heap)
                if future.running() or future.done():
                    continue  # hurried: taken through its urgent entry
                if not future.set_running_or_notify_cancel():
                    continue
            try:
                future.set_result(work())
            except BaseException as error:  # the stream hears of it through its future
                future.set_exception(error)


live_decodes = LiveDecodeQueue()
atexit.register(live_decodes.stop)
