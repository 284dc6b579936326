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


# Where each caller of the sample speaks alone (sample.rttm, clear of the other's turns), in seconds.
SOLO_SPANS: dict[str, list[tuple[float, float]]] = {
    "speaker90": [(8.35, 9.9), (11.1, 14.45), (18.6, 21.45), (28.55, 30.0)],
    "speaker91": [(14.75, 17.9), (21.8, 27.8)],
}


def sample_clip(*spans: tuple[float, float]) -> bytes:
    """Stretches of the sample, joined, as WAV bytes: a clip of one caller."""
    audio = sample_audio()
    pieces = [audio[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)] for start, end in spans]
    out = io.BytesIO()
    sf.write(out, np.concatenate(pieces), SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return out.getvalue()


@cache
def first_caller_clips() -> tuple[tuple[bytes, bytes], bytes]:
    """Clips of the sample's first caller (speaker90): two to enroll (3.35 s, and 3.0 s joined from two short
    turns), and one held out (2.85 s)."""
    spans = SOLO_SPANS["speaker90"]
    return (sample_clip(spans[1]), sample_clip(spans[0], spans[3])), sample_clip(spans[2])


def caller_share(turns: list[dict], speaker: str, caller: str) -> float:
    """Of the time `turns` give `speaker`, the share in which the sample's `caller` speaks (0 when none)."""
    reference = sample_reference()
    named = [turn for turn in turns if turn.get("speaker") == speaker]
    total = sum(turn["end"] - turn["start"] for turn in named)
    spoken = sum(reference.crop(Segment(turn["start"], turn["end"])).label_duration(caller) for turn in named)
    return spoken / total if total else 0.0


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


MEETING_VOICES = "ABCDEF"
"""Six voices: a meeting casts three of them and a stranger (`meeting`), each says two enrolment sentences."""
ENROLMENT = [
    "the weather is lovely today and the sun is shining on the hills",
    "please remember to bring the blue folder to the meeting on friday",
]
MEETING = [
    ("A", "good morning everyone shall we look at the numbers from last quarter"),
    ("B", "yes the sales went up in the north but the south stayed flat"),
    ("F", "i think the south needs a new plan before the summer starts"),
    ("C", "we could move two people from the north team to help them"),
    ("A", "that sounds fair let us write it down and decide next week"),
    ("B", "i will send the report to everyone tonight after dinner"),
    ("F", "thank you and please include the travel costs as well"),
    ("C", "of course i have them ready in a spreadsheet already"),
    ("A", "before we finish can someone book the room for thursday"),
    ("F", "i can do that right after this call if nobody minds"),
    ("B", "the projector in that room was broken last time we met"),
    ("C", "then let us ask the front desk to check it tomorrow"),
    ("F", "good idea i will mention it when i book the room"),
    ("A", "one more thing the new hires start on the first of june"),
    ("B", "we should plan a short welcome lunch for all of them"),
    ("C", "there is a nice place near the station that takes groups"),
    ("F", "let us keep the budget small this quarter please"),
    ("A", "agreed a simple lunch is enough for a first day"),
    ("C", "i will look at the menu and share a few options"),
    ("B", "great then we are done thank you all for your time"),
]


def enrolment_clips(voice: str) -> list[np.ndarray]:
    """Two clips of `voice` saying sentences the meeting does not hold."""
    return [dialogue([(voice, text)], lead=0.2)[0] for text in ENROLMENT]


def meeting(voices: str) -> tuple[np.ndarray, Annotation]:
    """The meeting with its roles A, B, C and F spoken by `voices[0]`, `[1]`, `[2]` and `[5]` (the other two of
    six voices enrolled but absent), and who spoke when, word by word."""
    cast = {"A": voices[0], "B": voices[1], "C": voices[2], "F": voices[5]}
    audio, truth = dialogue([(cast[role], text) for role, text in MEETING], turn_gap=0.8)
    reference = Annotation()
    for word in truth:
        reference[Segment(word.start, word.end)] = word.speaker
    return audio, reference
