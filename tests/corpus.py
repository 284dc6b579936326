"""Real and synthetic speech with ground truth: pyannote.audio's sample and espeak-ng dialogues."""

from __future__ import annotations

import io
import re
import wave
from functools import cache
from pathlib import Path

import jiwer
import numpy as np
import pyannote.audio
import soundfile as sf
from pyannote.core import Annotation, Segment

from app.audio.decode import decode_audio
from tests.synth import SAMPLE_RATE, TWO_VOICE_DIALOGUE, TrueWord, dialogue

SAMPLE_DIR = Path(pyannote.audio.__file__).parent / "sample"
SAMPLE_WAV = SAMPLE_DIR / "sample.wav"


def silent_wav(seconds: float) -> bytes:
    """A WAV file of digital silence (16 kHz, 16-bit mono)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(b"\0\0" * int(16_000 * seconds))
    return out.getvalue()


@cache
def sample_audio() -> np.ndarray:
    return decode_audio(SAMPLE_WAV, max_seconds=60).samples


def sample_times(count: int) -> bytes:
    """pyannote's real 30 s phone call, `count` times over, as WAV bytes."""
    out = io.BytesIO()
    sf.write(out, np.tile(sample_audio(), count), SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return out.getvalue()


@cache
def sample_lines() -> list[tuple[str, float, float, str]]:
    """(speaker, start, end, text) for each line of sample.stm."""
    lines = []
    for line in (SAMPLE_DIR / "sample.stm").read_text().splitlines():
        _file, _channel, speaker, start, end, text = line.split(maxsplit=5)
        lines.append((speaker, float(start), float(end), text))
    return lines


def sample_reference() -> Annotation:
    """Who spoke when in the sample (sample.rttm)."""
    reference = Annotation()
    for line in (SAMPLE_DIR / "sample.rttm").read_text().splitlines():
        fields = line.split()
        start, duration, speaker = float(fields[3]), float(fields[4]), fields[7]
        reference[Segment(start, start + duration)] = speaker
    return reference


@cache
def two_voice_dialogue() -> tuple[np.ndarray, tuple[TrueWord, ...]]:
    audio, truth = dialogue(TWO_VOICE_DIALOGUE)
    return audio, tuple(truth)


def words_reference(truth: tuple[TrueWord, ...]) -> Annotation:
    """Speaker turns of a synthetic dialogue, from its words."""
    reference = Annotation()
    turn_start, previous = truth[0].start, truth[0]
    for word in truth[1:]:
        if word.speaker != previous.speaker:
            reference[Segment(turn_start, previous.end)] = previous.speaker
            turn_start = word.start
        previous = word
    reference[Segment(turn_start, previous.end)] = previous.speaker
    return reference


def annotation(segments: list[dict]) -> Annotation:
    hypothesis = Annotation()
    for segment in segments:
        hypothesis[Segment(segment["start"], segment["end"])] = segment["speaker"]
    return hypothesis


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))


def recurring_voices(repeats: int, *, gap: float = 1.0) -> tuple[np.ndarray, Annotation]:
    """pyannote's sample (two people on the phone) then the two-voice dialogue, `repeats` times over: four
    voices that keep coming back, and who spoke when."""
    pieces: list[np.ndarray] = []
    reference = Annotation(uri="recurring")
    offset = 0.0
    dialogue_audio, truth = two_voice_dialogue()
    silence = np.zeros(round(gap * SAMPLE_RATE), dtype=np.float32)
    for _ in range(repeats):
        for audio, turns in ((sample_audio(), sample_reference()), (dialogue_audio, words_reference(truth))):
            for segment, _, speaker in turns.itertracks(yield_label=True):
                reference[Segment(offset + segment.start, offset + segment.end)] = speaker
            pieces += [audio, silence]
            offset += (len(audio) + len(silence)) / SAMPLE_RATE
    return np.concatenate(pieces), reference
