"""Synthetic speech with known words, times and speakers, made with espeak-ng.

Each word is spoken on its own, trimmed of silence and laid end to end with short gaps, so every word's true
start and end are known exactly. Turns in a dialogue alternate between clearly different voices.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 16_000
VOICES = {
    "A": ["-v", "en-us+m3", "-p", "30", "-s", "150"],
    "B": ["-v", "en-gb+f4", "-p", "75", "-s", "165"],
    "C": ["-v", "en-us+f2", "-p", "60", "-s", "160"],
    # Three more, picked among espeak-ng's variants so that no two of A–F are closer than two different people
    # (cosine similarity of their enrolments at most 0.78 with the embedded diarizer's embeddings). Variants of
    # one synthesiser can be far closer (en-gb+m1 and en-gb+f3 at 0.97): voices no embedder tells apart.
    "D": ["-v", "en-us+boris", "-s", "140"],
    "E": ["-v", "en-us+grandma", "-s", "140"],
    "F": ["-v", "en-gb-x-rp+edward", "-s", "168"],
    "de": ["-v", "de", "-s", "150"],
    "fr": ["-v", "fr-fr", "-s", "150"],
    "es": ["-v", "es", "-s", "150"],
}


@dataclass(frozen=True)
class TrueWord:
    word: str
    start: float
    end: float
    speaker: str


def speak(text: str, voice: str) -> np.ndarray:
    """One utterance as 16 kHz mono float32, silence trimmed at both ends."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        subprocess.run(["espeak-ng", *VOICES[voice], "-w", out.name, text], check=True, capture_output=True)
        samples, rate = sf.read(out.name, dtype="float32")
    samples = soxr.resample(samples, rate, SAMPLE_RATE)
    voiced = np.flatnonzero(np.abs(samples) > 0.02)
    return samples[voiced[0] : voiced[-1] + 1] if voiced.size else samples[:0]


def dialogue(
    turns: list[tuple[str, str]], *, word_gap: float = 0.12, turn_gap: float = 0.6, lead: float = 0.5
) -> tuple[np.ndarray, list[TrueWord]]:
    """Audio for `(speaker, text)` turns and the true timing and speaker of every word."""
    pieces = [np.zeros(int(lead * SAMPLE_RATE), dtype=np.float32)]
    cursor = lead
    truth: list[TrueWord] = []
    for index, (speaker, text) in enumerate(turns):
        if index:
            pieces.append(np.zeros(int(turn_gap * SAMPLE_RATE), dtype=np.float32))
            cursor += int(turn_gap * SAMPLE_RATE) / SAMPLE_RATE
        for position, word in enumerate(text.split()):
            if position:
                pieces.append(np.zeros(int(word_gap * SAMPLE_RATE), dtype=np.float32))
                cursor += int(word_gap * SAMPLE_RATE) / SAMPLE_RATE
            samples = speak(word, speaker)
            pieces.append(samples)
            truth.append(TrueWord(word, cursor, cursor + len(samples) / SAMPLE_RATE, speaker))
            cursor += len(samples) / SAMPLE_RATE
    pieces.append(np.zeros(int(lead * SAMPLE_RATE), dtype=np.float32))
    return np.concatenate(pieces), truth


def write_wav(path: Path, samples: np.ndarray) -> Path:
    sf.write(path, samples, SAMPLE_RATE, subtype="PCM_16")
    return path


TWO_VOICE_DIALOGUE = [
    ("A", "good morning thank you for calling the support line"),
    ("B", "hello I would like to change the address on my account"),
    ("A", "of course can you tell me your account number please"),
    ("B", "yes it is seven four two nine one"),
    ("A", "thank you the new address has been saved"),
    ("B", "wonderful thank you very much for your help"),
]


def stereo_call(
    turns: list[tuple[str, str]], *, bleed_db: float = 20.0, **spacing: float
) -> tuple[np.ndarray, list[TrueWord], list[str]]:
    """A call recorded one party per channel, `(channels, samples)`: each speaker of `turns` on a channel of
    their own (in order of first turn), and faintly on the others, `bleed_db` down, as a line leaks; the true
    words, and the speaker of each channel."""
    mixed, truth = dialogue(turns, **spacing)
    speakers = list(dict.fromkeys(speaker for speaker, _ in turns))
    clean = np.zeros((len(speakers), len(mixed)), dtype=np.float32)
    for word in truth:
        span = slice(round(word.start * SAMPLE_RATE), round(word.end * SAMPLE_RATE))
        clean[speakers.index(word.speaker), span] = mixed[span]
    leak = 10 ** (-bleed_db / 20)
    heard = clean + leak * (clean.sum(axis=0, keepdims=True) - clean)
    return heard.astype(np.float32), truth, speakers
