"""The model registry: each model loaded once, and a capped family unloads its least recently used idle model."""

from __future__ import annotations

import threading

from app.ml.registry import ModelRegistry


def loader(name: str, loads: list[str]) -> object:
    def load() -> object:
        loads.append(name)
        return object()

    return load


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
