"""Word timings from Whisper's own cross-attention, for when no wav2vec2 alignment model can be had.

Each segment's text is force-aligned against its audio with the alignment heads of the Whisper model
(faster-whisper's `find_alignment`: cross-attention weights of those heads, median filter, DTW), then cut into
sentences and whitespace-separated words the way `whisperx.align` does, so the result can stand in for its
output. Punctuation at the edges of words is left out of the aligned text: it is not spoken, and its tokens
otherwise take audio from the neighbouring words wherever the speaker does not pause for it.

A word's `score` is the mean probability the model gives to the word's tokens given the audio and the text
before it (the `probability` of faster-whisper's word timestamps), not a wav2vec2 character score. Words that
are only punctuation are not aligned and get a zero-length span where they stand, with score 0.

Windows are encoded at their own length rather than padded to 30 s: forced alignment of a known text is as
accurate that way and the encoder runs several times faster on short segments. Segments longer than the
encoder's 30 s (or with more text than the decoder takes) are aligned window after window, each window
starting where the words confidently placed in the previous one end.

In the full pipeline the decoder has each chunk's encoder output at hand: `align_decoded` aligns the decoded
text on it (the chunk padded to 30 s, as faster-whisper's own word timestamps do), and `align_with_whisper`
takes those alignments for segments that are still those chunks, so no window is encoded twice.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import merge_punctuations
from whisperx.audio import HOP_LENGTH, SAMPLE_RATE

from app.ml.results import Caption, Segment, Transcript
from app.ml.voiced import trim_silence, voiced_frames
from app.ml.word_timings import WordTiming, sentence_splitter, sentences, spread_evenly

logger = logging.getLogger(__name__)

# faster-whisper's defaults for transcribe(word_timestamps=True).
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
# Languages faster-whisper splits into words at unicode boundaries rather than spaces.
_LANGUAGES_WITHOUT_SPACES = {"zh", "ja", "th", "lo", "my", "yue"}
# Punctuation by Unicode category that is nonetheless read out ("50%", "R&D").
_SPOKEN_PUNCTUATION = set("%‰‱&@#§")

_MAX_WINDOW_SECONDS = 30.0
_MAX_WINDOW_FRAMES = int(_MAX_WINDOW_SECONDS * SAMPLE_RATE) // HOP_LENGTH
# Words of a long segment that end this close to their window's end may have been squeezed in by DTW and are
# placed again in the next window.
_WINDOW_GUARD_SECONDS = 2.0
# Text given to a window of a long segment, relative to its share of the remaining duration: a little too much
# is cheaper than too little, since the surplus lands in the guard band and is simply re-aligned.
_TEXT_OVERSHOOT = 1.2
_MIN_WINDOW_SAMPLES = 2 * HOP_LENGTH


@dataclass(frozen=True, slots=True)
class _Job:
    """Spoken text to align against one audio window."""

    text: str
    positions: list[int]  # index in the segment's text of each character of `text`
    start: float
    end: float


class AlignedWord(TypedDict):
    """A word as faster-whisper's `find_alignment` places it on the encoder output."""

    word: str
    tokens: list[int]
    start: float
    end: float
    probability: float


@dataclass(frozen=True, slots=True)
class DecodedWords:
    """faster-whisper's word alignment of a chunk's spoken text, made on the encoder output of its decoding."""

    spoken: str
    alignment: list[AlignedWord]


def align_with_whisper(
    model: WhisperModel,
    audio: np.ndarray,
    segments: list[Caption],
    language: str,
    *,
    batch_size: int = 8,
    decoded: dict[float, DecodedWords] | None = None,
    on_batch: Callable[[float], None] | None = None,
) -> Transcript:
    """Word timings for caller-given segments (each {"start", "end", "text"}) from Whisper's cross-attention;
    `decoded`: alignments the decoder made, by chunk start, used for segments with that start and text;
    `on_batch` hears the fraction of windows aligned after each window too long to batch and after each
    batch, and may raise to stop.

    Returns whisperx's AlignedTranscriptionResult shape: {"segments": [{"start", "end", "text",
    "words": [{"word", "start", "end", "score"}]}], "word_segments": [...]}, segments cut into sentences.
    """
    audio = np.asarray(audio, dtype=np.float32)
    multilingual = model.model.is_multilingual
    tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe", language=language)
    if tokenizer.language_code != language:
        logger.warning(
            "The model only knows %r; aligning %r text with it anyway", tokenizer.language_code, language
        )
    splitter = sentence_splitter(language)
    max_text_tokens = _max_text_tokens(model, tokenizer)
    audio_duration = len(audio) / SAMPLE_RATE
    no_spaces = tokenizer.language_code in _LANGUAGES_WITHOUT_SPACES

    timings: list[list[WordTiming]] = [[] for _ in segments]
    short_jobs: list[tuple[int, _Job]] = []
    long_jobs: list[tuple[int, _Job]] = []
    for index, segment in enumerate(segments):
        spoken, positions = _spoken(segment["text"], no_spaces)
        if not spoken:
            continue
        given_start, given_end = float(segment["start"]), float(segment["end"])
        start, end = max(0.0, given_start), min(given_end, audio_duration)
        if end - start < _MIN_WINDOW_SAMPLES / SAMPLE_RATE:
            logger.warning(
                "Segment %.2f-%.2f has no audio to align; spreading its words evenly", given_start, given_end
            )
            timings[index] = spread_evenly(segment["text"], given_start, given_end)
            continue
        job = _Job(spoken, positions, start, end)
        made = (decoded or {}).get(segment["start"])
        if made is not None and made.spoken == spoken:
            timings[index] = _timings(
                job, _window(audio, job), [AlignedWord(**word) for word in made.alignment]
            )
        elif end - start <= _MAX_WINDOW_SECONDS and len(_encode(tokenizer, spoken)) <= max_text_tokens:
            short_jobs.append((index, job))
        else:
            long_jobs.append((index, job))

    done, total = 0, len(long_jobs) + len(short_jobs)

    def aligned_some(count: int) -> None:
        nonlocal done
        done += count
        if on_batch is not None:
            on_batch(done / total)

    for index, job in long_jobs:
        timings[index] = _align_long(model, tokenizer, audio, job, max_text_tokens, no_spaces)
        aligned_some(1)
    aligned = _align_jobs(model, tokenizer, audio, [job for _, job in short_jobs], batch_size, aligned_some)
    for (index, _), words in zip(short_jobs, aligned, strict=True):
        timings[index] = words

    aligned_segments: list[Segment] = []
    for segment, segment_timings in zip(segments, timings, strict=True):
        aligned_segments += sentences(segment, segment_timings, splitter, no_spaces)
    word_segments = [word for segment in aligned_segments for word in segment["words"]]
    return {"segments": aligned_segments, "word_segments": word_segments}


def align_decoded(
    model: WhisperModel, tokenizer: Tokenizer, encoder_output: Any, texts: list[str], num_frames: list[int]
) -> list[DecodedWords | None]:
    """Align each decoded chunk's text on the batch's encoder output (None where there are no words to align,
    or more than the decoder takes)."""
    no_spaces = tokenizer.language_code in _LANGUAGES_WITHOUT_SPACES
    max_text_tokens = _max_text_tokens(model, tokenizer)
    spoken = [_spoken(text, no_spaces)[0] for text in texts]
    tokens = [_encode(tokenizer, text) if text else [] for text in spoken]
    usable = [0 < len(text_tokens) <= max_text_tokens for text_tokens in tokens]
    if not any(usable):
        return [None] * len(texts)
    # Every chunk of the batch takes part: the ones left out align a placeholder whose result is dropped.
    placeholder = next(text_tokens for text_tokens, ok in zip(tokens, usable, strict=True) if ok)
    alignments = model.find_alignment(
        tokenizer,
        [text_tokens if ok else placeholder for text_tokens, ok in zip(tokens, usable, strict=True)],
        encoder_output,
        num_frames,
    )
    return [
        DecodedWords(text, alignment) if ok else None
        for text, alignment, ok in zip(spoken, alignments, usable, strict=True)
    ]


def _max_text_tokens(model: WhisperModel, tokenizer: Tokenizer) -> int:
    # The decoder takes max_length tokens: the start sequence, <|notimestamps|>, the text and <|endoftext|>.
    max_length: int = model.max_length
    return max_length - len(tokenizer.sot_sequence) - 2


def _spoken(text: str, no_spaces: bool) -> tuple[str, list[int]]:
    """The text to align, without unspoken punctuation, and where each of its characters is in `text`.

    Punctuation is dropped at the edges of whitespace-separated words only ("don't", "e.g", "10:30" keep
    theirs), or everywhere in languages written without spaces, where it never sits inside a word.
    """
    characters: list[str] = []
    positions: list[int] = []
    for match in re.finditer(r"\S+", text):
        first, last = match.span()
        if no_spaces:
            kept = [i for i in range(first, last) if not _is_punctuation(text[i])]
        else:
            while first < last and _is_punctuation(text[first]):
                first += 1
            while last > first and _is_punctuation(text[last - 1]):
                last -= 1
            kept = list(range(first, last))
        if not kept:
            continue
        if characters:
            # The whitespace before this word: keeps positions increasing for the bisection of long segments.
            characters.append(" ")
            positions.append(match.start() - 1)
        characters += [text[i] for i in kept]
        positions += kept
    return "".join(characters), positions


def _is_punctuation(character: str) -> bool:
    return unicodedata.category(character).startswith("P") and character not in _SPOKEN_PUNCTUATION


def _encode(tokenizer: Tokenizer, text: str) -> list[int]:
    # Whisper writes a space before the first word of a segment; aligning the same tokens it would produce
    # keeps the first word's probability meaningful.
    tokens: list[int] = tokenizer.encode(" " + text)
    return tokens


def _align_jobs(
    model: WhisperModel,
    tokenizer: Tokenizer,
    audio: np.ndarray,
    jobs: list[_Job],
    batch_size: int,
    on_aligned: Callable[[int], None] | None = None,
) -> list[list[WordTiming]]:
    """Align every job, batching windows of similar length so that little padding is encoded; `on_aligned`
    hears how many jobs each batch aligned."""
    results: list[list[WordTiming]] = [[] for _ in jobs]
    order = sorted(range(len(jobs)), key=lambda i: jobs[i].end - jobs[i].start)
    for batch_start in range(0, len(order), batch_size):
        batch = order[batch_start : batch_start + batch_size]
        windows = [_window(audio, jobs[i]) for i in batch]
        padded_length = max(len(window) for window in windows)
        # Padding the audio (not the features) makes the padding the same silence Whisper was trained on.
        features = np.stack(
            [
                model.feature_extractor(np.pad(window, (0, padded_length - len(window))))[
                    ..., : min(padded_length // HOP_LENGTH, _MAX_WINDOW_FRAMES)
                ]
                for window in windows
            ]
        )
        num_frames = [min(len(window) // HOP_LENGTH, _MAX_WINDOW_FRAMES) for window in windows]
        tokens = [_encode(tokenizer, jobs[i].text) for i in batch]
        alignments = model.find_alignment(tokenizer, tokens, model.encode(features), num_frames)
        for i, window, alignment in zip(batch, windows, alignments, strict=True):
            results[i] = _timings(jobs[i], window, alignment)
        if on_aligned is not None:
            on_aligned(len(batch))
    return results


def _window(audio: np.ndarray, job: _Job) -> np.ndarray:
    window = audio[int(job.start * SAMPLE_RATE) : int(job.end * SAMPLE_RATE)]
    return np.pad(window, (0, max(0, _MIN_WINDOW_SAMPLES - len(window))))


def _timings(job: _Job, window: np.ndarray, alignment: list[AlignedWord]) -> list[WordTiming]:
    """Absolute timings of the Whisper words of one aligned window, silence and stretched words trimmed."""
    durations = np.array([word["end"] - word["start"] for word in alignment])
    durations = durations[durations.nonzero()]
    median_duration = min(0.7, float(np.median(durations))) if len(durations) else 0.0
    max_duration = median_duration * 2
    merge_punctuations(alignment, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS)

    voiced = voiced_frames(window)
    timings = []
    position = -1  # the text was aligned with a leading space
    for word in alignment:
        text = word["word"]
        first, last = position + len(text) - len(text.lstrip()), position + len(text)
        position = last
        # The bound only matters if the tokenizer did not give the text back verbatim.
        if first >= last or last > len(job.positions):
            continue
        start, end = trim_silence(voiced, float(word["start"]), float(word["end"]))
        timings.append(
            WordTiming(
                first=job.positions[first],
                last=job.positions[last - 1] + 1,
                start=job.start + start,
                end=min(job.start + end, job.end),
                probability_sum=float(word["probability"]) * len(word["tokens"]),
                tokens=len(word["tokens"]),
            )
        )
    if timings and max_duration and timings[0].end - timings[0].start > max_duration:
        # DTW starts the first word at the window's first frame, whatever precedes it.
        timings[0].start = timings[0].end - max_duration
    return timings


def _align_long(
    model: WhisperModel,
    tokenizer: Tokenizer,
    audio: np.ndarray,
    job: _Job,
    max_text_tokens: int,
    no_spaces: bool,
) -> list[WordTiming]:
    """Align a segment too long for one window, window by window."""
    text = job.text
    timings: list[WordTiming] = []
    cursor, time = 0, job.start
    while cursor < len(text):
        window_end = min(time + _MAX_WINDOW_SECONDS, job.end)
        chunk_end = len(text)
        if window_end < job.end:
            share = (window_end - time) / (job.end - time)
            estimate = cursor + math.ceil((len(text) - cursor) * share * _TEXT_OVERSHOOT)
            chunk_end = _word_boundary(text, estimate, no_spaces)
        while len(_encode(tokenizer, text[cursor:chunk_end])) > max_text_tokens:
            shorter = cursor + (chunk_end - cursor) * 9 // 10
            chunk_end = min(_word_boundary(text, shorter, no_spaces), chunk_end - 1)
        final = window_end >= job.end and chunk_end == len(text)
        window = _Job(text[cursor:chunk_end], job.positions[cursor:chunk_end], time, window_end)
        placed = _align_jobs(model, tokenizer, audio, [window], batch_size=1)[0]
        if not placed:
            break
        if not final:
            confident = []
            for timing in placed[:-1]:
                if timing.end > window_end - _WINDOW_GUARD_SECONDS:
                    break
                confident.append(timing)
            placed = confident or placed[:1]
        timings += placed
        cursor = bisect_left(job.positions, placed[-1].last)
        cursor += len(text[cursor:]) - len(text[cursor:].lstrip())
        time = min(max(time, placed[-1].end), job.end - _MIN_WINDOW_SAMPLES / SAMPLE_RATE)
    return timings


def _word_boundary(text: str, index: int, no_spaces: bool) -> int:
    """The end of the whitespace-separated word at `index` (`index` itself in a language without spaces)."""
    if index >= len(text):
        return len(text)
    if no_spaces:
        return index
    space = re.compile(r"\s").search(text, index)
    return space.start() if space else len(text)
