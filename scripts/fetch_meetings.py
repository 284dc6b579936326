"""Real meeting excerpts for the tests and benches: the fourteen 30 s excerpts of the AMI Meeting Corpus (CC BY 4.0)
with their who-spoke-when (RTTM), in pyannote.audio's source release (MIT), which its wheel leaves out.

The source release is fetched from PyPI as pinned here and checked against its hash; only the excerpts are kept,
in `<venv>/share/ami-excerpts` (`tests.real_speech.MEETINGS`). `make install` runs it; a second run does nothing.

    .venv/bin/python scripts/fetch_meetings.py
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import ssl
import sys
import tarfile
import time
import unicodedata
import urllib.request
from pathlib import Path

RELEASE = (
    "https://files.pythonhosted.org/packages/6d/d7/03b1d00d431c7be1d98635fefb99c2da64d9b84b4b8a06d5302666a96c88/"
    "pyannote_audio-4.0.7.tar.gz"
)
SHA256 = "3a903dfb5ca711d134cc2522561c9158b186836f5d62e8a57c46c6648e8a8229"
FOLDER = "pyannote_audio-4.0.7/tests/data/"
KEPT = (".wav", ".rttm", ".lst")
DESTINATION = Path(sys.prefix) / "share" / "ami-excerpts"


def ascii_name(name: str) -> str:
    """The release names one excerpt `trñ00.wav` (to test Unicode paths); its RTTM calls it `trn00`."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def download(url: str, attempts: int = 3) -> bytes:
    for attempt in range(1, attempts + 1):
        try:
            # The certificates pip is told to trust (PIP_CERT), where a proxy of the registries needs them.
            context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
            with urllib.request.urlopen(url, timeout=180, context=context) as response:
                return bytes(response.read())
        except OSError as error:
            if attempt == attempts:
                sys.exit(f"{url}: {error}")
            print(f"{url}: {error}; trying again", file=sys.stderr)
            time.sleep(5 * attempt)
    raise AssertionError("unreachable")


def main() -> None:
    if (DESTINATION / "debug.test.rttm").exists():
        return
    release = download(RELEASE)
    digest = hashlib.sha256(release).hexdigest()
    if digest != SHA256:
        sys.exit(f"{RELEASE}: sha256 {digest}, expected {SHA256}")
    partial = DESTINATION.with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(release)) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix(FOLDER)
            if member.isfile() and name != member.name and "/" not in name and name.endswith(KEPT):
                source = archive.extractfile(member)
                assert source is not None
                (partial / ascii_name(name)).write_bytes(source.read())
    partial.rename(DESTINATION)
    print(f"AMI excerpts in {DESTINATION}")


if __name__ == "__main__":
    main()
