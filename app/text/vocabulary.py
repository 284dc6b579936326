"""The words a business uses: keyterms bias decoding toward them, replacements fix their spellings afterwards.

Keyterms go into Whisper's prompt (`keyterm_prompt`), which they share with faster-whisper's hotwords: one token
budget for both. Replacements rewrite a transcript's texts and its words alike, so that word
timings, speakers and `word_segments` keep agreeing with the segments' texts.
"""

from __future__ import annotations

import copy
import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean

from app.ml.results import Caption, Transcript, Word

# Whisper's decoder holds 448 tokens (n_text_ctx); a prompt may fill at most n_text_ctx // 2 - 1 = 223 of them,
# and faster-whisper silently keeps only the prompt's last 223 tokens, dropping the first keyterms.
PROMPT_TOKEN_BUDGET = 223

# Words of a key or of the text are separated by any run of spaces or by hyphens: "acme pro" is "Acme-Pro".
_SEPARATOR = r"(?:\s*-\s*|\s+)"
_KEY_SPLIT = re.compile(r"[\s-]+")


def keyterm_prompt(keyterms: Sequence[str], initial_prompt: str | None) -> str | None:
    """The prompt that biases decoding toward the keyterms: the user's initial prompt (if any) followed by the
    keyterms as a comma-separated list, e.g. "Acme-Pro, Zylofax, Dr. Okonkwo." Returns `initial_prompt`
    unchanged when there are no keyterms."""
    terms = unique_terms(keyterms)
    if not terms:
        return initial_prompt
    listed = ", ".join(terms)
    # Whisper reads the prompt as the text said before; a sentence ending keeps the list from running on.
    if not listed.endswith((".", "!", "?")):
        listed += "."
    if initial_prompt and initial_prompt.strip():
        return f"{initial_prompt.rstrip()} {listed}"
    return listed


def replacement_key(key: str) -> str:
    """What a replacement's key matches by: its words, case-folded ("Acme-Pro" and "acme pro" are one key)."""
    return " ".join(part for part in _KEY_SPLIT.split(key.casefold()) if part)


def over_budget(prompt_tokens: int) -> bool:
    """Whether a prompt of this many tokens is longer than Whisper keeps."""
    return prompt_tokens > PROMPT_TOKEN_BUDGET


def replace_text(text: str, replacements: Mapping[str, str]) -> str:
    """Each key (a word or phrase) replaced by its value on whole words, case-insensitively, longest keys first
    ("acme pro max" wins over "acme pro"); punctuation around a match is kept, and the words of a phrase may be
    separated by any run of spaces or by a hyphen (key "acme pro" matches "Acme Pro" and "acme-pro")."""
    return _Replacer.of(replacements).text(text)


def replace_captions(captions: list[Caption], replacements: Mapping[str, str]) -> list[Caption]:
    """New captions with their texts replaced (progress reports and streamed deltas carry no words)."""
    replacer = _Replacer.of(replacements)
    replaced = []
    for caption in captions:
        new = caption.copy()
        new["text"] = replacer.text(caption["text"])
        replaced.append(new)
    return replaced


def replace_transcript(transcript: Transcript, replacements: Mapping[str, str]) -> Transcript:
    """A new transcript with the segments' texts replaced and their words too, keeping the words' timings and
    speakers; the input is left untouched. A match over several words becomes one word."""
    result = copy.deepcopy(transcript)
    replacer = _Replacer.of(replacements)
    if replacer.pattern is None:
        return result
    for segment in result["segments"]:
        text = replacer.text(segment["text"])
        if text != segment["text"]:
            segment["text"] = text
            # These spell out the decoded text token by token and character by character, now wrong.
            segment.pop("tokens", None)
            segment.pop("logprobs", None)
            segment.pop("chars", None)
        if "words" in segment:
            segment["words"] = replacer.words(segment["words"])
    if "word_segments" in result:
        if any("words" in segment for segment in result["segments"]):
            result["word_segments"] = [word for seg in result["segments"] for word in seg.get("words", [])]
        else:
            result["word_segments"] = replacer.words(result["word_segments"])
    return result


def unique_terms(terms: Sequence[str]) -> list[str]:
    """The terms stripped and with their spaces collapsed, without blanks or case-insensitive repeats."""
    seen: set[str] = set()
    unique = []
    for term in terms:
        cleaned = " ".join(term.split())
        if cleaned and cleaned.casefold() not in seen:
            seen.add(cleaned.casefold())
            unique.append(cleaned)
    return unique


@dataclass(frozen=True)
class _Replacer:
    """All the keys in one pattern, one named group per key, so that a match says which value replaces it."""

    pattern: re.Pattern[str] | None
    values: dict[str, str]

    @classmethod
    def of(cls, replacements: Mapping[str, str]) -> _Replacer:
        keys: list[tuple[list[str], str]] = []
        for key, value in replacements.items():
            parts = [part for part in _KEY_SPLIT.split(key) if part]
            if parts:  # a blank key would match everywhere
                keys.append((parts, value))
        if not keys:
            return cls(None, {})
        # Longest first, as alternatives are tried in order; the sort is stable, so of two keys alike but for
        # case or hyphens the first given wins.
        keys.sort(key=lambda item: -len(" ".join(item[0])))
        groups = "|".join(
            f"(?P<k{i}>{_SEPARATOR.join(re.escape(part) for part in parts)})"
            for i, (parts, _) in enumerate(keys)
        )
        # Lookarounds rather than \b, so that keys beginning or ending in punctuation ("C++") match too.
        pattern = re.compile(rf"(?<!\w)(?:{groups})(?!\w)", re.IGNORECASE)
        return cls(pattern, {f"k{i}": value for i, (_, value) in enumerate(keys)})

    def value(self, match: re.Match[str]) -> str:
        assert match.lastgroup is not None
        return self.values[match.lastgroup]

    def text(self, text: str) -> str:
        return text if self.pattern is None else self.pattern.sub(self.value, text)

    def words(self, words: list[Word]) -> list[Word]:
        """The words with the matches in their text replaced: the words one match touches merge into one."""
        if self.pattern is None:
            return list(words)
        # Match on the words joined by single spaces, knowing where each word lies in the joined text.
        texts = [word["word"].strip() for word in words]
        joined = " ".join(texts)
        starts: list[int] = []
        ends: list[int] = []
        for text in texts:
            starts.append(ends[-1] + 1 if ends else 0)
            ends.append(starts[-1] + len(text))
        # Runs of words with their matches; two matches may share a word ("acme-acme"), and then one run.
        runs: list[tuple[int, int, list[re.Match[str]]]] = []
        for match in self.pattern.finditer(joined):
            first = bisect_right(ends, match.start())
            last = bisect_left(starts, match.end()) - 1
            if runs and first <= runs[-1][1]:
                runs[-1] = (runs[-1][0], max(last, runs[-1][1]), [*runs[-1][2], match])
            else:
                runs.append((first, last, [match]))
        replaced: list[Word] = []
        done = 0
        for first, last, matches in runs:
            replaced.extend(words[done:first])
            # Every space between these words lies inside a match, so what is left is one word; what lies
            # outside the matches (punctuation, the rest of a hyphenated word) is kept.
            text, cursor = "", starts[first]
            for match in matches:
                text += joined[cursor : match.start()] + self.value(match)
                cursor = match.end()
            text += joined[cursor : ends[last]]
            if text == joined[starts[first] : ends[last]]:  # replaced by itself: the words stay as they were
                replaced.extend(words[first : last + 1])
            else:
                replaced.append(_merge(words[first : last + 1], text))
            done = last + 1
        replaced.extend(words[done:])
        return replaced


def _merge(words: list[Word], text: str) -> Word:
    """One word saying `text` over the span of these words: the first start, the last end, the first speaker,
    their mean confidence."""
    if len(words) == 1:
        merged = words[0].copy()
        merged["word"] = text
        return merged
    merged = Word(word=text)
    starts = [word["start"] for word in words if "start" in word]
    ends = [word["end"] for word in words if "end" in word]
    speakers = [word["speaker"] for word in words if "speaker" in word]
    scores = [word["score"] for word in words if "score" in word]
    probabilities = [word["probability"] for word in words if "probability" in word]
    if starts:
        merged["start"] = starts[0]
    if ends:
        merged["end"] = ends[-1]
    if scores:
        merged["score"] = fmean(scores)
    if probabilities:
        merged["probability"] = fmean(probabilities)
    if speakers:
        merged["speaker"] = speakers[0]
    return merged
