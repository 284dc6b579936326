"""A live session's text rules: keyterms' near spellings, replacements and redaction applied to a turn's words
before any is sent.

Text sent is never taken back, so words a later word could still change are held back. With redaction, that is
the whole turn until it ends: a number read out, or an email spelled, is one only once it is complete, and its
first words must not go out before it is. With replacements, it is the last words while they begin a phrase to
replace ("acme" waits for the "pro" that may follow).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.services.live.text import plain
from app.text import redaction, vocabulary
from app.text.near_spellings import NearSpellings
from app.text.redaction import RedactKind


@dataclass(frozen=True)
class LiveRules:
    replacements: Mapping[str, str] = field(default_factory=dict)
    redact: tuple[RedactKind, ...] = ()
    keyterms: tuple[str, ...] = ()
    """Written as given where the model spelt one nearly so (`app.text.near_spellings`)."""

    def sendable(self, words: list[str], *, final: bool) -> list[str]:
        """The turn's words as they may be sent: rewritten, less what must wait (`final`: the turn ended)."""
        if not final:
            if self.redact:
                return []
            held = max(self._phrase_begun(words), NearSpellings(self.keyterms).begun(words))
            words = words[: len(words) - held]
        text = " ".join(words)
        replacements = NearSpellings(self.keyterms).replacements([text], self.replacements)
        if replacements:
            text = vocabulary.replace_text(text, replacements)
        if self.redact:
            text = redaction.redact_text(text, self.redact)
        return text.split()

    def _phrase_begun(self, words: list[str]) -> int:
        """How many of the last words begin a phrase to replace, without ending it."""
        phrases = [vocabulary.replacement_key(key).split() for key in self.replacements]
        for count in range(min(len(words), max((len(p) for p in phrases), default=1) - 1), 0, -1):
            tail = [plain(word) for word in words[-count:]]
            if any(len(phrase) > count and phrase[:count] == tail for phrase in phrases):
                return count
        return 0
