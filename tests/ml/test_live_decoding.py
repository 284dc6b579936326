"""The live decoding thread: one decode at a time, the most urgent first; and how short windows are encoded."""

from __future__ import annotations

import threading
from concurrent.futures import Future

from app.ml.live_decoding import AHEAD, HEARING, URGENT, WINDOW_FRAMES, LiveDecodeQueue, encoder_frames


def test_urgent_work_goes_first_and_hurried_or_cancelled_work_runs_once_or_never() -> None:
    queue = LiveDecodeQueue()
    gate, ran = threading.Event(), []
    queue.submit(gate.wait, URGENT)  # holds the thread while the rest is queued

    def job(name: str) -> str:
        ran.append(name)
        return name

    hearing = queue.submit(lambda: job("hearing"), HEARING)
    ahead = queue.submit(lambda: job("ahead"), AHEAD)
    late = queue.submit(lambda: job("late"), HEARING)
    urgent = queue.submit(lambda: job("urgent"), URGENT)
    dropped = queue.submit(lambda: job("dropped"), URGENT)
    dropped.cancel()
    queue.hurry(late, lambda: job("late"))
    gate.set()
    futures: list[Future[str]] = [hearing, ahead, late, urgent]
    assert [future.result(timeout=10) for future in futures] == ["hearing", "ahead", "late", "urgent"]
    assert ran == ["urgent", "late", "ahead", "hearing"]
    queue.stop()


def test_a_failed_decode_reaches_its_future() -> None:
    queue = LiveDecodeQueue()
    failed = queue.submit(lambda: 1 / 0, URGENT)
    assert isinstance(failed.exception(timeout=10), ZeroDivisionError)
    assert queue.submit(lambda: "next", URGENT).result(timeout=10) == "next"
    queue.stop()


def test_a_short_window_is_encoded_over_its_length_and_a_margin_on_the_cpu() -> None:
    second = 16_000
    assert encoder_frames(2 * second, device="cpu", full=False) == 1000  # at least 10 s
    assert encoder_frames(8 * second, device="cpu", full=False) == 1500  # 8 s + 5 s, in 2.5 s steps
    assert encoder_frames(28 * second, device="cpu", full=False) == WINDOW_FRAMES
    assert encoder_frames(2 * second, device="cuda", full=False) == WINDOW_FRAMES
    assert encoder_frames(2 * second, device="cpu", full=True) == WINDOW_FRAMES
