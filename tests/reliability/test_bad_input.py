"""A corpus of bad input, each case through both front doors (the REST app and `handler(job)`): every one ends in
a clean 4xx or error code, never a 500 or traceback text, nothing is fetched from URLs inside files, file names
are stored as names only, and no temporary file is left behind."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.main import create_app
from app.runtime import stop_runtime
from handler import handler
from tests.reliability.bad_input_corpus import CASES, DOOR_CODES, MAX_UPLOAD_MB, OK, Case, deep, playlist
from tests.reliability.helpers import (
    PNG,
    Recorder,
    assert_no_traceback,
    clip_wav,
    data_uri,
    recording_server,
    scratch_files,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(120)]


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
