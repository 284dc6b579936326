"""The official `openai` client against a running server, on real audio."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from tests.corpus import SAMPLE_WAV, normalise
from tests.servers import api_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAI]:
    with api_server(tmp_path_factory.mktemp("openai")) as base:
        yield OpenAI(base_url=f"{base}/v1", api_key="unused", timeout=600, max_retries=0)


def transcribe(client: OpenAI, **options: object) -> object:
    with SAMPLE_WAV.open("rb") as audio:
        return client.audio.transcriptions.create(model="whisper-1", file=audio, **options)  # type: ignore[call-overload]


def test_json(client: OpenAI) -> None:
    result = transcribe(client)
    assert "new jersey" in normalise(result.text)  # type: ignore[attr-defined]


def test_verbose_json_with_word_timestamps(client: OpenAI) -> None:
    result = transcribe(client, response_format="verbose_json", timestamp_granularities=["word", "segment"])
    assert result.language == "english" and result.duration == pytest.approx(30.0, abs=0.01)  # type: ignore[attr-defined]
    segment = result.segments[0]  # type: ignore[attr-defined]
    assert segment.tokens and segment.end >= segment.start
    # The decoder's own figures, with word timestamps too.
    assert -1.0 < segment.avg_logprob < 0 and 0 < segment.compression_ratio < 2.4
    assert segment.no_speech_prob < 0.5 and segment.temperature == 0.0
    words = result.words  # type: ignore[attr-defined]
    assert len(words) > 50 and all(w.start <= w.end for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)


@pytest.mark.parametrize(
    ("response_format", "marker"), [("srt", " --> "), ("vtt", "WEBVTT"), ("text", "Jersey")]
)
def test_text_formats(client: OpenAI, response_format: str, marker: str) -> None:
    result = transcribe(client, response_format=response_format)
    assert isinstance(result, str) and marker in result


def test_models_and_errors(client: OpenAI) -> None:
    assert "whisper-1" in [m.id for m in client.models.list()]
    with pytest.raises(Exception) as error:
        client.audio.transcriptions.create(model="whisper-1", file=("notes.txt", b"not audio"))
    assert getattr(error.value, "status_code", None) == 415
