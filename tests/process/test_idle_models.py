"""The idle model unloader: a model no request uses for `MODEL_IDLE_UNLOAD_SECONDS` is released, loads again on
the next request, and is never taken from a stage that runs longer than that."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.config import get_settings
from app.ml.registry import ModelRegistry
from app.process.health import health_report
from app.process.idle_models import IDLE_MODELS, IdleModelUnloader
from app.process.lifecycle import start_service
from app.runtime import stop_runtime

IDLE = 0.3  # seconds: the unloader checks every IDLE / 4


def loader(loads: list[str]) -> Callable[[], object]:
    def load() -> object:
        loads.append("a")
        return object()

    return load


def eventually(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def unloader() -> Iterator[tuple[IdleModelUnloader, ModelRegistry]]:
    registry = ModelRegistry()
    running = IdleModelUnloader(IDLE, registry)
    yield running, registry
    running.stop()


def test_an_idle_model_is_released_after_its_time_and_loads_again_on_demand(
    unloader: tuple[IdleModelUnloader, ModelRegistry], caplog: pytest.LogCaptureFixture
) -> None:
    _, registry = unloader
    loads: list[str] = []
    caplog.set_level(logging.INFO, logger="app.ml.registry")
    registry.get(("whisper", "a"), loader(loads))
    loaded_at = time.monotonic()
    assert eventually(lambda: registry.loaded() == [])
    assert time.monotonic() - loaded_at > IDLE, "not before its idle time"
    assert eventually(
        lambda: any(r.getMessage().startswith("released idle model whisper:a after") for r in caplog.records)
    )
    registry.get(("whisper", "a"), loader(loads))
    assert registry.loaded() == ["whisper:a"] and loads == ["a", "a"]


def test_a_stage_longer_than_the_idle_time_keeps_its_model(
    unloader: tuple[IdleModelUnloader, ModelRegistry],
) -> None:
    _, registry = unloader
    in_stage, release = threading.Event(), threading.Event()

    def stage() -> None:
        with registry.device("cpu"):
            registry.get(("align", "en"), loader([]))
            in_stage.set()
            release.wait(10)

    worker = threading.Thread(target=stage)
    worker.start()
    assert in_stage.wait(10)
    time.sleep(4 * IDLE)  # many of the unloader's checks
    assert registry.loaded() == ["align:en"]
    release.set()
    worker.join(10)
    assert eventually(lambda: registry.loaded() == [])


def test_the_service_starts_the_unloader_only_when_the_setting_is_set(
    service_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = ModelRegistry()
    monkeypatch.setattr("app.process.idle_models.registry", registry)
    monkeypatch.setattr("app.process.health.registry", registry)
    runtime = start_service()
    assert IDLE_MODELS not in runtime.background, "off by default"
    stop_runtime()
    monkeypatch.setenv("MODEL_IDLE_UNLOAD_SECONDS", str(IDLE))
    get_settings.cache_clear()
    runtime = start_service()
    assert isinstance(runtime.background[IDLE_MODELS], IdleModelUnloader)
    registry.get(("whisper", "a"), loader([]))
    runtime.models = "loaded"  # as after loading the configured models at start
    runtime.settings = runtime.settings.model_copy(update={"preload_models": True})
    assert eventually(lambda: registry.loaded() == [])
    report = health_report(runtime)
    assert report.models_loaded == [] and report.ready, "models released for idling load again on demand"
