"""The mappings of worker-faster_whisper's and whisperx-worker's inputs, and of whisperX-FastAPI's query
parameters, onto our jobs (no models, no server)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from whisperx.utils import LANGUAGES

from app.contracts.runpod_workers.inputs import FasterWhisperInput, WhisperXWorkerInput
from app.contracts.whisperx_fastapi.schemas import SpeechToTextQuery, job_fields
from app.errors import validated
from app.schemas import SpeechToTextJob, TranscribeJob


def test_faster_whispers_input_is_our_transcription() -> None:
    request = FasterWhisperInput(
        audio="https://example.com/a.wav",
        temperature=0.2,
        temperature_increment_on_fallback=0.4,
        suppress_tokens="-1, 50257",
        enable_vad=True,
        word_timestamps=True,
        length_penalty=None,
    )
    job = request.transcribe_job()
    assert job.file == "https://example.com/a.wav"
    assert job.asr_options.temperatures == [0.2, 0.6, 1.0]
    assert job.asr_options.suppress_tokens == [-1, 50257] and job.asr_options.length_penalty == 1.0
    assert job.vad_options.vad_method == "silero" and job.word_timestamps
    translated = request.transcribe_job(task="translate")
    assert translated.model_params.task == "translate" and not translated.word_timestamps


def test_faster_whisper_needs_exactly_one_audio() -> None:
    with pytest.raises(ValidationError):
        FasterWhisperInput(audio="https://example.com/a.wav", audio_base64="AAAA")
    with pytest.raises(ValidationError):
        FasterWhisperInput()


def test_whisperx_workers_input_diarizes_and_names_with_its_samples() -> None:
    plain = WhisperXWorkerInput(audio_file="https://example.com/a.wav", align_output=True)
    assert isinstance(plain.job(), TranscribeJob) and plain.job().word_timestamps  # type: ignore[union-attr]
    named = WhisperXWorkerInput.model_validate(
        {
            "audio_file": "https://example.com/a.wav",
            "diarization": True,
            "max_speakers": 2,
            "speaker_verification": True,
            "speaker_samples": [{"name": "Ada", "url": "https://example.com/ada.wav"}],
        }
    )
    job = named.job()
    assert isinstance(job, SpeechToTextJob)
    assert job.diarize_params.max_speakers == 2
    assert job.diarize_params.known_speakers == {"Ada": "https://example.com/ada.wav"}
    with pytest.raises(ValidationError):  # samples without verification do nothing: refused
        WhisperXWorkerInput.model_validate(
            {"audio_file": "x", "speaker_samples": [{"name": "Ada", "url": "https://example.com/ada.wav"}]}
        )


def test_whisperx_fastapis_query_fills_our_groups_and_the_form_wins() -> None:
    query = SpeechToTextQuery.model_validate({"language": "de", "min_speakers": 2, "beam_size": 3})
    fields = job_fields(query, {"model_params": '{"language": "fr"}', "diarize_params": None})
    job = validated(SpeechToTextJob, {key: value for key, value in fields.items() if value is not None})
    assert job.model_params.language == "fr"  # the form's group wins, key by key
    assert job.diarize_params.min_speakers == 2 and job.asr_options.beam_size == 3


def test_whisperx_fastapis_language_is_one_of_whisperxs_codes_and_documented_so() -> None:
    schema = SpeechToTextQuery.model_json_schema()["properties"]["language"]
    assert {"enum": list(LANGUAGES), "type": "string"} in schema["anyOf"]
    assert SpeechToTextQuery.model_validate({"language": "de"}).language == "de"
    with pytest.raises(ValidationError, match="literal_error"):
        SpeechToTextQuery.model_validate({"language": "german"})
