"""The corpus of bad input replayed through both front doors by `test_bad_input.py`."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from tests.reliability.helpers import PNG, clip_wav, wav_claiming

MAX_UPLOAD_MB = 8
OK = "ok"  # a case that may also succeed (e.g. a truncated but still decodable mp3)


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
