"""Pydantic schemas shared by both front doors (REST routes and RunPod actions): the jobs, their parameter
groups and the error body. Tasks as clients see them are in `app.task_schemas`, the transcripts the align and
combine jobs take in `app.transcript_schemas`."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from whisperx.utils import LANGUAGES, TO_LANGUAGE_CODE

from app.text_schemas import TextRules
from app.transcript_schemas import AlignedTranscript, DiarizationSegment, Transcript

OutputFormat = Literal["json", "srt", "vtt", "txt", "tsv"]
WebhookBody = Literal["task", "whisperx_fastapi"]  # whisperX-FastAPI's is `{status, result, metadata, error}`
ComputeType = Literal["float16", "float32", "int8", "int8_float16", "bfloat16"]


class _Params(BaseModel):
    """A parameter group: unknown keys are refused, so a typo is an error rather than silently ignored, and
    values must have the documented JSON type (no `0` for `false`)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def whisper_language(value: str | None) -> str | None:
    """A language Whisper knows, by ISO code or English name, as its code; anything else is refused."""
    if value is None:
        return None
    code = value.strip().lower()
    code = str(TO_LANGUAGE_CODE.get(code, code))
    if code not in LANGUAGES:
        raise ValueError(f"unsupported language {value!r}; use an ISO 639-1 code such as 'en' or 'de'")
    return code


class ModelParams(_Params):
    language: str | None = Field(None, description="ISO code or English name; detected when absent")
    task: Literal["transcribe", "translate"] = "transcribe"
    model: str | None = Field(
        None, max_length=200, description="Whisper model; the configured one when absent"
    )
    device: Literal["cpu", "cuda"] | None = None
    device_index: int = Field(0, ge=0, le=64)
    threads: int | None = Field(None, ge=0, le=256)
    batch_size: int | None = Field(None, ge=1, le=256)
    chunk_size: int = Field(30, ge=1, le=30, description="Longest VAD chunk in seconds")
    compute_type: ComputeType | None = None

    _known_language = field_validator("language")(whisper_language)


class ASROptions(_Params):
    beam_size: int = Field(5, ge=1, le=20)
    best_of: int = Field(5, ge=1, le=20)
    patience: float = Field(1.0, gt=0, le=10)
    length_penalty: float = Field(1.0, ge=0, le=10)
    repetition_penalty: float = Field(1.0, gt=0, le=10)
    no_repeat_ngram_size: int = Field(0, ge=0, le=100)
    temperatures: list[float] = Field(
        default_factory=lambda: [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], min_length=1, max_length=10
    )
    compression_ratio_threshold: float | None = Field(2.4, gt=0, le=100)
    log_prob_threshold: float | None = Field(-1.0, ge=-100, le=0)
    no_speech_threshold: float | None = Field(0.6, ge=0, le=1)
    initial_prompt: str | None = Field(None, max_length=2000)
    suppress_tokens: list[int] = Field(default_factory=lambda: [-1], max_length=1000)
    suppress_numerals: bool = False
    hotwords: str | None = Field(None, max_length=2000)

    @field_validator("temperatures", "suppress_tokens", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, int | float) and not isinstance(value, bool) else value

    @field_validator("temperatures")
    @classmethod
    def _temperature_range(cls, value: list[float]) -> list[float]:
        if any(not 0 <= t <= 1 for t in value):
            raise ValueError("temperatures must lie between 0 and 1")
        return value


class VADOptions(_Params):
    vad_method: Literal["pyannote", "silero"] = "pyannote"
    vad_onset: float = Field(0.5, gt=0, lt=1)
    vad_offset: float = Field(0.363, gt=0, lt=1)
    vad_pad: float | None = Field(
        None,
        ge=0,
        le=10,
        description="Seconds kept into the pauses around each chunk; the VAD's own if absent",
    )
    vad_min_silence: float | None = Field(
        None,
        ge=0,
        le=10,
        description="Shortest pause in seconds that separates speech (shorter ones are heard as speech); "
        "the VAD's own if absent",
    )


class AlignParams(_Params):
    align_model: str | None = Field(
        None, max_length=200, description="wav2vec2 model; the language default if absent"
    )
    interpolate_method: Literal["nearest", "linear", "ignore"] = "nearest"
    return_char_alignments: bool = False


SpeakerName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S")]
MAX_REFERENCE_CLIPS = 4
MAX_NAMED_VOICES = 50
DIARIZATION_LABEL = re.compile(r"SPEAKER_\d+")


class DiarizeParams(_Params):
    num_speakers: int | None = Field(None, ge=1, le=50)
    min_speakers: int | None = Field(None, ge=1, le=50)
    max_speakers: int | None = Field(None, ge=1, le=50)
    known_speakers: dict[SpeakerName, str | None] = Field(
        default_factory=dict,
        max_length=MAX_NAMED_VOICES,
        description="Voices to name: name → a 2–10 s clip of that voice (data URI, base64 or http(s) URL; at "
        "most 4), or null for the voice enrolled in the library under that name; a list of names names "
        "enrolled voices",
    )
    identify_speakers: bool = Field(
        False, description="Name each speaker after the enrolled voice it matches, among all in the library"
    )
    return_embeddings: bool = Field(
        False,
        description="Give each speaker's voice embedding in the result: `speaker_embeddings`, by speaker",
    )
    auto_store_speakers: bool = Field(
        False,
        description="Enroll each speaker no enrolled voice matched as a new voice taken from the task, named "
        "`SPEAKER_00 of task <id>`",
    )

    @field_validator("known_speakers", mode="before")
    @classmethod
    def _names_of_enrolled_voices(cls, value: Any) -> Any:
        return dict.fromkeys(value) if isinstance(value, list) else value

    @property
    def reference_clips(self) -> dict[str, str]:
        """The known speakers given by a clip (name → clip source)."""
        return {name: source for name, source in self.known_speakers.items() if source}

    @property
    def enrolled_names(self) -> list[str]:
        """The known speakers named as enrolled voices."""
        return [name for name, source in self.known_speakers.items() if not source]

    @model_validator(mode="after")
    def _consistent_bounds(self) -> DiarizeParams:
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError("min_speakers must not exceed max_speakers")
        if self.num_speakers and not (self.min_speakers or 1) <= self.num_speakers <= (
            self.max_speakers or 50
        ):
            raise ValueError("num_speakers must lie between min_speakers and max_speakers")
        if any(DIARIZATION_LABEL.fullmatch(name) for name in self.known_speakers):
            raise ValueError("a known speaker's name must not look like a diarizer's label (SPEAKER_00)")
        if len(self.reference_clips) > MAX_REFERENCE_CLIPS:
            raise ValueError(f"at most {MAX_REFERENCE_CLIPS} known_speakers may be given by a clip")
        return self


PARAM_GROUPS: dict[str, type[BaseModel]] = {
    "model_params": ModelParams,
    "asr_options": ASROptions,
    "vad_options": VADOptions,
    "align_params": AlignParams,
    "diarize_params": DiarizeParams,
}


class JobInput(BaseModel):
    """Base of every request schema: unknown keys are refused.

    A parameter group may come as an object or as a string holding JSON (multipart forms). Clients of the
    original whisperX-FastAPI contract send ASR and alignment options inside `model_params`, and speaker counts
    inside `align_params`: such keys move to the group they belong to, and when the request has no such group
    (that stage does not run), they are dropped.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _regroup_params(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for group in (*PARAM_GROUPS, "subtitle_options"):
            if isinstance(data.get(group), str):
                # A string that is not JSON stays as it is: field validation reports it is not an object.
                with contextlib.suppress(ValueError, RecursionError):
                    data[group] = json.loads(data[group])
        for source in ("model_params", "align_params"):
            if not isinstance(data.get(source), dict):
                continue
            own = PARAM_GROUPS[source].model_fields
            params = dict(data[source])
            for key in [k for k in params if k not in own]:
                target = next((g for g, m in PARAM_GROUPS.items() if key in m.model_fields), None)
                if target is None:
                    continue  # unknown everywhere: validation reports it
                value = params.pop(key)
                if target in cls.model_fields and isinstance(data.get(target) or {}, dict):
                    data[target] = {key: value, **(data.get(target) or {})}
            data[source] = params
        return data


class PipelineParams(JobInput):
    """Every parameter group of the full pipeline; each stage reads its own."""

    model_params: ModelParams = Field(default_factory=ModelParams)
    asr_options: ASROptions = Field(default_factory=ASROptions)
    vad_options: VADOptions = Field(default_factory=VADOptions)
    align_params: AlignParams = Field(default_factory=AlignParams)
    diarize_params: DiarizeParams = Field(default_factory=DiarizeParams)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """Every error response: `{"error": {"code", "message"}}`."""

    error: ErrorBody


class SubtitleOptions(BaseModel):
    """How SRT and VTT subtitles are laid out."""

    model_config = ConfigDict(extra="forbid", strict=True)

    max_line_width: int | None = Field(None, ge=10, le=1000)
    max_line_count: int | None = Field(None, ge=1, le=10)
    highlight_words: bool = False
    speaker_labels: bool = Field(True, description="Begin each cue with its speaker, as `[SPEAKER_00]: `")
    max_cue_duration: float | None = Field(
        None, ge=1, le=600, description="Longest cue in seconds; longer segments are cut between words"
    )


def _json_or_object(value: Any) -> Any:
    """Accept a JSON document either as an object or as a string holding it."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            raise ValueError("must be a JSON object or a string holding JSON") from None
    return value


class AudioJob(JobInput):
    """Where the audio comes from: `file` (data URI, plain base64 or http(s) URL) or `url`."""

    file: str | None = Field(None, description="data URI, plain base64 or an http(s) URL")
    url: str | None = Field(None, max_length=8192, description="http(s) URL of the audio")
    filename: str | None = Field(None, max_length=4096)
    webhook_url: str | None = Field(None, max_length=8192, description="receives the final result, signed")
    webhook_body: WebhookBody = Field("task", description="the task, or whisperX-FastAPI's callback body")

    @model_validator(mode="after")
    def _one_source(self) -> AudioJob:
        if self.file and self.url:
            raise ValueError("give the audio as only one of `file` or `url`")
        return self

    @property
    def source(self) -> str | None:
        """The `file` or `url` value, when the audio was not uploaded separately."""
        return (self.url or self.file or "").strip() or None


class ChannelOptions(BaseModel):
    """One person per channel: a call recorded with each party on a channel of its own."""

    multichannel: bool = Field(
        False,
        description="Transcribe each channel on its own, merged by time; each channel is one speaker",
    )
    channel_names: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list,
        max_length=64,
        description="The speaker of each channel, in order (`channel_0`, `channel_1`, … when absent)",
    )

    diarize_channels: bool = Field(
        False,
        description="With `multichannel` and speakers (`speech_to_text`): also diarize each channel, for a side of "
        "the call with several people; its speakers are `<channel speaker>:SPEAKER_00`, …",
    )

    @field_validator("channel_names", mode="before")
    @classmethod
    def _names_as_json_text(cls, value: Any) -> Any:
        # A form field holds text: the list may come as its JSON.
        return _json_or_object(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _names_need_channels(self) -> ChannelOptions:
        if self.channel_names and not self.multichannel:
            raise ValueError("`channel_names` name the channels of a `multichannel` request")
        if self.diarize_channels and not self.multichannel:
            raise ValueError("`diarize_channels` diarizes the channels of a `multichannel` request")
        return self


class RenderedJob(BaseModel):
    output_format: OutputFormat = "json"
    subtitle_options: SubtitleOptions = Field(default_factory=SubtitleOptions)


class SpeechToTextJob(PipelineParams, AudioJob, RenderedJob, TextRules, ChannelOptions):
    """The full pipeline: transcribe, align, diarize, combine."""


class TranscribeJob(AudioJob, RenderedJob, TextRules, ChannelOptions):
    model_params: ModelParams = Field(default_factory=ModelParams)
    asr_options: ASROptions = Field(default_factory=ASROptions)
    vad_options: VADOptions = Field(default_factory=VADOptions)
    word_timestamps: bool = Field(
        False, description="Also align words (the alignment stage, without diarization)"
    )
    token_logprobs: bool = Field(
        False,
        description="Also give each segment's `logprobs`: its tokens with the decoder's log-probability of each",
    )
    align_params: AlignParams = Field(default_factory=AlignParams)

    @model_validator(mode="after")
    def _no_speakers_to_diarize(self) -> TranscribeJob:
        if self.diarize_channels:
            raise ValueError("`diarize_channels` needs speakers: ask for `speech_to_text`")
        return self


class AlignJob(AudioJob, RenderedJob):
    transcript: Transcript = Field(description="The `transcribe` action's result, or the like")
    device: Literal["cpu", "cuda"] | None = None
    align_params: AlignParams = Field(default_factory=AlignParams)
    model_params: ModelParams = Field(
        default_factory=ModelParams, description="Whisper model used when no wav2vec2 aligner exists"
    )

    _parse_transcript = field_validator("transcript", mode="before")(_json_or_object)


class DiarizeJob(AudioJob):
    device: Literal["cpu", "cuda"] | None = None
    diarize_params: DiarizeParams = Field(default_factory=DiarizeParams)


class DetectLanguageJob(AudioJob):
    """The language spoken in the audio's first 30 s, by the Whisper model `model_params` names."""

    model_params: ModelParams = Field(default_factory=ModelParams)


def _diarization_segments(value: Any) -> Any:
    """The segments of a diarization: a bare list, or the `diarize` action's result (`{"segments": [...]}`)."""
    value = _json_or_object(value)
    return value["segments"] if isinstance(value, dict) and "segments" in value else value


class CombineJob(JobInput, RenderedJob):
    aligned_transcript: AlignedTranscript = Field(description="The `align` action's result, or the like")
    diarization_result: list[DiarizationSegment] = Field(
        max_length=100_000, description="The `diarize` action's result, or its list of segments"
    )
    webhook_url: str | None = Field(None, max_length=8192)

    _parse_transcript = field_validator("aligned_transcript", mode="before")(_json_or_object)
    _parse_diarization = field_validator("diarization_result", mode="before")(_diarization_segments)
