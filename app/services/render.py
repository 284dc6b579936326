"""Results as JSON, SRT, VTT, TXT or TSV, through whisperx's own writers."""

from __future__ import annotations

import io
import json
from typing import Any

from app.schemas import OutputFormat, SubtitleOptions

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "txt": "text/plain",
    "tsv": "text/tab-separated-values",
}


def render(
    result: dict[str, Any], output_format: OutputFormat, options: SubtitleOptions | None = None
) -> str:
    """`result` (a transcript with `segments`) in `output_format`."""
    if output_format == "json":
        return json.dumps(result, ensure_ascii=False)
    from whisperx.utils import WriteSRT, WriteTSV, WriteTXT, WriteVTT

    writer = {"srt": WriteSRT, "vtt": WriteVTT, "txt": WriteTXT, "tsv": WriteTSV}[output_format](".")
    buffer = io.StringIO()
    # The writers read `language` (to join words with or without spaces); combined transcripts may lack it.
    writer.write_result({"language": None, **result}, buffer, (options or SubtitleOptions()).model_dump())
    return buffer.getvalue()
