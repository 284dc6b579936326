"""The model registry: each model loaded once, a capped family unloads its least recently used idle model, and
models idle too long are released and load again on the next request."""

from __future__ import annotations

import sys
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import pytest

from app.ml.registry import ModelRegistry


class FakeModel:
    """Stands for a model: an object whose release can be watched with a weak reference."""


def loader(name: str, loads: list[str]) -> Callable[[], FakeModel]:
    def load() -> FakeModel:
        loads.append(name)
        return FakeModel()

    return load


IDLE = 0.5  # seconds: long enough to tell a model just used from one left idle, short enough for a unit test


def test_a_model_loads_once_and_is_shared() -> None:
    registry, loads = ModelRegistry(), []
    first = registry.get(("whisper", "a"), loader("a", loads))
    assert registry.get(("whisper", "a"), loader("a", loads)) is first
    assert loads == ["a"]


def test_the_least_recently_used_model_is_unloaded_to_make_room() -> None:
    registry, loads = ModelRegistry(), []
    registry.limit("whisper", 2)
    registry.get(("whisper", "a"), loader("a", loads))
    registry.get(("whisper", "b"), loader("b", loads))
    registry.get(("whisper", "a"), loader("a", loads))  # a is now the most recently used
    registry.get(("whisper", "c"), loader("c", loads))
    assert registry.loaded() == ["whisper:a", "whisper:c"]
    registry.get(("align", "en"), loader("en", loads))  # other families are not counted
    assert registry.loaded() == ["whisper:a", "whisper:c", "align:en"]
    assert loads == ["a", "b", "c", "en"]


def test_a_model_in_use_by_a_stage_is_never_unloaded() -> None:
    registry, loads = ModelRegistry(), []
    registry.limit("whisper", 1)
    in_stage, release = threading.Event(), threading.Event()

    def stage() -> None:
        with registry.device("cpu"):
            registry.get(("whisper", "a"), loader("a", loads))
            in_stage.set()
            release.wait(10)

    worker = threading.Thread(target=stage)
    worker.start()
    assert in_stage.wait(10)
    registry.get(("whisper", "b"), loader("b", loads))  # over the limit for now: a is in use
    assert registry.loaded() == ["whisper:a", "whisper:b"]
    release.set()
    worker.join(10)
    registry.get(("whisper", "c"), loader("c", loads))  # a is idle again, and the least recently used
    assert registry.loaded() == ["whisper:c"]
    assert loads == ["a", "b", "c"]


def test_an_idle_model_is_released_and_loads_again_on_the_next_get() -> None:
    registry, loads = ModelRegistry(), []
    first = weakref.ref(registry.get(("whisper", "a"), loader("a", loads)))
    time.sleep(2 * IDLE)
    registry.get(("align", "en"), loader("en", loads))  # just used: stays
    assert registry.release_idle(IDLE) == ["whisper:a"]
    assert registry.loaded() == ["align:en"]
    assert first() is None, "the registry held the last reference: the released model is gone"
    registry.get(("whisper", "a"), loader("a", loads))
    assert registry.loaded() == ["align:en", "whisper:a"] and loads == ["a", "en", "a"]


@pytest.mark.parametrize("stage", ["device", "holding"])
def test_a_model_in_use_by_a_stage_is_not_released_however_long_the_stage_runs(stage: str) -> None:
    registry, loads = ModelRegistry(), []
    in_stage, release = threading.Event(), threading.Event()

    def running_stage() -> None:
        held: AbstractContextManager[None] = (
            registry.device("cpu") if stage == "device" else registry.holding()
        )
        with held:
            registry.get(("diarize", "embedded", "cpu"), loader("diarizer", loads))
            in_stage.set()
            release.wait(10)

    worker = threading.Thread(target=running_stage)
    worker.start()
    assert in_stage.wait(10)
    time.sleep(2 * IDLE)
    assert registry.release_idle(IDLE) == []
    assert [model.idle_seconds for model in registry.loaded_models()] == [0.0]
    release.set()
    worker.join(10)
    assert registry.release_idle(IDLE) == [], "idle time counts from the end of the stage that held it"
    time.sleep(2 * IDLE)
    assert registry.release_idle(IDLE) == ["diarize:embedded:cpu"]
    assert loads == ["diarizer"]


def test_loaded_models_say_when_each_was_loaded_and_how_long_it_has_idled() -> None:
    registry = ModelRegistry()
    before = datetime.now(UTC)
    registry.get(("whisper", "a"), loader("a", []))
    after = datetime.now(UTC)
    time.sleep(IDLE)
    (model,) = registry.loaded_models()
    assert (model.name, model.family) == ("whisper:a", "whisper")
    assert before <= model.loaded_at <= after and model.loaded_at.tzinfo is not None
    assert IDLE <= model.idle_seconds < 10 * IDLE
    assert model.load_seconds >= 0
    registry.get(("whisper", "a"), loader("a", []))
    assert registry.loaded_models()[0].idle_seconds < IDLE, "each get counts as a use"
    assert registry.loaded_models()[0].loaded_at == model.loaded_at, "reused, not loaded again"


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """torch as imported with a GPU visible, recording what is asked of its CUDA allocator."""
    calls: list[str] = []
    cuda = types.SimpleNamespace(is_available=lambda: True, empty_cache=lambda: calls.append("empty_cache"))
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    yield calls


def test_releasing_idle_models_hands_cached_gpu_memory_back(fake_cuda: list[str]) -> None:
    registry = ModelRegistry()
    registry.get(("segmentation", "cuda"), loader("vad", []))
    assert registry.release_idle(IDLE) == [] and fake_cuda == [], "nothing released, nothing to hand back"
    time.sleep(2 * IDLE)
    assert registry.release_idle(IDLE) == ["segmentation:cuda"]
    assert fake_cuda == ["empty_cache"]


KEPT_ERRORS: list[BaseException] = []


def test_a_released_model_is_freed_even_when_its_loader_left_a_traceback_behind() -> None:
    # Some libraries keep an import error for later (optuna does, for redis), and with it the traceback whose
    # frames reach up to the registry's: none of those frames may hold the model once it is released.
    def load() -> FakeModel:
        try:
            raise ImportError("an optional dependency is missing")
        except ImportError as error:
            KEPT_ERRORS.append(error)
        return FakeModel()

    registry = ModelRegistry()
    try:
        model = weakref.ref(registry.get(("whisper", "a"), load))
        time.sleep(2 * IDLE)
        assert registry.release_idle(IDLE) == ["whisper:a"]
        assert model() is None
    finally:
        KEPT_ERRORS.clear()


@pytest.mark.slow
def test_a_real_whisper_model_is_released_and_loaded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.ml import transcription

    registry = ModelRegistry()
    monkeypatch.setattr(transcription, "registry", registry)
    spec = transcription.WhisperSpec("tiny.en", "cpu", 0, "int8", 2)
    first = weakref.ref(transcription.load_whisper(spec))
    time.sleep(2 * IDLE)
    assert registry.release_idle(IDLE) == ["whisper:tiny.en:cpu:0:int8"]
    assert first() is None and registry.loaded() == [], "nothing keeps the released model in memory"
    again = transcription.load_whisper(spec)
    assert registry.loaded() == ["whisper:tiny.en:cpu:0:int8"]
    assert again.model.model_is_loaded and again.model.is_multilingual is False
