"""A live session's replacements and redaction: nothing is sent that a later word would change, and what is sent
adds up to the rewritten transcript."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import Settings
from app.services.live.config import LiveConfig
from app.services.live.events import TurnCompleted, TurnDelta
from app.services.live.rules import LiveRules
from app.services.live.session import LiveSession
from tests.corpus import two_voice_dialogue
from tests.services.test_live_session import Recorder, stream
from tests.synth import TWO_VOICE_DIALOGUE


def words(text: str) -> list[str]:
    return text.split()


def test_the_first_words_of_a_phrase_to_replace_wait_for_the_rest() -> None:
    rules = LiveRules(replacements={"acme pro max": "Acme-Pro Max", "zylo": "Zylo"})
    assert rules.sendable(words("We sell Acme"), final=False) == ["We", "sell"]
    assert rules.sendable(words("We sell Acme Pro"), final=False) == ["We", "sell"]
    assert rules.sendable(words("We sell acme-pro max, and"), final=False) == [
        "We",
        "sell",
        "Acme-Pro",
        "Max,",
        "and",
    ]
    assert rules.sendable(words("We sell Acme"), final=True) == ["We", "sell", "Acme"]
    assert rules.sendable(words("Try zylo"), final=False) == ["Try", "Zylo"]
    assert LiveRules().sendable(words("As heard"), final=False) == ["As", "heard"]


def test_keyterms_near_spellings_are_written_as_given_before_they_are_sent() -> None:
    rules = LiveRules(keyterms=("Zylofax", "Brightmoor Analytics"))
    # A last word that may begin one waits for the next; another goes out at once.
    assert rules.sendable(words("The Nylofax from Brightmore"), final=False) == ["The", "Zylofax", "from"]
    assert rules.sendable(words("Ask for the Zylo"), final=False) == ["Ask", "for", "the"]
    assert rules.sendable(words("Ask for the Zylo fax"), final=False) == ["Ask", "for", "the", "Zylofax"]
    assert rules.sendable(words("Ask for the price"), final=False) == ["Ask", "for", "the", "price"]
    assert rules.sendable(words("The Nylofax from Brightmore analytics"), final=True) == [
        "The",
        "Zylofax",
        "from",
        "Brightmoor",
        "Analytics",
    ]


def test_with_redaction_a_turn_is_sent_once_it_ends_redacted() -> None:
    rules = LiveRules(redact=("card_number",))
    heard = words("my card is 4111 1111 1111 1111 thanks")
    assert rules.sendable(heard[:5], final=False) == []
    assert rules.sendable(heard, final=True) == ["my", "card", "is", "[CARD_NUMBER]", "thanks"]


@pytest.mark.slow
def test_a_live_session_sends_no_digit_of_a_redacted_number() -> None:
    audio, _ = two_voice_dialogue()
    recorder = Recorder()
    rules = LiveRules(replacements={"address": "Adresse"}, redact=("account_number", "spoken_digits"))
    session = LiveSession(Settings(), LiveConfig(language="en", rules=rules), recorder)
    session.set_encoding("pcm16", 24_000)
    stream(session, np.concatenate([audio, np.zeros(16_000, dtype=np.float32)]), pace=0.03)
    completed = recorder.wait_for(TurnCompleted, len(TWO_VOICE_DIALOGUE))
    session.close()
    for turn in completed:
        deltas = [event for event in recorder.of(TurnDelta) if event.turn == turn.turn]
        # One delta, sent with the completed turn: the whole turn, rewritten.
        assert [delta.text for delta in deltas] == [turn.transcript], deltas
        assert not any(character.isdigit() for character in turn.transcript), turn
    said = " ".join(turn.transcript for turn in completed)
    assert "Adresse" in said and "address" not in said.lower().replace("adresse", ""), said
    assert any(kind in said for kind in ("[ACCOUNT_NUMBER]", "[SPOKEN_DIGITS]")), said
