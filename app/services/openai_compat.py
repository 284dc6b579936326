"""OpenAI's `/v1/audio/transcriptions` and `/translations` contract, mapped onto our jobs and results."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from whisperx.utils import LANGUAGES

from app.config import Settings
from app.ml.transcription import token_ids
from app.schemas import CONFIDENCE_FIELDS, ModelParams, SpeechToTextJob, TranscribeJob
from app.services.pipeline import whisper_spec
from app.services.render import render

OpenAIFormat = Literal["json", "text", "srt", "verbose_json", "vtt", "diarized_json"]
OPENAI_ALIASES = {"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-diarize"}


class OpenAITranscriptionRequest(BaseModel):
    """The form fields OpenAI's transcription endpoints take (besides the file)."""

    model: str = Field("whisper-1", max_length=200)
    language: str | None = Field(None, max_length=32)
    prompt: str | None = Field(None, max_length=2000)
    response_format: OpenAIFormat = "json"
    temperature: float = Field(0.0, ge=0, le=1)
    timestamp_granularities: list[Literal["word", "segment"]] = Field(default_factory=lambda: ["segment"])


def whisper_model_name(requested: str) -> str | None:
    """Our model for an OpenAI model name: OpenAI's own names mean the configured model."""
    if requested in OPENAI_ALIASES:
        return None
    return requested.removeprefix("whisper-")


def to_job(request: OpenAITranscriptionRequest, *, task: Literal["transcribe", "translate"]) -> Any:
    """The job that produces what `request` asks for: diarized output needs the full pipeline, word timings the
    alignment stage, the rest transcription alone."""
    groups: dict[str, Any] = {
        "model_params": {
            "language": request.language,
            "task": task,
            "model": whisper_model_name(request.model),
        },
        # OpenAI's temperature 0 means "raise it when decoding fails": our default fallback ladder.
        "asr_options": {"initial_prompt": request.prompt}
        | ({"temperatures": [request.temperature]} if request.temperature else {}),
    }
    if request.response_format == "diarized_json":
        return SpeechToTextJob.model_validate(groups)
    word_timestamps = "word" in request.timestamp_granularities or request.response_format in ("srt", "vtt")
    return TranscribeJob.model_validate({**groups, "word_timestamps": word_timestamps})


def to_response(
    result: dict[str, Any], request: OpenAITranscriptionRequest, *, task: str, job: Any, settings: Settings
) -> dict[str, Any] | str:
    """Our result in the shape OpenAI returns for `request.response_format`."""
    segments = result["segments"]
    text = " ".join(segment["text"].strip() for segment in segments)
    match request.response_format:
        case "json":
            return {"text": text}
        case "text":
            return text + "\n"
        case "srt" | "vtt":
            return render(result, request.response_format)
        case "diarized_json":
            return {
                "task": task,
                "duration": result["audio_duration"],
                "text": text,
                "segments": [
                    {
                        "type": "transcript.text.segment",
                        "id": f"seg_{index}",
                        "start": s["start"],
                        "end": s["end"],
                        "text": s["text"].strip(),
                        "speaker": s.get("speaker", "UNKNOWN"),
                    }
                    for index, s in enumerate(segments)
                ],
            }
    model_params: ModelParams = job.model_params
    tokens = token_ids(whisper_spec(settings, model_params), [s["text"] for s in segments])
    verbose: dict[str, Any] = {
        "task": task,
        "language": LANGUAGES.get(result.get("language") or "", result.get("language")),
        "duration": result["audio_duration"],
        "text": text,
        "segments": [
            {
                "id": index,
                "seek": int(segment["start"] * 100),
                "start": segment["start"],
                "end": segment["end"],
                "text": segment["text"],
                "tokens": segment_tokens,
                **{field: segment.get(field, 0.0) for field in CONFIDENCE_FIELDS},
            }
            for index, (segment, segment_tokens) in enumerate(zip(segments, tokens, strict=True))
        ],
    }
    if "word" in request.timestamp_granularities:
        verbose["words"] = [
            {"word": word["word"], "start": word["start"], "end": word["end"]}
            for word in result["word_segments"]
        ]
    return verbose
