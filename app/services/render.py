"""Results as JSON, SRT, VTT, TXT or TSV, through whisperx's own writers."""

from __future__ import annotations

import io
import json
from typing import Any

from app.ml.results import Segment, Transcript
from app.schemas import OutputFormat, RenderedJob, SubtitleOptions
from app.services.segments import split_segments
from app.task_schemas import TaskOut

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "txt": "text/plain",
    "tsv": "text/tab-separated-values",
}


def render(result: Transcript, output_format: OutputFormat, options: SubtitleOptions | None = None) -> str:
    """`result` (a transcript with `segments`) in `output_format`."""
    if output_format == "json":
        return json.dumps(result, ensure_ascii=False)
    from whisperx.utils import WriteSRT, WriteTSV, WriteTXT, WriteVTT

    options = options or SubtitleOptions()
    segments = split_segments(
        result["segments"], language=result.get("language"), max_duration=options.max_cue_duration
    )
    if not options.speaker_labels:
        segments = [_unlabelled(segment) for segment in segments]
    writer = {"srt": WriteSRT, "vtt": WriteVTT, "txt": WriteTXT, "tsv": WriteTSV}[output_format](".")
    buffer = io.StringIO()
    # The writers read `language` (to join words with or without spaces); combined transcripts may lack it.
    # They prefix each cue with its segment's speaker, and whisperx's writers print `[SPEAKER]: `.
    writer.write_result({"language": None, **result, "segments": segments}, buffer, options.model_dump())
    return buffer.getvalue()


def _unlabelled(segment: Segment) -> Segment:
    copy = segment.copy()
    copy.pop("speaker", None)
    return copy


def rendered_result(task: TaskOut, job: object) -> Any:
    """A completed task's result in the format the job asked for, when it is a `RenderedJob` (JSON stays an
    object)."""
    if task.result is None or not isinstance(job, RenderedJob) or job.output_format == "json":
        return task.result
    return render(task.result, job.output_format, job.subtitle_options)
