"""Speaker diarization with pyannote.audio: the configured hub pipeline with an HF token, else the embedded one."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, cast

import numpy as np
from pydantic import SecretStr

from app.ml import speaker_names, turn_edges
from app.ml.campplus import DIMENSION, load_voice_encoder
from app.ml.registry import registry
from app.ml.results import Diarization, Transcript, Turn

log = logging.getLogger(__name__)

EMBEDDED_BACKEND = "embedded:whisperx-segmentation+resemblyzer"


def load_diarizer(device: str, *, model_name: str, hf_token: SecretStr | None) -> tuple[Any, str]:
    """A whisperx DiarizationPipeline and the name of its backend, loaded once per device."""

    def load() -> tuple[Any, str]:
        from whisperx.diarize import DiarizationPipeline

        if hf_token:
            try:
                pipeline = DiarizationPipeline(
                    model_name=model_name, token=hf_token.get_secret_value(), device=device
                )
                return pipeline, model_name
            except Exception as error:
                # The message may quote the request, never the token; log the type only to be safe.
                log.warning(
                    "diarization model %s unavailable (%s); using the embedded diarizer",
                    model_name,
                    type(error).__name__,
                )
        from app.ml.embedded_diarizer import build_embedded_pipeline

        pipeline = DiarizationPipeline.__new__(DiarizationPipeline)
        pipeline.model = build_embedded_pipeline(device)
        return pipeline, EMBEDDED_BACKEND

    return registry.get(("diarize", model_name if hf_token else "embedded", device), load)


VOICE_EMBEDDING = "campplus:cn-en-common"
"""The embedding voices are named in, whichever diarizer ran: 3D-Speaker's CAM++ (`app.ml.campplus`), measured
on real voices at a fifth of Resemblyzer's equal error rate (bench/real_speakers.py)."""


def embedding_space() -> tuple[str, int]:
    """The embedding voices are compared in, and its dimension."""
    return VOICE_EMBEDDING, DIMENSION


def embed_voice(clips: list[np.ndarray], *, device: str) -> tuple[str, np.ndarray]:
    """A voice in `VOICE_EMBEDDING`: the mean direction of its 16 kHz clips' embeddings (unit length)."""
    embeddings = speaker_names.reference_embeddings(load_voice_encoder(device), dict(enumerate(clips)))
    return VOICE_EMBEDDING, speaker_names.mean_direction(list(embeddings.values()))


def diarize(
    audio: np.ndarray,
    *,
    device: str,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    model_name: str,
    hf_token: SecretStr | None,
    references: dict[str, np.ndarray] | None = None,
    voices: dict[str, np.ndarray] | None = None,
    activity: Any | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Diarization:
    """Who spoke when: `{"segments": [{"start", "end", "speaker"}], "backend", "speaker_embeddings"}`;
    `on_progress` hears the percent done after each batch of embeddings, and may raise to stop. Speakers whose
    voice matches one of the `references` (name → 16 kHz clip) or enrolled `voices` (name → embedding in
    `VOICE_EMBEDDING`) take its name, except a turn whose own voice is more like another of those
    (`speaker_names.turns_of_someone_else`: it keeps the diarizer's label), and `known_speakers` says who
    matched whom (a voice that matched nobody is left out when more than `speaker_names.REPORTED_UNMATCHED`
    were looked for). A short edge of a turn, across a pause from its speaker's other speech, goes to the turn
    it runs into (`turn_edges`).
    `speaker_embeddings` holds each speaker's voice in `VOICE_EMBEDDING` (`speaker_names.speaker_voices`), by
    the speaker's label in `segments`, whichever diarizer ran. The embedded
    diarizer takes the recording's speaker activity (`app.ml.segmentation`) when the VAD computed it already;
    the hub pipeline segments with its own model."""
    pipeline, backend = load_diarizer(device, model_name=model_name, hf_token=hf_token)
    counts = {"num_speakers": num_speakers, "min_speakers": min_speakers, "max_speakers": max_speakers}
    shared: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if activity is not None and backend == EMBEDDED_BACKEND:
        from app.ml.segmentation import sharing_activity

        shared = sharing_activity(activity)
    with shared:
        frame = pipeline(audio, **counts, progress_callback=on_progress)
    turns = turn_edges.settled_edges(_segments(frame))
    encoder = load_voice_encoder(device)
    own_voices = speaker_names.speaker_voices(encoder, audio, turns)
    known = dict(voices or {})
    if references:
        known |= speaker_names.reference_embeddings(encoder, references)
    matches = speaker_names.match_speakers(own_voices, known) if known else {}
    names = speaker_names.speaker_names(matches)
    someone_else = speaker_names.turns_of_someone_else(encoder, audio, turns, names, known)
    for index, turn in enumerate(turns):
        if index not in someone_else:
            turn["speaker"] = names.get(turn["speaker"], turn["speaker"])
    result: Diarization = {
        "segments": turns,
        "backend": backend,
        "speaker_embeddings": {
            names.get(label, label): [round(float(x), 6) for x in np.asarray(vector).ravel()]
            for label, vector in own_voices.items()
        },
    }
    if known:
        result["known_speakers"] = speaker_names.reported(matches, asked=set(references or {}))
    return result


def _segments(frame: Any) -> list[Turn]:
    """The diarizer's turns, by its labels."""
    return [
        {"start": round(float(row.start), 3), "end": round(float(row.end), 3), "speaker": str(row.speaker)}
        for row in frame.itertuples()
    ]


def assign_speakers(aligned: Transcript, segments: list[Turn]) -> Transcript:
    """Give each segment and word the speaker who talks most over it (whisperx.assign_word_speakers); a word
    in a gap between turns takes the nearest speaker."""
    import pandas as pd
    import whisperx

    frame = pd.DataFrame(segments, columns=["start", "end", "speaker"])
    if frame.empty:
        return aligned
    combined = cast(Transcript, dict(whisperx.assign_word_speakers(frame, aligned, fill_nearest=True)))
    combined["word_segments"] = [
        word for segment in combined["segments"] for word in segment.get("words", [])
    ]
    return combined
