"""Redaction for call recordings: card and account numbers, emails, phone numbers and spoken digits.

What is found is replaced by its kind in brackets ("[CARD_NUMBER]"); a transcript's redacted words become one
word each, and their time spans are returned so the audio can be bleeped where they were said.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Final, Literal

import phonenumbers

from app.ml.results import Caption, Segment, Transcript, Word

RedactKind = Literal["card_number", "account_number", "email", "phone_number", "spoken_digits"]
REDACT_KINDS: Final[tuple[RedactKind, ...]] = (
    "card_number",
    "account_number",
    "email",
    "phone_number",
    "spoken_digits",
)

# Where a number without a country code is taken to be dialled from.
PHONE_REGION: Final = "US"

# Digit runs, grouped by single spaces, hyphens or a comma and a space (how Whisper writes digits read out in
# groups: "5-1-8-7, 6-6-3-4", "404, 613, 3017"). The lookarounds keep amounts ("$1,500,000"), decimals
# ("3.14159265"), times and parts of longer tokens out: a run never starts or ends inside one of those.
_DIGIT_RUN: Final = re.compile(r"(?<![\w$€£¥])(?<!\d[.,:/])\d+(?:(?:, |[ -])\d+)*(?!\w)(?![.,:/]\d)")
# Whisper writes a long number said as one with thousands separators ("4,111,111,111,111,111"): at least
# thirteen digits so grouped is a card or an account, not an amount (those are shorter, or follow a currency).
_WRITTEN_NUMBER: Final = re.compile(r"(?<![\w$€£¥.,])\d{1,3}(?:,\d{3}){4,}(?![\w]|[.,]\d)")
_YEAR: Final = re.compile(r"(?:19|20)\d\d")
_ACCOUNT_MIN_DIGITS: Final = 6

_EMAIL: Final = re.compile(r"(?<![\w.+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w@])")
# The form Whisper writes an email in as said: "john dot smith at example dot com" (or part spelt out).
_SPOKEN_WORD: Final = r"(?!(?:at|dot)\b)[a-z0-9](?:[a-z0-9._+-]*[a-z0-9])?"
_SPOKEN_EMAIL: Final = re.compile(
    rf"""(?<![\w@.])
    (?P<local>{_SPOKEN_WORD}(?:\s+dot\s+{_SPOKEN_WORD})*)
    \s+at\s+
    (?P<domain>{_SPOKEN_WORD}(?:\s+dot\s+{_SPOKEN_WORD})*)
    (?:\s+dot\s+|\.)[a-z]{{2,6}}
    (?![\w@])""",
    re.IGNORECASE | re.VERBOSE,
)
# Words that say "at" a website rather than an address ("look at example dot com"): no email starts with them.
_NOT_LOCAL: Final = frozenset(
    {"look", "looking", "looked", "looks", "me", "us", "him", "her", "them", "it", "you", "is", "are", "was"}
    | {"were", "be", "been", "am", "here", "there", "stay", "staying", "stayed", "arrive", "arrived", "go"}
    | {"going", "went", "visit", "available", "online", "find", "found", "up", "out", "back", "sign", "log"}
    | {"order", "shop", "buy", "work", "home", "live"}
)
_NOT_DOMAIN: Final = frozenset({"the", "a", "an", "this", "that", "my", "your", "our", "their"})

# "o" counts as zero only after another digit word: alone it is a letter or an interjection.
_DIGIT_WORD: Final = r"(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine)(?![\w'])"
_FIRST_DIGIT_WORD: Final = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)(?![\w'])"
_SPOKEN_DIGITS: Final = re.compile(
    rf"(?<![\w'-])(?:(?:double|triple)[\s-]+{_DIGIT_WORD}|{_FIRST_DIGIT_WORD})"
    rf"(?:(?:\s*[,-]\s*|\s+)(?:(?:double|triple)[\s-]+{_DIGIT_WORD}|{_DIGIT_WORD}))+",
    re.IGNORECASE,
)
_SPOKEN_DIGITS_MIN: Final = 4


@dataclass(frozen=True)
class Entity:
    """What is to be redacted: character offsets in the text searched, and its kind."""

    start: int
    end: int
    kind: RedactKind


def placeholder(kind: RedactKind) -> str:
    """What stands in the text for a redacted entity of this kind."""
    return f"[{kind.upper()}]"


def _luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_phone_number(digits: str) -> bool:
    """Digits the phone plan of `PHONE_REGION` dials (the matcher misses them grouped as Whisper writes them)."""
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(digits, PHONE_REGION)))
    except phonenumbers.NumberParseException:
        return False


def _is_year_and_number(groups: list[str]) -> bool:
    """Years ("2019, 2020, 2021"), or a year beside a short number ("2019-2024", "in 2024 15 people"), are not an
    account number."""
    if all(_YEAR.fullmatch(group) for group in groups):
        return True
    if len(groups) != 2:
        return False
    first, second = groups
    return (_YEAR.fullmatch(first) is not None and len(second) <= 4) or (
        _YEAR.fullmatch(second) is not None and len(first) <= 4
    )


def _phone_spans(text: str) -> list[tuple[int, int]]:
    matcher = phonenumbers.PhoneNumberMatcher(text, PHONE_REGION, leniency=phonenumbers.Leniency.VALID)
    return [(match.start, match.end) for match in matcher]


def _number_entities(text: str, kinds: Collection[RedactKind]) -> Iterator[Entity]:
    phones = _phone_spans(text) if "phone_number" in kinds else []
    yield from (Entity(start, end, "phone_number") for start, end in phones)
    if "card_number" not in kinds and "account_number" not in kinds:
        return
    for match in itertools.chain(_DIGIT_RUN.finditer(text), _WRITTEN_NUMBER.finditer(text)):
        groups = [group for group in re.split(r"[ ,-]", match.group()) if group]
        digits = "".join(groups)
        if 13 <= len(digits) <= 19 and _luhn_valid(digits) and "card_number" in kinds:
            yield Entity(match.start(), match.end(), "card_number")
            continue
        # A card number is still an account number when only those are asked for.
        if "account_number" not in kinds or len(digits) < _ACCOUNT_MIN_DIGITS or _is_year_and_number(groups):
            continue
        # A phone number said as digits is a phone number when those are redacted too.
        if any(start <= match.start() and match.end() <= end for start, end in phones):
            continue
        phone = "phone_number" in kinds and _is_phone_number(digits)
        yield Entity(match.start(), match.end(), "phone_number" if phone else "account_number")


def _email_entities(text: str) -> Iterator[Entity]:
    yield from (Entity(match.start(), match.end(), "email") for match in _EMAIL.finditer(text))
    position = 0
    while match := _SPOKEN_EMAIL.search(text, position):
        local = match.group("local").split()[0].lower()
        domain = match.group("domain").split()[0].lower()
        if local in _NOT_LOCAL or domain in _NOT_DOMAIN:
            # Not an address from here: one may still start at a later word of the same stretch.
            position = match.start() + 1
            continue
        yield Entity(match.start(), match.end(), "email")
        position = match.end()


def _spoken_digit_entities(text: str) -> Iterator[Entity]:
    for match in _SPOKEN_DIGITS.finditer(text):
        said = match.group().lower()
        count = len(re.findall(_DIGIT_WORD, said)) + said.count("double") + 2 * said.count("triple")
        if count >= _SPOKEN_DIGITS_MIN:
            yield Entity(match.start(), match.end(), "spoken_digits")


def find_entities(text: str, kinds: Collection[RedactKind]) -> list[Entity]:
    """The entities of the kinds asked in the text: sorted, not overlapping (the longer of two wins, then the
    kind earlier in `REDACT_KINDS`)."""
    candidates: list[Entity] = []
    if "card_number" in kinds or "account_number" in kinds or "phone_number" in kinds:
        candidates.extend(_number_entities(text, kinds))
    if "email" in kinds:
        candidates.extend(_email_entities(text))
    if "spoken_digits" in kinds:
        candidates.extend(_spoken_digit_entities(text))
    candidates.sort(key=lambda e: (e.start - e.end, REDACT_KINDS.index(e.kind), e.start))
    kept: list[Entity] = []
    for entity in candidates:
        if all(entity.end <= other.start or other.end <= entity.start for other in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: e.start)


def _replace(text: str, entities: list[Entity], offset: int = 0) -> str:
    """The text with each entity (offsets counted from `offset` before the text) replaced by its placeholder."""
    parts: list[str] = []
    position = 0
    for entity in entities:
        parts += [text[position : entity.start - offset], placeholder(entity.kind)]
        position = entity.end - offset
    parts.append(text[position:])
    return "".join(parts)


def redact_text(text: str, kinds: Collection[RedactKind]) -> str:
    """The text with the entities of the kinds asked replaced by their placeholders."""
    return _replace(text, find_entities(text, kinds))


def redact_captions(captions: list[Caption], kinds: Collection[RedactKind]) -> list[Caption]:
    """New captions with their text redacted (progress reports and streamed deltas carry no words)."""
    redacted: list[Caption] = []
    for caption in captions:
        copy = caption.copy()
        copy["text"] = redact_text(caption["text"], kinds)
        redacted.append(copy)
    return redacted


def _merged_word(words: list[Word], text: str) -> Word:
    """One word standing for a run of words: their time from the first start to the last end, no score."""
    merged: Word = {"word": text}
    if starts := [word["start"] for word in words if "start" in word]:
        merged["start"] = starts[0]
    if ends := [word["end"] for word in words if "end" in word]:
        merged["end"] = ends[-1]
    if speakers := [word["speaker"] for word in words if "speaker" in word]:
        merged["speaker"] = speakers[0]
    return merged


def _redact_words(
    words: list[Word], kinds: Collection[RedactKind]
) -> tuple[list[Word], list[tuple[float, float]]]:
    """New words with each run overlapping an entity made one word, and the time spans of those runs."""
    joined = " ".join(word["word"] for word in words)
    starts: list[int] = []
    word_at: list[int] = []  # the word each character of `joined` belongs to (a space: the word before it)
    for index, word in enumerate(words):
        starts.append(len(word_at))
        word_at.extend([index] * (len(word["word"]) + 1))
    # Runs of words (first, last) with the entities in them: an entity that shares a word with the one before
    # joins its run, since a word can't be split.
    runs: list[tuple[int, int, list[Entity]]] = []
    for entity in find_entities(joined, kinds):
        first, last = word_at[entity.start], word_at[entity.end - 1]
        if runs and first <= runs[-1][1]:
            run_first, _, previous = runs[-1]
            runs[-1] = (run_first, last, [*previous, entity])
        else:
            runs.append((first, last, [entity]))
    redacted: list[Word] = []
    spans: list[tuple[float, float]] = []
    position = 0
    for first, last, entities in runs:
        redacted += [word.copy() for word in words[position:first]]
        begin, end = starts[first], starts[last] + len(words[last]["word"])
        merged = _merged_word(words[first : last + 1], _replace(joined[begin:end], entities, begin))
        redacted.append(merged)
        if "start" in merged and "end" in merged:
            spans.append((merged["start"], merged["end"]))
        position = last + 1
    redacted += [word.copy() for word in words[position:]]
    return redacted, spans


def _redact_segment(
    segment: Segment, kinds: Collection[RedactKind]
) -> tuple[Segment, list[tuple[float, float]]]:
    redacted = segment.copy()
    text = redact_text(segment["text"], kinds)
    if text != segment["text"]:
        redacted["text"] = text
        # These spell out the text as decoded: kept, they would give away what was redacted.
        redacted.pop("tokens", None)
        redacted.pop("logprobs", None)
        redacted.pop("chars", None)
    spans: list[tuple[float, float]] = []
    if "words" in segment:
        redacted["words"], spans = _redact_words(segment["words"], kinds)
    return redacted, spans


def _merge_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact_transcript(
    transcript: Transcript, kinds: Collection[RedactKind]
) -> tuple[Transcript, list[tuple[float, float]]]:
    """A new transcript with the entities of the kinds asked redacted, and the time spans (seconds, sorted,
    merged where they touch) of the words redacted, to bleep in the audio.

    The input is left as it is; lists a segment keeps unchanged (say its `tokens`) are shared with it.
    """
    redacted = transcript.copy()
    segments: list[Segment] = []
    spans: list[tuple[float, float]] = []
    for segment in transcript["segments"]:
        new_segment, segment_spans = _redact_segment(segment, kinds)
        segments.append(new_segment)
        spans += segment_spans
    redacted["segments"] = segments
    if "word_segments" in transcript:
        if any("words" in segment for segment in segments):
            # Rebuilt from the segments' words, so both say the same.
            redacted["word_segments"] = [
                word.copy() for segment in segments for word in segment.get("words", [])
            ]
        else:
            redacted["word_segments"], word_spans = _redact_words(transcript["word_segments"], kinds)
            spans += word_spans
    return redacted, _merge_spans(spans)
