"""Real voices with ground truth: conversations built from LibriSpeech test-clean clips of nine known speakers
(shipped by `voxint`, CC-BY-4.0), the turns of pyannote's real sample call, and fourteen 30 s excerpts of real
meetings of the AMI corpus (CC BY 4.0; `scripts/fetch_meetings.py` installs them), as pyannote splits them.

Each clip is one person reading one sentence (4.4–6.8 s). A conversation cuts each cast member's clip at its
quietest moment near the middle into two turns and has them take turns, sometimes talking over each other and
sometimes after a pause, each at their own level; who spoke when is where each turn's speech is. The speakers
fall in two halves: `TUNING` is the only material settings are chosen on, `HELD_OUT` the one they are reported on.
"""

from __future__ import annotations

import itertools
import random
import sys
from dataclasses import dataclass
from functools import cache
from importlib.metadata import distribution
from pathlib import Path

import numpy as np
import soundfile as sf
from pyannote.core import Annotation, Segment, Timeline

from tests.corpus import sample_audio, sample_reference

SAMPLE_RATE = 16_000
ASSETS = Path(str(distribution("voxint").locate_file("voxint/benchmark/assets")))
TUNING = ("1089", "1188", "121", "1221")
HELD_OUT = ("1284", "1320", "1580", "1995", "2094")
MEETINGS = Path(sys.prefix) / "share" / "ami-excerpts"
MEETING_HALVES = {"tuning": ("train",), "held-out": ("development", "test")}
"""pyannote's split of the excerpts: settings are chosen on its training part, reported on the others."""
FRAME = 320  # 20 ms
SPEECH_DB = -35.0
"""A frame is speech when it is within this many dB of the clip's loudest frame."""


@dataclass(frozen=True)
class Conversation:
    name: str
    audio: np.ndarray
    reference: Annotation
    strangers: frozenset[str] = frozenset()
    """Voices in it that a naming test leaves out of the library."""


@cache
def clip(speaker: str) -> np.ndarray:
    """The LibriSpeech clip of `speaker` (16 kHz mono)."""
    (path,) = ASSETS.glob(f"libri_*_spk{speaker}.wav")
    samples, rate = sf.read(path, dtype="float32")
    assert rate == SAMPLE_RATE
    return samples


def speech_spans(samples: np.ndarray, *, min_gap: float = 0.3) -> list[tuple[float, float]]:
    """Where `samples` hold speech (s): frames near the clip's loudest, gaps under `min_gap` bridged."""
    frames = len(samples) // FRAME
    power = np.square(samples[: frames * FRAME].reshape(frames, FRAME)).mean(axis=1)
    level = 10 * np.log10(np.maximum(power, 1e-12))
    active = level >= level.max() + SPEECH_DB
    spans: list[tuple[float, float]] = []
    for index in np.flatnonzero(active):
        start, end = index * FRAME / SAMPLE_RATE, (index + 1) * FRAME / SAMPLE_RATE
        if spans and start - spans[-1][1] < min_gap:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


@cache
def turns(speaker: str) -> tuple[np.ndarray, np.ndarray]:
    """`speaker`'s clip cut in two at its quietest 20 ms between 35 % and 65 % of its speech, each half trimmed to
    its speech."""
    samples = clip(speaker)
    spans = speech_spans(samples)
    first, last = spans[0][0], spans[-1][1]
    low, high = (round((first + (last - first) * share) * SAMPLE_RATE / FRAME) for share in (0.35, 0.65))
    power = [np.square(samples[i * FRAME : (i + 1) * FRAME]).mean() for i in range(low, high)]
    cut = (low + int(np.argmin(power))) * FRAME
    halves = samples[round(first * SAMPLE_RATE) : cut], samples[cut : round(last * SAMPLE_RATE)]
    return tuple(trim(half) for half in halves)  # type: ignore[return-value]


def trim(samples: np.ndarray) -> np.ndarray:
    spans = speech_spans(samples)
    return samples[round(spans[0][0] * SAMPLE_RATE) : round(spans[-1][1] * SAMPLE_RATE)]


def conversation(cast: tuple[str, ...], seed: int, halves: tuple[int, ...] = (0, 1)) -> Conversation:
    """`cast` taking turns, once for each of `halves` of their clips, in a seeded order (nobody twice in a row),
    with gaps from a talk-over of 0.6 s to a pause of 0.8 s and each voice at its own level (−6 to +3 dB)."""
    rng = random.Random(seed)
    gains = {speaker: 10 ** (rng.uniform(-6, 3) / 20) for speaker in cast}
    order: list[tuple[str, int]] = []
    for half in halves:
        rounds = [(speaker, half) for speaker in cast]
        rng.shuffle(rounds)
        if order and rounds[0][0] == order[-1][0]:
            rounds.reverse()
        order += rounds
    placed: list[tuple[float, str, np.ndarray]] = []
    cursor = 0.5
    for speaker, half in order:
        audio = turns(speaker)[half] * gains[speaker]
        placed.append((cursor, speaker, audio))
        cursor += len(audio) / SAMPLE_RATE + rng.uniform(-0.6, 0.8)
    total = max(start + len(audio) / SAMPLE_RATE for start, _, audio in placed) + 0.5
    mix = np.zeros(round(total * SAMPLE_RATE), dtype=np.float32)
    reference = Annotation(uri=f"{'+'.join(cast)}#{seed}")
    for start, speaker, audio in placed:
        first = round(start * SAMPLE_RATE)
        mix[first : first + len(audio)] += audio
        for span_start, span_end in speech_spans(audio):
            reference[Segment(start + span_start, start + span_end)] = speaker
    return Conversation(reference.uri, mix, reference.support())


def conversations(speakers: tuple[str, ...], count: int = 6, seed: int = 0) -> list[Conversation]:
    """`count` conversations of 2 to 4 of `speakers` (casts drawn with `seed`)."""
    rng = random.Random(seed)
    found = []
    for index in range(count):
        size = 2 + index % 3
        cast = tuple(rng.sample(speakers, min(size, len(speakers))))
        found.append(conversation(cast, seed * 100 + index))
    return found


def second_halves(cast: tuple[str, ...], seed: int, *, stranger: str) -> Conversation:
    """`cast` each saying the second half of their clip (enrolment takes the first), `stranger` among them."""
    found = conversation(cast, seed, halves=(1,))
    return Conversation(found.name, found.audio, found.reference, frozenset({stranger}))


def sample_call() -> Conversation:
    return Conversation("pyannote sample", sample_audio(), sample_reference())


def overlap(reference: Annotation) -> Timeline:
    """Where two or more people speak at once."""
    return Timeline(
        [
            first & second
            for (first, _), (second, _) in reference.co_iter(reference)
            if first != second and first.intersects(second)
        ]
    ).support()


def single_speaker_turns(
    conversation: Conversation, min_seconds: float = 1.5
) -> list[tuple[str, np.ndarray]]:
    """(speaker, audio) of every stretch of `min_seconds` or more where one person alone speaks."""
    reference = conversation.reference
    talk_over = overlap(reference)
    found = []
    for segment, _, speaker in reference.itertracks(yield_label=True):
        for alone in Timeline([segment]).extrude(talk_over):
            if alone.duration >= min_seconds:
                first = round(alone.start * SAMPLE_RATE)
                found.append((speaker, conversation.audio[first : round(alone.end * SAMPLE_RATE)]))
    return found


def meetings(half: str) -> list[Conversation]:
    """The AMI excerpts of a half (`MEETING_HALVES`), each with its who-spoke-when."""
    from pyannote.database.util import load_rttm

    found = []
    for part in MEETING_HALVES[half]:
        for uri, reference in sorted(load_rttm(MEETINGS / f"debug.{part}.rttm").items()):
            samples, rate = sf.read(MEETINGS / f"{uri}.wav", dtype="float32")
            assert rate == SAMPLE_RATE
            found.append(Conversation(f"AMI {uri}", samples, reference))
    return found


def meeting(uri: str) -> Conversation:
    """One AMI excerpt by its name (`dev00`, `trn07`, ...)."""
    half = "tuning" if uri.startswith("trn") else "held-out"
    (found,) = [case for case in meetings(half) if case.name == f"AMI {uri}"]
    return found


def equal_error_rate(labels: list[str], embeddings: np.ndarray) -> float:
    """The equal error rate of telling `labels` apart by the cosine similarity of every pair of `embeddings`."""
    from sklearn.metrics import roc_curve

    units = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    pairs = list(itertools.combinations(range(len(labels)), 2))
    same = [labels[i] == labels[j] for i, j in pairs]
    scores = [float(units[i] @ units[j]) for i, j in pairs]
    false_accept, true_accept, _ = roc_curve(same, scores)
    false_reject = 1 - true_accept
    index = int(np.nanargmin(np.abs(false_reject - false_accept)))
    return float((false_accept[index] + false_reject[index]) / 2)
