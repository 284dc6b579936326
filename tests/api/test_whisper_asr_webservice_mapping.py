"""whisper-asr-webservice's query as the core's jobs, and results as its answers (no models)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from app.contracts.whisper_asr_webservice.mapping import AsrQuery, asr_body, asr_job, detected_language
from app.schemas import SpeechToTextJob, TranscribeJob

RESULT = {
    "language": "de",
    "segments": [
        {"start": 0.5, "end": 2.0, "text": " Guten Morgen.", "speaker": "SPEAKER_00", "avg_logprob": -0.2,
         "words": [{"word": "Guten", "start": 0.5, "end": 1.0}, {"word": "Morgen.", "start": 1.1, "end": 2.0}]},
    ],
    "word_segments": [{"word": "Guten", "start": 0.5, "end": 1.0}, {"word": "Morgen.", "start": 1.1, "end": 2.0}],
    "timings": {"transcribe": 1.0},
    "audio_duration": 2.5,
}  # fmt: skip


def test_a_plain_request_is_a_transcription() -> None:
    job = asr_job(AsrQuery(task="translate", language="de", initial_prompt="Bazarr", vad_filter=True))
    assert isinstance(job, TranscribeJob)
    assert (job.model_params.task, job.model_params.language) == ("translate", "de")
    assert job.asr_options.initial_prompt == "Bazarr"
    assert job.vad_options.vad_method == "silero"
    assert not job.word_timestamps
    assert asr_job(AsrQuery(word_timestamps=True)).word_timestamps  # type: ignore[union-attr]


def test_diarizing_runs_the_full_pipeline_with_the_speaker_counts() -> None:
    job = asr_job(AsrQuery(diarize=True, min_speakers=2, max_speakers=3))
    assert isinstance(job, SpeechToTextJob)
    assert (job.diarize_params.min_speakers, job.diarize_params.max_speakers) == (2, 3)


@pytest.mark.parametrize("field", [{"output": "docx"}, {"task": "summarise"}, {"language": "klingon"}])
def test_unknown_values_are_refused(field: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        AsrQuery.model_validate(field)


def test_text_is_the_documented_name_of_txt() -> None:
    assert AsrQuery.model_validate({"output": "text"}).output == "txt"


def test_unknown_parameters_are_ignored_as_that_service_ignores_them() -> None:
    assert AsrQuery.model_validate({"video_file": "a.mkv", "something": "else"}).video_file == "a.mkv"


def test_json_keeps_whisperxs_keys_only() -> None:
    body = json.loads(asr_body(RESULT, "json"))
    assert set(body) == {"text", "segments", "word_segments", "language"}
    assert body["text"] == "Guten Morgen."
    assert set(body["segments"][0]) == {"start", "end", "text", "words", "speaker"}


def test_text_outputs_carry_the_speaker() -> None:
    assert asr_body(RESULT, "txt") == "[SPEAKER_00]: Guten Morgen.\n"
    assert "00:00:00,500 --> 00:00:02,000\n[SPEAKER_00]: Guten Morgen." in asr_body(RESULT, "srt")


def test_a_detected_language_has_whispers_name() -> None:
    answer = detected_language({"language": "de", "language_probability": 0.9871})
    assert answer == {"detected_language": "german", "language_code": "de", "confidence": 0.99}
