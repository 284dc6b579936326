"""PyAV opens only audio and video containers, and the probe refuses from the header alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.audio import decode
from app.audio.decode import decode_audio, probe_audio
from app.errors import ServiceError
from tests.reliability.helpers import clip_wav, flac_claiming

# Containers users send, each with a codec FFmpeg encodes here: (file name, ffmpeg output options).
CONTAINERS = [
    ("a.flac", ""),
    ("a.mp3", "-c:a libmp3lame"),
    ("a.ogg", "-c:a libvorbis"),
    ("a.opus", "-c:a libopus"),
    ("a.m4a", "-c:a aac"),
    ("a.mov", "-c:a aac"),
    ("a.3gp", "-c:a aac"),
    ("a.webm", "-c:a libopus"),
    ("a.mka", "-c:a flac"),
    ("a.aiff", ""),
    ("a.caf", ""),
    ("a.ts", "-c:a aac"),
    ("a.aac", ""),
    ("a.wma", ""),
    ("a.wv", ""),
]


def ffmpeg(source: Path, output: Path, options: str = "") -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), *options.split(), str(output)], check=True
    )
    return output


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.wav"
    path.write_bytes(clip_wav(2.0))
    return path


@pytest.mark.parametrize(("name", "options"), CONTAINERS, ids=[name for name, _ in CONTAINERS])
def test_audio_containers_open(clip: Path, tmp_path: Path, name: str, options: str) -> None:
    path = ffmpeg(clip, tmp_path / name, options)
    assert probe_audio(path, max_seconds=60) == pytest.approx(2.0, abs=0.15)
    assert decode_audio(path, max_seconds=60).duration == pytest.approx(2.0, abs=0.15)


def test_video_with_sound_opens(clip: Path, tmp_path: Path) -> None:
    video = tmp_path / "talk.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=32x32:rate=5:duration=2"]
        + ["-i", str(clip), "-c:v", "mpeg4", "-c:a", "aac", "-shortest", str(video)],
        check=True,
    )
    assert decode_audio(video, max_seconds=60).duration == pytest.approx(2.0, abs=0.15)


def lists_naming(target: str) -> dict[str, str]:
    """Files whose demuxers open other files: FFmpeg would read `target` through each of them."""
    return {
        "list.ffconcat": f"ffconcat version 1.0\nfile '{target}'\n",
        "list.m3u8": f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{target}\n#EXT-X-ENDLIST\n",
        "list.sdp": "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 9 RTP/AVP 0\n",
    }


@pytest.mark.parametrize("name", list(lists_naming("")))
def test_lists_of_other_files_are_not_audio(clip: Path, name: str) -> None:
    # The concat list sits beside a real recording it names by a relative path, which FFmpeg's concat demuxer
    # accepts in its safe mode: only the demuxer allow-list keeps it from reading that file.
    listing = clip.parent / name
    listing.write_text(lists_naming(clip.name)[name])
    with pytest.raises(ServiceError) as refused:
        decode_audio(listing, max_seconds=60)
    assert refused.value.code == "not_audio"


def test_images_and_text_are_not_audio(tmp_path: Path) -> None:
    image = tmp_path / "frame.png"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=32x32",
            "-frames:v",
            "1",
            str(image),
        ],
        check=True,
    )
    text = tmp_path / "notes.txt"
    text.write_text("Meeting notes\n" * 50)
    for path in (image, text):
        with pytest.raises(ServiceError) as refused:
            probe_audio(path, max_seconds=60)
        assert refused.value.code == "not_audio"


def test_the_probe_refuses_from_the_header(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(ServiceError) as refused:
        probe_audio(empty, max_seconds=60)
    assert refused.value.code == "empty_audio"

    declared = tmp_path / "ten-hours.flac"
    declared.write_bytes(flac_claiming(36_000))  # 42 bytes, no audio frames at all
    with pytest.raises(ServiceError) as refused:
        probe_audio(declared, max_seconds=4 * 3600)
    assert refused.value.code == "audio_too_long"
    assert probe_audio(declared, max_seconds=11 * 3600) == pytest.approx(36_000)


def bytes_read() -> int:
    """Bytes this process has read through read() calls so far (Linux `/proc/self/io`)."""
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"])


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io")
def test_the_probe_reads_the_header_not_the_whole_file(tmp_path: Path) -> None:
    long_wav = tmp_path / "long.wav"
    sf.write(long_wav, [0.0] * (16_000 * 1200), 16_000, subtype="PCM_16")  # 20 minutes, 38 MB
    size = long_wav.stat().st_size
    before = bytes_read()
    assert probe_audio(long_wav, max_seconds=3600) == pytest.approx(1200)
    assert bytes_read() - before < size / 20


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
def test_a_plain_16khz_wav_is_read_to_the_samples_ffmpeg_decodes(
    clip: Path, tmp_path: Path, subtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    speech = decode_audio(clip, max_seconds=60).samples
    plain = tmp_path / f"plain-{subtype}.wav"
    sf.write(plain, speech, 16_000, subtype=subtype)
    reads: list[object] = []
    read_by_libsndfile = sf.read
    monkeypatch.setattr(sf, "read", lambda *a, **k: reads.append(a) or read_by_libsndfile(*a, **k))
    read = decode_audio(plain, max_seconds=60).samples
    assert len(reads) == 1  # libsndfile read it
    monkeypatch.setattr(decode, "PLAIN_PCM_CODECS", frozenset())  # FFmpeg's decoder and resampler
    decoded = decode_audio(plain, max_seconds=60).samples
    assert read.dtype == decoded.dtype == np.float32
    np.testing.assert_array_equal(read, decoded)
    with pytest.raises(ServiceError) as refused:
        decode_audio(plain, max_seconds=1.0)
    assert refused.value.code == "audio_too_long"


def test_a_wav_libsndfile_cannot_read_is_decoded_by_ffmpeg(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(*_args: object, **_kwargs: object) -> None:
        raise sf.LibsndfileError(1, "unreadable: ")

    plain = tmp_path / "plain.wav"
    sf.write(plain, np.zeros(16_000, np.float32), 16_000, subtype="PCM_16")
    monkeypatch.setattr(sf, "read", unreadable)
    assert decode_audio(plain, max_seconds=60).duration == pytest.approx(1.0)
