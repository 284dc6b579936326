"""Keyterms written as given where the model spelt them nearly so."""

from __future__ import annotations

from app.ml.results import Transcript
from app.services.text_rules import rewritten, rewritten_captions
from app.text.near_spellings import NearSpellings
from app.text_schemas import TextRules

TERMS = ["Zylofax", "Acme-Pro", "Brightmoor Analytics", "Dr. Okonkwo", "Kiva"]
ITSELF = {term: term for term in TERMS if term != "Kiva"}
"""Each keyterm of six letters or more maps to itself, so that one said whole is kept whole."""


def test_near_spellings_of_keyterms_become_replacements() -> None:
    found = NearSpellings(TERMS).replacements(
        [
            "We sold the Nylofax to brightmore analytics, and the Zylo fax too.",
            "Dr. Okonqwo likes acme pro.",
        ],
        {},
    )
    assert found == ITSELF | {
        "Nylofax": "Zylofax",
        "Zylo fax": "Zylofax",
        "acme pro": "Acme-Pro",
        "brightmore analytics": "Brightmoor Analytics",
        "Dr. Okonqwo": "Dr. Okonkwo",
        "Okonqwo": "Dr. Okonkwo",  # where it stands alone; "Dr. Okonqwo", longer, is replaced whole
    }


def test_ordinary_words_and_short_terms_are_left_alone() -> None:
    texts = ["Netflix called about the fax machine and the diva.", "Zylofax is spelt right here."]
    assert NearSpellings(TERMS).replacements(texts, {}) == ITSELF


def test_a_near_spelling_takes_no_word_it_can_do_without() -> None:
    found = NearSpellings(TERMS).replacements(["Brightmoor Analytics to the rescue"], {})
    assert (
        found == ITSELF
    )  # spelt right; "Brightmoor Analytics to" is nearly the term too, but "to" is not part of it


def test_the_jobs_own_replacements_come_first() -> None:
    rules = TextRules(keyterms=["Zylofax"], replacements={"nylofax": "Nylofax™"})
    captions = rewritten_captions([{"start": 0.0, "end": 2.0, "text": "The Nylofax and the Zilofax."}], rules)
    assert captions[0]["text"] == "The Nylofax™ and the Zylofax."
    rules = TextRules(keyterms=["Acme Pro"], replacements={"acme pro": "Acme-Pro"})
    captions = rewritten_captions([{"start": 0.0, "end": 2.0, "text": "Acme Pro, acme pro."}], rules)
    assert captions[0]["text"] == "Acme-Pro, Acme-Pro."


def test_words_keep_their_timings_and_speakers() -> None:
    transcript = Transcript(
        segments=[
            {
                "start": 0.0,
                "end": 2.0,
                "text": " Call Brightmore Analytics.",
                "words": [
                    {"word": "Call", "start": 0.0, "end": 0.4, "speaker": "A"},
                    {"word": "Brightmore", "start": 0.5, "end": 1.1, "speaker": "A"},
                    {"word": "Analytics.", "start": 1.2, "end": 2.0, "speaker": "A"},
                ],
            }
        ]
    )
    result, _ = rewritten(transcript, TextRules(keyterms=TERMS))
    segment = result["segments"][0]
    assert segment["text"] == " Call Brightmoor Analytics."
    assert segment["words"][1] == {"word": "Brightmoor Analytics.", "start": 0.5, "end": 2.0, "speaker": "A"}


def test_a_keyterm_said_whole_stays_whole() -> None:
    rules = TextRules(keyterms=["Dr. Sivaraman", "Ostrander Labs", "Quillstone"])
    texts = [
        "Signed by Dr. Sivaraman at Ostrander Labs.",
        "Ask Sivaraman at Ostrander Lab about the Quillstone's top.",
    ]
    captions = rewritten_captions([{"start": 0.0, "end": 1.0, "text": text} for text in texts], rules)
    assert [caption["text"] for caption in captions] == [
        "Signed by Dr. Sivaraman at Ostrander Labs.",
        "Ask Dr. Sivaraman at Ostrander Labs about the Quillstone's top.",
    ]
    words = [{"word": "Dr.", "start": 0.0, "end": 0.2}, {"word": "Sivaraman", "start": 0.3, "end": 0.9}]
    transcript = Transcript(segments=[{"start": 0.0, "end": 0.9, "text": " Dr. Sivaraman", "words": words}])
    assert rewritten(transcript, rules)[0]["segments"][0]["words"] == words
