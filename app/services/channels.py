"""One party per channel: a multichannel file transcribed channel by channel, each channel's own speech only
(`app.audio.channels`), merged by time, every segment and word carrying its channel and its channel's speaker. A
channel that holds several people (a meeting room on one side of a call) can be diarized on its own too: its
speakers are then `<channel speaker>:<diarized speaker>`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.audio.channels import own_speech
from app.audio.decode import Audio
from app.config import Settings
from app.errors import ServiceError
from app.ml.results import Caption, Segment, Turn, Word
from app.schemas import DiarizeParams, PipelineParams
from app.services.pipeline import run_alignment, run_combine, run_diarization, run_transcription
from app.services.pipeline_progress import Progress
from app.services.results import Backends, FullResult, Transcribed

CHANNEL_BACKEND = "channels"
"""The diarization backend of a multichannel result: each channel is one speaker."""


@dataclass
class ChannelDiarization:
    """Each channel diarized in turn (its own speech, 16 kHz), its speakers named within the channel's speaker;
    the turns of all channels, the diarizer's backend and the time spent are kept."""

    params: DiarizeParams
    settings: Settings
    timings: dict[str, float]
    turns: list[Turn] = field(default_factory=list)
    backend: str = ""

    def __call__(self, samples: np.ndarray, channel_speaker: str) -> list[Turn]:
        spent: dict[str, float] = {}
        found = run_diarization(samples, self.settings, diarize_params=self.params, timings=spent)
        self.timings["diarize"] = round(self.timings.get("diarize", 0.0) + spent.get("diarize", 0.0), 3)
        self.backend = found["backend"]
        turns = [
            Turn(start=turn["start"], end=turn["end"], speaker=f"{channel_speaker}:{turn['speaker']}")
            for turn in found["segments"]
        ]
        self.turns += turns
        return turns


def channel_speakers(names: list[str], count: int) -> list[str]:
    """The speaker of each of `count` channels: its name when given, else `channel_<index>`."""
    if len(names) > count:
        raise ServiceError(
            "invalid_input",
            f"{len(names)} channel names were given for a file of {count} channels.",
            details=[{"field": "channel_names", "message": f"at most {count} names"}],
        )
    return [*names, *(f"channel_{index}" for index in range(len(names), count))]


def transcribe_channels(
    audio: Audio,
    params: PipelineParams,
    settings: Settings,
    *,
    names: list[str],
    progress: Progress,
    words: bool,
    timings: dict[str, float] | None = None,
    diarize: ChannelDiarization | None = None,
) -> Transcribed:
    """Each channel transcribed on its own (aligned too, with `words`), then merged by time. With `diarize` (and
    `words`), each channel is diarized too, and its segments and words take the speakers within it."""
    if audio.channels is None:
        raise ValueError("the audio was decoded without its channels")
    count = audio.channels.shape[0]
    speakers = channel_speakers(names, count)
    segments: list[Segment] = []
    parts: list[Transcribed] = []
    for index, speaker in enumerate(speakers):
        spent: dict[str, float] = {}
        own = own_speech(audio.channels, index)
        report = _within(progress, index, count, 0.8 if words else 1.0)
        part, decoded_words = run_transcription(
            own,
            params,
            settings,
            on_progress=report,
            timings=spent,
            words=words,
        )
        if words:
            aligned = run_alignment(
                own,
                part,
                settings,
                align_params=params.align_params,
                model_params=params.model_params,
                timings=spent,
                decoded_words=decoded_words,
            )
            part = Transcribed(**{**part, **aligned})
            if diarize is not None:
                part = Transcribed(**{**part, **run_combine(part, diarize(own, speaker))})
        parts.append(part)
        segments += [_heard_on(segment, index, speaker) for segment in part["segments"]]
        if timings is not None:
            for stage, seconds in spent.items():
                timings[stage] = round(timings.get(stage, 0.0) + seconds, 3)
    segments.sort(key=lambda segment: (segment["start"], segment.get("channel", 0)))
    merged = Transcribed(
        segments=segments,
        language=parts[0]["language"],
        backend=parts[0]["backend"],
        vad=parts[0]["vad"],
        audio_duration=round(audio.duration, 3),
    )
    if words:
        timed = [
            (word.get("start", segment["start"]), word)
            for segment in segments
            for word in segment.get("words", [])
        ]
        merged["word_segments"] = [word for _, word in sorted(timed, key=lambda pair: pair[0])]
        merged["aligner"] = parts[0].get("aligner", "")
    return merged


def channels_full_result(
    transcript: Transcribed, timings: dict[str, float], diarized: ChannelDiarization | None = None
) -> FullResult:
    """The full pipeline's result of a multichannel file: each channel is a speaker, its turns its segments; or,
    when the channels were diarized, the turns of the speakers within them."""
    turns = (
        sorted(diarized.turns, key=lambda turn: turn["start"])
        if diarized is not None
        else [
            Turn(start=segment["start"], end=segment["end"], speaker=segment["speaker"])
            for segment in transcript["segments"]
            if "speaker" in segment
        ]
    )
    return FullResult(
        language=transcript["language"],
        segments=transcript["segments"],
        word_segments=transcript.get("word_segments", []),
        speakers=sorted({turn["speaker"] for turn in turns}),
        diarization=turns,
        backends=Backends(
            transcription=transcript["backend"],
            vad=transcript["vad"],
            alignment=transcript.get("aligner", ""),
            diarization=f"{CHANNEL_BACKEND}+{diarized.backend}" if diarized is not None else CHANNEL_BACKEND,
        ),
        timings=timings,
        audio_duration=transcript.get("audio_duration", 0.0),
    )


def _heard_on(segment: Segment, channel: int, speaker: str) -> Segment:
    """`segment` on `channel`, its speaker the channel's unless the channel was diarized."""
    heard = segment.copy()
    heard["channel"], heard["speaker"] = channel, segment.get("speaker") or speaker
    if "words" in segment:
        heard["words"] = [_word_on(word, channel, speaker) for word in segment["words"]]
    return heard


def _word_on(word: Word, channel: int, speaker: str) -> Word:
    heard = word.copy()
    heard["channel"], heard["speaker"] = channel, word.get("speaker") or speaker
    return heard


def _within(
    progress: Progress, index: int, count: int, share: float
) -> Callable[[float, list[Caption]], None]:
    """Progress of one channel's transcription (`share` of its work), as a share of the whole; the segments
    so far are not published, as they would come out channel by channel rather than in time."""
    return lambda fraction, _partial: progress((index + share * fraction) / count, "transcribe")
