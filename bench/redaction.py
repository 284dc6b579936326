"""Redaction on calls: how much of what callers read out (card and account numbers, emails, phone numbers)
survives a `transcribe` job with `redact`, and how many ordinary words it blanks by mistake.

    .venv/bin/python bench/redaction.py                          # 60 sentences, voices A–F, about 3 min
    .venv/bin/python bench/redaction.py --voices AB --limit 12 --show

Material (seeded): 40 sentences in which a caller reads out one entity, 10 of each kind, and 20 without any
(some with amounts, years, times, a website: numbers that are not to be redacted), in shuffled order, spoken
by espeak-ng's voices in turn (A–F). Card numbers are Luhn-valid: 4111 1111 1111 1111 and generated Visa,
Mastercard, Amex and Discover numbers; account numbers have 8 or 9 digits; phone numbers are valid US numbers;
emails are name-like local parts at common domains. Each entity has a written form, the reference ("4111 1111
1111 1111", "maria.lopez@gmail.com", "(415) 382-9071"), and a said form, what espeak-ng reads out: digit by
digit in their groups ("four one one one, one one one one, ..."), "maria dot lopez at gmail dot com".

Method: each sentence goes through the RunPod worker's `handler` in process (a temporary DATA_DIR) as a
`transcribe` job with `word_timestamps` true, twice: with `redact` = all kinds, whose result is judged, and
without, the raw transcript (the ASR's part, and which words the redaction covered). An entity counts as
redacted when no trace of it is left in any output field of the redacted result: the segments' texts, their
words, `word_segments` and the result rendered as SRT (its cue lines); a trace is any run of 4 of its digits
(digit words read as digits, separators between digits dropped, so "4,111" and "four one one one" count), or,
for an email, any part of its local part of 3 or more letters as a word ("maria" of "maria.lopez"). An other
word (a word of the reference outside the entity) counts as falsely redacted when the ASR's raw transcript,
aligned to the reference, has a token for it that lies under a placeholder in the redacted transcript; the
alignment is on tokens with digit words read as digits and numbers split into digits, so that digits read out
one by one line up with the written number whatever their grouping. "heard right" counts those of them the ASR
had written right (the same token), the rest being words the ASR had already turned into something else.

The same figures are computed on the reference itself through `app.text.redaction.redact_text`, in its
written and in its said form: what the rules do on a perfect transcript, to tell the ASR's part from the
rules'. "left by ASR" is the share of entities of which the raw transcript holds a trace: what redaction has
to catch at all.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import io
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The task store the jobs go through: a fresh one, removed at the end.
os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-redaction-")
os.environ.setdefault("PRELOAD_MODELS", "false")
os.environ.pop("DATABASE_URL", None)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jiwer  # noqa: E402
import numpy as np  # noqa: E402
import phonenumbers  # noqa: E402
import soundfile as sf  # noqa: E402

from app.config import get_settings  # noqa: E402
from app.runtime import stop_runtime  # noqa: E402
from app.services.render import render  # noqa: E402
from app.text.redaction import REDACT_KINDS, redact_text  # noqa: E402
from handler import handler  # noqa: E402
from tests.corpus import normalise  # noqa: E402
from tests.synth import SAMPLE_RATE, speak  # noqa: E402

KINDS = ("card_number", "account_number", "email", "phone_number")
PER_KIND = 10
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEMPLATES: dict[str, list[str]] = {
    "card_number": [
        "Sure, my card number is {}.",
        "You can charge it to the card {}, thank you.",
        "The long number on the front of the card is {}.",
        "Please use the card {} for this order.",
    ],
    "account_number": [
        "My account number is {}, I think.",
        "The money should go to account {} please.",
        "Can you check account number {} for me?",
        "I am calling about account {} again.",
    ],
    "email": [
        "You can email me at {} any time.",
        "My email address is {}.",
        "Please send the receipt to {} today.",
        "Write to {} if anything changes.",
    ],
    "phone_number": [
        "Call me back on {} please.",
        "My phone number is {}.",
        "The best number to reach me is {}.",
        "You can text me at {} in the evening.",
    ],
}
ORDINARY = [
    "Thank you for calling, how can I help you today?",
    "I would like to change the delivery address on my order.",
    "The package was supposed to arrive on Tuesday.",
    "We paid 250 dollars for the repair last month.",
    "The meeting starts at half past three in room 12.",
    "My daughter was born in 2015 and loves to read.",
    "Can you look at example dot com for the opening hours?",
    "The flight leaves at 7:45 tomorrow morning.",
    "We need two or three more chairs for the kitchen.",
    "I have been a customer for about ten years now.",
    "The total came to $1,499 including tax.",
    "Please hold the line while I check that for you.",
    "Our office is open from nine to five on weekdays.",
    "Is there anything else I can help you with today?",
    "I called twice last week but nobody answered.",
    "One, two, three, let us start the recording.",
    "The score was four to one at half time.",
    "Prices went up by about 15 percent this year.",
    "We moved here in 2019 from a small town up north.",
    "Let me read back the order: three pizzas and two salads.",
]
FIRST_NAMES = ["anna", "peter", "lucy", "mark", "omar", "grace", "nina", "samuel", "maria", "daniel"]
LAST_NAMES = ["kowalski", "nguyen", "fernandez", "hughes", "haddad", "whitfield", "patel", "oduya", "lopez"]
DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "example.org", "hotmail.com", "fastmail.net"]
AREA_CODES = ["212", "415", "312", "617", "206", "303", "512", "702", "404", "713", "305", "602"]
PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")
REDACTED = "zzredactedzz"  # a placeholder as one word, through `normalise`


@dataclass(frozen=True)
class Sentence:
    kind: str | None  # None: no entity
    before: str
    written: str  # the entity as a transcript would best write it (empty: none)
    said: str  # the entity as espeak-ng reads it out
    after: str
    secret: str  # what must not survive: its digits, or an email's local part

    @property
    def reference(self) -> str:
        return self.before + self.written + self.after

    @property
    def spoken(self) -> str:
        return self.before + self.said + self.after


def luhn_completed(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char) * (1 if index % 2 else 2)
        total += value - 9 if value > 9 else value
    return body + str(-total % 10)


def said_digits(groups: list[str]) -> str:
    return ", ".join(" ".join(DIGIT_WORDS[int(digit)] for digit in group) for group in groups)


def cards(rng: random.Random) -> list[tuple[str, str, str]]:
    """(written, said, digits) of Luhn-valid card numbers."""
    numbers = ["4111111111111111"]
    issuers = [("4", 16), ("51", 16), ("55", 16), ("34", 15), ("37", 15), ("6011", 16), ("4", 16)]
    while len(numbers) < PER_KIND:
        numbers.append(luhn_completed(rng, *issuers[len(numbers) % len(issuers)]))
    found = []
    for digits in numbers:
        cuts = (4, 10, 15) if len(digits) == 15 else (4, 8, 12, 16)
        groups = [digits[start:end] for start, end in zip((0, *cuts), cuts, strict=False)]
        found.append((" ".join(groups), said_digits(groups), digits))
    return found


def accounts(rng: random.Random) -> list[tuple[str, str, str]]:
    found = []
    for index in range(PER_KIND):
        digits = rng.choice("123456789") + "".join(rng.choice("0123456789") for _ in range(7 + index % 2))
        found.append((digits, said_digits([digits[:4], digits[4:]]), digits))
    return found


def phones(rng: random.Random) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    while len(found) < PER_KIND:
        area = rng.choice(AREA_CODES)
        exchange = rng.choice("23456789") + "".join(rng.choice("0123456789") for _ in range(2))
        line = "".join(rng.choice("0123456789") for _ in range(4))
        number = phonenumbers.parse(f"+1{area}{exchange}{line}")
        if exchange[1:] == "11" or exchange == "555" or not phonenumbers.is_valid_number(number):
            continue
        written = f"({area}) {exchange}-{line}" if len(found) % 2 else f"{area}-{exchange}-{line}"
        found.append((written, said_digits([area, exchange, line]), area + exchange + line))
    return found


def emails(rng: random.Random) -> list[tuple[str, str, str]]:
    found = []
    for index, first in enumerate(rng.sample(FIRST_NAMES, PER_KIND)):
        last = rng.choice(LAST_NAMES)
        local = [f"{first}.{last}", f"{first[0]}.{last}", f"{first}{rng.randint(10, 99)}"][index % 3]
        address = f"{local}@{rng.choice(DOMAINS)}"
        said = re.sub(r"\d", lambda digit: f" {DIGIT_WORDS[int(digit.group())]}", address)
        said = said.replace(".", " dot ").replace("@", " at ")
        found.append((address, " ".join(said.split()), local))
    return found


def sentences(seed: int) -> list[Sentence]:
    rng = random.Random(seed)
    made: list[Sentence] = []
    for kind, entities in (
        ("card_number", cards(rng)),
        ("account_number", accounts(rng)),
        ("email", emails(rng)),
        ("phone_number", phones(rng)),
    ):
        for index, (written, said, secret) in enumerate(entities):
            template = TEMPLATES[kind][index % len(TEMPLATES[kind])]
            before, after = template.split("{}")
            made.append(Sentence(kind, before, written, said, after, secret))
    made += [Sentence(None, text, "", "", "", "") for text in ORDINARY]
    rng.shuffle(made)
    return made


def wav_uri(samples: np.ndarray) -> str:
    pad = np.zeros(SAMPLE_RATE // 4, dtype=np.float32)
    out = io.BytesIO()
    sf.write(out, np.concatenate([pad, samples, pad]), SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return "data:audio/wav;base64," + base64.b64encode(out.getvalue()).decode()


def transcribe(audio: str, **rules: Any) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    response = handler({"input": {"action": "transcribe", "file": audio, "word_timestamps": True, **rules}})
    elapsed = time.perf_counter() - started
    if not isinstance(response, dict) or "result" not in response:
        raise RuntimeError(f"transcribe failed: {response}")
    return response["result"], elapsed


def text_of(result: dict[str, Any]) -> str:
    return " ".join(segment["text"].strip() for segment in result["segments"])


def fields(result: dict[str, Any]) -> list[str]:
    """Every output field's text: the segments' texts, their words, `word_segments`, the SRT's cue lines."""
    words = [word["word"] for segment in result["segments"] for word in segment.get("words", [])]
    srt = [
        line
        for line in render(result, "srt").splitlines()
        if line.strip() and "-->" not in line and not line.strip().isdigit()
    ]
    return [
        text_of(result),
        " ".join(words),
        " ".join(word["word"] for word in result.get("word_segments", [])),
        "\n".join(srt),
    ]


def digit_runs(text: str) -> list[str]:
    """The runs of digits in the text, digit words read as digits and separators between digits dropped."""
    text = re.sub(
        r"\b(double|triple)[\s-]+(\d|zero|oh|one|two|three|four|five|six|seven|eight|nine)\b",
        lambda match: " ".join([match.group(2)] * (2 if match.group(1).lower() == "double" else 3)),
        text,
        flags=re.IGNORECASE,
    )
    words = {word: str(value) for value, word in enumerate(DIGIT_WORDS)} | {"oh": "0"}
    text = re.sub(
        r"\b(" + "|".join(words) + r")\b", lambda match: words[match.group().lower()], text, flags=re.I
    )
    text = re.sub(r"(?<=\d)[\s,.\-()/]+(?=\d)", "", text)
    return re.findall(r"\d+", text)


def survives(sentence: Sentence, texts: list[str]) -> bool:
    """Whether any trace of the sentence's entity is left in these texts."""
    if sentence.kind == "email":
        parts = [part for part in re.split(r"[^a-z]+", sentence.secret) if len(part) >= 3]
        said = {word for text in texts for word in re.split(r"[^a-z]+", text.lower())}
        return any(part in said for part in parts)
    windows = {sentence.secret[start : start + 4] for start in range(len(sentence.secret) - 3)}
    return any(window in run for text in texts for run in digit_runs(text) for window in windows)


def tokens(text: str, first: int = 0) -> tuple[list[str], list[int]]:
    """The text's words for alignment, and the index (from `first`) of the word each comes from: a placeholder
    is one token, digit words are digits and a number is split into its digits, so that a number read out
    digit by digit lines up with the digits written, whatever their grouping."""
    found: list[str] = []
    sources: list[int] = []
    for index, word in enumerate(normalise(PLACEHOLDER.sub(f" {REDACTED} ", text)).split()):
        word = str(DIGIT_WORDS.index(word)) if word in DIGIT_WORDS else word
        split = list(word) if word.isdigit() else [word]
        found += split
        sources += [first + index] * len(split)
    return found, sources


def covered(raw: list[str], redacted: list[str]) -> set[int]:
    """The raw tokens that lie under a placeholder in the redacted tokens."""
    under: set[int] = set()
    matcher = difflib.SequenceMatcher(None, raw, redacted, autojunk=False)
    for tag, raw_start, raw_end, start, end in matcher.get_opcodes():
        if tag != "equal" and REDACTED in redacted[start:end]:
            under.update(range(raw_start, raw_end))
    return under


def aligned(reference: list[str], hypothesis: list[str]) -> list[int | None]:
    """For each reference token, the hypothesis token aligned to it (None: deleted)."""
    if not hypothesis:
        return [None] * len(reference)
    to: list[int | None] = [None] * len(reference)
    for chunk in jiwer.process_words(" ".join(reference), " ".join(hypothesis)).alignments[0]:
        if chunk.type in ("equal", "substitute"):
            for offset in range(chunk.ref_end_idx - chunk.ref_start_idx):
                to[chunk.ref_start_idx + offset] = chunk.hyp_start_idx + offset
    return to


@dataclass(frozen=True)
class Reference:
    """A sentence's tokens with the entity in one form, the word each token comes from, and which words are
    the other words (outside the entity)."""

    tokens: list[str]
    sources: list[int]
    others: set[int]

    @classmethod
    def of(cls, sentence: Sentence, entity: str) -> Reference:
        head, head_sources = tokens(sentence.before)
        ahead = len(normalise(sentence.before).split())
        said, said_sources = tokens(entity, ahead)
        behind = ahead + len(normalise(entity).split())
        tail, tail_sources = tokens(sentence.after, behind)
        others = set(range(ahead)) | set(range(behind, behind + len(normalise(sentence.after).split())))
        return cls(head + said + tail, head_sources + said_sources + tail_sources, others)


def falsely_redacted(sentence: Sentence, raw: str, redacted: str) -> dict[str, bool]:
    """The sentence's other words that the ASR's transcript `raw` holds under a placeholder once `redacted`,
    each with whether the ASR had written it right (a token of it aligned to the same token)."""
    reference = Reference.of(sentence, sentence.written)
    raw_tokens, _ = tokens(raw)
    under = covered(raw_tokens, tokens(redacted)[0])
    lost: dict[str, bool] = {}
    words = normalise(sentence.reference).split()
    for index, token in enumerate(aligned(reference.tokens, raw_tokens)):
        source = reference.sources[index]
        if source in reference.others and token is not None and token in under:
            word = f"{words[source]}#{source}"
            lost[word] = lost.get(word, False) or raw_tokens[token] == reference.tokens[index]
    return lost


def falsely_redacted_in_reference(sentence: Sentence, entity: str) -> int:
    """How many other words the rules redact in the reference with the entity in this form."""
    reference = Reference.of(sentence, entity)
    text = sentence.before + entity + sentence.after
    assert reference.tokens == tokens(text)[0], text
    under = covered(reference.tokens, tokens(redact_text(text, REDACT_KINDS))[0])
    return len({reference.sources[index] for index in under} & reference.others)


COLUMNS = ("ASR", "written", "said")


def share(count: int, total: int, digits: int = 0) -> str:
    return f"{count / total:.{digits}%} ({count}/{total})" if total else "–"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voices", default="ABCDEF", help="espeak-ng voices of tests/synth.py, in turn")
    parser.add_argument("--limit", type=int, default=None, help="only the first N sentences")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show", action="store_true", help="print every sentence's transcripts")
    args = parser.parse_args()
    said = sentences(args.seed)[: args.limit]
    rows = [*KINDS, None]
    redacted = {column: dict.fromkeys(rows, 0) for column in COLUMNS}
    false = {column: dict.fromkeys(rows, 0) for column in COLUMNS}
    left = dict.fromkeys(rows, 0)
    entities = dict.fromkeys(rows, 0)
    others = dict.fromkeys(rows, 0)
    heard = dict.fromkeys(rows, 0)
    seconds: list[float] = []
    differ = 0
    try:
        transcribe(wav_uri(speak("Thank you for calling.", args.voices[0])), redact=list(REDACT_KINDS))
        for index, sentence in enumerate(said):
            voice = args.voices[index % len(args.voices)]
            audio = wav_uri(speak(sentence.spoken, voice))
            result, elapsed = transcribe(audio, redact=list(REDACT_KINDS))
            raw, _ = transcribe(audio)
            seconds.append(elapsed)
            # Decoding may fall back to sampling: the two runs then heard the sentence differently.
            as_raw = " ".join(
                redact_text(segment["text"].strip(), REDACT_KINDS) for segment in raw["segments"]
            )
            differ += as_raw != text_of(result)
            kind = sentence.kind
            others[kind] += len(Reference.of(sentence, sentence.written).others)
            lost = falsely_redacted(sentence, text_of(raw), text_of(result))
            false["ASR"][kind] += len(lost)
            heard[kind] += sum(lost.values())
            for column, form in (("written", sentence.written), ("said", sentence.said)):
                false[column][kind] += falsely_redacted_in_reference(sentence, form)
            if kind is not None:
                entities[kind] += 1
                left[kind] += survives(sentence, fields(raw))
                redacted["ASR"][kind] += not survives(sentence, fields(result))
                for column, form in (("written", sentence.written), ("said", sentence.said)):
                    text = redact_text(sentence.before + form + sentence.after, REDACT_KINDS)
                    redacted[column][kind] += not survives(sentence, [text])
            if args.show:
                print(f"[{voice}] {sentence.spoken}")
                print(f"    raw:      {text_of(raw)}")
                print(f"    redacted: {text_of(result)}")
                if lost:
                    print(f"    falsely redacted (word#position: heard right): {lost}")
                if kind is not None:
                    print(f"    rules on written: {redact_text(sentence.reference, REDACT_KINDS)}")
    finally:
        stop_runtime()
        shutil.rmtree(os.environ["DATA_DIR"], ignore_errors=True)
    print()
    print(
        f"model {get_settings().whisper_model}, {os.cpu_count()} CPUs, {len(said)} sentences, voices "
        f"{args.voices}, seed {args.seed}, redact all kinds, word_timestamps; "
        f"{statistics.fmean(seconds):.2f} s per redacted sentence; {differ} redacted runs decoded otherwise "
        "than their raw run"
    )
    print()
    print("| entity | entities | left by ASR | redacted: ASR + rules | rules on written | rules on said |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, kinds in [*((kind, [kind]) for kind in KINDS), ("all", list(KINDS))]:
        total = sum(entities[kind] for kind in kinds)
        cells = [name, str(total), share(sum(left[kind] for kind in kinds), total)]
        cells += [share(sum(redacted[column][kind] for kind in kinds), total) for column in COLUMNS]
        print("| " + " | ".join(cells) + " |")
    print()
    print(
        "| other words of | words | falsely redacted: ASR + rules | of them heard right "
        "| rules on written | rules on said |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, kinds in [*((kind, [kind]) for kind in KINDS), ("no entity", [None]), ("all", rows)]:
        words = sum(others[kind] for kind in kinds)
        cells = [name, str(words), share(sum(false["ASR"][kind] for kind in kinds), words, 1)]
        cells.append(str(sum(heard[kind] for kind in kinds)))
        cells += [share(sum(false[column][kind] for kind in kinds), words, 1) for column in COLUMNS[1:]]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
