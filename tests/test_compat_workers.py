"""Jobs shaped for worker-faster_whisper and whisperx-worker, sent as their own examples (with local audio)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from app.config import get_settings
from app.contracts.runpod_workers.inputs import FasterWhisperInput
from app.contracts.runpod_workers.serve import _as_text
from app.runtime import get_runtime, stop_runtime
from handler import handler
from tests.corpus import SAMPLE_WAV, normalise
from tests.local_http import LocalServer, local_server

HF_TOKEN_SENT = "hf_sentinel_token_from_a_request"
SEGMENT_KEYS = {"id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob"}
SEGMENT_KEYS |= {"compression_ratio", "no_speech_prob"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with pytest.MonkeyPatch.context() as env, local_server() as served:
        env.setenv("DATA_DIR", str(tmp_path_factory.mktemp("compat")))
        env.delenv("DATABASE_URL", raising=False)
        env.setenv("PRELOAD_MODELS", "false")
        env.setenv("FETCH__ALLOW_PRIVATE_HOSTS", '["127.0.0.1"]')
        stop_runtime()
        get_settings.cache_clear()
        yield served
        stop_runtime()
        get_settings.cache_clear()


def run(job_id: str, **job_input: Any) -> dict[str, Any]:
    response = handler({"id": job_id, "input": job_input})
    assert isinstance(response, dict)
    return response


def error_of(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response["error"])  # type: ignore[no-any-return]


def sample_base64() -> str:
    return base64.b64encode(SAMPLE_WAV.read_bytes()).decode()


@pytest.mark.slow
def test_worker_faster_whisper_test_input(server: LocalServer) -> None:
    """Their test_input.json (model swapped for the bundled one: this machine has no hub)."""
    output = run(
        "fw-1",
        audio=f"{server.base}/sample.wav",
        model="tiny.en",
        transcription="plain text",
        translate=False,
        temperature=0,
        best_of=5,
        beam_size=5,
        suppress_tokens="-1",
        condition_on_previous_text=False,
        temperature_increment_on_fallback=0.2,
        compression_ratio_threshold=2.4,
        logprob_threshold=-1,
        no_speech_threshold=0.6,
    )
    assert "error" not in output, output
    assert set(output) == {"segments", "detected_language", "transcription", "translation", "device", "model"}
    assert output["detected_language"] == "en" and output["translation"] is None
    assert output["device"] == "cpu" and output["model"] == "tiny.en"
    segments = output["segments"]
    assert segments and all(set(s) == SEGMENT_KEYS for s in segments)
    assert [s["id"] for s in segments] == list(range(1, len(segments) + 1))
    assert all(s["tokens"] and all(isinstance(t, int) for t in s["tokens"]) for s in segments)
    assert output["transcription"] == " ".join(s["text"].strip() for s in segments)
    assert "new jersey" in normalise(output["transcription"])
    task = run("fw-1-task", action="get_all_tasks", task_type="transcription")["result"]["tasks"][0]
    assert task["status"] == "completed" and task["url"] == f"{server.base}/sample.wav"


@pytest.mark.slow
def test_worker_faster_whisper_base64_subtitles_and_words(server: LocalServer) -> None:
    output = run(
        "fw-2", audio_base64=sample_base64(), model="tiny.en", transcription="srt", word_timestamps=True
    )
    assert "error" not in output, output
    assert re.match(r"1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n\S", output["transcription"])
    words = output["word_timestamps"]
    assert words and all(set(w) == {"word", "start", "end"} and w["start"] <= w["end"] for w in words)
    assert "jersey" in normalise(" ".join(w["word"] for w in words))


@pytest.mark.slow
def test_whisperx_worker_usage_example(server: LocalServer) -> None:
    """Their README's usage example: aligned words, no speakers."""
    output = run(
        "wx-1",
        audio_file=f"{server.base}/sample.wav",
        language="en",
        batch_size=32,
        temperature=0.2,
        align_output=True,
        debug=True,
    )
    assert "error" not in output, output
    assert set(output) == {"segments", "detected_language"} and output["detected_language"] == "en"
    words = [w for s in output["segments"] for w in s["words"]]
    assert words and all("start" in w and "end" in w for w in words)
    assert not any("speaker" in s for s in output["segments"])


@pytest.mark.slow
def test_whisperx_worker_diarization_labels_segments(server: LocalServer) -> None:
    output = run(
        "wx-2",
        audio_file=sample_base64(),
        diarization=True,
        min_speakers=2,
        max_speakers=2,
        huggingface_access_token=HF_TOKEN_SENT,
    )
    assert "error" not in output, output
    segments = output["segments"]
    assert {s["speaker"] for s in segments} == {"SPEAKER_00", "SPEAKER_01"}
    assert not any("words" in s for s in segments), "align_output was off"
    database = (get_runtime().settings.data_dir / "tasks.db").read_bytes()
    assert HF_TOKEN_SENT.encode() not in database


def test_bad_worker_inputs_are_refused_field_by_field(server: LocalServer) -> None:
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"audio": "https://example.com/a.wav", "beam_size": "5", "speed": 2}, {"beam_size", "speed"}),
        (
            {"audio_base64": "AAAA", "transcription": "html", "language": "klingon"},
            {"transcription", "language"},
        ),
        ({"audio": "https://example.com/a.wav", "audio_base64": "AAAA"}, {"input"}),
        (
            {"audio_file": "https://example.com/a.wav", "diarization": 1, "vad_onset": 2},
            {"diarization", "vad_onset"},
        ),
        ({"audio_file": "x", "speaker_samples": [{"name": "Dana"}]}, {"input"}),
        (
            {"audio_file": "x", "speaker_samples": [{"url": "https://example.com/d.wav"}]},
            {"speaker_samples.0.name"},
        ),
        ({"audio_base64": "AAAA", "suppress_tokens": "1;2"}, {"suppress_tokens"}),
    ]
    for job_input, fields in cases:
        error = error_of(run("bad", **job_input))
        assert error["code"] == "invalid_input", error
        assert {d["field"] for d in error["details"]} == fields, error
    assert error_of(run("none", prompt="hello"))["code"] == "unknown_action"


def test_worker_faster_whisper_defaults_and_fallback_temperatures() -> None:
    request = FasterWhisperInput(audio_base64="AAAA")
    job = request.transcribe_job()
    expected = [float(t) for t in np.arange(0, 1.0 + 1e-6, 0.2)]  # their predict.py's ladder
    assert job.asr_options.temperatures == pytest.approx(expected)
    assert job.asr_options.length_penalty == 0 and job.asr_options.suppress_tokens == [-1]
    assert job.model_params.model is None and job.vad_options.vad_method == "pyannote"
    silero = FasterWhisperInput(audio_base64="AAAA", enable_vad=True, temperature=0.5, suppress_tokens="1, 2")
    assert silero.transcribe_job().vad_options.vad_method == "silero"
    assert silero.transcribe_job().asr_options.temperatures == pytest.approx([0.5, 0.7, 0.9])
    assert silero.transcribe_job().asr_options.suppress_tokens == [1, 2]


def test_text_formats_are_worker_faster_whisper_s() -> None:
    segments = [
        {"start": 0.0, "end": 1.5, "text": " Hello there."},
        {"start": 2.0, "end": 3.25, "text": " Bye."},
    ]
    assert _as_text(segments, "plain_text") == "Hello there. Bye."
    assert _as_text(segments, "formatted_text") == "Hello there.\nBye."
    assert _as_text(segments, "srt").startswith("1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n")
    vtt = _as_text(segments, "vtt")
    assert vtt.startswith("WEBVTT\n") and "00:02.000 --> 00:03.250\nBye." in vtt


def test_the_worker_refuses_audio_over_its_own_limit_at_once(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER__MAX_AUDIO_SECONDS", "10")
    stop_runtime()
    get_settings.cache_clear()
    try:
        ours = error_of(run("long-1", action="transcribe", file=f"{server.base}/sample.wav"))
        theirs = error_of(run("long-2", audio_base64=sample_base64()))
        for error in (ours, theirs):
            assert error["code"] == "audio_too_long", error
            assert "10 seconds" in error["message"] and "WORKER__MAX_AUDIO_SECONDS" in error["message"]
            assert "executionTimeout" in error["message"]
        task = run("get", action="get_task", identifier=ours["identifier"])["result"]
        assert task["status"] == "failed" and task["stage"] is None, "refused before any stage ran"
    finally:
        stop_runtime()
        get_settings.cache_clear()
