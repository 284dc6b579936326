"""The full pipeline's progress reports: each stage's fraction inside its share, diarization's percent kept."""

from __future__ import annotations

import threading

import pytest

from app.services.pipeline_progress import PipelineProgress, Segments, _Abandoned


def reports_of(
    *, diarization_beside: bool
) -> tuple[PipelineProgress, list[tuple[float, str]], threading.Event]:
    heard: list[tuple[float, str]] = []

    def report(fraction: float, stage: str, partial: Segments | None = None) -> None:
        heard.append((round(fraction, 6), stage))

    abandoned = threading.Event()
    return (
        PipelineProgress(report, abandoned=abandoned, diarization_beside=diarization_beside),
        heard,
        abandoned,
    )


def test_each_stage_reports_inside_its_share_in_order() -> None:
    progress, heard, _ = reports_of(diarization_beside=False)
    progress.starting("transcribe")
    progress.on_transcription(1.0, [{"start": 0.0, "end": 1.0, "text": "hi"}])
    progress.starting("align")
    progress.on_alignment(0.5)
    progress.on_diarization(50.0)
    progress.starting("combine")
    assert heard == [
        (0.0, "transcribe"),
        (0.45, "transcribe"),
        (0.45, "align"),
        (0.525, "align"),
        (0.775, "diarize"),
        (0.95, "combine"),
    ]


def test_diarization_beside_is_kept_until_the_pipeline_reports_it() -> None:
    progress, heard, _ = reports_of(diarization_beside=True)
    progress.on_diarization(20.0)
    assert heard == []
    progress.report_diarization()
    assert heard == [(0.67, "diarize")]


def test_an_abandoned_diarization_is_stopped_at_its_next_report() -> None:
    progress, heard, abandoned = reports_of(diarization_beside=False)
    abandoned.set()
    with pytest.raises(_Abandoned):
        progress.on_diarization(10.0)
    assert heard == []
