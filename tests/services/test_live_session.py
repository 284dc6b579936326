"""Live sessions: turns found by voice activity or committed by the caller, text sent only ever added to, and
each turn completed with the shared model even while a file task holds the device."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from app.config import Settings
from app.errors import ServiceError
from app.ml.registry import registry
from app.services.live.config import LiveConfig
from app.services.live.events import (
    SpeechStarted,
    SpeechStopped,
    TurnCommitted,
    TurnCompleted,
    TurnDelta,
)
from app.services.live.session import LiveSession
from app.services.live.text import SpokenText, agreed, following
from app.services.live.turns import TurnDetection, TurnDetector, quietest_cut
from tests.corpus import sample_audio, sample_lines, two_voice_dialogue, wer
from tests.realtime import pcm24
from tests.synth import TWO_VOICE_DIALOGUE


def words(text: str) -> list[str]:
    return text.split()


def test_words_two_decodes_agree_on_are_sent_once_and_a_wrong_word_is_stepped_over() -> None:
    assert agreed(words("Hello, how are"), words("hello how were you")) == ["hello", "how"]
    text = SpokenText()
    assert text.hear(words("Good morning thank")) == []
    assert text.delta(text.hear(words("Good morning, thanks you"))) == "Good morning,"
    assert text.delta(words("Good morning, thank you")) == " thank you"
    assert text.delta(words("Good morning, thank you")) is None
    # An earlier decode heard "beat" where the later one hears "beep": the text goes on after "this is".
    sent = ["i", "heard", "a", "beat", "this", "is"]
    assert following(sent, words("I heard a beep. This is Diane")) == 6
    assert following(sent, words("Something else entirely")) is None
    # Only the last word differs, and nowhere else to go on from: the text goes on where they part.
    assert following(["thank", "you", "for"], words("Thank you, the new address")) == 2


def test_a_turn_starts_on_speech_and_stops_after_the_silence_with_a_decode_ahead() -> None:
    detector = TurnDetector(TurnDetection(threshold=0.5, silence_duration_ms=500))
    steps = [detector.step(p) for p in [0.1, 0.9, 0.4, 0.9, *[0.1] * 16]]
    assert steps[:2] == [None, "started"]
    assert steps[2] is None  # within the hysteresis: still speech
    pausing, stopped = steps.index("pausing"), steps.index("stopped")
    assert pausing == 3 + 5 and stopped == 3 + 16  # 5 frames of 32 ms, then 16 (512 ms)
    assert not detector.speaking


def test_a_long_window_is_cut_at_its_quietest_frame() -> None:
    probabilities = np.array([0.9, 0.8, 0.1, 0.9, 0.1, 0.95], dtype=np.float32)
    assert quietest_cut(probabilities, 100, 101, 106) == 104  # the later of two equally quiet frames
    assert quietest_cut(probabilities, 100, 200, 210) == 210


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        with self.lock:
            return [event for event in self.events if isinstance(event, kind)]

    def wait_for(self, kind: type, count: int, timeout: float = 120) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.of(kind)) < count:
            assert time.monotonic() < deadline, self.events
            time.sleep(0.05)
        return self.of(kind)


def stream(session: LiveSession, audio: np.ndarray, pace: float = 0.0) -> None:
    data = pcm24(audio)
    for start in range(0, len(data), 4800):
        session.append(data[start : start + 4800])
        time.sleep(pace)


@pytest.mark.slow
def test_each_turn_of_a_dialogue_is_found_and_transcribed() -> None:
    audio, _ = two_voice_dialogue()
    recorder = Recorder()
    session = LiveSession(Settings(), LiveConfig(language="en"), recorder)
    session.set_encoding("pcm16", 24_000)
    stream(session, np.concatenate([audio, np.zeros(16_000, dtype=np.float32)]), pace=0.03)
    completed = recorder.wait_for(TurnCompleted, len(TWO_VOICE_DIALOGUE))
    session.close()
    # Each turn's events in order (the next turn may begin before the last one's text is out).
    assert [event.turn for event in completed] == list(range(1, len(TWO_VOICE_DIALOGUE) + 1))
    for number in range(1, len(TWO_VOICE_DIALOGUE) + 1):
        kinds = [type(e) for e in recorder.events if e.turn == number and not isinstance(e, TurnDelta)]
        assert kinds == [SpeechStarted, SpeechStopped, TurnCommitted, TurnCompleted]
    for said, turn in zip(TWO_VOICE_DIALOGUE, completed, strict=True):
        assert wer(said[1], turn.transcript) <= (0.7 if "seven" in said[1] else 0.25), turn  # digits
        deltas = "".join(event.text for event in recorder.of(TurnDelta) if event.turn == turn.turn)
        assert wer(turn.transcript, deltas) <= 0.4, (turn.transcript, deltas)
    started = recorder.of(SpeechStarted)
    assert started[0].audio_start_ms == pytest.approx(
        500 - 300, abs=100
    )  # half a second of lead, less padding
    assert all(0.5 < turn.seconds < 8 for turn in completed)


@pytest.mark.slow
def test_a_long_committed_buffer_is_decoded_window_by_window() -> None:
    audio = np.concatenate([sample_audio(), two_voice_dialogue()[0]])  # 63 s: three windows at least
    recorder = Recorder()
    session = LiveSession(Settings(), LiveConfig(turn_detection=None), recorder)
    session.set_encoding("pcm16", 24_000)
    stream(session, audio)
    assert session.buffered_seconds == pytest.approx(len(audio) / 16_000, abs=0.1)
    session.commit()
    (completed,) = recorder.wait_for(TurnCompleted, 1)
    reference = " ".join([line[3] for line in sample_lines()] + [text for _, text in TWO_VOICE_DIALOGUE])
    assert wer(reference, completed.transcript) < 0.3
    assert completed.seconds == pytest.approx(len(audio) / 16_000, abs=0.1)
    assert not recorder.of(SpeechStarted)
    # Past the limit, audio is refused until the buffer is committed or cleared.
    with pytest.raises(ServiceError) as refused:
        stream(session, np.zeros(121 * 16_000, dtype=np.float32))
    assert refused.value.code == "too_large"
    session.close()


@pytest.mark.slow
def test_a_turn_is_decoded_while_a_file_task_holds_the_device() -> None:
    recorder = Recorder()
    session = LiveSession(Settings(), LiveConfig(turn_detection=None), recorder)
    session.set_encoding("pcm16", 24_000)
    held, release = threading.Event(), threading.Event()

    def file_stage() -> None:
        with registry.device(Settings().resolved_device):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=file_stage)
    holder.start()
    try:
        assert held.wait(10)
        stream(session, sample_audio()[3 * 16_000 : 8 * 16_000])
        session.commit()
        (completed,) = recorder.wait_for(TurnCompleted, 1, timeout=30)
        assert "hello" in completed.transcript.lower()
    finally:
        release.set()
        holder.join()
        session.close()


@pytest.mark.slow
def test_a_closed_session_sends_nothing_more() -> None:
    recorder = Recorder()
    session = LiveSession(Settings(), LiveConfig(turn_detection=None), recorder)
    session.set_encoding("pcm16", 24_000)
    stream(session, sample_audio()[: 20 * 16_000])
    session.commit()
    session.close()
    time.sleep(2)
    assert recorder.of(TurnCommitted) and not recorder.of(TurnCompleted)
