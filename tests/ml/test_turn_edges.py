"""Short turn edges across a pause go to the turn they run into; every other turn is left as it is."""

from __future__ import annotations

from typing import Any

from app.ml.turn_edges import settled_edges


def turns(*rows: tuple[float, float, str]) -> list[dict[str, Any]]:
    return [{"start": start, "end": end, "speaker": speaker} for start, end, speaker in rows]


def test_a_turn_that_opens_with_the_previous_speakers_label_after_a_pause_is_given_its_first_word() -> None:
    # A says something, pauses; B answers, but the diarizer heard B's first word as A.
    found = turns((0.0, 5.0, "A"), (5.8, 6.2, "A"), (6.1, 10.0, "B"))
    assert settled_edges(found) == turns((0.0, 5.0, "A"), (5.8, 10.0, "B"))


def test_a_turn_that_closes_with_the_next_speakers_label_before_a_pause_keeps_its_last_word() -> None:
    found = turns((0.0, 5.0, "B"), (5.0, 5.5, "C"), (6.3, 10.0, "C"))
    assert settled_edges(found) == turns((0.0, 5.5, "B"), (6.3, 10.0, "C"))


def test_a_short_answer_between_someone_elses_turns_stays_its_speakers() -> None:
    # "yes" from B between two of A's turns, with no pause from B's other speech to cross.
    found = turns((0.0, 4.0, "A"), (4.1, 4.5, "B"), (4.6, 8.0, "A"))
    assert settled_edges(found) == found


def test_an_edge_without_a_pause_from_its_label_stays() -> None:
    found = turns((0.0, 5.0, "A"), (5.1, 5.5, "A"), (5.5, 10.0, "B"))
    assert settled_edges(found) == found


def test_a_turn_of_a_word_or_more_is_not_an_edge() -> None:
    found = turns((0.0, 5.0, "A"), (5.8, 6.6, "A"), (6.6, 10.0, "B"))
    assert settled_edges(found) == found


def test_an_edge_that_two_turns_could_take_or_only_a_short_one_stays() -> None:
    two_hosts = turns((0.0, 5.0, "A"), (5.8, 6.2, "A"), (5.9, 9.0, "B"), (6.0, 9.0, "C"))
    assert settled_edges(two_hosts) == two_hosts
    short_host = turns((0.0, 5.0, "A"), (5.8, 6.2, "A"), (6.2, 6.9, "B"), (8.0, 9.0, "A"))
    assert settled_edges(short_host) == short_host


def test_turns_come_back_in_time_order_and_the_input_is_not_changed() -> None:
    found = turns((6.1, 10.0, "B"), (0.0, 5.0, "A"), (5.8, 6.2, "A"))
    copy = [dict(turn) for turn in found]
    assert [turn["start"] for turn in settled_edges(found)] == [0.0, 5.8]
    assert found == copy
