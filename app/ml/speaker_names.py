"""Known speakers by name: each diarized speaker takes the name of the reference clip its voice matches best.

Voices are compared by the diarizer's own speaker embeddings: a reference clip is embedded by the model that
embedded the recording, and compared (cosine similarity) with each diarized speaker's centroid. Names go to
speakers by an optimal one-to-one assignment, so a name is never given to two speakers, and only where the
similarity reaches the embedding's threshold; any other speaker keeps its diarization label.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

# Measured with bench/speaker_names.py (the embedded diarizer's Resemblyzer d-vectors, clips held out of the
# recording against the diarized speakers' centroids): the same voice scored 0.86–0.88 (one caller) and
# 0.86–0.93 (the other) on pyannote's sample, 0.89 and 0.97 on the espeak-ng dialogue; different voices at most
# 0.84 between the sample's two callers, 0.78 between the dialogue's voices (another sex and pitch) and 0.76
# for an absent third voice. 0.85 sits between the two. d-vectors are non-negative, so even different voices
# sit high: two espeak male voices (en-us m1 and m3) reached 0.93, beyond any threshold's reach.
EMBEDDED_MATCH_THRESHOLD = 0.85
# pyannote's hub pipelines embed with WeSpeaker's ResNet34, whose embeddings are signed: different speakers sit
# near 0, and pyannote's speaker-diarization-3.1 clusters two stretches as one speaker down to a similarity of
# 0.30 (cosine distance 0.70). Naming asks more than clustering, as the embedded threshold does over its own
# clustering's (0.78). Not measured here (no hub); bench/speaker_names.py measures it where HF_TOKEN works.
HUB_MATCH_THRESHOLD = 0.5

VERIFIED_TURN_SECONDS = 1.0
"""A named speaker's turn at least this long is embedded on its own and checked against the voices looked for."""
VERIFIED_SPAN_SECONDS = 10.0
"""The most of a turn that is embedded to check it (its middle)."""

REPORTED_UNMATCHED = 10
"""Looking for more voices than this (a whole library), only those that matched a speaker are reported."""

SpeakerEmbedding = Callable[..., Any]
"""pyannote's speaker-embedding interface: (batch, 1, samples) waveforms in, (batch, dimension) array out."""


def reference_embeddings(
    embedding: SpeakerEmbedding, clips: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
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


def match_speakers(
    speakers: Mapping[str, Sequence[float] | np.ndarray],
    references: Mapping[str, np.ndarray],
    *,
    threshold: float,
) -> dict[str, dict[str, Any]]:
    """For each reference name, the diarized speaker it names (`None` when none matches) and the similarity
    of that pair (else the best similarity it reached with any speaker, `None` without speakers)."""
    from scipy.optimize import linear_sum_assignment

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
    matches: dict[str, dict[str, Any]] = {}
    for column, name in enumerate(names):
        speaker = named.get(name)
        similarity = similarities[labels.index(speaker), column] if speaker else similarities[:, column].max()
        matches[name] = {"speaker": speaker, "similarity": round(float(similarity), 3)}
    return matches


def speaker_names(matches: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Diarization label → name, for the speakers `match_speakers` named."""
    return {match["speaker"]: name for name, match in matches.items() if match["speaker"]}


def mean_direction(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The mean of unit-length `vectors`, at unit length: several clips of one voice as one embedding."""
    units = [np.asarray(v, np.float64) / (np.linalg.norm(v) or 1.0) for v in vectors]
    mean = np.mean(units, axis=0)
    return (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float32)


def reported(matches: Mapping[str, Mapping[str, Any]], *, asked: set[str]) -> dict[str, dict[str, Any]]:
    """The matches to report: all of them when few voices were looked for; else those that named a speaker and
    those `asked` for by name."""
    if len(matches) <= REPORTED_UNMATCHED:
        return dict(matches)
    return {name: match for name, match in matches.items() if match["speaker"] or name in asked}


def turns_of_someone_else(
    embedding: SpeakerEmbedding,
    audio: np.ndarray,
    turns: Sequence[Mapping[str, Any]],
    named: Mapping[str, str],
    voices: Mapping[str, np.ndarray],
) -> set[int]:
    """The indexes of the turns of a named speaker whose own voice is more like another of the `voices` looked
    for than like the speaker's name: a voice nobody enrolled that the diarizer merged into a named speaker
    shows this way. `named` is label → name; each turn of `VERIFIED_TURN_SECONDS` or more is embedded (its
    middle `VERIFIED_SPAN_SECONDS` at most) by the diarizer's own model."""
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
