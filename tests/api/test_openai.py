"""The official `openai` client against a running server, on real audio: results, and errors as OpenAI's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.corpus import SAMPLE_WAV, normalise, silent_wav
from tests.servers import api_server

pytestmark = pytest.mark.slow


@dataclass
class Server:
    client: OpenAI
    base: str
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("openai")
    with api_server(data_dir, LIMITS__MAX_UPLOAD_MB="1") as base:
        client = OpenAI(base_url=f"{base}/v1", api_key="unused", timeout=600, max_retries=0)
        yield Server(client, base, data_dir / "process.log")


@pytest.fixture(scope="module")
def client(server: Server) -> OpenAI:
    return server.client


def transcribe(client: OpenAI, model: str = "whisper-1", **options: Any) -> Any:
    with SAMPLE_WAV.open("rb") as audio:
        return client.audio.transcriptions.create(model=model, file=audio, **options)


def test_json(client: OpenAI) -> None:
    result = transcribe(client)
    assert "new jersey" in normalise(result.text)
    assert result.usage.type == "duration" and result.usage.seconds == 30


def test_include_logprobs_scores_every_token_of_the_text(client: OpenAI) -> None:
    result = transcribe(client, include=["logprobs"])
    assert "new jersey" in normalise(result.text)
    logprobs = result.logprobs  # typed by the client: `Transcription.logprobs`
    assert logprobs is not None and len(logprobs) > 50
    # The tokens spell the text out, byte for byte (the client types the bytes as numbers).
    assert bytes(int(byte) for item in logprobs for byte in item.bytes).decode().strip() == result.text
    assert "".join(item.token for item in logprobs).strip() == result.text
    scores = [item.logprob for item in logprobs]
    assert all(score <= 0 for score in scores)
    # Mostly confident, not uniformly so: clear speech, a small model.
    assert sorted(scores)[len(scores) // 2] > -0.2 and min(scores) < -1
    assert transcribe(client).logprobs is None  # only when asked for


def test_verbose_json_with_word_timestamps(client: OpenAI) -> None:
    result = transcribe(client, response_format="verbose_json", timestamp_granularities=["word", "segment"])
    assert result.language == "english" and result.duration == pytest.approx(30.0, abs=0.01)
    assert result.usage.type == "duration" and result.usage.seconds == 30
    segment = result.segments[0]
    assert segment.tokens and segment.end >= segment.start
    # The decoder's own figures, with word timestamps too.
    assert -1.0 < segment.avg_logprob < 0 and 0 < segment.compression_ratio < 2.4
    assert segment.no_speech_prob < 0.5 and segment.temperature == 0.0
    words = result.words
    assert len(words) > 50 and all(w.start <= w.end for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)


def test_diarized_json_labels_speakers_by_letter_in_order_of_appearance(client: OpenAI) -> None:
    result = transcribe(client, model="gpt-4o-transcribe-diarize", response_format="diarized_json")
    assert result.usage.type == "duration" and result.usage.seconds == 30
    speakers = [segment.speaker for segment in result.segments]
    first_appearances = list(dict.fromkeys(speakers))
    assert first_appearances == ["A", "B"], speakers  # pyannote's sample: two speakers, A speaks first


def test_diarized_json_with_openais_chunking_strategy(client: OpenAI) -> None:
    # OpenAI's diarization examples send `chunking_strategy="auto"`: it is what the service does.
    result = transcribe(
        client, model="gpt-4o-transcribe-diarize", response_format="diarized_json", chunking_strategy="auto"
    )
    assert result.usage.type == "duration" and result.usage.seconds == 30
    assert list(dict.fromkeys(segment.speaker for segment in result.segments)) == ["A", "B"]


def first_segment_start(client: OpenAI, threshold: float = 0.5, padding_ms: int = 300) -> float:
    strategy = {"type": "server_vad", "threshold": threshold, "prefix_padding_ms": padding_ms}
    result = transcribe(client, response_format="verbose_json", chunking_strategy=strategy)
    return float(result.segments[0].start)


def test_a_server_vad_threshold_moves_where_speech_is_found(client: OpenAI) -> None:
    # The client sends the object as `chunking_strategy[type]`, `chunking_strategy[threshold]`, … fields. On
    # the sample, a demanding threshold finds the first speech about a second later.
    assert first_segment_start(client, threshold=0.95) > first_segment_start(client, threshold=0.2) + 0.5


def test_a_server_vad_prefix_padding_is_kept_before_the_speech(client: OpenAI) -> None:
    # The sample's first words start about 6.7 s in: the first segment starts that much padding earlier.
    unpadded = first_segment_start(client, padding_ms=0)
    assert unpadded > 5
    assert unpadded - first_segment_start(client, padding_ms=1000) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    ("response_format", "marker"), [("srt", " --> "), ("vtt", "WEBVTT"), ("text", "Jersey")]
)
def test_text_formats(client: OpenAI, response_format: str, marker: str) -> None:
    result = transcribe(client, response_format=response_format)
    assert isinstance(result, str) and marker in result


def test_silence_is_an_empty_transcript(client: OpenAI) -> None:
    result = client.audio.transcriptions.create(model="whisper-1", file=("quiet.wav", silent_wav(3)))
    assert result.text == "" and result.usage.seconds == 3
    verbose = client.audio.transcriptions.create(
        model="whisper-1", file=("quiet.wav", silent_wav(3)), response_format="verbose_json"
    )
    assert verbose.text == "" and verbose.segments == []


def test_models_list_and_lookup_agree_with_what_is_served(client: OpenAI) -> None:
    listed = {model.id: model for model in client.models.list()}
    assert set(listed) == {"whisper-1", "tiny.en"}
    assert all(model.created > 1_500_000_000 for model in listed.values())  # the weights' file time
    assert client.models.retrieve("tiny.en") == listed["tiny.en"]
    assert client.models.retrieve("whisper-1").created == listed["tiny.en"].created
    with pytest.raises(openai.NotFoundError) as error:
        client.models.retrieve("large-v3")
    assert (error.value.type, error.value.param, error.value.code) == (
        "invalid_request_error",
        "model",
        "not_found",
    )


CLIP = ("clip.wav", silent_wav(1))
BAD_VAD = {"type": "server_vad", "threshold": 2}
LOGPROBS_SRT = {"include": ["logprobs"], "response_format": "srt"}
# (case, exception, status, param, code, call)
ERRORS: list[tuple[str, type[openai.APIStatusError], int, str | None, str, dict[str, Any]]] = [
    ("not audio", openai.BadRequestError, 400, "file", "not_audio", {"file": ("notes.txt", b"not audio")}),
    ("empty file", openai.BadRequestError, 400, "file", "empty_audio", {"file": ("empty.wav", b"")}),
    ("under 0.1 s", openai.BadRequestError, 400, "file", "audio_too_short", {"file": ("c.wav", silent_wav(0.05))}),
    ("too large", openai.APIStatusError, 413, "file", "too_large", {"file": ("big.wav", bytes(3 * 2**20))}),
    ("bad format", openai.BadRequestError, 400, "response_format", "invalid_input", {"response_format": "docx"}),
    ("bad language", openai.BadRequestError, 400, "language", "invalid_input", {"language": "klingon"}),
    ("model not served", openai.BadRequestError, 400, "model", "model_not_allowed", {"model": "large-v3"}),
    ("english-only model, spanish", openai.BadRequestError, 400, "language", "english_only_model", {"language": "es"}),
    ("logprobs, srt", openai.BadRequestError, 400, "include", "invalid_input", LOGPROBS_SRT),
    ("include other", openai.BadRequestError, 400, "include", "invalid_input", {"include": ["scores"]}),
    ("unknown field", openai.BadRequestError, 400, "colour", "invalid_input", {"extra_body": {"colour": "blue"}}),
    ("chunking", openai.BadRequestError, 400, "chunking_strategy", "invalid_input", {"chunking_strategy": "manual"}),
    ("server_vad", openai.BadRequestError, 400, "chunking_strategy", "invalid_input", {"chunking_strategy": BAD_VAD}),
    ("stream srt", openai.BadRequestError, 400, "stream", "invalid_input", {"stream": True, "response_format": "srt"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "exception", "status", "param", "code", "call"), ERRORS, ids=[e[0] for e in ERRORS]
)
def test_transcription_errors_are_openais(
    client: OpenAI,
    case: str,
    exception: type[openai.APIStatusError],
    status: int,
    param: str | None,
    code: str,
    call: dict[str, Any],
) -> None:
    with pytest.raises(exception) as error:
        client.audio.transcriptions.create(**{"model": "whisper-1", "file": CLIP, **call})
    assert type(error.value) is exception
    assert (error.value.status_code, error.value.type, error.value.param, error.value.code) == (
        status,
        "invalid_request_error",
        param,
        code,
    )
    assert error.value.message


@pytest.mark.parametrize(
    ("call", "param", "code"),
    [
        ({}, "model", "english_only_model"),
        ({"response_format": "diarized_json"}, "response_format", "invalid_input"),
        ({"extra_body": {"language": "es"}}, "language", "invalid_input"),  # not a translation field
    ],
)
def test_translations_with_an_english_only_model_are_refused(
    client: OpenAI, call: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        client.audio.translations.create(model="whisper-1", file=CLIP, **call)
    assert (error.value.param, error.value.code) == (param, code)
    if code == "english_only_model":
        assert "'tiny.en'" in error.value.message and "translate" in error.value.message


def test_a_missing_file_is_a_400_naming_it(server: Server) -> None:
    answer = httpx.post(f"{server.base}/v1/audio/transcriptions", data={"model": "whisper-1"}, timeout=60)
    assert answer.status_code == 400
    assert answer.json()["error"] | {"message": ""} == {
        "message": "",
        "type": "invalid_request_error",
        "param": "file",
        "code": "invalid_input",
    }


def test_refusals_leave_no_traceback_in_the_log(server: Server, client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.audio.transcriptions.create(model="large-v3", file=CLIP)
    assert "Traceback" not in server.log.read_text(errors="replace")
