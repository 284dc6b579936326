"""Keyterms in Whisper's prompt and hotwords, and replacements over texts, captions and transcripts."""

from __future__ import annotations

import copy

import pytest

from app.ml.results import Caption, Segment, Transcript, Word
from app.text.vocabulary import (
    PROMPT_TOKEN_BUDGET,
    keyterm_prompt,
    over_budget,
    replace_captions,
    replace_text,
    replace_transcript,
)

ACME = {"acme pro": "Acme-Pro", "acme pro max": "Acme-Pro Max", "zylo fax": "Zylofax"}


def test_the_prompt_lists_the_keyterms_after_the_initial_prompt() -> None:
    keyterms = ["Acme-Pro", "Zylofax", "Dr. Okonkwo"]
    assert keyterm_prompt(keyterms, None) == "Acme-Pro, Zylofax, Dr. Okonkwo."
    assert keyterm_prompt(keyterms, "Sales call. ") == "Sales call. Acme-Pro, Zylofax, Dr. Okonkwo."
    assert keyterm_prompt([" Acme-Pro ", "acme-pro", ""], "") == "Acme-Pro."


def test_the_prompt_is_the_initial_prompt_without_keyterms() -> None:
    assert keyterm_prompt([], "Sales call. ") == "Sales call. "
    assert keyterm_prompt([" "], None) is None


def test_the_budget_is_whispers_half_context() -> None:
    assert PROMPT_TOKEN_BUDGET == 448 // 2 - 1
    assert not over_budget(223)
    assert over_budget(224)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" We sell the acme pro.", " We sell the Acme-Pro."),
        (" We sell the ACME PRO!", " We sell the Acme-Pro!"),
        (" The acme-pro, mostly", " The Acme-Pro, mostly"),
        (" The Acme  -  Pro", " The Acme-Pro"),
        (" The acme   pro and (acme pro max)", " The Acme-Pro and (Acme-Pro Max)"),
        (" acme profit, acme pros", " acme profit, acme pros"),
        (" zylo-fax", " Zylofax"),
    ],
)
def test_text_is_replaced_on_whole_words(text: str, expected: str) -> None:
    assert replace_text(text, ACME) == expected


def test_a_short_key_leaves_longer_words_alone() -> None:
    assert replace_text("pro profit pro-rata repro pro.", {"pro": "Pro"}) == "Pro profit Pro-rata repro Pro."
    assert replace_text("c++ and c", {"c++": "C++"}) == "C++ and c"
    assert replace_text("a gpt-4 gpt", {"gpt": "G P T"}) == "a G P T-4 G P T"
    assert replace_text("nothing", {}) == "nothing"


def test_a_value_is_inserted_literally() -> None:
    assert replace_text("acme", {"acme": r"\1 \g<0>"}) == r"\1 \g<0>"


def test_captions_are_replaced_in_new_dicts() -> None:
    captions = [Caption(start=0.0, end=1.0, text=" the acme pro"), Caption(start=1.0, end=2.0, text=" hi")]
    replaced = replace_captions(captions, ACME)
    assert replaced == [
        Caption(start=0.0, end=1.0, text=" the Acme-Pro"),
        Caption(start=1.0, end=2.0, text=" hi"),
    ]
    assert captions[0]["text"] == " the acme pro"
    assert replaced[1] is not captions[1]


def _words(*texts: str, speaker: str = "SPEAKER_00") -> list[Word]:
    return [
        Word(word=text, start=float(i), end=i + 0.5, score=0.5 + i / 10, speaker=speaker)
        for i, text in enumerate(texts)
    ]


def _segment(text: str, words: list[Word]) -> Segment:
    return Segment(
        start=0.0,
        end=10.0,
        text=text,
        words=words,
        tokens=[1, 2],
        logprobs=[{"token": "a", "logprob": -0.1, "bytes": [97]}],
        chars=[{"char": "a"}],
        avg_logprob=-0.2,
        speaker="SPEAKER_00",
    )


def test_a_match_over_several_words_becomes_one_word() -> None:
    words = _words("we", "like", "(acme", "pro,", "really")
    del words[2]["start"]  # the aligner could not place it
    del words[3]["score"]
    words[3]["speaker"] = "SPEAKER_01"
    transcript = Transcript(segments=[_segment(" we like (acme pro, really", words)])

    result = replace_transcript(transcript, ACME)

    segment = result["segments"][0]
    assert segment["text"] == " we like (Acme-Pro, really"
    assert [word["word"] for word in segment["words"]] == ["we", "like", "(Acme-Pro,", "really"]
    # The start of the first word with one, the end of the last, the first word's speaker, the mean score.
    assert segment["words"][2] == Word(word="(Acme-Pro,", start=3.0, end=3.5, score=0.7, speaker="SPEAKER_00")
    assert segment["words"][3] == words[4]


def test_the_longest_key_wins_over_words() -> None:
    words = _words("an", "acme", "pro", "max", "and", "an", "acme", "pro")
    transcript = Transcript(segments=[_segment(" an acme pro max and an acme pro", words)])

    segment = replace_transcript(transcript, ACME)["segments"][0]

    assert segment["text"] == " an Acme-Pro Max and an Acme-Pro"
    assert [word["word"] for word in segment["words"]] == ["an", "Acme-Pro Max", "and", "an", "Acme-Pro"]
    assert segment["words"][1]["start"] == 1.0
    assert segment["words"][1]["end"] == 3.5
    assert segment["words"][1]["score"] == pytest.approx(0.7)


def test_a_one_word_match_keeps_the_words_keys() -> None:
    words = [
        Word(word="Gpt.", start=1.0, end=1.4, score=0.3, probability=0.9, speaker="A"),
        Word(word="acme-pro", start=2.0, end=2.5),
    ]
    transcript = Transcript(segments=[_segment(" Gpt. acme-pro", words)])

    segment = replace_transcript(transcript, {"gpt": "G P T", "acme pro": "Acme-Pro"})["segments"][0]

    assert segment["words"] == [
        Word(word="G P T.", start=1.0, end=1.4, score=0.3, probability=0.9, speaker="A"),
        Word(word="Acme-Pro", start=2.0, end=2.5),
    ]


def test_a_merged_word_without_scores_has_none() -> None:
    words = [Word(word="zylo"), Word(word="fax")]
    segment = replace_transcript(Transcript(segments=[_segment(" zylo fax", words)]), ACME)["segments"][0]
    assert segment["words"] == [Word(word="Zylofax")]


def test_only_changed_segments_lose_their_token_details() -> None:
    changed = _segment(" the acme pro", _words("the", "acme", "pro"))
    unchanged = _segment(" the profit", _words("the", "profit"))
    transcript = Transcript(segments=[changed, unchanged], language="en")

    result = replace_transcript(transcript, ACME)

    first, second = result["segments"]
    assert not {"tokens", "logprobs", "chars"} & first.keys()
    assert first["avg_logprob"] == -0.2
    assert first["speaker"] == "SPEAKER_00"
    assert second == unchanged
    assert result["language"] == "en"


def test_the_input_is_not_mutated() -> None:
    transcript = Transcript(
        segments=[_segment(" the acme pro", _words("the", "acme", "pro"))],
        word_segments=_words("the", "acme", "pro"),
    )
    before = copy.deepcopy(transcript)

    result = replace_transcript(transcript, ACME)

    assert transcript == before
    assert result != before
    assert result["segments"][0] is not transcript["segments"][0]
    assert result["segments"][0]["words"][0] is not transcript["segments"][0]["words"][0]


def test_no_replacements_give_an_equal_copy() -> None:
    transcript = Transcript(segments=[_segment(" the acme pro", _words("the", "acme", "pro"))])
    result = replace_transcript(transcript, {})
    assert result == transcript
    assert result is not transcript
    assert result["segments"][0] is not transcript["segments"][0]


def test_word_segments_follow_the_segments_words() -> None:
    segments = [
        _segment(" the acme", _words("the", "acme")),
        _segment(" pro zylo fax", _words("pro", "zylo", "fax", speaker="SPEAKER_01")),
    ]
    word_segments = [*segments[0]["words"], *segments[1]["words"]]
    transcript = Transcript(segments=segments, word_segments=word_segments)

    result = replace_transcript(transcript, ACME)

    # "acme" and "pro" lie in two segments, so they are not one match.
    assert [word["word"] for word in result["segments"][0]["words"]] == ["the", "acme"]
    assert [word["word"] for word in result["segments"][1]["words"]] == ["pro", "Zylofax"]
    assert result["word_segments"] == [*result["segments"][0]["words"], *result["segments"][1]["words"]]


def test_word_segments_without_segment_words_are_replaced_alone() -> None:
    segment = Segment(start=0.0, end=2.0, text=" the acme pro")
    transcript = Transcript(segments=[segment], word_segments=_words("the", "acme", "pro"))

    result = replace_transcript(transcript, ACME)

    assert result["segments"][0]["text"] == " the Acme-Pro"
    assert "words" not in result["segments"][0]
    assert [word["word"] for word in result["word_segments"]] == ["the", "Acme-Pro"]
    assert result["word_segments"][1]["end"] == 2.5


def test_two_matches_in_one_word_stay_one_word() -> None:
    words = [Word(word="acme-pro/acme", start=0.0, end=1.0), Word(word="pro", start=1.0, end=2.0)]
    segment = replace_transcript(Transcript(segments=[_segment(" acme-pro/acme pro", words)]), ACME)
    assert segment["segments"][0]["words"] == [Word(word="Acme-Pro/Acme-Pro", start=0.0, end=2.0)]
