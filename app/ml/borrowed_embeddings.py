"""Speaker embeddings for every other segmentation window; the windows between borrow their neighbours'.

Windows overlap by three quarters past a minute of audio (5 s every 1.25 s), so each second of speech is embedded
four times, and the speaker encoder is most of the diarizer's cost. Embedding the even windows only halves it.
An odd window shares 3.75 s with each neighbour; each of its local speakers takes the embedding of the
neighbours' speaker who talks in the same frames (the most alike by intersection over union), so clustering
still gives every window's speakers a label and the segmentation keeps its resolution.
"""

from __future__ import annotations

import numpy as np
from pyannote.core import SlidingWindow, SlidingWindowFeature

# A neighbour's speaker lends its embedding when its speech and the speaker's, in the frames the two windows share,
# overlap by at least this intersection over union.
MIN_AGREEMENT = 0.5


def even_windows(segmentations: SlidingWindowFeature) -> SlidingWindowFeature:
    """The even windows of `segmentations`: a sliding window of twice the step."""
    window = segmentations.sliding_window
    return SlidingWindowFeature(
        segmentations.data[::2],
        SlidingWindow(start=window.start, duration=window.duration, step=2 * window.step),
    )


def borrow_embeddings(even: np.ndarray, segmentations: SlidingWindowFeature) -> np.ndarray:
    """(windows, speakers, dimension) embeddings from the even windows' `even`: an odd window's speaker takes
    the embedding of the neighbours' speaker whose speech is the most like its own in the frames they share
    (never a blend of two, which could mix two voices at a turn); NaN (left out of clustering, as pyannote does
    for too little speech) where none is alike enough."""
    masks = np.nan_to_num(segmentations.data, nan=0.0)
    num_windows, num_frames, num_speakers = masks.shape
    window = segmentations.sliding_window
    shift = round(window.step * num_frames / window.duration)
    shared = num_frames - shift
    embeddings = np.full((num_windows, num_speakers, even.shape[-1]), np.nan, dtype=np.float32)
    embeddings[::2] = even
    for odd in range(1, num_windows, 2):
        best = np.zeros(num_speakers)  # each local speaker's best agreement so far
        sides = [(odd - 1, masks[odd, :shared], masks[odd - 1, shift:])]
        if odd + 1 < num_windows:
            sides.append((odd + 1, masks[odd, shift:], masks[odd + 1, :shared]))
        for neighbour, mine, theirs in sides:
            both = mine.T @ theirs  # frames where my speaker and theirs both talk
            either = mine.sum(axis=0)[:, None] + theirs.sum(axis=0)[None, :] - both
            agreement = both / np.maximum(either, 1)
            for speaker in range(num_speakers):
                lender = int(np.argmax(agreement[speaker]))
                lent = embeddings[neighbour, lender]
                alike = agreement[speaker, lender]
                if alike >= max(MIN_AGREEMENT, best[speaker]) and not np.isnan(lent).any():
                    embeddings[odd, speaker] = lent
                    best[speaker] = alike
    return embeddings
