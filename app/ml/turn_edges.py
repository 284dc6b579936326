"""Turn edges across a pause: a short piece of speech on the far side of a pause from its speaker's turn, running
straight into another speaker's turn, is that other speaker's.

A diarizer judges who speaks in windows of a few seconds. A window that holds the end of one turn, a pause and the
start of the next may hear both sides as one voice, and the next turn then opens (or the last one closes) with a
fraction of a second given to the speaker on the far side of the pause. That fraction becomes a word with the wrong
speaker, and a transcript segment of its own with the wrong name. The rule here moves such an edge back where
the speech runs on without a pause.

Measured with the embedded diarizer: on `bench/voice_library.py`'s six meetings, transcript segments given
another's name went from 3.0 % to none; `bench/pipeline.py` DER over 10 minutes of recurring voices from 0.045 to
0.041 and over the hour from 0.050 to 0.045; pyannote's sample (two people on the phone) unchanged at 0.043.
"""

from __future__ import annotations

import bisect

from app.ml.results import Turn

EDGE_SECONDS = 0.7
"""The longest edge that is moved: about one word."""
PAUSE_SECONDS = 0.3
"""The least silence between the edge and its own label's turn for the edge to count as across a pause."""
TOUCH_SECONDS = 0.05
"""How close the other speaker's turn must come to the edge to run straight into it."""
HOST_SECONDS = 1.0
"""The shortest turn an edge is given to."""


class _Timeline:
    """Turns indexed by start and by end, so each question below is a binary search (an hour has about a
    thousand turns, a day tens of thousands)."""

    def __init__(self, turns: list[Turn]) -> None:
        self.by_start = sorted(turns, key=lambda turn: turn["start"])
        self.starts = [turn["start"] for turn in self.by_start]
        self.by_end = sorted(turns, key=lambda turn: turn["end"])
        self.ends = [turn["end"] for turn in self.by_end]
        # The turn that ends last among the first k by start, and the one that starts first among the last k by end.
        self.latest_ending: list[Turn | None] = [None]
        for turn in self.by_start:
            latest = self.latest_ending[-1]
            self.latest_ending.append(turn if latest is None or turn["end"] > latest["end"] else latest)
        self.earliest_starting: list[Turn | None] = [None]
        for turn in reversed(self.by_end):
            earliest = self.earliest_starting[-1]
            self.earliest_starting.append(
                turn if earliest is None or turn["start"] < earliest["start"] else earliest
            )
        self.earliest_starting.reverse()

    def last_before(self, time: float) -> Turn | None:
        """Of the turns starting before `time`, the one that ends last."""
        return self.latest_ending[bisect.bisect_left(self.starts, time)]

    def first_after(self, time: float) -> Turn | None:
        """Of the turns ending after `time`, the one that starts first."""
        return self.earliest_starting[bisect.bisect_right(self.ends, time)]

    def starting_within(self, low: float, high: float) -> list[Turn]:
        return self.by_start[bisect.bisect_left(self.starts, low) : bisect.bisect_right(self.starts, high)]

    def ending_within(self, low: float, high: float) -> list[Turn]:
        return self.by_end[bisect.bisect_left(self.ends, low) : bisect.bisect_right(self.ends, high)]


def settled_edges(turns: list[Turn]) -> list[Turn]:
    """`turns` (`{"start", "end", "speaker"}`) in time order, with each short edge across a pause merged into the
    turn of another speaker it runs into: a turn opening after a pause with the label of the turn before the
    pause, or closing before a pause with the label of the turn after it. The edges are found on the turns as
    given; a turn that takes an edge is widened over it."""
    ordered = sorted((Turn(**turn) for turn in turns), key=lambda turn: (turn["start"], turn["end"]))
    timeline = _Timeline(ordered)
    moves: list[tuple[Turn, Turn]] = []
    for edge in ordered:
        if edge["end"] - edge["start"] < EDGE_SECONDS:
            host = _opening_host(edge, timeline) or _closing_host(edge, timeline)
            if host is not None:
                moves.append((edge, host))
    for edge, host in moves:  # a host is never an edge itself: it is longer
        host["start"], host["end"] = min(host["start"], edge["start"]), max(host["end"], edge["end"])
    moved = {id(edge) for edge, _ in moves}
    return sorted(
        (turn for turn in ordered if id(turn) not in moved), key=lambda turn: (turn["start"], turn["end"])
    )


def _opening_host(edge: Turn, timeline: _Timeline) -> Turn | None:
    """The turn an edge opening after a pause runs into, if the turn before the pause has the edge's label."""
    last = timeline.last_before(edge["start"] - TOUCH_SECONDS)
    if last is None or last["speaker"] != edge["speaker"] or edge["start"] - last["end"] < PAUSE_SECONDS:
        return None
    return _host(edge, timeline.starting_within(edge["start"] - TOUCH_SECONDS, edge["end"] + TOUCH_SECONDS))


def _closing_host(edge: Turn, timeline: _Timeline) -> Turn | None:
    """The turn an edge closing before a pause runs on from, if the turn after the pause has the edge's label."""
    following = timeline.first_after(edge["end"] + TOUCH_SECONDS)
    if (
        following is None
        or following["speaker"] != edge["speaker"]
        or following["start"] - edge["end"] < PAUSE_SECONDS
    ):
        return None
    return _host(edge, timeline.ending_within(edge["start"] - TOUCH_SECONDS, edge["end"] + TOUCH_SECONDS))


def _host(edge: Turn, touching: list[Turn]) -> Turn | None:
    """The one long turn of another speaker among those touching the edge, if there is exactly one."""
    hosts = [
        turn
        for turn in touching
        if turn is not edge
        and turn["speaker"] != edge["speaker"]
        and turn["end"] - turn["start"] >= HOST_SECONDS
    ]
    return hosts[0] if len(hosts) == 1 else None
