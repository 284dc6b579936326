"""How the text of a turn still being spoken is sent: only ever added to, never taken back.

Whisper decodes the turn's window again as it grows, and a word may change from one decode to the next; the
words two decodes in a row begin with are taken as heard (the "local agreement" rule of streaming Whisper).
Words are compared without case or punctuation, which Whisper often changes as a sentence goes on.
"""

from __future__ import annotations

import re

MISHEARD = 2


def plain(word: str) -> str:
    """A word as agreement compares it: lower case, without punctuation."""
    return re.sub(r"[^\w']", "", word.lower())


def agreed(first: list[str], second: list[str]) -> list[str]:
    """The words both decodes begin with (as `second` spells them)."""
    count = 0
    for a, b in zip(first, second, strict=False):
        if plain(a) != plain(b):
            break
        count += 1
    return second[:count]


def following(sent: list[str], words: list[str]) -> int | None:
    """Where the words after what was sent begin in `words`: after `sent` itself when `words` begins with it.
    When an earlier decode got a word wrong: after the last place where the end of `sent` (three words, else
    two) is found; else, when at most the last `MISHEARD` words sent differ, where they begin (better a word
    too many than one lost). None when neither."""
    words = [plain(word) for word in words]
    if words[: len(sent)] == sent:
        return len(sent)
    for count in (3, 2):
        if len(sent) >= count:
            for start in range(len(words) - count, -1, -1):
                if words[start : start + count] == sent[-count:]:
                    return start + count
    same = len(agreed(sent, words))
    return same if same and len(sent) - same <= MISHEARD else None


class SpokenText:
    """One turn's text: what was sent, and the last decode of the window still being heard."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        """The words sent so far (as `plain` has them)."""
        self.heard: list[str] | None = None

    def hear(self, words: list[str]) -> list[str]:
        """A new decode of the window: the words it agrees on with the one before."""
        both = agreed(self.heard, words) if self.heard is not None else []
        self.heard = words
        return both

    def next_window(self) -> None:
        """The window was cut off and decoded as a part; the next one starts unheard."""
        self.heard = None

    def delta(self, words: list[str]) -> str | None:
        """The text to send for the turn's words so far: what follows what was sent, if anything."""
        start = following(self.sent, words)
        if start is None or start >= len(words):
            return None
        text = (" " if self.sent else "") + " ".join(words[start:])
        self.sent = [plain(word) for word in words]
        return text
