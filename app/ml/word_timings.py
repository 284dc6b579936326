"""Aligned words into whisperx's result shape: each segment cut into sentences with its timed words."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import nltk
from nltk.tokenize.punkt import PunktSentenceTokenizer
from whisperx.utils import PUNKT_LANGUAGES

from app.ml.nltk_setup import ensure_punkt_data
from app.ml.results import Caption, Segment, Word

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class WordTiming:
    """One Whisper word (punctuation merged): its characters in the segment text and its time in seconds."""

    first: int
    last: int
    start: float
    end: float
    probability_sum: float
    tokens: int


def sentence_splitter(language: str) -> PunktSentenceTokenizer:
    """The Punkt splitter whisperx uses for `language`, or the bundled English one when that is missing."""
    ensure_punkt_data()
    name = PUNKT_LANGUAGES.get(language, "english")
    try:
        return nltk.data.load(f"tokenizers/punkt_tab/{name}.pickle")
    except LookupError:
        logger.warning("No punkt_tab data for %s; splitting sentences with the English model", name)
        return nltk.data.load("tokenizers/punkt_tab/english.pickle")


def spread_evenly(text: str, start: float, end: float) -> list[WordTiming]:
    """Timings for text with no audio to align against: words share the segment by length, with no score."""
    words = [match.span() for match in re.finditer(r"\S+", text)]
    total = sum(last - first for first, last in words)
    timings, elapsed = [], 0
    for first, last in words:
        word_start = start + (end - start) * elapsed / total
        elapsed += last - first
        timings.append(WordTiming(first, last, word_start, start + (end - start) * elapsed / total, 0.0, 0))
    return timings


def sentences(
    segment: Caption, timings: list[WordTiming], splitter: PunktSentenceTokenizer, no_spaces: bool
) -> list[Segment]:
    """whisperx's sentence segments with their words for one input segment."""
    text = segment["text"]
    if not timings:
        return [{"start": segment["start"], "end": segment["end"], "text": text, "words": []}]
    if no_spaces:
        units = [(timing.first, timing.last) for timing in timings]
    else:
        units = [match.span() for match in re.finditer(r"\S+", text)]

    words: list[tuple[int, Word]] = []
    cursor = 0
    for first, last in units:
        while cursor < len(timings) and timings[cursor].last <= first:
            cursor += 1
        overlapping = []
        for timing in timings[cursor:]:
            if timing.first >= last:
                break
            overlapping.append(timing)
        if overlapping:
            start = min(timing.start for timing in overlapping)
            end = max(timing.end for timing in overlapping)
            tokens = sum(timing.tokens for timing in overlapping)
            score = sum(timing.probability_sum for timing in overlapping) / tokens if tokens else 0.0
        else:
            # Punctuation on its own ("-", "…") is not aligned: it gets no duration, where it stands.
            start = end = words[-1][1].get("end", timings[0].start) if words else timings[0].start
            score = 0.0
        word: Word = {
            "word": text[first:last],
            "start": round(start, 3),
            "end": round(end, 3),
            "score": round(score, 3),
            # The score is the decoder's own probability of the word's tokens.
            "probability": round(score, 3),
        }
        words.append((first, word))

    sentences: list[Segment] = []
    for sentence_start, sentence_end in splitter.span_tokenize(text):
        sentence_words = [word for first, word in words if sentence_start <= first < sentence_end]
        if not sentence_words:
            continue
        sentence: Segment = {
            "start": sentence_words[0].get("start", 0.0),
            "end": max(word.get("end", 0.0) for word in sentence_words),
            "text": text[sentence_start:sentence_end],
            "words": sentence_words,
        }
        sentences.append(sentence)
    return sentences
