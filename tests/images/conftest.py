"""Fixtures for the image tests (`make test-images`): containers of the images built by scripts/test-images.sh,
on the host's network, removed afterwards."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

DOCKER = os.environ.get("DOCKER", "docker")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/images/" in item.nodeid:
            item.add_marker(pytest.mark.images)


def docker(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """`docker *args`, failing the test with its output when it fails."""
    result = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"docker {' '.join(args[:4])} … exited {result.returncode}: {result.stderr[-3000:]}"
    )
    return result


def image(variable: str) -> str:
    name = os.environ.get(variable)
    if not name:
        pytest.fail(f"{variable} names the image to test: run `make test-images`")
    docker("image", "inspect", name)
    return name


@contextmanager
def container(
    image_name: str, *args: str, env: dict[str, str] | None = None, volume: str | None = None
) -> Iterator[str]:
    """A detached container of `image_name` on the host's network until the block ends; yields its name."""
    name = f"whisperx-test-{uuid.uuid4().hex[:8]}"
    options = [f"--env={key}={value}" for key, value in (env or {}).items()]
    options += [f"--volume={volume}:/data"] if volume else []
    docker("run", "--detach", "--name", name, "--network", "host", *options, image_name, *args)
    try:
        yield name
    finally:
        subprocess.run([DOCKER, "rm", "--force", name], capture_output=True)


def logs(name: str) -> str:
    result = subprocess.run([DOCKER, "logs", name], capture_output=True, text=True)
    return (result.stdout + result.stderr)[-4000:]


def wait_until_answered(name: str, url: str, ready: int | None = 200, timeout: float = 300) -> None:
    """Poll `url` until it answers `ready` (any status when None), failing early with the container's logs when
    it stops."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = subprocess.run(
            [DOCKER, "inspect", "-f", "{{.State.Running}}", name], capture_output=True, text=True
        )
        if state.stdout.strip() != "true":
            pytest.fail(f"container {name} stopped:\n{logs(name)}")
        try:
            status = httpx.get(url, timeout=3).status_code
            if ready is None or status == ready:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    pytest.fail(f"{url} did not answer {ready} in {timeout} s:\n{logs(name)}")
