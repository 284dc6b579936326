"""A corpus of bad input, each case through both front doors (the REST app and `handler(job)`): every one ends in
a clean 4xx or error code, never a 500 or traceback text, nothing is fetched from URLs inside files, file names
are stored as names only, and no temporary file is left behind."""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.main import create_app
from app.runtime import stop_runtime
from handler import handler
from tests.reliability.helpers import (
    PNG,
    Recorder,
    assert_no_traceback,
    clip_wav,
    data_uri,
    recording_server,
    scratch_files,
    wav_claiming,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(120)]

MAX_UPLOAD_MB = 8
OK = "ok"  # a case that may also succeed (e.g. a truncated but still decodable mp3)


@dataclass
class Env:
    data_dir: Path
    client: TestClient
    server: Recorder
    files: dict[str, bytes]


def ffmpeg(options: str, output: Path) -> None:
    """`ffmpeg <options> <output>`; options are split on spaces."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", *options.split(), str(output)], check=True, timeout=120)


def make_files(folder: Path) -> dict[str, bytes]:
    (folder / "clip.wav").write_bytes(clip_wav())
    ffmpeg(f"-i {folder / 'clip.wav'} -c:a libmp3lame -b:a 64k", folder / "clip.mp3")
    mp3 = (folder / "clip.mp3").read_bytes()
    started = time.monotonic()
    flac = folder / "silence-10h.flac"
    ffmpeg("-f lavfi -i anullsrc=r=8000:cl=mono -t 36000 -c:a flac -frame_size 65535", flac)
    assert time.monotonic() - started < 60
    ffmpeg("-f lavfi -i testsrc=size=64x64:rate=5 -t 1 -c:v mpeg4", folder / "video.mp4")
    return {
        "mp3": mp3,
        "silence-10h.flac": flac.read_bytes(),
        "video.mp4": (folder / "video.mp4").read_bytes(),
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    data_dir = tmp_path_factory.mktemp("bad-input")
    files = make_files(tmp_path_factory.mktemp("bad-input-files"))
    with pytest.MonkeyPatch.context() as patch, recording_server() as server:
        patch.setenv("DATA_DIR", str(data_dir))
        patch.delenv("DATABASE_URL", raising=False)
        patch.setenv("PRELOAD_MODELS", "false")
        patch.setenv("LIMITS__MAX_UPLOAD_MB", str(MAX_UPLOAD_MB))
        stop_runtime()
        get_settings.cache_clear()
        with TestClient(create_app()) as client:
            yield Env(data_dir, client, server, files)
        stop_runtime()
        get_settings.cache_clear()


@dataclass
class Case:
    name: str
    codes: set[str]
    action: str = "transcribe"
    audio: bytes | str | None = None
    """File content, or the name of a generated file in `Env.files`."""
    fields: dict[str, Any] = field(default_factory=dict)
    filename: str | None = None
    stored_name: str | None = "-"
    """The file name the task must record ("-": not checked)."""
    doors: tuple[str, ...] = ("rest", "worker")
    worker_codes: set[str] | None = None
    rest_codes: set[str] | None = None
    rest_fields: dict[str, str] | None = None
    """Form fields for the REST door, when `fields` cannot be sent as JSON text as they are."""
    max_seconds: float = 30


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_object(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


def playlist(kind: str) -> bytes:
    url = "http://127.0.0.1:{port}"  # formatted with the recording server's port at run time
    return {
        "m3u": f"#EXTM3U\n#EXTINF:10,call\n{url}/sample.wav\n",
        "hls": f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{url}/seg.ts\n#EXT-X-ENDLIST\n",
        "pls": f"[playlist]\nFile1={url}/sample.wav\nTitle1=call\nNumberOfEntries=1\nVersion=2\n",
        "ffconcat": f"ffconcat version 1.0\nfile '{url}/sample.wav'\n",
        "sdp": "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio {port} RTP/AVP 0\n",
    }[kind].encode()


NOT_AUDIO = {"not_audio"}
DOOR_CODES = {"empty_audio", "not_audio", "audio_too_long", "too_large", "invalid_input", "url_not_allowed"}
"""Codes the REST app answers before it records a task."""
INVALID = {"invalid_input"}
HUGE_TRANSCRIPT = {"segments": [{"start": 0.0, "end": 1.0, "text": "a"}] * 100_001}

CASES: list[Case] = [
    # --- what is sent as the audio
    Case("zero bytes", {"empty_audio"}, audio=b""),
    Case("png magic", NOT_AUDIO, audio=PNG),
    Case("plain text", NOT_AUDIO, audio=b"hello, this is not a recording\n" * 20),
    Case("random bytes", NOT_AUDIO, audio=random.Random(7).randbytes(50_000)),
    Case(
        "mp3 cut to its first 300 bytes",
        {"not_audio", "empty_audio", "audio_too_short", OK},
        audio="mp3:300",
    ),
    Case("mp3 cut in half", {OK}, audio="mp3:half"),
    Case(
        "wav header claiming 10 hours",
        {"audio_too_long", "audio_too_short", "empty_audio", OK},
        audio=wav_claiming(16_000 * 2 * 36_000, 1000),
    ),
    Case(
        "wav header claiming 4 GiB",
        {"audio_too_long", "audio_too_short", "empty_audio", OK},
        audio=wav_claiming(0xFFFFFFC0, 1000),
    ),
    Case("10 hours of silence as a small flac", {"audio_too_long"}, audio="silence-10h.flac", max_seconds=10),
    Case("video without sound", NOT_AUDIO, audio="video.mp4"),
    Case("m3u playlist of a url", NOT_AUDIO, audio="playlist:m3u", filename="call.m3u"),
    Case("hls playlist of a url", NOT_AUDIO, audio="playlist:hls", filename="call.m3u8"),
    Case("pls playlist of a url", NOT_AUDIO, audio="playlist:pls", filename="call.pls"),
    Case("ffconcat list of a url", NOT_AUDIO, audio="playlist:ffconcat", filename="call.ffconcat"),
    Case("sdp session description", NOT_AUDIO, audio="playlist:sdp", filename="call.sdp"),
    Case("over the upload limit", {"too_large"}, audio=bytes((MAX_UPLOAD_MB + 1) * 2**20)),
    # --- file names: stored as names, never used as paths
    Case(
        "path traversal name", NOT_AUDIO, audio=PNG, filename="../../../../etc/passwd", stored_name="passwd"
    ),
    Case("absolute path name", NOT_AUDIO, audio=PNG, filename="{tmp}/pwned.wav", stored_name="pwned.wav"),
    Case(
        "windows path name", NOT_AUDIO, audio=PNG, filename="..\\..\\Windows\\win.ini", stored_name="win.ini"
    ),
    Case(
        "control characters in name",
        NOT_AUDIO,
        audio=PNG,
        filename="a\x00b\tc\x1b\x7f.wav",
        stored_name="abc.wav",
    ),
    Case("dot-dot name", NOT_AUDIO, audio=PNG, filename="..", stored_name=None),
    Case(
        "non-utf-8 name",
        NOT_AUDIO,
        audio=PNG,
        filename="bytes:\xff\xfe\xc3(.wav",
        stored_name="ÿþÃ(.wav",
        worker_codes=INVALID,
    ),
    # The worker refuses names over 4096 characters; the REST app's multipart parser refuses huge headers.
    Case(
        "10,000-character name",
        NOT_AUDIO,
        audio=PNG,
        filename="n" * 10_000,
        stored_name="n" * 255,
        worker_codes=INVALID,
        rest_codes=INVALID | NOT_AUDIO,
    ),
    Case("1,000-character name", NOT_AUDIO, audio=PNG, filename="n" * 1000, stored_name="n" * 255),
    # --- oversized and deeply nested JSON
    Case("10,000-deep nesting in a parameter group", INVALID, fields={"model_params": deep(10_000)}),
    Case(
        "10,000-deep object in a parameter group",
        INVALID,
        fields={"asr_options": deep_object(10_000)},
        rest_fields={"asr_options": '{"a":' * 10_000 + "{}" + "}" * 10_000},
    ),
    Case("10,000-deep transcript for align", INVALID, action="align", fields={"transcript": deep(10_000)}),
    Case(
        "10,000-deep transcript for combine",
        INVALID,
        action="combine",
        fields={"aligned_transcript": deep(10_000), "diarization_result": []},
    ),
    Case(
        "huge transcript for combine",
        INVALID,
        action="combine",
        fields={"aligned_transcript": HUGE_TRANSCRIPT, "diarization_result": []},
    ),
    Case("huge prompt", INVALID, fields={"asr_options": {"initial_prompt": "x" * 1_000_000}}),
    # --- wrong types
    Case("group that is not json", INVALID, fields={"model_params": "{fast"}),
    Case("group that is a list", INVALID, fields={"diarize_params": [1, 2]}, action="diarize"),
    Case("number as a string", INVALID, fields={"model_params": {"batch_size": "8"}}),
    Case(
        "boolean as a string",
        INVALID,
        action="speech_to_text",
        fields={"align_params": {"return_char_alignments": "yes"}},
    ),
    Case("language as a number", INVALID, fields={"model_params": {"language": 5}}),
    Case("unknown key in a group", INVALID, fields={"asr_options": {"beam": 5}}),
    # --- absurd parameters
    Case("batch size 10**9", INVALID, fields={"model_params": {"batch_size": 10**9}}),
    Case("beam size -1", INVALID, fields={"asr_options": {"beam_size": -1}}),
    Case("temperature 5", INVALID, fields={"asr_options": {"temperatures": [5]}}),
    Case("chunk size 10**6", INVALID, fields={"model_params": {"chunk_size": 10**6}}),
    Case("vad onset 2", INVALID, fields={"vad_options": {"vad_onset": 2.0}}),
    Case("unknown compute type", INVALID, fields={"model_params": {"compute_type": "int3"}}),
    Case("unknown device", INVALID, fields={"model_params": {"device": "tpu"}}),
    Case("unknown language code", INVALID, fields={"model_params": {"language": "xx"}}),
    Case(
        "min speakers over max",
        INVALID,
        action="diarize",
        fields={"diarize_params": {"min_speakers": 3, "max_speakers": 2}},
    ),
    Case("zero speakers", INVALID, action="diarize", fields={"diarize_params": {"num_speakers": 0}}),
    Case("unknown output format", INVALID, fields={"output_format": "docx"}),
    Case("absurd subtitle width", INVALID, fields={"subtitle_options": {"max_line_width": 10**9}}),
    Case(
        "non-english language for an english model",
        {"english_only_model"},
        fields={"model_params": {"language": "de"}},
        audio=clip_wav(),
    ),
]
ROUTES = {
    "transcribe": "/service/transcribe",
    "speech_to_text": "/speech-to-text",
    "diarize": "/service/diarize",
    "align": "/service/align",
    "combine": "/service/combine",
}


def audio_of(case: Case, env: Env) -> bytes:
    audio = case.audio
    if audio is None:
        return PNG  # validation must refuse before the audio is looked at; if not, this fails as not_audio
    if isinstance(audio, bytes):
        return audio
    if audio.startswith("playlist:"):
        return playlist(audio.split(":", 1)[1]).replace(b"{port}", str(env.server.port).encode())
    if audio.startswith("mp3:"):
        mp3 = env.files["mp3"]
        return mp3[:300] if audio == "mp3:300" else mp3[: len(mp3) // 2]
    return env.files[audio]


def name_of(case: Case, env: Env) -> str | None:
    if case.filename is None:
        return None
    return case.filename.replace("{tmp}", str(env.data_dir.parent))


def send_rest(case: Case, env: Env) -> tuple[int, dict[str, Any], str]:
    route = ROUTES[case.action]
    if case.action == "combine":
        body = {
            key: json.loads(value) if isinstance(value, str) and len(value) < 1000 else value
            for key, value in case.fields.items()
        }
        content = (
            json.dumps(body)
            if "deep" not in case.name
            else ('{"aligned_transcript": ' + deep(10_000) + ', "diarization_result": []}')
        )
        response = env.client.post(
            route, content=content, headers={"Content-Type": "application/json"}, params={"wait": "true"}
        )
    else:
        form = case.rest_fields or {
            k: v if isinstance(v, str) else json.dumps(v) for k, v in case.fields.items()
        }
        name = name_of(case, env) or "upload.bin"
        data = audio_of(case, env)
        if name.startswith("bytes:") or any(ord(c) < 32 for c in name):
            # Names that are not UTF-8 or hold control characters go as they are, in a hand-built body.
            raw_name = name.removeprefix("bytes:").encode("latin-1")
            boundary = b"reliability-boundary"
            body = (
                b"--"
                + boundary
                + b'\r\nContent-Disposition: form-data; name="file"; filename="'
                + raw_name
                + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
                + data
                + b"\r\n--"
                + boundary
                + b"--\r\n"
            )
            response = env.client.post(
                route,
                content=body,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"},
                params={"wait": "true"},
            )
        else:
            response = env.client.post(
                route,
                files={"file": (name, data, "application/octet-stream")},
                data=form,
                params={"wait": "true"},
            )
    text = response.text
    try:
        payload = response.json()
    except ValueError:
        raise AssertionError(f"not JSON (HTTP {response.status_code}): {text[:300]}") from None
    return response.status_code, payload, text


def send_worker(case: Case, env: Env) -> dict[str, Any]:
    job: dict[str, Any] = {"action": case.action, **case.fields}
    if case.action != "combine":
        job["file"] = data_uri(audio_of(case, env))
    name = name_of(case, env)
    if name is not None:
        job["filename"] = (
            name.removeprefix("bytes:").encode("latin-1").decode("utf-8", "surrogateescape")
            if name.startswith("bytes:")
            else name
        )
    return handler({"input": job})


def assert_settled(env: Env) -> None:
    assert scratch_files(env.data_dir) == [], "a temporary file was left behind"
    for status in ("queued", "processing"):
        assert env.client.get("/task/all", params={"status": status}).json()["total"] == 0


@pytest.mark.parametrize("door", ["rest", "worker"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_fails_cleanly(env: Env, case: Case, door: str) -> None:
    if door not in case.doors:
        pytest.skip(f"not a {door} input")
    env.server.hits.clear()
    started = time.monotonic()
    identifier = None
    if door == "rest":
        tasks_before = env.client.get("/task/all").json()["total"]
        status, payload, text = send_rest(case, env)
        assert status < 500, f"HTTP {status}: {text[:500]}"
        if status == 200:
            assert OK in case.codes, f"unexpected success: {text[:300]}"
        else:
            code = payload["error"]["code"]
            assert code in (case.rest_codes or case.codes), (
                f"HTTP {status} {code}: {payload['error']['message']}"
            )
            details = payload["error"].get("details")
            identifier = details.get("identifier") if isinstance(details, dict) else None
            if code in DOOR_CODES:
                assert identifier is None, "refused after a task was recorded, not at the door"
                assert env.client.get("/task/all").json()["total"] == tasks_before
    else:
        response = handler_response = send_worker(case, env)
        text = json.dumps(response)
        if "error" in response:
            assert set(handler_response) == {"error"}, response
            body = json.loads(response["error"])
            assert body["code"] in (case.worker_codes or case.codes), body
            identifier = body.get("identifier")
        else:
            assert OK in case.codes, f"unexpected success: {text[:300]}"
    assert time.monotonic() - started < case.max_seconds, "a bad input must fail fast"
    assert_no_traceback(text)
    assert "Traceback" not in text
    assert env.server.hits == [], "the service fetched a URL found inside an uploaded file"
    assert_settled(env)

    if case.stored_name != "-" and identifier is not None:
        task = env.client.get(f"/task/{identifier}").json()
        assert task["file_name"] == case.stored_name, task["file_name"]
    if case.filename and "{tmp}" in case.filename:
        assert not (env.data_dir.parent / "pwned.wav").exists()


def test_the_silent_flac_is_small(env: Env) -> None:
    assert len(env.files["silence-10h.flac"]) < 1_000_000


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/speech-to-text", {}, 422),
        (
            "post",
            "/service/combine",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            422,
        ),
        (
            "post",
            "/service/combine",
            {"content": b"[]", "headers": {"Content-Type": "application/json"}},
            422,
        ),
        (
            "post",
            "/speech-to-text-url",
            {"data": {"url": "file:///etc/passwd"}, "params": {"wait": "true"}},
            400,
        ),
        ("get", "/task/all", {"params": {"page_size": 10**9}}, 422),
        ("get", "/task/all", {"params": {"status": "exploded"}}, 422),
        ("get", "/task/..%2F..%2Fetc%2Fpasswd", {}, 404),
        ("get", "/task/x/result", {"params": {"format": "exe"}}, 422),
        (
            "post",
            "/service/transcribe",
            {"files": {"file": ("a.wav", b"x" * ((MAX_UPLOAD_MB + 2) * 2**20))}},
            413,
        ),
    ],
)
def test_bad_requests_to_the_rest_app(env: Env, method: str, path: str, kwargs: dict, status: int) -> None:
    response = getattr(env.client, method)(path, **kwargs)
    assert response.status_code == status, response.text[:300]
    # whisperX-FastAPI's routes add FastAPI's `detail` beside our error.
    assert set(response.json()) <= {"error", "detail"} and response.json()["error"]["code"]
    assert_no_traceback(response.text)
    assert_settled(env)
