"""Compile requirements*.txt into hashed locks of exact versions (`make lock`).

Each lock records a digest of the requirement lines it was compiled from, so a test can tell when a
requirements file changed and its lock was not regenerated. Extra arguments go to `uv pip compile`
(`--upgrade-package fastapi`, `--upgrade`). Existing pins are kept unless a requirement forces a change.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# lock -> the file it is compiled from; the test lock is constrained to the runtime lock's versions, so the
# stack the tests run is the stack the images ship.
LOCKS = {"requirements.lock": "requirements.txt", "requirements-test.lock": "requirements-test.txt"}
# What CI and both images run.
TARGET = ["--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28"]
DIGEST_PREFIX = "# requirements digest: "
UV = os.environ.get("UV") or str(Path(sys.executable).with_name("uv"))


def requirement_lines(source: Path) -> list[str]:
    """The requirement lines of `source` and of the files it includes with `-r`, comments and blanks dropped."""
    lines = []
    for raw in source.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r "):
            lines += requirement_lines(source.parent / line[3:].strip())
        else:
            lines.append(line)
    return lines


def requirements_digest(source: Path) -> str:
    return hashlib.sha256("\n".join(requirement_lines(source)).encode()).hexdigest()


def compile_lock(lock: str, source: str, extra: list[str]) -> None:
    constraints = ["--constraint", "requirements.lock"] if lock != "requirements.lock" else []
    command = [UV, "pip", "compile", source, "--output-file", lock]
    command += ["--generate-hashes", "--annotation-style", "line", "--custom-compile-command", "make lock"]
    subprocess.run([*command, *TARGET, *constraints, "--quiet", *extra], cwd=ROOT, check=True)
    path = ROOT / lock
    text = [line for line in path.read_text().splitlines() if not line.startswith(DIGEST_PREFIX)]
    text.insert(2, DIGEST_PREFIX + requirements_digest(ROOT / source))
    path.write_text("\n".join(text) + "\n")


def main() -> None:
    for lock, source in LOCKS.items():
        compile_lock(lock, source, sys.argv[1:])
        print(f"{lock} <- {source}")


if __name__ == "__main__":
    main()
