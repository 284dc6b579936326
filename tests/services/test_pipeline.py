"""The speech pipeline end to end on real models and real speech (no mocks)."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest
import torch
from pyannote.metrics.diarization import DiarizationErrorRate

from app.config import Settings
from app.errors import ServiceError
from app.ml import diarization, transcription
from app.ml.devices import beside
from app.ml.registry import registry
from app.schemas import ModelParams, PipelineParams, SubtitleOptions, VADOptions
from app.services.full_pipeline import run_full_pipeline
from app.services.pipeline import run_transcription
from app.services.render import render
from tests.corpus import (
    annotation,
    normalise,
    sample_audio,
    sample_lines,
    sample_reference,
    two_voice_dialogue,
    wer,
    words_reference,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def sample_result(settings: Settings) -> tuple[dict[str, Any], list[tuple[float, str]]]:
    reports: list[tuple[float, str]] = []
    result = run_full_pipeline(
        sample_audio(),
        PipelineParams.model_validate({"diarize_params": {"num_speakers": 2}}),
        settings,
        progress=lambda fraction, stage, _partial=None: reports.append((fraction, stage)),
    )
    return result, reports


@pytest.fixture(scope="module")
def dialogue_result(settings: Settings) -> dict[str, Any]:
    audio, _truth = two_voice_dialogue()
    return run_full_pipeline(audio, PipelineParams(), settings)


def _words(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [word for segment in result["segments"] for word in segment["words"]]


@pytest.mark.parametrize("vad_method", ["pyannote", "silero"])
def test_transcription_of_the_real_sample_is_accurate(settings: Settings, vad_method: str) -> None:
    params = PipelineParams(vad_options=VADOptions(vad_method=vad_method))
    result, _decoded_words = run_transcription(sample_audio(), params, settings)
    reference = " ".join(text for _speaker, _start, _end, text in sample_lines())
    hypothesis = " ".join(segment["text"] for segment in result["segments"])
    assert result["language"] == "en"
    assert wer(reference, hypothesis) <= 0.20


@pytest.mark.parametrize("vad_method", ["pyannote", "silero"])
def test_segments_are_published_as_each_chunk_is_decoded(settings: Settings, vad_method: str) -> None:
    # Ten-second chunks two at a time: several batches, and more than one chunk in a batch.
    params = PipelineParams(
        model_params=ModelParams(chunk_size=10, batch_size=2), vad_options=VADOptions(vad_method=vad_method)
    )
    published: list[tuple[float, list[dict[str, Any]]]] = []
    result, _decoded_words = run_transcription(
        sample_audio(), params, settings, on_progress=lambda part, partial: published.append((part, partial))
    )
    assert len(published) >= 3
    fractions = [part for part, _partial in published]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # Every publication extends the one before, and the last is the result itself.
    for (_, before), (_, after) in zip(published, published[1:], strict=False):
        assert after[: len(before)] == before
    final = [{key: segment[key] for key in ("start", "end", "text")} for segment in result["segments"]]
    assert published[-1][1] == final and "new jersey" in normalise(" ".join(s["text"] for s in final))


def test_full_pipeline_on_the_real_sample(
    sample_result: tuple[dict[str, Any], list[tuple[float, str]]],
) -> None:
    result, reports = sample_result
    words = _words(result)
    assert words and all(w["start"] is not None and w["end"] is not None for w in words)
    assert all(w["start"] <= w["end"] for w in words)
    assert result["speakers"] == sorted({w["speaker"] for w in words}) and len(result["speakers"]) == 2
    assert result["word_segments"] == words
    assert set(result["backends"]) == {"transcription", "vad", "alignment", "diarization"}
    assert result["backends"]["transcription"] == "faster-whisper:tiny.en"
    assert set(result["timings"]) == {"transcribe", "align", "diarize", "combine"}
    assert result["audio_duration"] == pytest.approx(30.0, abs=0.01)
    fractions = [fraction for fraction, _stage in reports]
    assert fractions == sorted(fractions)
    stages = [stage for _f, stage in reports if stage != "transcribe"]
    assert [stage for i, stage in enumerate(stages) if stages[i - 1 : i] != [stage]] == [
        "align",
        "diarize",
        "combine",
    ]
    der = DiarizationErrorRate()(sample_reference(), annotation(result["diarization"]))
    assert der <= 0.20


def test_words_are_timed_and_attributed_on_a_two_voice_dialogue(dialogue_result: dict[str, Any]) -> None:
    _audio, truth = two_voice_dialogue()
    words = _words(dialogue_result)
    assert all(w.get("start") is not None and w.get("end") is not None for w in words)

    # Pair recognised words with true words in order, by their text.
    truth_texts = [normalise(t.word) for t in truth]
    matched: list[tuple[dict[str, Any], Any]] = []
    cursor = 0
    for word in words:
        text = normalise(word["word"])
        if text in truth_texts[cursor:]:
            index = truth_texts.index(text, cursor)
            matched.append((word, truth[index]))
            cursor = index + 1
    assert len(matched) >= 0.8 * len(truth), "most words are recognised"

    close = [abs(word["start"] - true.start) <= 0.3 for word, true in matched]
    assert sum(close) / len(close) >= 0.90

    # Speaker labels are arbitrary: map each hypothesis label to the true speaker it overlaps most.
    votes: dict[tuple[str, str], int] = {}
    for word, true in matched:
        votes[(word["speaker"], true.speaker)] = votes.get((word["speaker"], true.speaker), 0) + 1
    mapping = {label: max((n, s) for (lb, s), n in votes.items() if lb == label)[1] for label, _ in votes}
    right = [mapping[word["speaker"]] == true.speaker for word, true in matched]
    assert sum(right) / len(right) >= 0.95

    der = DiarizationErrorRate()(words_reference(truth), annotation(dialogue_result["diarization"]))
    assert der <= 0.10


def test_no_segment_holds_two_speakers_on_the_real_call(sample_result: Any) -> None:
    result, _ = sample_result
    for segment in result["segments"]:
        assert {word["speaker"] for word in segment["words"] if "speaker" in word} == {segment["speaker"]}
    # Cut, not relabelled: every word is still there, in order.
    assert result["word_segments"] == [w for s in result["segments"] for w in s["words"]]


def test_diarization_after_transcription_gives_the_same_result(
    settings: Settings, dialogue_result: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    transcribe, diarize = transcription.transcribe, diarization.diarize

    def spied_transcribe(*args: Any, **kwargs: Any) -> Any:
        result = transcribe(*args, **kwargs)
        events.append("transcribed")
        return result

    def spied_diarize(*args: Any, **kwargs: Any) -> Any:
        events.append("diarizing")
        return diarize(*args, **kwargs)

    monkeypatch.setattr(transcription, "transcribe", spied_transcribe)
    monkeypatch.setattr(diarization, "diarize", spied_diarize)
    audio, _truth = two_voice_dialogue()

    result = run_full_pipeline(
        audio, PipelineParams(), settings.model_copy(update={"overlap_diarization": False})
    )

    # `dialogue_result` ran diarization beside transcription, as the settings do by default.
    assert settings.overlap_diarization
    assert events == ["transcribed", "diarizing"]
    assert result["speakers"] == dialogue_result["speakers"]
    assert [w["speaker"] for w in _words(result)] == [w["speaker"] for w in _words(dialogue_result)]
    assert {"transcribe", "align", "diarize", "combine"} <= set(result["timings"])


def _new_thread_torch_threads() -> int:
    counts: list[int] = []
    thread = threading.Thread(target=lambda: counts.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return counts[0]


def test_work_beside_the_stages_takes_its_own_torch_threads_and_leaves_everyone_elses() -> None:
    before = torch.get_num_threads()
    assert beside(lambda: torch.get_num_threads(), torch_threads=1).result() == 1
    assert beside(lambda: torch.get_num_threads()).result() == before
    # Two at once (diarizations of two requests): each on one thread, and the caller and every thread started
    # afterwards keep the caller's count.
    release = threading.Event()
    first = beside(lambda: release.wait(10) and torch.get_num_threads(), torch_threads=1)
    second = beside(lambda: release.wait(10) and torch.get_num_threads(), torch_threads=1)
    assert _new_thread_torch_threads() == before
    release.set()
    assert (first.result(), second.result()) == (1, 1)
    assert torch.get_num_threads() == before
    assert _new_thread_torch_threads() == before


def test_diarization_beside_stops_when_the_stages_it_runs_beside_fail(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped = threading.Event()

    def endless_diarize(*_args: Any, on_progress: Any, **_kwargs: Any) -> Any:
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                on_progress(50.0)
                time.sleep(0.01)
        except Exception:
            stopped.set()
            raise
        return {"segments": [], "backend": "endless"}

    def failing_transcribe(*_args: Any, **_kwargs: Any) -> Any:
        raise ServiceError("invalid_input", "The decoder failed.")

    monkeypatch.setattr(diarization, "diarize", endless_diarize)
    monkeypatch.setattr(transcription, "transcribe", failing_transcribe)
    with pytest.raises(ServiceError):
        run_full_pipeline(sample_audio()[: 16_000 * 5], PipelineParams(), settings)
    assert stopped.wait(5), "diarization went on after the transcription failed"


def test_models_are_loaded_once_and_reused(settings: Settings, sample_result: Any) -> None:
    before = sorted(registry.loaded())
    run_transcription(sample_audio()[: 16_000 * 10], PipelineParams(), settings)
    assert sorted(registry.loaded()) == before


@pytest.mark.parametrize("output_format", ["srt", "vtt", "txt", "tsv", "json"])
def test_results_render_in_every_format(sample_result: Any, output_format: str) -> None:
    result, _ = sample_result
    text = render(result, output_format, SubtitleOptions(max_line_width=42, max_line_count=2))  # type: ignore[arg-type]
    assert text.strip()
    first_word = normalise(result["segments"][0]["words"][0]["word"])
    assert first_word in normalise(text)
    if output_format in ("srt", "vtt"):
        assert "-->" in text
        # whisperx's writers count a line's width without spaces, after the speaker prefix.
        prefix = len(f"[{result['segments'][0]['speaker']}]: ")
        widths = [len(line.replace(" ", "")) for line in text.splitlines() if "-->" not in line]
        assert max(widths) <= 42 + prefix
    if output_format == "txt":
        assert text.startswith(f"[{result['segments'][0]['speaker']}]:")


def test_silence_is_an_empty_transcript(settings: Settings) -> None:
    result, _decoded_words = run_transcription(
        np.zeros(16_000 * 5, dtype=np.float32), PipelineParams(), settings
    )
    assert result["segments"] == [] and result["language"] == "en"


def test_unknown_model_offline_is_model_unavailable(settings: Settings) -> None:
    params = PipelineParams(model_params=ModelParams(model="no-such-whisper-model"))
    with pytest.raises(ServiceError) as error:
        run_transcription(sample_audio(), params, settings)
    assert error.value.code == "model_unavailable"
