"""Keyterms written as the business writes them where the model spelt them nearly so: "Nylofax" for "Zylofax",
"Brightmore Analytics" for "Brightmoor Analytics".

A small Whisper model given a keyterm in its prompt often writes a near spelling of it. A word or run of words
whose letters are within `SIMILARITY` of a keyterm's (Levenshtein, case and punctuation aside) becomes a
replacement to that keyterm, applied like the job's own `replacements` (timings and speakers kept). Short terms
are left alone: a few letters are near too many ordinary words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from rapidfuzz.distance import Levenshtein

from app.text.vocabulary import replacement_key, unique_terms

SIMILARITY = 0.65
"""Least normalised Levenshtein similarity of a near spelling's letters to a keyterm's (chosen with
bench/vocabulary.py on sentences apart from those it reports)."""
MIN_LETTERS = 6
"""Keyterms of fewer letters (digits count) are only matched exactly."""
EXTRA_WORDS = 1
"""A near spelling may run over one word more than its keyterm ("Zylo fax" for "Zylofax")."""

_WORD = re.compile(r"\w+(?:['’]\w+)*")


class NearSpellings:
    """The near spellings of some keyterms, found text by text; a text is scanned once however often it comes
    back (a task's progress reports carry every segment so far)."""

    def __init__(self, keyterms: Sequence[str]) -> None:
        terms = [_Term(term) for term in unique_terms(keyterms)]
        self._terms = [term for term in terms if len(term.letters) >= MIN_LETTERS]
        self._found: dict[str, dict[str, str]] = {}

    def replacements(self, texts: Iterable[str], replacements: Mapping[str, str]) -> dict[str, str]:
        """`replacements` after replacements from each near spelling of a keyterm found in `texts` to the
        keyterm, and from each keyterm to itself (so that one said whole is kept whole, in its case, rather than
        taken for a near spelling of a longer one: "Dr. Sivaraman" is not "Dr." and a near "Sivaraman"). A
        phrase `replacements` already map is left to them. A near spelling takes no word it could do without
        ("Brightmoor Analytics to" is not one) and holds no keyterm as it is ("Quillstone's" stays)."""
        if not self._terms:
            return dict(replacements)
        taken = {replacement_key(key) for key in replacements}
        found = {term.spelling: term.spelling for term in self._terms}
        for text in texts:
            if text not in self._found:
                self._found[text] = self._in(text)
            found |= {spelt: term for spelt, term in self._found[text].items() if spelt not in found}
        kept = {spelt: term for spelt, term in found.items() if replacement_key(spelt) not in taken}
        return {**kept, **replacements}

    def begun(self, words: Sequence[str]) -> int:
        """How many of the last `words` may be the start of a near spelling of a keyterm (their letters within
        `SIMILARITY` of the start of its letters): words a live turn holds back until the next ones come."""
        longest = max((term.words for term in self._terms), default=0) + EXTRA_WORDS - 1
        for count in range(min(len(words), longest), 0, -1):
            letters = _letters(" ".join(words[-count:]))
            if any(term.begun_by(letters) for term in self._terms):
                return count
        return 0

    def _in(self, text: str) -> dict[str, str]:
        """Each near spelling in `text`, as written, and its keyterm."""
        longest = max(term.words for term in self._terms) + EXTRA_WORDS
        spans = [match.span() for match in _WORD.finditer(text)]
        words = [text[start:end] for start, end in spans]
        found: dict[str, str] = {}
        for size in range(1, longest + 1):
            for first in range(len(words) - size + 1):
                spelt = text[spans[first][0] : spans[first + size - 1][1]]  # as written, "Dr. Okonqwo"
                if spelt in found:
                    continue
                term = _nearest(words[first : first + size], self._terms)
                if term is not None and term.spelling.casefold() not in spelt.casefold():
                    found[spelt] = term.spelling
        return found


class _Term:
    def __init__(self, spelling: str) -> None:
        self.spelling = spelling
        self.letters = _letters(spelling)
        self.words = len(spelling.split())

    def begun_by(self, letters: str) -> bool:
        start = self.letters[: len(letters)]
        return (
            0 < len(letters) < len(self.letters)
            and Levenshtein.normalized_similarity(letters, start) >= SIMILARITY
        )

    def similarity(self, phrase: Sequence[str]) -> float:
        if len(phrase) > self.words + EXTRA_WORDS:
            return 0.0
        return float(Levenshtein.normalized_similarity(_letters(" ".join(phrase)), self.letters))


def _nearest(phrase: Sequence[str], terms: Sequence[_Term]) -> _Term | None:
    """The keyterm `phrase` is nearest, if within `SIMILARITY` and every word of it counts (without its first or
    last word it would be further from the term)."""
    score, term = max((term.similarity(phrase), index) for index, term in enumerate(terms))
    best = terms[term]
    if score < SIMILARITY:
        return None
    if len(phrase) > 1 and max(best.similarity(phrase[1:]), best.similarity(phrase[:-1])) >= score:
        return None
    return best


def _letters(text: str) -> str:
    return "".join(character for character in text.casefold() if character.isalnum())
