"""Audio from what a client sends: a data URI, plain base64, an http(s) URL, or an uploaded file."""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath

from app.audio.decode import Audio, decode_audio
from app.audio.fetch import fetch_url, probe_url
from app.config import Settings
from app.errors import ServiceError

DATA_URI = re.compile(
    r"^data:(?P<media>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,", re.I
)


URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,15}://", re.I)


def is_url(source: str) -> bool:
    """Whether `source` names a URL (of any scheme: the fetcher refuses all but http and https)."""
    return bool(URL_SCHEME.match(source))


def safe_file_name(name: str | None) -> str | None:
    """A file name fit for display and storage: no folders, no control characters, at most 255 characters."""
    if not name:
        return None
    base = PureWindowsPath(PurePosixPath(name).name).name
    cleaned = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip(" .")
    return cleaned[:255] or None


def decode_base64_audio(source: str, *, max_bytes: int, field: str = "`file`") -> bytes:
    """The bytes of a data URI or plain base64 string, within `max_bytes`."""
    match = DATA_URI.match(source)
    if match:
        if not match.group("b64"):
            raise ServiceError(
                "invalid_input", "Only base64 data URIs are accepted (`data:audio/...;base64,...`)."
            )
        source = source[match.end() :]
    payload = "".join(source.split())
    if len(payload) * 3 // 4 > max_bytes:
        raise ServiceError("too_large", f"The file is larger than the limit of {max_bytes // 2**20} MiB.")
    try:
        data = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(
            "invalid_input", f"{field} is neither an http(s) URL nor valid base64 (plain or a data URI)."
        ) from None
    if not data:
        raise ServiceError("empty_audio", "The file is empty.")
    return data


@contextmanager
def scratch_dir(settings: Settings) -> Iterator[Path]:
    """A private temporary folder under the data dir, removed afterwards whatever happens."""
    root = settings.data_dir / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as folder:
        yield Path(folder)


def load_audio_source(
    source: str,
    *,
    settings: Settings,
    max_seconds: float | None = None,
    field: str = "`file`",
    max_channels: int | None = None,
) -> Audio:
    """Decode the audio a `file` or `url` field names (each channel too, with `max_channels`: `decode_audio`);
    temporary files are gone when this returns."""
    if not isinstance(source, str) or not source.strip():
        raise ServiceError(
            "invalid_input", f"{field} must be a non-empty string: a data URI, base64 or a URL."
        )
    max_bytes = int(settings.limits.max_upload_mb * 2**20)
    with scratch_dir(settings) as folder:
        path = folder / "input"
        if is_url(source.strip()):
            fetch_url(source.strip(), path, settings=settings.fetch, max_bytes=max_bytes)
        else:
            path.write_bytes(decode_base64_audio(source, max_bytes=max_bytes, field=field))
        return decode_audio(
            path, max_seconds=max_seconds or settings.limits.max_audio_seconds, max_channels=max_channels
        )


REFERENCE_SECONDS = (2.0, 10.0)
"""How long a known speaker's reference clip may be (OpenAI's bounds): long enough to hold a voice."""
KNOWN_SPEAKERS_FIELD = "diarize_params.known_speakers"
# Refusals that keep their own code: a reference URL is held to the same rules as any other.
URL_POLICY_CODES = ("url_not_allowed", "download_failed")


def load_reference_clip(name: str, source: str, *, settings: Settings) -> Audio:
    """A known speaker's reference clip, decoded like any audio and 2 to 10 s long; a clip that is not audio,
    too short or too long is `invalid_input` naming its speaker."""
    shortest, longest = REFERENCE_SECONDS
    try:
        audio = load_audio_source(source, settings=settings, max_seconds=longest, field="The reference")
    except ServiceError as error:
        code = error.code if error.code in URL_POLICY_CODES else "invalid_input"
        raise _reference_refused(name, code, error.message) from None
    if audio.duration < shortest:
        message = f"The reference is {audio.duration:.2f} s long; the least is {shortest:.0f} s."
        raise _reference_refused(name, "invalid_input", message)
    return audio


def check_reference_clips(references: dict[str, str], *, settings: Settings) -> None:
    """Refuse, before a task is recorded, what `load_reference_clip` would: inline clips are decoded (they are
    short), URLs checked against the downloader's rules and fetched up to their headers."""
    for name, source in references.items():
        if is_url(source.strip()):
            try:
                probe_url(source.strip(), settings.fetch)
            except ServiceError as error:
                raise _reference_refused(name, error.code, error.message) from None
        else:
            load_reference_clip(name, source, settings=settings)


def _reference_refused(name: str, code: str, message: str) -> ServiceError:
    message = f"Known speaker {name!r}: {message}"
    return ServiceError(code, message, details=[{"field": KNOWN_SPEAKERS_FIELD, "message": message}])
