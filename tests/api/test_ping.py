"""RunPod load-balancing mode: `python -m app` serves on PORT and answers `/ping` on PORT_HEALTH."""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.servers import ROOT, free_port, process_env

pytestmark = pytest.mark.server  # starts a server or worker process: left out of `make check`


@contextmanager
def serving(env: dict[str, str]) -> Iterator[Path]:
    """`python -m app` until the block ends; yields its log file."""
    log = Path(env["DATA_DIR"]) / "process.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        yield log
    finally:
        process.terminate()
        process.wait(timeout=30)


def ping_until(port: str, final: int, timeout: float = 420) -> list[int]:
    """Poll `/ping` until it answers `final`: the distinct statuses seen, in order (connection refused skipped)."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while (not seen or seen[-1] != final) and time.monotonic() < deadline:
        try:
            status = httpx.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code
            if not seen or seen[-1] != status:
                seen.append(status)
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return seen


@pytest.mark.slow
def test_ping_answers_204_while_models_load_then_200_on_both_ports(tmp_path: Path) -> None:
    port, port_health = str(free_port()), str(free_port())
    env = process_env(tmp_path, PRELOAD_MODELS="true", PORT=port, PORT_HEALTH=port_health)
    with serving(env) as log:
        seen = ping_until(port_health, 200)
        assert seen == [204, 200], f"/ping answered {seen}: {log.read_text(errors='replace')[-3000:]}"
        assert httpx.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
        assert ready.status_code == 200 and ready.json()["models_loaded"]
        # The health port answers the probe only, not the API.
        assert httpx.get(f"http://127.0.0.1:{port_health}/health", timeout=5).status_code == 404


@pytest.mark.slow
def test_ping_answers_503_when_the_models_cannot_load(tmp_path: Path) -> None:
    port = str(free_port())
    env = process_env(
        tmp_path, PRELOAD_MODELS="true", WHISPER_MODEL="no-such-model", PORT=port, HF_HUB_OFFLINE="1"
    )
    with serving(env) as log:
        seen = ping_until(port, 503)
        assert seen[-1:] == [503], f"/ping answered {seen}: {log.read_text(errors='replace')[-3000:]}"
        assert httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5).status_code == 503
        assert httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=5).status_code == 200
