"""Redaction of card and account numbers, emails, phone numbers and spoken digits: in text, captions and
transcripts (words merged, time spans to bleep)."""

from __future__ import annotations

import copy
from typing import get_args

import pytest

from app.ml.results import Caption, Segment, Transcript, Word
from app.text.redaction import (
    REDACT_KINDS,
    Entity,
    RedactKind,
    find_entities,
    placeholder,
    redact_captions,
    redact_text,
    redact_transcript,
)

ALL = REDACT_KINDS


def test_kinds_and_placeholders() -> None:
    assert get_args(RedactKind) == REDACT_KINDS
    assert [placeholder(kind) for kind in REDACT_KINDS] == [
        "[CARD_NUMBER]",
        "[ACCOUNT_NUMBER]",
        "[EMAIL]",
        "[PHONE_NUMBER]",
        "[SPOKEN_DIGITS]",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" My card is 4111 1111 1111 1111.", " My card is [CARD_NUMBER]."),
        ("card 4111-1111-1111-1111 expires", "card [CARD_NUMBER] expires"),
        ("4111111111111111", "[CARD_NUMBER]"),
        ("amex 3782 822463 10005", "amex [CARD_NUMBER]"),
        # 16 digits failing the Luhn check: an account number, not a card.
        ("number 4111111111111112 please", "number [ACCOUNT_NUMBER] please"),
        ("account 98765432, sort code", "account [ACCOUNT_NUMBER], sort code"),
        ("it's 1234 5678 9012", "it's [ACCOUNT_NUMBER]"),
        ("my social is 123-45-6789.", "my social is [ACCOUNT_NUMBER]."),
        ("email john.smith@example.com now", "email [EMAIL] now"),
        ("write to Jane_Doe+calls@mail.example.co.uk.", "write to [EMAIL]."),
        ("it's john dot smith at example dot com.", "it's [EMAIL]."),
        ("jsmith at gmail dot com", "[EMAIL]"),
        ("write to me at jane dot doe at gmail dot com", "write to me at [EMAIL]"),
        ("call (415) 555-0132 today", "call [PHONE_NUMBER] today"),
        ("415-555-0132", "[PHONE_NUMBER]"),
        ("call me at 415 555 0132", "call me at [PHONE_NUMBER]"),
        ("the London office is +44 20 7946 0958.", "the London office is [PHONE_NUMBER]."),
        ("four one one one, one one one one", "[SPOKEN_DIGITS]"),
        ("It's Five-Five-O-One.", "It's [SPOKEN_DIGITS]."),
        ("pin is double five double five", "pin is [SPOKEN_DIGITS]"),
        ("zero oh triple seven", "[SPOKEN_DIGITS]"),
    ],
)
def test_each_kind_is_found_and_placed(text: str, expected: str) -> None:
    assert redact_text(text, ALL) == expected


@pytest.mark.parametrize(
    "text",
    [
        "In 2024 we grew.",
        "It cost $1,500, or $150000 with tax.",
        "Meet at 10:30 or 14:45:00.",
        "Rates rose 3.5 percent; pi is 3.14159265.",
        "We sold 12345 units and came 3rd of 40.",
        "From 2019-2024 and in 2024 15 people joined.",
        "look at the car",
        "I was at home, look at google dot com",
        "one or two, maybe three",
        "twenty-one, twenty-two, twenty-three",
        "one two three",
        "o one two three",
        "at five o'clock",
        "Nothing to hide here.",
        "",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert find_entities(text, ALL) == []
    assert redact_text(text, ALL) == text


def test_kinds_not_asked_are_left_alone() -> None:
    text = "card 4111 1111 1111 1111, mail a@b.com, call 415-555-0132, pin one two three four"
    assert (
        redact_text(text, ["email"])
        == "card 4111 1111 1111 1111, mail [EMAIL], call 415-555-0132, pin one two three four"
    )
    assert redact_text(text, ["spoken_digits"]) == (
        "card 4111 1111 1111 1111, mail a@b.com, call 415-555-0132, pin [SPOKEN_DIGITS]"
    )
    assert redact_text(text, []) == text
    # Without phone numbers asked, a phone number said as digits is still an account number.
    assert redact_text("call 415-555-0132", ["account_number"]) == "call [ACCOUNT_NUMBER]"
    assert redact_text("call 415-555-0132", ["card_number"]) == "call 415-555-0132"


def test_entities_are_sorted_and_do_not_overlap() -> None:
    text = "a@b.com then 4111 1111 1111 1111 then 415-555-0132"
    assert find_entities(text, ALL) == [
        Entity(0, 7, "email"),
        Entity(13, 32, "card_number"),
        Entity(38, 50, "phone_number"),
    ]
    # The run of digits is both a phone number and an account number: the phone number wins, whole.
    assert find_entities("(415) 555-0132", ALL) == [Entity(0, 14, "phone_number")]


FALSE_POSITIVE_PARAGRAPH = " ".join(
    [
        "Thanks for calling, my name is Sarah and I will be helping you today.",
        "We opened the new office in 2024 after two years of planning.",
        "The meeting should take about 15 minutes.",
        "Your refund of $300 was sent on Monday.",
        "Please go to room 404 on the second floor.",
        "We upgraded to version 3.2 last week.",
        "The train leaves at 10:30 and arrives at 12:15.",
        "About 3.5 percent of customers asked for help.",
        "I have been with the company since 1998.",
        "We shipped 1,200 orders in March.",
        "The temperature was 72 degrees.",
        "She scored 98 out of 100 on the test.",
        "Look at the car in the parking lot.",
        "He was at the bank at noon.",
        "One or two people called back.",
        "The order should arrive in 3 to 5 business days.",
        "Our team has 12 engineers and 4 designers.",
        "The package weighs 2.75 kilograms.",
        "We met on the 21st of June.",
        "It costs $19.99 per month.",
        "The project is 80% complete.",
        "Chapter 7 explains the details.",
        "The flight was delayed by 45 minutes.",
        "He ran 5 kilometers in 25 minutes.",
        "Call volume dropped by 20 percent in Q3.",
        "The server handles 500 requests per second.",
        "There were 3 items in the basket.",
        "The discount is 15% off until Friday.",
        "I will call you back in an hour.",
        "Let me check that for you.",
        "The store opens at 9 and closes at 6.",
        "We moved to a new building in 2019.",
        "The invoice total was $2,450.",
        "Take exit 23 and turn left.",
        "The conference is on March 3.",
        "Grab a coffee at the cafe downstairs.",
        "The warranty lasts 2 years.",
        "Press 1 for sales or 2 for support.",
        "Our rating went up to 4.8 stars.",
        "Have a great day and thanks again.",
    ]
)


def test_ordinary_paragraph_has_no_redactions() -> None:
    assert FALSE_POSITIVE_PARAGRAPH.count(".") >= 40
    assert find_entities(FALSE_POSITIVE_PARAGRAPH, ALL) == []


def test_redact_captions() -> None:
    captions: list[Caption] = [
        {"start": 0.0, "end": 2.0, "text": " My card is 4111 1111 1111 1111."},
        {"start": 2.0, "end": 3.0, "text": " Thanks."},
    ]
    before = copy.deepcopy(captions)
    redacted = redact_captions(captions, ALL)
    assert redacted == [
        {"start": 0.0, "end": 2.0, "text": " My card is [CARD_NUMBER]."},
        {"start": 2.0, "end": 3.0, "text": " Thanks."},
    ]
    assert captions == before
    assert redacted is not captions


def _word(word: str, start: float, end: float, speaker: str = "SPEAKER_00") -> Word:
    return {"word": word, "start": start, "end": end, "score": 0.9, "speaker": speaker}


def _transcript() -> Transcript:
    card: list[Word] = [
        _word("My", 0.0, 0.2),
        _word("card", 0.2, 0.5),
        _word("is", 0.5, 0.6),
        _word("4111", 0.7, 1.0, "SPEAKER_01"),
        {"word": "1111", "score": 0.5},  # not aligned: no timing of its own
        _word("1111", 1.4, 1.7),
        _word("1111.", 1.8, 2.1),
    ]
    email: list[Word] = [
        _word("email:foo@bar.com", 3.0, 3.8),
        _word("or", 3.8, 4.0),
        _word("415-555-0132", 4.0, 4.9),
        _word("and", 4.9, 5.0),
        _word("four", 5.0, 5.2),
        _word("one,", 5.2, 5.4),
        _word("one", 5.4, 5.6),
        _word("one", 5.6, 5.8),
    ]
    segments: list[Segment] = [
        {
            "start": 0.0,
            "end": 2.1,
            "text": " My card is 4111 1111 1111 1111.",
            "words": card,
            "tokens": [1, 2, 3],
            "logprobs": [{"token": " My", "logprob": -0.1, "bytes": [32, 77, 121]}],
            "chars": [{"char": "M", "start": 0.0, "end": 0.1}],
            "speaker": "SPEAKER_00",
            "avg_logprob": -0.2,
        },
        {
            "start": 3.0,
            "end": 5.8,
            "text": " email:foo@bar.com or 415-555-0132 and four one, one one",
            "words": email,
            "tokens": [4],
        },
        {
            "start": 6.0,
            "end": 7.0,
            "text": " Thank you.",
            "words": [_word("Thank", 6.0, 6.5), _word("you.", 6.5, 7.0)],
            "tokens": [5],
            "chars": [],
        },
    ]
    return {
        "segments": segments,
        "language": "en",
        "word_segments": [word for segment in segments for word in segment["words"]],
    }


def test_redact_transcript_merges_words_and_returns_spans() -> None:
    transcript = _transcript()
    redacted, spans = redact_transcript(transcript, ALL)
    first, second, third = redacted["segments"]

    assert first["text"] == " My card is [CARD_NUMBER]."
    assert first["words"][:3] == transcript["segments"][0]["words"][:3]
    # Four words became one: the placeholder with the full stop kept, the first start, the last end, the
    # first word's speaker, no score.
    assert first["words"][3] == {"word": "[CARD_NUMBER].", "start": 0.7, "end": 2.1, "speaker": "SPEAKER_01"}
    assert len(first["words"]) == 4

    assert second["text"] == " email:[EMAIL] or [PHONE_NUMBER] and [SPOKEN_DIGITS]"
    assert [word["word"] for word in second["words"]] == [
        "email:[EMAIL]",
        "or",
        "[PHONE_NUMBER]",
        "and",
        "[SPOKEN_DIGITS]",
    ]
    assert second["words"][4] == {
        "word": "[SPOKEN_DIGITS]",
        "start": 5.0,
        "end": 5.8,
        "speaker": "SPEAKER_00",
    }

    assert third == transcript["segments"][2]
    assert spans == [(0.7, 2.1), (3.0, 3.8), (4.0, 4.9), (5.0, 5.8)]


def test_redact_transcript_drops_decoding_only_where_text_changed() -> None:
    redacted, _ = redact_transcript(_transcript(), ALL)
    first, second, third = redacted["segments"]
    for changed in (first, second):
        assert "tokens" not in changed
        assert "logprobs" not in changed
        assert "chars" not in changed
    assert first["speaker"] == "SPEAKER_00"
    assert first["avg_logprob"] == -0.2
    assert third["tokens"] == [5]
    assert third["chars"] == []
    assert redacted["language"] == "en"


def test_redact_transcript_leaves_its_input_alone() -> None:
    transcript = _transcript()
    before = copy.deepcopy(transcript)
    redacted, _ = redact_transcript(transcript, ALL)
    assert transcript == before
    assert redacted["segments"][2] is not transcript["segments"][2]
    assert redacted["segments"][2]["words"][0] is not transcript["segments"][2]["words"][0]


def test_word_segments_agree_with_segments() -> None:
    redacted, _ = redact_transcript(_transcript(), ALL)
    assert redacted["word_segments"] == [
        word for segment in redacted["segments"] for word in segment["words"]
    ]
    assert "[CARD_NUMBER]." in [word["word"] for word in redacted["word_segments"]]


def test_word_segments_without_segment_words_are_redacted_themselves() -> None:
    transcript = _transcript()
    for segment in transcript["segments"]:
        del segment["words"]
    redacted, spans = redact_transcript(transcript, ALL)
    words = [word["word"] for word in redacted["word_segments"]]
    assert words[:4] == ["My", "card", "is", "[CARD_NUMBER]."]
    assert "email:[EMAIL]" in words
    assert "4111" not in words
    assert spans == [(0.7, 2.1), (3.0, 3.8), (4.0, 4.9), (5.0, 5.8)]
    assert redacted["segments"][0]["text"] == " My card is [CARD_NUMBER]."


def test_spans_that_touch_are_merged() -> None:
    transcript: Transcript = {
        "segments": [
            {
                "start": 0.0,
                "end": 2.0,
                "text": " a@b.com c@d.com",
                "words": [_word("a@b.com", 0.0, 1.0), _word("c@d.com", 1.0, 2.0)],
            }
        ]
    }
    redacted, spans = redact_transcript(transcript, ["email"])
    assert [word["word"] for word in redacted["segments"][0]["words"]] == ["[EMAIL]", "[EMAIL]"]
    assert spans == [(0.0, 2.0)]
    assert "word_segments" not in redacted


def test_kinds_not_asked_leave_the_transcript_as_it_was() -> None:
    transcript = _transcript()
    redacted, spans = redact_transcript(transcript, ["email"])
    assert redacted["segments"][0] == transcript["segments"][0]
    assert redacted["segments"][1]["text"] == " email:[EMAIL] or 415-555-0132 and four one, one one"
    assert spans == [(3.0, 3.8)]


def test_a_long_number_written_with_thousands_separators_is_redacted_and_an_amount_is_not() -> None:
    assert redact_text("My card is 4,111,111,111,111,111.", REDACT_KINDS) == "My card is [CARD_NUMBER]."
    assert redact_text("It is 4,111,111,111,111,111,111.", REDACT_KINDS) == "It is [ACCOUNT_NUMBER]."
    assert redact_text("It cost 1,500,000 or $1,500,000,000,000.", REDACT_KINDS) == (
        "It cost 1,500,000 or $1,500,000,000,000."
    )


def test_digits_read_out_in_groups_are_one_number() -> None:
    """Whisper writes digits read out in groups with commas between them."""
    assert redact_text("It is 5-1-8-7, 6-6-3-4, 4-0-0-2, 9-7-8-2.", REDACT_KINDS) == "It is [CARD_NUMBER]."
    assert redact_text("Call 404, 613, 3017 now.", REDACT_KINDS) == "Call [PHONE_NUMBER] now."
    assert redact_text("Call 404, 613, 3017 now.", ["account_number"]) == "Call [ACCOUNT_NUMBER] now."
    for kept in ("In 2019, 2020 and 2021.", "I take 2, 3 or 4.", "It cost $1,500 and 1,500,000."):
        assert redact_text(kept, REDACT_KINDS) == kept
