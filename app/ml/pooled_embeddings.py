"""Pooled speaker embeddings: a recording's partials are encoded once, and each window's speakers pool them.

The partials (1.6 s of speech each) are encoded every TIMELINE_HOP mel frames (10 ms each) over the whole
recording, and a (window, speaker) embedding is the coverage-weighted mean of the partials inside the window that
its mask covers for at least MIN_PARTIAL_COVERAGE of their length. Cheaper than embedding every (window, speaker)
mask on its own, but less accurate on real calls (bench/diarizer.py): the embedded diarizer's
`pooled_embeddings` option.
"""

from __future__ import annotations

import numpy as np
from pyannote.core import SlidingWindow
from resemblyzer.hparams import mel_window_step, partials_n_frames

TIMELINE_HOP = 40
MIN_PARTIAL_COVERAGE = 0.5
# A partial's length in seconds.
PARTIAL_SECONDS = partials_n_frames * mel_window_step / 1000


def pool_partials(
    partials: np.ndarray,
    partial_starts: np.ndarray,
    masks: np.ndarray,
    chunks: SlidingWindow,
    *,
    min_frames: float,
    min_coverage: float = MIN_PARTIAL_COVERAGE,
) -> np.ndarray:
    """Per (chunk, speaker), the normalised coverage-weighted mean of the partials inside the chunk.

    `masks` (chunks, frames, speakers) spans each chunk's duration evenly; a partial counts for a speaker when
    the mask covers at least `min_coverage` of it. Rows with fewer than `min_frames` active frames, or no
    partial covered enough, are NaN.
    """
    num_chunks, num_frames, num_speakers = masks.shape
    frames_per_second = num_frames / chunks.duration
    partial_frames = PARTIAL_SECONDS * frames_per_second
    cumulative = np.concatenate([np.zeros((num_chunks, 1, num_speakers)), np.cumsum(masks, axis=1)], axis=1)
    embeddings = np.full((num_chunks, num_speakers, partials.shape[1]), np.nan, dtype=np.float32)
    hop = partial_starts[1] - partial_starts[0] if len(partial_starts) > 1 else 1.0
    for chunk in range(num_chunks):
        start = chunks[chunk].start
        first = max(0, int(np.ceil((start - partial_starts[0]) / hop - 1e-6)))
        inside = np.arange(first, len(partial_starts))
        inside = inside[partial_starts[inside] + PARTIAL_SECONDS <= start + chunks.duration + 1e-6]
        if not len(inside):
            continue
        low = np.clip(
            np.round((partial_starts[inside] - start) * frames_per_second).astype(int), 0, num_frames
        )
        high = np.clip(np.round(low + partial_frames).astype(int), 0, num_frames)
        coverage = (cumulative[chunk, high] - cumulative[chunk, low]) / np.maximum(high - low, 1)[:, None]
        weights = np.where(coverage >= min_coverage, coverage, 0.0)
        sums = weights.T @ partials[inside]
        norms = np.linalg.norm(sums, axis=1)
        usable = (norms > 0) & (cumulative[chunk, -1] >= min_frames)
        embeddings[chunk, usable] = sums[usable] / norms[usable, None]
    return embeddings
