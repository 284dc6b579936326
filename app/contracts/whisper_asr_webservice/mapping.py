"""whisper-asr-webservice's query parameters as the core's jobs, and the core's results as its answers."""

from __future__ import annotations

import json
from typing import Literal, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, Field, field_validator
from whisperx.utils import LANGUAGES

from app.errors import validated
from app.json_types import JSONObject
from app.ml.results import Segment, Transcript, Word
from app.schemas import SpeechToTextJob, TranscribeJob, whisper_language
from app.services.render import render
from app.services.results import DetectedLanguage

ENGINE = "whisperx"
"""The `Asr-Engine` header: that service names the engine it runs, and this one runs WhisperX."""
Output = Literal["txt", "vtt", "srt", "tsv", "json"]
OUTPUT_ALIASES = {"text": "txt"}


class DetectLanguageQuery(BaseModel):
    """`POST /detect-language`'s query string, as that service takes it (unknown parameters are ignored, as
    there); `/asr` takes these too."""

    model_config = ConfigDict(extra="ignore")

    encode: bool = Field(True, description="false: the upload is raw 16 kHz mono s16le PCM")
    video_file: str | None = Field(
        None, max_length=4096, description="The video's name (Bazarr): names the task"
    )


class AsrQuery(DetectLanguageQuery):
    """`POST /asr`'s query string."""

    task: Literal["transcribe", "translate"] = "transcribe"
    language: str | None = Field(None, description="ISO code; detected when absent")
    initial_prompt: str | None = Field(None, max_length=2000)
    vad_filter: bool = Field(False, description="Find speech with Silero VAD (faster-whisper's filter)")
    word_timestamps: bool = Field(False, description="Aligned word timings (in `json`)")
    diarize: bool = Field(False, description="Label each segment with its speaker")
    min_speakers: int | None = Field(None, ge=1, le=50)
    max_speakers: int | None = Field(None, ge=1, le=50)
    output: Output = Field("txt", description="`text` (as that service's documentation names it) is `txt`")
    # Ours, for call recordings (docs/call-recordings.md): that service has none of them.
    keyterms: list[str] = Field(
        default_factory=list, description="Words and phrases decoding is biased toward"
    )
    replacements: str | None = Field(
        None, description='Spellings fixed after decoding, as JSON: `{"acme pro": "Acme-Pro"}`'
    )
    redact: list[str] = Field(
        default_factory=list, description="Kinds of entity replaced by their kind in brackets"
    )
    vocabulary: str | None = Field(None, description="The name of a saved vocabulary")
    multichannel: bool = Field(
        False, description="Transcribe each channel on its own: one speaker per channel"
    )
    diarize_channels: bool = Field(
        False,
        description="With `multichannel` and `diarize`: also diarize each channel (several people on one)",
    )

    _language = field_validator("language")(whisper_language)

    @field_validator("output", mode="before")
    @classmethod
    def _documented_name(cls, value: object) -> object:
        return OUTPUT_ALIASES.get(value, value) if isinstance(value, str) else value


CALL_OPTIONS = {"keyterms", "replacements", "redact", "vocabulary", "multichannel", "diarize_channels"}


def asr_job(query: AsrQuery) -> SpeechToTextJob | TranscribeJob:
    """The full pipeline when diarizing, else transcription (with aligned words when asked)."""
    groups: dict[str, JSONObject] = {
        "model_params": {"task": query.task, "language": query.language},
        "asr_options": {"initial_prompt": query.initial_prompt},
        "vad_options": {"vad_method": "silero"} if query.vad_filter else {},
        **query.model_dump(include=CALL_OPTIONS, exclude_defaults=True),
    }
    if query.diarize:
        speakers = {"min_speakers": query.min_speakers, "max_speakers": query.max_speakers}
        groups["diarize_params"] = {key: value for key, value in speakers.items() if value is not None}
        return validated(SpeechToTextJob, groups)
    return validated(TranscribeJob, {**groups, "word_timestamps": query.word_timestamps})


class AsrSegment(TypedDict):
    """A segment of its JSON answer: whisperx's keys only."""

    start: float
    end: float
    text: str
    words: NotRequired[list[Word]]
    speaker: NotRequired[str]


class AsrJSON(TypedDict):
    """Its `json` answer."""

    text: str
    segments: list[AsrSegment]
    word_segments: NotRequired[list[Word]]
    language: str | None


class LanguageDetection(TypedDict):
    """`POST /detect-language`'s answer."""

    detected_language: str
    language_code: str
    confidence: float


def _asr_segment(segment: Segment) -> AsrSegment:
    kept: AsrSegment = {"start": segment["start"], "end": segment["end"], "text": segment["text"]}
    if "words" in segment:
        kept["words"] = segment["words"]
    if "speaker" in segment:
        kept["speaker"] = segment["speaker"]
    return kept


def asr_body(result: Transcript, output: Output) -> str:
    """The answer's body: whisperx's result as JSON (`text`, the whole transcript, as that service documents
    it; segments with `start`, `end`, `text`, and `words` and `speaker` when there are; `word_segments` with
    words; `language`), or its text through whisperx's writers (diarized cues begin with `[SPEAKER_00]: `)."""
    if output != "json":
        return render(result, output)
    segments = [_asr_segment(segment) for segment in result["segments"]]
    text = " ".join(segment["text"].strip() for segment in segments)
    language = result.get("language")
    words = result.get("word_segments")
    body: AsrJSON = (
        {"text": text, "segments": segments, "word_segments": words, "language": language}
        if words
        else {"text": text, "segments": segments, "language": language}
    )
    return json.dumps(body, ensure_ascii=False)


def detected_language(result: DetectedLanguage) -> LanguageDetection:
    """`{"detected_language": <Whisper's name of it>, "language_code", "confidence"}`, as that service answers."""
    code = result["language"]
    return {
        "detected_language": LANGUAGES.get(code, code),
        "language_code": code,
        "confidence": round(result["language_probability"], 2),
    }
