"""Keyterms and replacements on unusual words: how often a made-up product, company or person name comes out
spelt exactly as the business spells it, with and without the job's vocabulary.

    .venv/bin/python bench/vocabulary.py                          # 40 sentences, voices A–F, about 3 min
    .venv/bin/python bench/vocabulary.py --voices AB --limit 10 --show
    .venv/bin/python bench/vocabulary.py --seed 1 --similarity 0.7 0.75 0.8 0.85 0.9   # tune on other sentences

Material: 20 made-up terms with a fixed spelling (products like "Zylofax" and "Acme-Pro", companies like
"Brightmoor Analytics", people like "Dr. Okonkwo"), each said in two short sentences of ordinary words drawn
(seeded) from templates for its kind of name: 40 sentences, spoken by espeak-ng's voices in turn (A–F), each
on its own with a quarter second of silence around it.

Method: each sentence is transcribed in process through the RunPod worker's `handler` (a `transcribe` job, the
service path a job takes: validation, the task store in a temporary DATA_DIR, decoding, the text rules), with
the bundled Whisper model (tiny.en unless WHISPER_MODEL says otherwise), several ways, one after another for
each sentence:

- none: no vocabulary;
- keyterms, as spelt only: `keyterms` = the 20 terms (folded into Whisper's prompt), near spellings left as
  they are;
- keyterms, near spellings ≥ S: the same, with near spellings of the terms written as the terms
  (`app.text.near_spellings`) at each `--similarity` S (the service's: its `SIMILARITY`);
- keyterms + replacements: also `replacements` derived mechanically from the term list alone, never from what
  the model wrote: each term's lowercase form, its spaced form (punctuation dropped, hyphens as spaces) and its
  joined form (no spaces) mapped to its fixed spelling ("acme pro", "acmepro" → "Acme-Pro").

Reported per way: the share of term occurrences written exactly right (the fixed spelling, case-sensitive, as a
whole word in the segments' text); the WER on the other words (the sentence without its term: the reference's
term words and the hypothesis words aligned to them, or inserted beside them, are left out; corpus WER over
normalised words); mean seconds per sentence (the handler call); how many outputs echo the prompt instead of
the sentence, which a tiny model given a list as its prompt can do (they name two or more terms not said, or
run three or more short comma-separated items); how many name a term that was not said; and how many came out
empty.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The task store the jobs go through: a fresh one, removed at the end.
os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-vocabulary-")
os.environ.setdefault("PRELOAD_MODELS", "false")
os.environ.pop("DATABASE_URL", None)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jiwer  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from app.config import get_settings  # noqa: E402
from app.runtime import stop_runtime  # noqa: E402
from app.text import near_spellings  # noqa: E402
from handler import handler  # noqa: E402
from tests.corpus import normalise  # noqa: E402
from tests.synth import SAMPLE_RATE, speak  # noqa: E402

# Each term with its kind of name, which picks the sentences it is said in.
TERMS: list[tuple[str, str]] = [
    ("Zylofax", "product"),
    ("Quorvendal", "product"),
    ("Brightmoor Analytics", "company"),
    ("Dr. Okonkwo", "person"),
    ("Acme-Pro", "product"),
    ("Velmora", "product"),
    ("Traxigen", "product"),
    ("Kestrelbyte", "product"),
    ("Nuvalink", "product"),
    ("Ostrander Labs", "company"),
    ("Pellucid Cloud", "company"),
    ("Mireille Fontaine", "person"),
    ("Zephyrix", "product"),
    ("Calloway-Pratt", "company"),
    ("Ingrith Solberg", "person"),
    ("Drovana", "company"),
    ("Quillstone", "product"),
    ("Thornbury Bank", "company"),
    ("Yarrowdale", "company"),
    ("Dr. Sivaraman", "person"),
]
TEMPLATES: dict[str, list[str]] = {
    "product": [
        "We ordered the new {} for the office last week.",
        "The {} stopped working again this morning.",
        "Could you send me the price list for {} please?",
        "Our team has used {} for almost two years now.",
        "I would like to cancel my {} subscription today.",
        "The manual for {} is missing a few pages.",
    ],
    "company": [
        "I have a meeting with {} on Thursday afternoon.",
        "The invoice from {} arrived late again.",
        "We signed a new contract with {} in March.",
        "Someone from {} called about the delivery.",
        "Please forward this report to {} before Friday.",
        "The people at {} were very helpful.",
    ],
    "person": [
        "I spoke with {} about the test results yesterday.",
        "Please ask {} to call me back after lunch.",
        "{} will join the meeting a little later today.",
        "The letter was signed by {} last Monday.",
        "We are waiting for {} to approve the budget.",
        "Can you book a table for {} this evening?",
    ],
}


def sentences(seed: int) -> list[tuple[str, str, str]]:
    """(term, text before it, text after it) for each sentence: every term's first sentence, then every term's
    second one, so that a `--limit` of 20 still says each term once."""
    rng = random.Random(seed)
    picked = [(term, rng.sample(TEMPLATES[kind], 2)) for term, kind in TERMS]
    said = []
    for round_ in range(2):
        for term, templates in picked:
            before, after = templates[round_].split("{}")
            said.append((term, before, after))
    return said


def replacements(terms: list[str]) -> dict[str, str]:
    """Each term's lowercase, spaced and joined forms → its spelling, from the terms alone."""
    fixed: dict[str, str] = {}
    for term in terms:
        spaced = " ".join(re.sub(r"[^\w\s-]", " ", term).replace("-", " ").split()).lower()
        for key in (term.lower(), spaced, spaced.replace(" ", "")):
            fixed.setdefault(key, term)
    return fixed


def wav_uri(samples: np.ndarray) -> str:
    pad = np.zeros(SAMPLE_RATE // 4, dtype=np.float32)
    out = io.BytesIO()
    sf.write(out, np.concatenate([pad, samples, pad]), SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return "data:audio/wav;base64," + base64.b64encode(out.getvalue()).decode()


def transcribe(audio: str, **rules: Any) -> tuple[str, float]:
    """The segments' text of a transcribe job, and the seconds the handler took."""
    started = time.perf_counter()
    response = handler({"input": {"action": "transcribe", "file": audio, **rules}})
    elapsed = time.perf_counter() - started
    if not isinstance(response, dict) or "result" not in response:
        raise RuntimeError(f"transcribe failed: {response}")
    return " ".join(segment["text"].strip() for segment in response["result"]["segments"]), elapsed


def align(reference: list[str], hypothesis: list[str]) -> tuple[list[int | None], list[tuple[int, int]]]:
    """For each reference word the hypothesis word aligned to it (None: deleted), and the inserted hypothesis
    words with the reference position they come before."""
    if not reference:
        return [], [(index, 0) for index in range(len(hypothesis))]
    if not hypothesis:
        return [None] * len(reference), []
    aligned: list[int | None] = [None] * len(reference)
    inserted: list[tuple[int, int]] = []
    for chunk in jiwer.process_words(" ".join(reference), " ".join(hypothesis)).alignments[0]:
        if chunk.type in ("equal", "substitute"):
            for offset in range(chunk.ref_end_idx - chunk.ref_start_idx):
                aligned[chunk.ref_start_idx + offset] = chunk.hyp_start_idx + offset
        elif chunk.type == "insert":
            inserted += [
                (index, chunk.ref_start_idx) for index in range(chunk.hyp_start_idx, chunk.hyp_end_idx)
            ]
    return aligned, inserted


def without_term(term: str, before: str, after: str, hypothesis: str) -> tuple[str, str]:
    """The reference and the hypothesis without the term: the hypothesis words aligned to the term's words, or
    inserted right before or after them, are the term's."""
    head, said, tail = normalise(before).split(), normalise(term).split(), normalise(after).split()
    reference = head + said + tail
    words = normalise(hypothesis).split()
    span = range(len(head), len(head) + len(said))
    aligned, inserted = align(reference, words)
    theirs = {aligned[index] for index in span} | {
        index for index, position in inserted if position in span or position - 1 in span
    }
    return " ".join(head + tail), " ".join(word for index, word in enumerate(words) if index not in theirs)


def exact(term: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text) is not None


def other_terms(term: str, text: str) -> int:
    """How many of the terms not said the output names (compared as normalised words)."""
    said = f" {normalise(text)} "
    return sum(f" {normalise(other)} " in said for other, _ in TERMS if other != term)


def echoes_prompt(term: str, text: str) -> bool:
    """Whether the output reads as the prompt's list rather than the sentence: it names two or more of the terms
    not said, or holds three or more comma-separated items in a row of one or two words each (no sentence
    has such a list)."""
    run = longest = 0
    for item in text.split(","):
        run = run + 1 if 1 <= len(item.split()) <= 2 else 0
        longest = max(longest, run)
    return other_terms(term, text) >= 2 or longest >= 3


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voices", default="ABCDEF", help="espeak-ng voices of tests/synth.py, in turn")
    parser.add_argument("--limit", type=int, default=None, help="only the first N sentences")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show", action="store_true", help="print every sentence's outputs")
    parser.add_argument(
        "--similarity",
        type=float,
        nargs="+",
        default=[near_spellings.SIMILARITY],
        help="near spellings' least similarity, one way each (tune with another --seed than the one reported)",
    )
    args = parser.parse_args()
    said = sentences(args.seed)[: args.limit]
    terms = [term for term, _ in TERMS]
    # way → (the job's rules, the least similarity of a near spelling; above 1: none)
    ways: dict[str, tuple[dict[str, Any], float]] = {
        "none": ({}, 2.0),
        "keyterms, as spelt only": ({"keyterms": terms}, 2.0),
        **{
            f"keyterms, near spellings ≥ {value:g}": ({"keyterms": terms}, value) for value in args.similarity
        },
        "keyterms + replacements": (
            {"keyterms": terms, "replacements": replacements(terms)},
            args.similarity[0],
        ),
    }
    names = tuple(ways)
    try:
        # Loads the model and the tokenizer the keyterms are counted with; not timed.
        warm = wav_uri(speak("Thank you for calling, how can I help you today?", args.voices[0]))
        for way in names:
            transcribe(warm, **ways[way][0])
        right: dict[str, list[bool]] = {way: [] for way in names}
        others: dict[str, tuple[list[str], list[str]]] = {way: ([], []) for way in names}
        seconds: dict[str, list[float]] = {way: [] for way in names}
        echoed = dict.fromkeys(names, 0)
        empty = dict.fromkeys(names, 0)
        wrong = dict.fromkeys(names, 0)
        for index, (term, before, after) in enumerate(said):
            voice = args.voices[index % len(args.voices)]
            audio = wav_uri(speak(before + term + after, voice))
            if args.show:
                print(f"[{voice}] {before}{term}{after}")
            for way in names:
                near_spellings.SIMILARITY = ways[way][1]
                text, elapsed = transcribe(audio, **ways[way][0])
                seconds[way].append(elapsed)
                right[way].append(exact(term, text))
                reference, hypothesis = without_term(term, before, after, text)
                others[way][0].append(reference)
                others[way][1].append(hypothesis)
                echoed[way] += echoes_prompt(term, text)
                wrong[way] += other_terms(term, text) > 0
                empty[way] += not normalise(text)
                if args.show:
                    print(f"    {way:>24}: {text}")
    finally:
        stop_runtime()
        shutil.rmtree(os.environ["DATA_DIR"], ignore_errors=True)
    settings = get_settings()
    print()
    print(
        f"model {settings.whisper_model}, {os.cpu_count()} CPUs, {len(said)} sentences "
        f"({len({term for term, _, _ in said})} terms), voices {args.voices}, seed {args.seed}"
    )
    print()
    print(
        "| way | terms exactly right | WER other words | s / sentence | echoed prompt | another term written "
        "| empty |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for way in names:
        share = sum(right[way]) / len(right[way])
        error = jiwer.wer(*others[way])
        print(
            f"| {way} | {share:.0%} ({sum(right[way])}/{len(right[way])}) | {error:.1%} | "
            f"{statistics.fmean(seconds[way]):.2f} | {echoed[way]} | {wrong[way]} | {empty[way]} |"
        )


if __name__ == "__main__":
    main()
