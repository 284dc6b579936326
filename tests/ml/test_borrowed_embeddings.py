"""Odd segmentation windows borrow the embeddings of the speakers they share with their neighbours."""

from __future__ import annotations

import numpy as np
from pyannote.core import SlidingWindow, SlidingWindowFeature

from app.ml.borrowed_embeddings import borrow_embeddings, even_windows

FRAMES = 40  # per 4 s window: 0.1 s frames
STEP = 1.0  # s between windows: 10 frames


def _segmentations(timeline: np.ndarray) -> SlidingWindowFeature:
    """Windows every STEP over `timeline` (frames, speakers), each window's local speakers in a different order, as
    the segmentation model numbers them anew in every window."""
    windows = []
    for index, first in enumerate(range(0, len(timeline) - FRAMES + 1, 10)):
        windows.append(np.roll(timeline[first : first + FRAMES], index, axis=1))
    return SlidingWindowFeature(np.stack(windows), SlidingWindow(start=0.0, duration=FRAMES * 0.1, step=STEP))


def test_odd_windows_take_the_embedding_of_the_speaker_talking_in_the_same_frames() -> None:
    # Speaker 0 talks until 2.5 s and from 4.5 s, speaker 1 from 2 s to 5 s. Seven windows of 4 s, one a second.
    timeline = np.zeros((100, 3))
    timeline[:25, 0] = timeline[45:, 0] = 1
    timeline[20:50, 1] = 1
    segmentations = _segmentations(timeline)
    rng = np.random.default_rng(0)
    voices = rng.normal(size=(2, 8))
    voices /= np.linalg.norm(voices, axis=1, keepdims=True)
    truth = np.full((len(segmentations.data), 3, 8), np.nan)
    for window, masks in enumerate(segmentations.data):
        for local in range(3):
            if masks[:, local].any():
                truth[window, local] = voices[(local - window) % 3]

    even = even_windows(segmentations)
    assert even.sliding_window.step == 2 * STEP
    embeddings = borrow_embeddings(truth[::2], segmentations)

    np.testing.assert_allclose(embeddings[::2], truth[::2])
    for window in range(1, len(segmentations.data), 2):
        active = segmentations.data[window].any(axis=0)
        np.testing.assert_allclose(embeddings[window, active], truth[window, active], atol=1e-6)
        assert np.isnan(embeddings[window, ~active]).all()


def test_a_speaker_heard_only_between_two_even_windows_is_left_out() -> None:
    # Speaker 1's speech in the even windows was too short to embed (NaN there), so the odd window has nothing
    # to borrow for it, while speaker 0 still gets its embedding.
    timeline = np.zeros((60, 3))
    timeline[:, 0] = 1
    timeline[14:26, 1] = 1
    segmentations = _segmentations(timeline)
    even = np.full((2, 3, 4), np.nan)
    even[0, 0] = even[1, 2] = [1.0, 0.0, 0.0, 0.0]  # speaker 0 (local 0, then local 2 after two rolls)

    embeddings = borrow_embeddings(even, segmentations)

    np.testing.assert_allclose(embeddings[1, 1], [1.0, 0.0, 0.0, 0.0])  # speaker 0, local 1 in window 1
    assert np.isnan(embeddings[1, 2]).all()  # speaker 1: its neighbours' embeddings of it are missing
