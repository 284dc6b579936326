"""OpenAI's `/v1/audio/transcriptions` and `/translations` contract, mapped onto our jobs and results."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from whisperx.utils import LANGUAGES

from app.config import Settings
from app.contracts.faster_whisper_segments import faster_whisper_segments
from app.contracts.openai.shapes import (
    Answer,
    DiarizedSegment,
    DiarizedTranscription,
    ModelCard,
    TextDelta,
    TextDone,
    Transcription,
    TranscriptionWord,
    Usage,
    VerboseTranscription,
)
from app.errors import ServiceError
from app.ml.model_files import whisper_files_time
from app.ml.results import Caption, Segment, TokenLogprob
from app.schemas import ChannelOptions, SpeechToTextJob, TranscribeJob, VADOptions
from app.services.pipeline import whisper_spec
from app.services.render import render
from app.services.results import FullResult, Transcribed
from app.text_schemas import TextRules

Result = Transcribed | FullResult
"""What OpenAI's answers are made from: a transcription, or the full pipeline's result for `diarized_json`."""

TranslationFormat = Literal["json", "text", "srt", "verbose_json", "vtt"]
OpenAIFormat = Literal[TranslationFormat, "diarized_json"]
LISTED_ALIAS = "whisper-1"
OPENAI_ALIASES = {LISTED_ALIAS, "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-diarize"}
OWNER = "whisperx-service"
STREAM_FORMATS = ("json", "text")


class ServerVad(BaseModel):
    """OpenAI's `server_vad` chunking strategy (its ranges, its defaults), mapped onto the VAD: its speech
    `threshold` becomes the onset, `prefix_padding_ms` the audio kept into the pauses around each chunk, and
    `silence_duration_ms` the shortest pause that separates speech (and so where chunks may split)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["server_vad"]
    threshold: float = Field(0.5, ge=0, le=1)
    prefix_padding_ms: int = Field(300, ge=0, le=10_000)
    silence_duration_ms: int = Field(200, ge=0, le=10_000)


CHUNKING_FIELDS = tuple(ServerVad.model_fields)
"""The keys of a `server_vad` object, sent by OpenAI's clients as `chunking_strategy[<key>]` form fields."""


Granularity = Literal["word", "segment"]


class OpenAITranslationRequest(BaseModel):
    """The form fields OpenAI's translation endpoint takes (besides the file); the route refuses others."""

    model: str = Field(LISTED_ALIAS, max_length=200)
    prompt: str | None = Field(None, max_length=2000)
    response_format: TranslationFormat = "json"
    temperature: float = Field(0.0, ge=0, le=1)


class OpenAITranscriptionRequest(OpenAITranslationRequest, TextRules, ChannelOptions):
    """The form fields OpenAI's transcription endpoint takes (besides the file), and ours for call recordings
    (`keyterms`, `replacements`, `redact`, `vocabulary`, `multichannel`, `channel_names`), which OpenAI's
    clients send as `extra_body`."""

    language: str | None = Field(None, max_length=32)
    # Transcriptions take every format translations take, and `diarized_json`: a wider type than the base's.
    response_format: OpenAIFormat = "json"  # type: ignore[assignment]
    timestamp_granularities: list[Granularity] = Field(default_factory=lambda: list[Granularity](["segment"]))
    include: list[str] = Field(default_factory=list, max_length=10)
    stream: bool = False
    known_speaker_names: list[str] = Field(default_factory=list, max_length=4)
    known_speaker_references: list[str] = Field(default_factory=list, max_length=4, validate_default=True)
    chunking_strategy: Literal["auto"] | ServerVad | None = None

    @field_validator("chunking_strategy", mode="before")
    @classmethod
    def _object_as_json_text(cls, value: Any) -> Any:
        # A form field holds text: a `server_vad` object may come as its JSON.
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError(
                    "`chunking_strategy` is `auto` or a JSON object of type `server_vad`"
                ) from None
        return value

    @field_validator("include")
    @classmethod
    def _logprobs_in_json(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if any(item != "logprobs" for item in value):
            raise ValueError("`include` takes only `logprobs`")
        if value and info.data.get("response_format", "json") != "json":
            raise ValueError("token log-probabilities come with response_format=json only")
        return value

    @property
    def token_logprobs(self) -> bool:
        return "logprobs" in self.include

    @field_validator("stream")
    @classmethod
    def _stream_text_only(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("response_format", "json") not in STREAM_FORMATS:
            raise ValueError(
                "a streamed transcript is text: use response_format json or text with stream=true"
            )
        return value

    @field_validator("known_speaker_names")
    @classmethod
    def _names_for_diarized_json(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if value and info.data.get("response_format") != "diarized_json":
            raise ValueError("known speakers are named only with response_format=diarized_json")
        if len(set(value)) != len(value):
            raise ValueError("each known speaker's name must be different")
        return value

    @field_validator("known_speaker_references")
    @classmethod
    def _at_most_one_reference_per_name(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if len(value) > len(info.data.get("known_speaker_names") or []):
            raise ValueError("give at most one reference clip per name in known_speaker_names[]")
        return value

    @property
    def known_speakers(self) -> dict[str, str | None]:
        """Each name with its reference clip; a name without one (past the references, or an empty one) names a
        voice enrolled in the library."""
        references = self.known_speaker_references
        return {
            name: (references[index] or None) if index < len(references) else None
            for index, name in enumerate(self.known_speaker_names)
        }


def whisper_model_name(requested: str) -> str | None:
    """Our model for an OpenAI model name: OpenAI's own names mean the configured model."""
    if requested in OPENAI_ALIASES:
        return None
    return requested.removeprefix("whisper-")


def to_job(
    request: OpenAITranslationRequest, *, task: Literal["transcribe", "translate"]
) -> TranscribeJob | SpeechToTextJob:
    """The job that produces what `request` asks for: diarized output needs the full pipeline, word timings the
    alignment stage, the rest transcription alone."""
    groups: dict[str, object] = {
        "model_params": {
            "language": getattr(request, "language", None),
            "task": task,
            "model": whisper_model_name(request.model),
        },
        # OpenAI's temperature 0 means "raise it when decoding fails": our default fallback ladder.
        "asr_options": {"initial_prompt": request.prompt}
        | ({"temperatures": [request.temperature]} if request.temperature else {}),
        **_call_options(request),
    }
    vad = getattr(request, "chunking_strategy", None)
    if isinstance(vad, ServerVad):
        # Our VAD's thresholds lie strictly between 0 and 1; the offset (where speech ends) stays below the onset.
        onset = min(max(vad.threshold, 0.01), 0.99)
        groups["vad_options"] = {
            "vad_onset": onset,
            "vad_offset": min(VADOptions().vad_offset, onset),
            "vad_pad": vad.prefix_padding_ms / 1000,
            "vad_min_silence": vad.silence_duration_ms / 1000,
        }
    if isinstance(request, OpenAITranscriptionRequest) and request.response_format == "diarized_json":
        diarize = {"known_speakers": request.known_speakers}
        return SpeechToTextJob.model_validate({**groups, "diarize_params": diarize})
    word_timestamps = not getattr(request, "stream", False) and (
        "word" in _granularities(request) or request.response_format in ("srt", "vtt")
    )
    token_logprobs = getattr(request, "token_logprobs", False)
    return TranscribeJob.model_validate(
        {**groups, "word_timestamps": word_timestamps, "token_logprobs": token_logprobs}
    )


def _call_options(request: OpenAITranslationRequest) -> dict[str, object]:
    """The request's channels, vocabulary and redaction, as the job takes them (a translation has none)."""
    if not isinstance(request, OpenAITranscriptionRequest):
        return {}
    return request.model_dump(include={*TextRules.model_fields, *ChannelOptions.model_fields})


def _granularities(request: OpenAITranslationRequest) -> list[str]:
    return getattr(request, "timestamp_granularities", ["segment"])


def _usage(result: Result, task: str) -> Usage | None:
    """OpenAI's `usage` of a transcription: the audio's length in whole seconds (translations have none)."""
    if task != "transcribe":
        return None
    return Usage(type="duration", seconds=math.ceil(result["audio_duration"]))


def _logprobs(segments: list[Segment]) -> list[TokenLogprob] | None:
    """OpenAI's `logprobs` (`[{token, logprob, bytes}]`, every token of the text in order), when the segments
    were decoded with their token scores."""
    if not any("logprobs" in segment for segment in segments):
        return None
    return [token for segment in segments for token in segment.get("logprobs", [])]


def speaker_letters(speakers: list[str]) -> dict[str, str]:
    """OpenAI's speaker labels, `A`, `B`, … `Z`, `AA`, … in order of first appearance."""
    labels: dict[str, str] = {}
    for speaker in speakers:
        if speaker not in labels:
            index, label = len(labels), ""
            while True:
                index, letter = divmod(index, 26)
                label = chr(ord("A") + letter) + label
                if index == 0:
                    break
                index -= 1
            labels[speaker] = label
    return labels


@dataclass(frozen=True)
class _Answer:
    """What each response format is built from: our result, the request, and the job that made the result."""

    result: Result
    request: OpenAITranslationRequest
    task: str
    job: TranscribeJob | SpeechToTextJob
    settings: Settings

    @property
    def segments(self) -> list[Segment]:
        return self.result["segments"]

    @property
    def text(self) -> str:
        return " ".join(segment["text"].strip() for segment in self.segments)


def _json(answer: _Answer) -> Transcription:
    transcription = Transcription(text=answer.text)
    if (logprobs := _logprobs(answer.segments)) is not None:
        transcription["logprobs"] = logprobs
    if (usage := _usage(answer.result, answer.task)) is not None:
        transcription["usage"] = usage
    return transcription


def _text(answer: _Answer) -> str:
    return answer.text + "\n"


def _srt(answer: _Answer) -> str:
    return render(answer.result, "srt")


def _vtt(answer: _Answer) -> str:
    return render(answer.result, "vtt")


def _diarized_json(answer: _Answer) -> DiarizedTranscription:
    segments = answer.segments
    # Named speakers (known voices, named channels) keep their names; the others are lettered in order of
    # appearance, the people found within a diarized channel after their channel (`caller:A`).
    names = {
        *getattr(answer.request, "known_speaker_names", []),
        *getattr(answer.request, "channel_names", []),
    }
    letters = speaker_letters([s["speaker"] for s in segments if s.get("speaker") not in (None, *names)])
    for speaker, letter in letters.items():
        channel, within, _ = speaker.rpartition(":")
        letters[speaker] = f"{channel}{within}{letter}"
    letters.update({name: name for name in names})
    diarized = DiarizedTranscription(
        task=answer.task,
        duration=answer.result["audio_duration"],
        text=answer.text,
        segments=[
            DiarizedSegment(
                type="transcript.text.segment",
                id=f"seg_{index}",
                start=s["start"],
                end=s["end"],
                text=s["text"].strip(),
                speaker=letters.get(s.get("speaker", ""), "UNKNOWN"),
            )
            for index, s in enumerate(segments)
        ],
    )
    if (usage := _usage(answer.result, answer.task)) is not None:
        diarized["usage"] = usage
    return diarized


def _verbose_json(answer: _Answer) -> VerboseTranscription:
    result, task = answer.result, answer.task
    spec = whisper_spec(answer.settings, answer.job.model_params)
    language = result.get("language")
    verbose = VerboseTranscription(
        task=task,
        language=LANGUAGES.get(language or "", language),
        duration=result["audio_duration"],
        text=answer.text,
        # OpenAI's segments number from 0 and always carry the decoder's figures (0.0 where none were made).
        segments=faster_whisper_segments(answer.segments, spec, first_id=0, missing=0.0),
    )
    if (usage := _usage(result, task)) is not None:
        verbose["usage"] = usage
    if "word" in _granularities(answer.request):
        verbose["words"] = [
            TranscriptionWord(word=word["word"], start=word["start"], end=word["end"])
            for word in result["word_segments"]
        ]
    return verbose


_FORMATS: dict[OpenAIFormat, Callable[[_Answer], Answer]] = {
    "json": _json,
    "text": _text,
    "srt": _srt,
    "vtt": _vtt,
    "verbose_json": _verbose_json,
    "diarized_json": _diarized_json,
}
"""How each of OpenAI's response formats is built."""


def to_response(
    result: Result,
    request: OpenAITranslationRequest,
    *,
    task: str,
    job: TranscribeJob | SpeechToTextJob,
    settings: Settings,
) -> Answer:
    """Our result in the shape OpenAI returns for `request.response_format`."""
    return _FORMATS[request.response_format](_Answer(result, request, task, job, settings))


def model_card(settings: Settings, name: str) -> ModelCard:
    """OpenAI's description of a model this server serves (`created`: when its weights were written here)."""
    served = settings.served_models
    if name != LISTED_ALIAS and name not in served:
        message = (
            f"The model {name!r} is not served here; the models are: {', '.join([LISTED_ALIAS, *served])}."
        )
        raise ServiceError("not_found", message, details=[{"field": "model", "message": message}])
    weights = settings.whisper_model if name == LISTED_ALIAS else name
    return ModelCard(id=name, object="model", created=whisper_files_time(weights) or 0, owned_by=OWNER)


def model_cards(settings: Settings) -> list[ModelCard]:
    """Every model `/v1` answers to: `whisper-1` (the configured model) and each served Whisper model."""
    return [model_card(settings, name) for name in [LISTED_ALIAS, *settings.served_models]]


def stream_delta(segment: Caption, *, first: bool) -> TextDelta:
    """OpenAI's `transcript.text.delta` for one decoded segment: the deltas add up to the done event's text."""
    return TextDelta(type="transcript.text.delta", delta=("" if first else " ") + segment["text"].strip())


def stream_done(result: Result) -> TextDone:
    """OpenAI's `transcript.text.done`: the whole text (as the `json` format gives it) and the usage."""
    text = " ".join(segment["text"].strip() for segment in result["segments"])
    done = TextDone(type="transcript.text.done", text=text)
    if (logprobs := _logprobs(result["segments"])) is not None:
        done["logprobs"] = logprobs
    if (usage := _usage(result, "transcribe")) is not None:
        done["usage"] = usage
    return done
