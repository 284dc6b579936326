"""OpenAI's requests as our jobs, and our results in OpenAI's shapes, checked against the official SDK's types
(no models run; a verbose answer tokenizes with the bundled model's tokenizer)."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.audio import (
    Transcription,
    TranscriptionDiarized,
    TranscriptionVerbose,
    Translation,
    TranslationVerbose,
)

from app.config import get_settings
from app.contracts.openai.mapping import (
    OpenAITranscriptionRequest,
    OpenAITranslationRequest,
    to_job,
    to_response,
)
from app.schemas import SpeechToTextJob, TranscribeJob

RESULT: dict[str, Any] = {
    "language": "en",
    "audio_duration": 3.2,
    "segments": [
        {"start": 0.5, "end": 1.5, "text": " Hello there.", "speaker": "SPEAKER_01", "avg_logprob": -0.3,
         "no_speech_prob": 0.01, "compression_ratio": 1.2, "temperature": 0.0},
        {"start": 1.8, "end": 3.0, "text": " Goodbye.", "speaker": "SPEAKER_00", "avg_logprob": None},
    ],
    "word_segments": [
        {"word": "Hello", "start": 0.5, "end": 0.9}, {"word": "there.", "start": 1.0, "end": 1.5},
        {"word": "Goodbye.", "start": 1.8, "end": 3.0},
    ],
}  # fmt: skip


def answer(request: OpenAITranslationRequest, task: str = "transcribe") -> Any:
    job = to_job(request, task=task)  # type: ignore[arg-type]
    return to_response(RESULT, request, task=task, job=job, settings=get_settings())


def test_the_jobs_each_format_needs() -> None:
    assert isinstance(to_job(OpenAITranscriptionRequest(response_format="diarized_json"), task="transcribe"),
                      SpeechToTextJob)  # fmt: skip
    plain = to_job(OpenAITranscriptionRequest(), task="transcribe")
    assert isinstance(plain, TranscribeJob) and not plain.word_timestamps and plain.model_params.model is None
    words = to_job(
        OpenAITranscriptionRequest(response_format="verbose_json", timestamp_granularities=["word"]),
        task="transcribe",
    )
    assert words.word_timestamps


def test_server_vad_becomes_the_vads_options() -> None:
    request = OpenAITranscriptionRequest.model_validate(
        {"chunking_strategy": {"type": "server_vad", "threshold": 0.3, "prefix_padding_ms": 200}}
    )
    vad = to_job(request, task="transcribe").vad_options
    assert (vad.vad_onset, vad.vad_offset, vad.vad_pad, vad.vad_min_silence) == (0.3, 0.3, 0.2, 0.2)


def test_json_is_openais_transcription() -> None:
    body = Transcription.model_validate(answer(OpenAITranscriptionRequest()))
    assert body.text == "Hello there. Goodbye."
    assert body.usage is not None and body.usage.type == "duration" and body.usage.seconds == 4


def test_verbose_json_is_openais_with_every_figure_a_number() -> None:
    request = OpenAITranscriptionRequest(
        response_format="verbose_json", timestamp_granularities=["word", "segment"]
    )
    raw = answer(request)
    body = TranscriptionVerbose.model_validate(raw)
    assert body.language == "english" and body.duration == 3.2
    assert [segment.id for segment in body.segments or []] == [0, 1]
    assert (
        raw["segments"][1]["avg_logprob"] == 0.0
    )  # a figure the decoder did not make is 0.0, as OpenAI types it
    assert [word.word for word in body.words or []] == ["Hello", "there.", "Goodbye."]


def test_diarized_json_letters_the_speakers_in_order_of_appearance() -> None:
    body = TranscriptionDiarized.model_validate(
        answer(OpenAITranscriptionRequest(response_format="diarized_json"))
    )
    assert [segment.speaker for segment in body.segments] == ["A", "B"]
    assert body.segments[0].type == "transcript.text.segment"


@pytest.mark.parametrize(
    ("response_format", "model"), [("json", Translation), ("verbose_json", TranslationVerbose)]
)
def test_translations_are_openais(response_format: str, model: type[Any]) -> None:
    raw = answer(OpenAITranslationRequest(response_format=response_format), task="translate")  # type: ignore[arg-type]
    assert "usage" not in raw
    assert model.model_validate(raw).text == "Hello there. Goodbye."


def test_text_formats() -> None:
    assert answer(OpenAITranscriptionRequest(response_format="text")) == "Hello there. Goodbye.\n"
    assert answer(OpenAITranscriptionRequest(response_format="srt")).startswith("1\n00:00:00,500 --> ")
