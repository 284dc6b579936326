"""One speaker per segment, and subtitle cues cut by speaker and by length."""

from __future__ import annotations

import re
from typing import Any

from app.schemas import SubtitleOptions
from app.services.pipeline import run_combine
from app.services.render import render
from app.services.segments import split_segments


def _word(word: str, start: float, end: float, speaker: str | None = None) -> dict[str, Any]:
    timed: dict[str, Any] = {"word": word, "start": start, "end": end, "score": 0.9}
    return timed | ({"speaker": speaker} if speaker else {})


def _transcript() -> dict[str, Any]:
    words = [
        _word("Oh,", 0.0, 0.3),
        _word("hello.", 0.4, 0.9),
        _word("I", 1.3, 1.4),
        _word("didn't", 1.45, 1.8),
        _word("know.", 1.85, 2.4),
    ]
    segment = {"id": 0, "start": 0.0, "end": 2.5, "text": " Oh, hello. I didn't know.", "words": words}
    segment |= {"avg_logprob": -0.2, "no_speech_prob": 0.01, "compression_ratio": 1.1, "temperature": 0.0}
    tail = {"id": 1, "start": 3.0, "end": 4.0, "text": " Yes.", "words": [_word("Yes.", 3.1, 3.6)]}
    return {"language": "en", "segments": [segment, tail], "word_segments": [*words, *tail["words"]]}


DIARIZATION = [
    {"start": 0.0, "end": 0.35, "speaker": "SPEAKER_01"},
    # "hello." (0.4-0.9) is mostly inside this turn though it starts in the pause before it.
    {"start": 0.6, "end": 2.4, "speaker": "SPEAKER_00"},
    {"start": 2.9, "end": 4.0, "speaker": "SPEAKER_01"},
]


def test_a_segment_whose_words_change_speaker_is_split_there() -> None:
    combined = run_combine(_transcript(), DIARIZATION)
    segments = combined["segments"]
    assert [(s["id"], s["speaker"], s["text"]) for s in segments] == [
        (0, "SPEAKER_01", "Oh,"),
        (1, "SPEAKER_00", "hello. I didn't know."),
        (2, "SPEAKER_01", " Yes."),
    ]
    assert [(s["start"], s["end"]) for s in segments] == [(0.0, 0.3), (0.4, 2.5), (3.0, 4.0)]
    for segment in segments:
        assert {word["speaker"] for word in segment["words"]} == {segment["speaker"]}
    assert segments[0]["avg_logprob"] == segments[1]["avg_logprob"] == -0.2
    assert [w["word"] for w in combined["word_segments"]] == ["Oh,", "hello.", "I", "didn't", "know.", "Yes."]


def test_words_at_a_turn_edge_take_the_turn_that_covers_most_of_them() -> None:
    words = run_combine(_transcript(), DIARIZATION)["word_segments"]
    assert [w["speaker"] for w in words] == ["SPEAKER_01", "SPEAKER_00", *["SPEAKER_00"] * 3, "SPEAKER_01"]


def test_words_without_a_speaker_stay_in_the_run_they_fall_in() -> None:
    segment = _transcript()["segments"][0]
    for word, speaker in zip(segment["words"], ["A", None, None, "B", None], strict=True):
        word.pop("speaker", None)
        if speaker:
            word["speaker"] = speaker
    assert [s["text"] for s in split_segments([segment])] == ["Oh, hello. I", "didn't know."]


def test_a_maximum_duration_cuts_between_words() -> None:
    pieces = split_segments(_transcript()["segments"][:1], max_duration=1.0)
    assert [p["text"] for p in pieces] == ["Oh, hello.", "I didn't", "know."]
    assert all(p["end"] - p["start"] <= 1.0 for p in pieces[1:-1])


def _cues(subtitles: str) -> list[tuple[float, float, str]]:
    cues = []
    for block in subtitles.strip().split("\n\n"):
        lines = block.splitlines()
        start, end = re.findall(r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d)", lines[1])
        seconds = [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in (start, end)]
        cues.append((seconds[0], seconds[1], " ".join(lines[2:])))
    return cues


def test_subtitles_name_one_speaker_per_cue_or_none() -> None:
    combined = run_combine(_transcript(), DIARIZATION)
    labelled = _cues(render(combined, "srt"))
    assert [text.split("]:")[0] for _, _, text in labelled] == ["[SPEAKER_01", "[SPEAKER_00", "[SPEAKER_01"]
    plain = _cues(render(combined, "srt", SubtitleOptions(speaker_labels=False)))
    assert [text for _, _, text in plain] == ["Oh,", "hello. I didn't know.", "Yes."]


def test_subtitle_cues_respect_the_maximum_duration() -> None:
    options = SubtitleOptions(max_cue_duration=1.0, speaker_labels=False)
    cues = _cues(render(_transcript(), "srt", options))
    assert [text for _, _, text in cues] == ["Oh, hello.", "I didn't", "know.", "Yes."]
    assert all(end - start <= 1.0 for start, end, _ in cues)
