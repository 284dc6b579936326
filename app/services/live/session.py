"""Live transcription: audio as it arrives, cut into turns by voice activity (or committed by the caller), each
turn's text heard while it is spoken and given whole once it ends.

A session's work happens on the caller's thread (audio decoded, scored by the VAD, turns found) and on the
process's one live decoding thread (`app.ml.live_decoding`); what either finds goes out through `emit`, in the
order it happens. While a turn is spoken its window is decoded again about every second, and its text sent as
it settles (`app.services.live.text`). A pause in the speech is decoded at once, so that if it ends the turn
its text is ready; if the speaker goes on after a long enough window, the window ends at that pause and its
decode becomes a part of the turn, so a long turn's last window stays short. A window reaching Whisper's 30 s
is cut at its quietest moment. Once the turn ends, its parts are decoded before any other live work, and
together they complete it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from app.audio.live import Encoding, LiveAudioDecoder
from app.config import Settings
from app.errors import ServiceError
from app.ml.live_decoding import (
    AHEAD,
    HEARING,
    SAMPLE_RATE,
    URGENT,
    WindowText,
    live_decodes,
)
from app.ml.live_vad import FRAME_SAMPLES, SpeechProbabilities
from app.services.live import events as live_events
from app.services.live.audio import Timeline
from app.services.live.config import LiveConfig, window_decoder
from app.services.live.text import SpokenText
from app.services.live.turns import TurnDetection, TurnDetector, quietest_cut

log = logging.getLogger(__name__)

HEAR_EVERY_SECONDS = 1.0
"""While a turn is spoken, its window is decoded again once this much more audio has come."""
WINDOW_SECONDS = 28.0
"""A turn longer than this is cut into windows (Whisper hears at most 30 s at once)..."""
SHORTEST_CUT_SECONDS = 15.0
"""...at its quietest moment after this much of the window."""
PAUSE_CUT_SECONDS = 6.0
"""A window at least this long ends at a pause the speaker goes on after."""


@dataclass(frozen=True)
class _Decode:
    """One window's decode: where the window lies on the timeline, its future, and its work (to hurry it)."""

    start: int
    end: int
    future: Future[WindowText]
    work: Callable[[], WindowText]


@dataclass(eq=False)
class _Turn:
    number: int
    start: int
    """Its first sample on the session's timeline."""
    cut: int
    """Where the window still being heard begins: the parts before it are decoded, or decoding."""
    heard_at: int
    """How far the last decode of the window went."""
    end: int | None = None
    """Set once committed."""
    parts: list[_Decode] = field(default_factory=list)
    sealed: bool = False
    """Committed, and every part known."""
    text: SpokenText = field(default_factory=SpokenText)
    hearing: Future[Any] | None = None
    ahead: _Decode | None = None
    """The decode of the window up to the last pause."""
    spoken_to: int = 0
    """The end of its last frame of speech."""
    finished: bool = False

    def futures(self) -> list[Future[Any]]:
        ahead = [self.ahead.future] if self.ahead is not None else []
        hearing = [self.hearing] if self.hearing is not None else []
        return [*hearing, *ahead, *(part.future for part in self.parts)]


class LiveSession:
    """One live transcription: feed it audio, commit or clear its buffer, and hear its events through `emit`
    (called on the session's threads, in order; it must not block)."""

    def __init__(
        self, settings: Settings, config: LiveConfig, emit: Callable[[live_events.LiveEvent], None]
    ) -> None:
        self.settings = settings
        self.emit = emit
        self._lock = threading.RLock()
        self._timeline = Timeline()
        self._vad = SpeechProbabilities()
        self._audio: LiveAudioDecoder | None = None
        self._turn: _Turn | None = None
        self._committed: list[_Turn] = []
        """Committed turns not finished yet."""
        self._turns = 0
        self._closed = False
        self.config = config
        self._decoder = window_decoder(settings, config)
        self._detector = TurnDetector(config.turn_detection or TurnDetection())

    def configure(self, config: LiveConfig) -> None:
        """Take a new configuration; a change of turn detection on or off clears the buffer."""
        decoder = window_decoder(self.settings, config)
        with self._lock:
            if (config.turn_detection is None) != (self.config.turn_detection is None):
                self._clear()
            self.config, self._decoder = config, decoder
            self._detector.detection = config.turn_detection or TurnDetection()

    def set_encoding(self, encoding: Encoding, rate: int) -> None:
        with self._lock:
            if self._audio is None or (self._audio.encoding, self._audio.rate) != (encoding, rate):
                self._audio = LiveAudioDecoder(encoding, rate)

    @property
    def buffered_seconds(self) -> float:
        """Audio in the input buffer: not committed, and (with turn detection) part of a turn or its padding."""
        with self._lock:
            start = self._turn.start if self._turn is not None else self._timeline.start
            return (self._timeline.end - start) / SAMPLE_RATE

    def append(self, data: bytes) -> None:
        """Add audio in the session's encoding. Without turn detection, audio past `max_buffer_seconds` is
        refused (`too_large`); with it, a turn that long is ended there."""
        if self._audio is None:
            raise RuntimeError("set_encoding first")
        samples = self._audio.decode(data)
        limit = self.settings.realtime.max_buffer_seconds
        with self._lock:
            if self._closed:
                return
            manual = self.config.turn_detection is None
            if manual and self.buffered_seconds + len(samples) / SAMPLE_RATE > limit:
                raise ServiceError(
                    "too_large",
                    f"The input audio buffer holds at most {limit:g} s: commit or clear it first.",
                )
            first = self._timeline.frames
            self._timeline.append(samples, self._vad.feed(samples))
            probabilities = self._timeline.probabilities()
            for frame in range(first, self._timeline.frames):
                self._frame(frame, float(probabilities[frame - self._timeline.first_frame]))
            self._after_audio()

    def _frame(self, frame: int, probability: float) -> None:
        end = (frame + 1) * FRAME_SAMPLES
        detection = self.config.turn_detection
        if detection is None:
            self._turn = self._turn or self._new_turn(self._timeline.start)
            if probability >= TurnDetection().threshold:
                self._turn.spoken_to = end
            return
        step = self._detector.step(probability)
        if step == "started":
            start = max(self._timeline.start, end - FRAME_SAMPLES - detection.prefix_samples)
            self._turn = self._new_turn(start)
            self.emit(live_events.SpeechStarted(self._turn.number, start * 1000 // SAMPLE_RATE))
        turn = self._turn
        if turn is None:
            return
        if probability >= detection.threshold:
            turn.spoken_to = end
            if turn.ahead is not None and turn.ahead.end < end:
                self._went_on(turn)
        if step == "pausing" and self.config.transcribe:
            self._decode_ahead(turn, end)
        if step == "stopped" or end - turn.start >= self.settings.realtime.max_buffer_seconds * SAMPLE_RATE:
            self._detector.reset()
            self.emit(live_events.SpeechStopped(turn.number, end * 1000 // SAMPLE_RATE))
            self._commit(turn, end)

    def _new_turn(self, start: int) -> _Turn:
        self._turns += 1
        return _Turn(number=self._turns, start=start, cut=start, heard_at=start)

    def _after_audio(self) -> None:
        turn = self._turn
        if turn is None:
            if self.config.turn_detection is not None:  # between turns only the padding is kept
                self._timeline.forget_before(self._timeline.end - self.config.turn_detection.prefix_samples)
            return
        if not self.config.transcribe:
            return
        while self._timeline.end - turn.cut > WINDOW_SECONDS * SAMPLE_RATE:
            self._cut_part(turn)
        due = self._timeline.end - turn.heard_at >= HEAR_EVERY_SECONDS * SAMPLE_RATE
        idle = turn.hearing is None and (turn.ahead is None or turn.ahead.future.done())
        if due and idle and turn.spoken_to > turn.cut:
            turn.hearing = live_decodes.submit(lambda: self._hear(turn), HEARING)
            turn.hearing.add_done_callback(lambda future: self._heard_so_far(turn, future))

    def _decode(self, start: int, end: int, priority: int) -> _Decode:
        audio, decoder = self._timeline.audio(start, end), self._decoder

        def work() -> WindowText:
            return decoder.decode(audio)

        return _Decode(start, end, live_decodes.submit(work, priority), work)

    def _add_part(self, turn: _Turn, part: _Decode) -> None:
        turn.parts.append(part)
        turn.cut, turn.ahead = part.end, None
        turn.text.next_window()
        if turn.end is not None:
            live_decodes.hurry(part.future, part.work)
        part.future.add_done_callback(lambda _: self._part_done(turn))

    def _cut_part(self, turn: _Turn, end: int | None = None) -> None:
        """Cut the turn's window off at its quietest moment (or at `end`) and decode it as a part."""
        if end is None:
            end = FRAME_SAMPLES * quietest_cut(
                self._timeline.probabilities(),
                self._timeline.first_frame,
                (turn.cut + int(SHORTEST_CUT_SECONDS * SAMPLE_RATE)) // FRAME_SAMPLES,
                (turn.cut + int(WINDOW_SECONDS * SAMPLE_RATE)) // FRAME_SAMPLES,
            )
        if turn.ahead is not None:
            turn.ahead.future.cancel()
        self._add_part(turn, self._decode(turn.cut, end, URGENT if turn.end is not None else AHEAD))

    def _decode_ahead(self, turn: _Turn, end: int) -> None:
        """Decode the window up to this pause, before it is known whether the turn ends here."""
        if turn.ahead is not None:
            turn.ahead.future.cancel()  # an earlier pause's, if not started: this one hears more
        ahead = turn.ahead = self._decode(turn.cut, end, AHEAD)
        turn.heard_at = end

        def heard(future: Future[WindowText]) -> None:
            if not future.cancelled() and future.exception() is None:
                self._heard(turn, ahead.start, future.result())

        ahead.future.add_done_callback(heard)

    def _went_on(self, turn: _Turn) -> None:
        """Speech after a pause decoded ahead: a long window ends at that pause, a short one goes on."""
        ahead, turn.ahead = turn.ahead, None
        assert ahead is not None
        if ahead.end - ahead.start >= PAUSE_CUT_SECONDS * SAMPLE_RATE and not ahead.future.cancelled():
            self._add_part(turn, ahead)
        else:
            ahead.future.cancel()

    def _hear(self, turn: _Turn) -> tuple[int, WindowText] | None:
        """Decode what the turn's window holds so far (on the decoding thread, when its turn comes)."""
        with self._lock:
            if self._closed or turn.end is not None:
                return None
            cut, turn.heard_at = turn.cut, self._timeline.end
            audio, decoder = self._timeline.audio(cut, turn.heard_at), self._decoder
        return cut, decoder.decode(audio)

    def _heard_so_far(self, turn: _Turn, future: Future[Any]) -> None:
        with self._lock:
            turn.hearing = None
            if not future.cancelled() and future.exception() is None and future.result() is not None:
                self._heard(turn, *future.result())

    def _heard(self, turn: _Turn, cut: int, text: WindowText) -> None:
        """A decode of the window so far: send the words it agrees on with the one before."""
        with self._lock:
            if self._closed or turn.end is not None or cut != turn.cut:
                return
            self._send(turn, [*self._settled(turn), *turn.text.hear(text.text.split())])

    def _settled(self, turn: _Turn) -> list[str]:
        """The words of the turn's decoded parts, up to the first not decoded yet."""
        words: list[str] = []
        for part in turn.parts:
            future = part.future
            if not future.done() or future.cancelled() or future.exception() is not None:
                break
            words.extend(future.result().text.split())
        return words

    def _send(self, turn: _Turn, words: list[str], *, final: bool = False) -> list[str]:
        """Send what follows what was sent of the turn's `words`, rewritten by the session's rules (which may
        hold back the last ones until the turn ends, `final`); the words as rewritten."""
        words = self.config.rules.sendable(words, final=final)
        delta = turn.text.delta(words)
        if delta is not None:
            self.emit(live_events.TurnDelta(turn.number, delta))
        return words

    def _part_done(self, turn: _Turn) -> None:
        with self._lock:
            if self._closed or turn.finished:
                return
            if not turn.sealed:
                self._send(turn, self._settled(turn))
            elif all(part.future.done() for part in turn.parts):
                self._committed.remove(turn)
                self._finish(turn)

    def commit(self) -> None:
        """End the buffer's turn here (with turn detection, without waiting for silence)."""
        with self._lock:
            turn = self._turn or self._new_turn(self._timeline.start)
            self._detector.reset()
            self._commit(turn, self._timeline.end)

    def _commit(self, turn: _Turn, end: int) -> None:
        turn.end = end
        self._turn = None
        self.emit(live_events.TurnCommitted(turn.number))
        if turn.hearing is not None:
            turn.hearing.cancel()
        if not self.config.transcribe:
            turn.finished = True
            self._timeline.forget_before(end)
            return
        self._committed.append(turn)
        for part in turn.parts:
            live_decodes.hurry(part.future, part.work)
        while end - turn.cut > WINDOW_SECONDS * SAMPLE_RATE:
            self._cut_part(turn)
        ahead = turn.ahead
        if ahead is not None and ahead.start == turn.cut and ahead.end >= turn.spoken_to:
            self._add_part(turn, ahead)  # nothing was said after the pause it decoded: it is the last part
        elif end > turn.cut or not turn.parts:
            self._cut_part(turn, end)
        turn.sealed = True
        self._timeline.forget_before(end)
        self._part_done(turn)

    def _finish(self, turn: _Turn) -> None:
        turn.finished = True
        futures = [part.future for part in turn.parts]  # none cancelled: only closing or clearing cancels
        failed = next((future.exception() for future in futures if future.exception() is not None), None)
        if failed is not None:
            if not isinstance(failed, ServiceError):
                log.error("live transcription failed", exc_info=failed)
                failed = ServiceError("internal_error", "The transcription failed unexpectedly.")
            self.emit(live_events.TurnFailed(turn.number, failed))
            return
        texts = [future.result() for future in futures]
        heard = " ".join(text.text for text in texts if text.text)
        transcript = " ".join(self._send(turn, heard.split(), final=True))
        logprobs = (
            [item for text in texts for item in text.logprobs or []] if self.config.token_logprobs else None
        )
        assert turn.end is not None
        self.emit(
            live_events.TurnCompleted(
                turn.number, transcript, (turn.end - turn.start) / SAMPLE_RATE, logprobs
            )
        )

    def clear(self) -> None:
        """Drop the buffer (and the turn in it, never committed)."""
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            _drop(turn)
        self._detector.reset()
        self._timeline.forget_before(self._timeline.end)

    def close(self) -> None:
        """Stop: decodes not started are dropped, and nothing more is emitted."""
        with self._lock:
            self._closed = True
            self._clear()
            for turn in self._committed:
                _drop(turn)
            self._committed.clear()


def _drop(turn: _Turn) -> None:
    """Cancel a turn's decodes that have not started."""
    turn.finished = True
    for future in turn.futures():
        future.cancel()
