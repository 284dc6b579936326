"""whisper-asr-webservice's contract (`/asr`, `/detect-language`) against running servers, on real audio:
Bazarr's Whisper provider replayed call for call (raw PCM, its `audio_file` name, its key in the endpoint URL),
every output, words, speakers, translation, the bad inputs that service fails on, and a client that leaves."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import requests
import soundfile as sf

from tests.corpus import SAMPLE_WAV, normalise, sample_lines
from tests.servers import api_server
from tests.synth import SAMPLE_RATE, speak

pytestmark = pytest.mark.slow

KEY = "bazarr-key"
VIDEO = "/media/tv/Show/Season 1/Show - S01E01.mkv"


def raw_pcm(samples: np.ndarray) -> bytes:
    """What Bazarr uploads: `ffmpeg -f s16le -acodec pcm_s16le -ac 1 -ar 16000` of the video's audio."""
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def sample_pcm() -> bytes:
    samples, rate = sf.read(SAMPLE_WAV, dtype="float32")
    assert rate == SAMPLE_RATE
    return raw_pcm(samples)


def german_pcm() -> bytes:
    silence = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    speech = speak("Guten Morgen, wie geht es Ihnen heute? Das Wetter ist sehr schön.", "de")
    return raw_pcm(np.concatenate([silence, speech, silence]))


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with the bundled `tiny.en` and an API key."""
    with api_server(tmp_path_factory.mktemp("asr"), API_KEYS=json.dumps([KEY])) as base:
        yield base


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory: pytest.TempPathFactory, multilingual_model: str) -> Iterator[str]:
    """A server whose Whisper model is the multilingual `base` (this contract has no model parameter)."""
    with api_server(tmp_path_factory.mktemp("asr-multilingual"), WHISPER_MODEL=multilingual_model) as base:
        yield base


def with_key(base: str) -> str:
    """Bazarr's endpoint setting with the key in it: requests sends it as Basic authentication."""
    return base.replace("http://", f"http://bazarr:{KEY}@")


class BazarrProvider:
    """The two calls of Bazarr's `WhisperAIProvider` (subliminal_patch/providers/whisperai.py), as it makes them."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "Subliminal/2.1"

    def detect_language(self, out: bytes, video_name: str | None) -> requests.Response:
        return self.session.post(
            f"{self.endpoint}/detect-language",
            params={"encode": "false", "video_file": {video_name}},
            files={"audio_file": out},
            timeout=(5, 600),
        )

    def download_subtitle(self, out: bytes, task: str, language: str, video_name: str) -> requests.Response:
        return self.session.post(
            f"{self.endpoint}/asr",
            params={
                "task": task,
                "language": language,
                "output": "srt",
                "encode": "false",
                "video_file": {video_name},
            },
            files={"audio_file": out},
            timeout=(5, 600),
        )


def srt_cues(body: str) -> list[tuple[float, float, str]]:
    cues = []
    for block in body.strip().split("\n\n"):
        index, times, *text = block.splitlines()
        assert index.isdigit(), block
        start, end = (_seconds(stamp) for stamp in times.split(" --> "))
        cues.append((start, end, " ".join(text)))
    return cues


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_bazarr_detects_the_language_then_gets_srt_subtitles(english: str) -> None:
    bazarr = BazarrProvider(with_key(english))
    out = sample_pcm()
    detected = bazarr.detect_language(out, VIDEO)
    assert detected.status_code == 200, detected.text
    assert detected.json() == {"detected_language": "english", "language_code": "en", "confidence": 1.0}
    answer = bazarr.download_subtitle(out, "transcribe", "en", VIDEO)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Asr-Engine"] == "whisperx"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="audio_file.srt"'
    cues = srt_cues(answer.text)
    text = normalise(" ".join(cue[2] for cue in cues))
    assert "this is diane in new jersey" in text and "originally from chicago" in text, text
    first_line_start = sample_lines()[0][1]
    assert abs(cues[0][0] - first_line_start) < 1.0, (cues[0], first_line_start)
    assert all(start < end for start, end, _ in cues)
    # Both requests are tasks of the queue, named after the video.
    tasks = httpx.get(f"{english}/task/all", headers={"Authorization": f"Bearer {KEY}"}).json()["tasks"]
    assert {(task["task_type"], task["file_name"], task["status"]) for task in tasks[:2]} == {
        ("language_detection", "Show - S01E01.mkv", "completed"),
        ("transcription", "Show - S01E01.mkv", "completed"),
    }


def test_without_the_key_bazarr_is_refused(english: str) -> None:
    answer = BazarrProvider(english).detect_language(sample_pcm(), None)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    wrong = BazarrProvider(english.replace("http://", "http://bazarr:wrong@")).detect_language(
        sample_pcm(), None
    )
    assert wrong.status_code == 401


@pytest.fixture(scope="module")
def client(english: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=english, headers={"Authorization": f"Bearer {KEY}"}, timeout=600) as client:
        yield client


def asr(client: httpx.Client, body: bytes, name: str = "episode.wav", **params: Any) -> httpx.Response:
    return client.post("/asr", params=params, files={"audio_file": (name, body)})


@pytest.mark.parametrize(
    ("output", "check"),
    [
        ("txt", lambda body: body.splitlines()[0].startswith("Hello.")),
        ("vtt", lambda body: body.startswith("WEBVTT") and " --> " in body),
        (
            "tsv",
            lambda body: body.splitlines()[0] == "start\tend\ttext" and body.splitlines()[1][0].isdigit(),
        ),
        ("srt", lambda body: body.startswith("1\n00:00:0")),
    ],
)
def test_every_text_output(client: httpx.Client, output: str, check: Any) -> None:
    answer = asr(client, SAMPLE_WAV.read_bytes(), output=output)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["Content-Disposition"] == f'attachment; filename="episode.wav.{output}"'
    assert check(answer.text), answer.text[:300]
    assert "new jersey" in normalise(answer.text)


def test_json_is_whisperx_result_with_aligned_words(client: httpx.Client) -> None:
    answer = asr(client, SAMPLE_WAV.read_bytes(), output="json", word_timestamps="true")
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["language"] == "en"
    assert set(result) == {"text", "segments", "word_segments", "language"}
    assert "new jersey" in normalise(result["text"])
    for segment in result["segments"]:
        assert {"start", "end", "text", "words"} <= set(segment) <= {"start", "end", "text", "words"}
        assert all(
            segment["start"] <= word["start"] <= word["end"] <= segment["end"] for word in segment["words"]
        )
    words = [word["word"] for word in result["word_segments"]]
    assert "Jersey." in words or "Jersey" in words, words


def test_json_without_words_has_segments_only(client: httpx.Client) -> None:
    result = asr(client, SAMPLE_WAV.read_bytes(), output="json", vad_filter="true").json()
    assert set(result) == {"text", "segments", "language"}
    assert all(set(segment) == {"start", "end", "text"} for segment in result["segments"])


def test_diarized_subtitles_and_json_carry_the_speakers(client: httpx.Client) -> None:
    srt = asr(client, SAMPLE_WAV.read_bytes(), output="srt", diarize="true", min_speakers=2, max_speakers=2)
    assert srt.status_code == 200, srt.text
    labels = {text.split("]:")[0] + "]" for _, _, text in srt_cues(srt.text)}
    assert labels == {"[SPEAKER_00]", "[SPEAKER_01]"}, srt.text
    result = asr(client, SAMPLE_WAV.read_bytes(), output="json", diarize="true", max_speakers=1).json()
    assert {segment["speaker"] for segment in result["segments"]} == {"SPEAKER_00"}
    assert all(word.get("speaker") == "SPEAKER_00" for word in result["word_segments"] if "start" in word)


def test_doubled_slashes_are_served(client: httpx.Client, english: str) -> None:
    answer = client.post(
        f"{english}//detect-language", files={"audio_file": ("a.wav", SAMPLE_WAV.read_bytes())}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["language_code"] == "en"


def elf_executable() -> bytes:
    return Path("/bin/ls").read_bytes()


@pytest.mark.parametrize(
    ("params", "body", "status", "code"),
    [
        ({"encode": "false"}, sample_pcm()[:-1], 415, "not_audio"),  # odd length: that service answers 500
        ({"encode": "false"}, elf_executable(), 415, "not_audio"),  # that service transcribes it
        ({"encode": "false"}, b"", 400, "empty_audio"),
        ({}, elf_executable(), 415, "not_audio"),
        ({"output": "docx"}, b"\0\0" * 16000, 422, "invalid_input"),
        ({"task": "summarise"}, b"\0\0" * 16000, 422, "invalid_input"),
        ({"language": "klingon"}, b"\0\0" * 16000, 422, "invalid_input"),
        ({"task": "translate"}, b"\0\0" * 16000, 400, "english_only_model"),
    ],
)
def test_bad_input_is_a_clear_4xx(
    client: httpx.Client, params: dict[str, str], body: bytes, status: int, code: str
) -> None:
    answer = asr(client, body, **params)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    if params.get("encode") == "false" and body:
        detect = client.post("/detect-language", params=params, files={"audio_file": ("a", body)})
        assert detect.json()["error"]["code"] == code


def test_a_client_that_leaves_cancels_its_task(client: httpx.Client, english: str) -> None:
    long_audio = raw_pcm(np.tile(sf.read(SAMPLE_WAV, dtype="float32")[0], 20))  # 10 minutes
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{english}/asr",
            params={"encode": "false", "video_file": "left.mkv"},
            files={"audio_file": ("audio_file", long_audio)},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=httpx.Timeout(60, read=3),
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = client.get("/task/all").json()["tasks"]
        left = next(task for task in tasks if task["file_name"] == "left.mkv")
        if left["status"] == "cancelled":
            return
        time.sleep(0.5)
    raise AssertionError(f"the task of a client that left is {left['status']}")


def _readable(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # a process that ended meanwhile
        return b""


def _contains(arguments: list[bytes], run: list[bytes]) -> bool:
    return any(arguments[i : i + len(run)] == run for i in range(len(arguments)))


def server_memory(base: str) -> tuple[int, int]:
    """The server's (resident, peak resident) bytes; reading it resets the peak to the resident."""
    port = ["--port", str(httpx.URL(base).port)]
    (pid,) = [
        int(process.parent.name)
        for process in Path("/proc").glob("[0-9]*/cmdline")
        if _contains(_readable(process).split(b"\0"), [part.encode() for part in port])
    ]
    status = Path(f"/proc/{pid}/status").read_text()
    figures = [int(re.search(rf"{name}:\s+(\d+) kB", status)[1]) * 1024 for name in ("VmRSS", "VmHWM")]  # type: ignore[index]
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return figures[0], figures[1]


def detect(client: httpx.Client, body: bytes) -> httpx.Response:
    return client.post("/detect-language", params={"encode": "false"}, files={"audio_file": ("a", body)})


def test_45_minutes_of_raw_pcm_are_never_held_in_memory(client: httpx.Client, english: str) -> None:
    """Bazarr's whole episode: 45 minutes of raw PCM (82 MiB) is written to disk as it arrives and decoded once,
    so taking and decoding it raises the server's peak memory over a 10-minute file's by less than its decoded
    audio (165 MiB; holding the body as well would add 82 MiB). Then it is transcribed whole."""
    clip = sf.read(SAMPLE_WAV, dtype="float32")[0]
    ten_minutes, episode = raw_pcm(np.tile(clip, 20)), raw_pcm(np.tile(clip, 90))
    decoded_bytes = len(episode) // 2 * 4
    server_memory(english)
    assert detect(client, ten_minutes).status_code == 200
    _, ten_minutes_peak = server_memory(english)
    assert detect(client, episode).json()["language_code"] == "en"
    _, peak = server_memory(english)
    assert peak - ten_minutes_peak < decoded_bytes, f"{(peak - ten_minutes_peak) / 2**20:.0f} MiB"
    answer = asr(client, episode, encode="false", output="srt", video_file="episode.mkv")
    assert answer.status_code == 200, answer.text
    assert srt_cues(answer.text)[-1][1] > 44.5 * 60


def test_bazarr_translates_german_audio_for_english_subtitles(multilingual: str) -> None:
    bazarr = BazarrProvider(multilingual)
    out = german_pcm()
    detected = bazarr.detect_language(out, VIDEO).json()
    assert detected["language_code"] == "de" and detected["detected_language"] == "german", detected
    assert 0.3 < detected["confidence"] <= 1.0
    german = bazarr.download_subtitle(out, "transcribe", "de", VIDEO)
    assert "guten morgen" in normalise(german.text), german.text
    english = bazarr.download_subtitle(out, "translate", "de", VIDEO)
    assert english.status_code == 200, english.text
    assert "good morning" in normalise(english.text), english.text
