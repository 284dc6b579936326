"""A task's progress through the speech pipeline: what a report says, and the full run's reports, each stage's
own fraction done mapped onto its share of the whole run."""

from __future__ import annotations

import threading
from typing import Literal, Protocol

from app.ml.results import Caption

Segments = list[Caption]

TRANSCRIBE_SHARE, ALIGN_SHARE, DIARIZE_SHARE = (0.0, 0.45), (0.45, 0.6), (0.6, 0.95)
"""The part of the full pipeline's progress each stage's own fraction done is reported in (combine: the rest)."""
_STARTS = {"transcribe": TRANSCRIBE_SHARE[0], "align": ALIGN_SHARE[0], "combine": DIARIZE_SHARE[1]}


class Progress(Protocol):
    """Called with the task's overall progress (0–1) and the current stage and, while transcribing, the
    segments decoded so far (`start`, `end`, `text`); it may raise to stop the task."""

    def __call__(self, fraction: float, stage: str, partial: Segments | None = None) -> None: ...


def no_progress(fraction: float, stage: str, partial: Segments | None = None) -> None:
    """The progress of a run nobody follows."""


class _Abandoned(Exception):
    """The stages beside which diarization ran have failed or were cancelled: its result is not wanted."""


def _within(share: tuple[float, float], fraction: float) -> float:
    low, high = share
    return low + (high - low) * fraction


class PipelineProgress:
    """The full pipeline's reports to `report`. Diarization's last percent is kept: run beside the other stages,
    it is heard on diarization's own thread and reported from the pipeline's, after alignment and while the
    pipeline waits for it (`report_diarization`); run after them, it reports as it goes. Once `abandoned` is set,
    diarization's next report raises `_Abandoned` to stop it."""

    def __init__(self, report: Progress, *, abandoned: threading.Event, diarization_beside: bool) -> None:
        self._report = report
        self._abandoned = abandoned
        self._diarization_beside = diarization_beside
        self._diarized_percent = 0.0

    def starting(self, stage: Literal["transcribe", "align", "combine"]) -> None:
        self._report(_STARTS[stage], stage)

    def on_transcription(self, fraction: float, partial: Segments) -> None:
        self._report(_within(TRANSCRIBE_SHARE, fraction), "transcribe", partial)

    def on_alignment(self, fraction: float) -> None:
        self._report(_within(ALIGN_SHARE, fraction), "align")

    def on_diarization(self, percent: float) -> None:
        if self._abandoned.is_set():
            raise _Abandoned
        self._diarized_percent = percent
        if not self._diarization_beside:
            self.report_diarization()

    def report_diarization(self) -> None:
        """Diarization's progress as last heard."""
        self._report(_within(DIARIZE_SHARE, self._diarized_percent / 100), "diarize")
