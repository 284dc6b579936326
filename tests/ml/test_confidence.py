"""The decoder's own confidence figures, and faster-whisper's temperature fallback, on the real model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from faster_whisper.tokenizer import Tokenizer
from whisperx.audio import N_SAMPLES, log_mel_spectrogram

from app.config import Settings
from app.ml.decoding import Decoded
from app.ml.results import CONFIDENCE_FIELDS
from app.ml.transcription import load_whisper
from app.schemas import AlignParams, ASROptions, ModelParams, PipelineParams
from app.services.pipeline import run_alignment, run_transcription, whisper_spec
from tests.corpus import normalise, sample_audio

pytestmark = pytest.mark.slow

SPEECH = slice(16_000 * 7, 16_000 * 13)  # "Oh, hello. I didn't know you were there." in pyannote's sample


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def model(settings: Settings) -> Any:
    return load_whisper(whisper_spec(settings, ModelParams()))


class GenerateSpy:
    """The real CTranslate2 model, remembering the temperature and batch size of every decoding pass."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.passes: list[tuple[float, int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        self.passes.append((kwargs.get("sampling_temperature", 0.0), len(args[1])))
        return self.model.generate(*args, **kwargs)


def _decode(
    model: Any, clips: list[np.ndarray], **options: Any
) -> tuple[list[Decoded], list[tuple[float, int]]]:
    from whisperx.asr import load_model

    pipeline = load_model(
        "tiny.en", "cpu", model=model, vad_model=object(), language="en", asr_options=options
    )
    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    features = np.stack(
        [log_mel_spectrogram(c, n_mels=80, padding=N_SAMPLES - len(c)).numpy() for c in clips]
    )
    spy = GenerateSpy(model.model)
    model.model = spy
    try:
        decoded = model.generate_segment_batched(features, tokenizer, pipeline.options)["decoded"]
    finally:
        model.model = spy.model
    return decoded, spy.passes


def test_silence_and_speech_differ_in_no_speech_probability(model: Any) -> None:
    speech, silence = sample_audio()[SPEECH], np.zeros(16_000 * 5, dtype=np.float32)
    (heard, quiet), passes = _decode(model, [speech, silence])
    assert "hello" in normalise(heard.text)
    assert heard.no_speech_prob < 0.2 < 0.6 < quiet.no_speech_prob
    assert -1.0 < heard.avg_logprob < 0 and 0.5 < heard.compression_ratio < 2.4
    # Both pass faster-whisper's rules (silence by its no-speech rule): one pass at temperature 0.
    assert passes == [(0.0, 2)] and heard.temperature == quiet.temperature == 0.0


def test_an_improbable_decoding_falls_back_to_higher_temperatures(model: Any) -> None:
    noise = np.random.default_rng(0).normal(0, 0.1, 16_000 * 5).astype(np.float32)
    speech = sample_audio()[SPEECH]
    # Noise makes Whisper invent improbable text; without the no-speech rule nothing excuses it.
    options = {"temperatures": [0.0, 0.5, 1.0], "no_speech_threshold": None}
    (invented, heard), passes = _decode(model, [noise, speech], **options)
    # Only the failing chunk is decoded again, by sampling at the next temperatures.
    assert (
        passes[0] == (0.0, 2) and passes[1] == (0.5, 1) and passes[1:] in ([(0.5, 1)], [(0.5, 1), (1.0, 1)])
    )
    assert heard.temperature == 0.0
    if len(passes) == 2:  # the retry passed faster-whisper's thresholds, and is the one kept
        assert invented.temperature == 0.5


def test_every_segment_carries_the_decoders_figures_with_and_without_word_timings(settings: Settings) -> None:
    audio = sample_audio()
    transcript, _decoded_words = run_transcription(audio, PipelineParams(), settings)
    aligned = run_alignment(audio, transcript, settings, align_params=AlignParams())
    for result in (transcript, aligned):
        for segment in result["segments"]:
            assert set(CONFIDENCE_FIELDS) <= set(segment)
            assert -1.0 < segment["avg_logprob"] < 0 and segment["no_speech_prob"] < 0.5
            assert segment["temperature"] == 0.0
    # As decoded, a segment keeps the decoder's own tokens of its text.
    tokenizer = load_whisper(whisper_spec(settings, ModelParams())).hf_tokenizer
    assert all(tokenizer.decode(segment["tokens"]) == segment["text"] for segment in transcript["segments"])
    words = aligned["word_segments"]
    assert all(0 <= word["probability"] <= 1 for word in words)
    assert np.median([word["probability"] for word in words]) > 0.5


def test_the_requested_temperature_is_used(settings: Settings) -> None:
    params = PipelineParams(asr_options=ASROptions(temperatures=[1.0]))
    result, _decoded_words = run_transcription(sample_audio()[SPEECH], params, settings)
    assert {segment["temperature"] for segment in result["segments"]} == {1.0}
