"""Known speakers by name: each diarized speaker takes the name of the reference clip its voice matches best.

Voices are compared in one embedding, 3D-Speaker's CAM++ (`app.ml.campplus`), whichever diarizer ran: each
diarized speaker's voice is the embedding of its own speech, and a reference clip's is compared with it (cosine
similarity). Names go to
speakers by an optimal one-to-one assignment, so a name is never given to two speakers, and only where the
similarity reaches the embedding's threshold; any other speaker keeps its diarization label.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import numpy as np

from app.ml.results import KnownSpeaker, Turn

MATCH_THRESHOLD = 0.7
"""The cosine similarity from which two CAM++ embeddings are one person. Chosen with bench/real_speakers.py
--tune-naming on the tuning half of the real voices (LibriSpeech speakers 1089, 1188, 121 and 1221): the lowest
threshold at which no more of a stranger's speech is named (10.3 % from 0.7 up, all of it merged by the diarizer
into an enrolled speaker's turns; 53.3 % at 0.6). There, halves of one clip score 0.61–0.84 and different
people at most 0.57; espeak-ng's voices, variants of one synthesiser, up to 0.67."""

SPEAKER_VOICE_SECONDS = 30.0
"""The most of a diarized speaker's speech (its longest turns first) that makes its voice."""
MIN_VOICE_TURN_SECONDS = 0.5
"""Turns shorter than this add nothing to a speaker's voice (edges, fragments), unless it has no other."""
VERIFIED_TURN_SECONDS = 1.0
"""A named speaker's turn at least this long is embedded on its own and checked against the voices looked for."""
VERIFIED_SPAN_SECONDS = 10.0
"""The most of a turn that is embedded to check it (its middle)."""

REPORTED_UNMATCHED = 10
"""Looking for more voices than this (a whole library), only those that matched a speaker are reported."""

Key = TypeVar("Key", str, int)

SpeakerEmbedding = Callable[..., np.ndarray]
"""pyannote's speaker-embedding interface: (batch, 1, samples) waveforms in, (batch, dimension) array out."""


def reference_embeddings(
    embedding: SpeakerEmbedding, clips: Mapping[Key, np.ndarray]
) -> dict[Key, np.ndarray]:
    """Each 16 kHz clip's embedding by the diarizer's own embedding model."""
    import torch

    return {
        name: np.asarray(embedding(torch.from_numpy(np.ascontiguousarray(clip, np.float32))[None, None]))[0]
        for name, clip in clips.items()
    }


def cosine_similarities(speakers: np.ndarray, references: np.ndarray) -> np.ndarray:
    """(speakers, references) cosine similarities; a zero or undefined embedding is -1 (matches nothing)."""
    norms = np.linalg.norm(speakers, axis=1)[:, None] * np.linalg.norm(references, axis=1)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        similarities = speakers @ references.T / norms
    return np.where(np.isfinite(similarities), similarities, -1.0)


def speaker_voices(
    embedding: SpeakerEmbedding, audio: np.ndarray, turns: Sequence[Turn]
) -> dict[str, np.ndarray]:
    """Each diarized speaker's voice: the embedding of its longest turns (those of `MIN_VOICE_TURN_SECONDS` or
    more, else all), up to `SPEAKER_VOICE_SECONDS` of 16 kHz `audio` in all."""
    by_speaker: dict[str, list[Turn]] = {}
    for turn in turns:
        by_speaker.setdefault(turn["speaker"], []).append(turn)
    speech: dict[str, np.ndarray] = {}
    for speaker, own in by_speaker.items():
        longest = sorted(own, key=lambda turn: turn["start"] - turn["end"])
        kept = [turn for turn in longest if turn["end"] - turn["start"] >= MIN_VOICE_TURN_SECONDS] or longest
        pieces, total = [], 0.0
        for turn in kept:
            pieces.append(audio[int(turn["start"] * 16_000) : int(turn["end"] * 16_000)])
            total += turn["end"] - turn["start"]
            if total >= SPEAKER_VOICE_SECONDS:
                break
        speech[speaker] = np.concatenate(pieces)[: int(SPEAKER_VOICE_SECONDS * 16_000)]
    # A speaker with too little speech to embed has no voice (the embedding gives NaN).
    return {
        speaker: vector
        for speaker, vector in reference_embeddings(embedding, speech).items()
        if np.isfinite(vector).all()
    }


def match_speakers(
    speakers: Mapping[str, Sequence[float] | np.ndarray],
    references: Mapping[str, np.ndarray],
    *,
    threshold: float | None = None,
) -> dict[str, KnownSpeaker]:
    """For each reference name, the diarized speaker it names (`None` when none reaches `threshold`, by
    default `MATCH_THRESHOLD`) and the similarity of that pair (else the best similarity it reached with any
    speaker, `None` without speakers)."""
    from scipy.optimize import linear_sum_assignment

    threshold = MATCH_THRESHOLD if threshold is None else threshold
    labels, names = list(speakers), list(references)
    if not labels or not names:
        return {name: {"speaker": None, "similarity": None} for name in names}
    similarities = cosine_similarities(
        np.vstack([np.asarray(speakers[label], np.float64) for label in labels]),
        np.vstack([np.asarray(references[name], np.float64) for name in names]),
    )
    # Pairs under the threshold weigh nothing, so the assignment maximises the similarity of the pairs kept.
    eligible = np.where(similarities >= threshold, similarities, 0.0)
    rows, columns = linear_sum_assignment(eligible, maximize=True)
    named = {names[c]: labels[r] for r, c in zip(rows, columns, strict=True) if eligible[r, c] > 0}
    matches: dict[str, KnownSpeaker] = {}
    for column, name in enumerate(names):
        speaker = named.get(name)
        similarity = similarities[labels.index(speaker), column] if speaker else similarities[:, column].max()
        matches[name] = {"speaker": speaker, "similarity": round(float(similarity), 3)}
    return matches


def speaker_names(matches: Mapping[str, KnownSpeaker]) -> dict[str, str]:
    """Diarization label → name, for the speakers `match_speakers` named."""
    return {match["speaker"]: name for name, match in matches.items() if match["speaker"]}


def mean_direction(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The mean of unit-length `vectors`, at unit length: several clips of one voice as one embedding."""
    units = [np.asarray(v, np.float64) / (np.linalg.norm(v) or 1.0) for v in vectors]
    mean = np.mean(units, axis=0)
    return np.asarray(mean / (np.linalg.norm(mean) or 1.0), dtype=np.float32)


def reported(matches: Mapping[str, KnownSpeaker], *, asked: set[str]) -> dict[str, KnownSpeaker]:
    """The matches to report: all of them when few voices were looked for; else those that named a speaker and
    those `asked` for by name."""
    if len(matches) <= REPORTED_UNMATCHED:
        return dict(matches)
    return {name: match for name, match in matches.items() if match["speaker"] or name in asked}


def turns_of_someone_else(
    embedding: SpeakerEmbedding,
    audio: np.ndarray,
    turns: Sequence[Turn],
    named: Mapping[str, str],
    voices: Mapping[str, np.ndarray],
) -> set[int]:
    """The indexes of the turns of a named speaker whose own voice is more like another of the `voices` looked
    for than like the speaker's name: a voice nobody enrolled that the diarizer merged into a named speaker
    shows this way. `named` is label → name; each turn of `VERIFIED_TURN_SECONDS` or more is embedded (its
    middle `VERIFIED_SPAN_SECONDS` at most). A turn is not held to `MATCH_THRESHOLD` on its own: one person's
    turns of a second or two on a phone line score under it against their whole voice."""
    if len(voices) < 2:
        return set()
    names = list(voices)
    matrix = np.vstack([np.asarray(voices[name], np.float64) for name in names])
    clips: dict[int, np.ndarray] = {}
    for index, turn in enumerate(turns):
        duration = turn["end"] - turn["start"]
        if turn["speaker"] not in named or duration < VERIFIED_TURN_SECONDS:
            continue
        middle, half = (turn["start"] + turn["end"]) / 2, min(duration, VERIFIED_SPAN_SECONDS) / 2
        clips[index] = audio[int((middle - half) * 16_000) : int((middle + half) * 16_000)]
    if not clips:
        return set()
    embedded = reference_embeddings(embedding, clips)
    similarities = cosine_similarities(np.vstack([embedded[index] for index in clips]), matrix)
    return {
        index
        for index, row in zip(clips, similarities, strict=True)
        if names[int(np.argmax(row))] != named[turns[index]["speaker"]]
    }
