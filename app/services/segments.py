"""Cutting transcript segments at word boundaries: where the speaker changes, or before a cue grows too long."""

from __future__ import annotations

from whisperx.utils import LANGUAGES_WITHOUT_SPACES

from app.ml.results import Segment, Word


def _pieces(words: list[Word], max_duration: float | None) -> list[list[Word]]:
    """Runs of words with one speaker (words with none join the run they fall in), each at most
    `max_duration` seconds long when that is given."""
    pieces: list[list[Word]] = []
    speaker: str | None = None
    start: float | None = None
    for word in words:
        changes = word.get("speaker") is not None and speaker is not None and word["speaker"] != speaker
        end = word.get("end")
        too_long = (
            max_duration is not None and start is not None and end is not None and end - start > max_duration
        )
        if not pieces or changes or too_long:
            pieces.append([])
            speaker, start = None, None
        pieces[-1].append(word)
        speaker = speaker or word.get("speaker")
        start = word.get("start") if start is None else start
    return pieces


def split_segments(
    segments: list[Segment], *, language: str | None = None, max_duration: float | None = None
) -> list[Segment]:
    """`segments` cut where their words change speaker (and, with `max_duration`, before a piece would last
    longer): text, times and words follow the cut, the decoder's figures stay with every piece, and ids are
    renumbered."""
    joiner = "" if language in LANGUAGES_WITHOUT_SPACES else " "
    cut: list[Segment] = []
    for segment in segments:
        pieces = _pieces(segment.get("words") or [], max_duration)
        if len(pieces) <= 1:
            cut.append(segment)
            continue
        for index, words in enumerate(pieces):
            timed = [word for word in words if word.get("start") is not None and word.get("end") is not None]
            piece: Segment = {**segment, "words": words, "text": joiner.join(word["word"] for word in words)}
            if index > 0 and timed:
                piece["start"] = timed[0]["start"]
            if index < len(pieces) - 1 and timed:
                piece["end"] = max(word["end"] for word in timed)
            speaker = next((word["speaker"] for word in words if word.get("speaker") is not None), None)
            if speaker is not None:
                piece["speaker"] = speaker
            cut.append(piece)
    for number, segment in enumerate(cut):
        if "id" in segment:
            segment["id"] = number
    return cut
