"""One registry of loaded models per process."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from app.ml.devices import free_memory

log = logging.getLogger(__name__)

Model = TypeVar("Model")


def _kind(key: Hashable) -> Hashable:
    """A key's family (`"whisper"`, `"align"`, …): its first part."""
    return key[0] if isinstance(key, tuple) and key else key


@dataclass(frozen=True)
class LoadedModel:
    """One model in memory, as health and metrics show it."""

    name: str
    """Its readable key (`whisper:tiny.en:cpu:0:int8`)."""
    family: str
    """The key's first part: `whisper`, `align`, `segmentation`, `diarize`."""
    loaded_at: datetime
    """When it was loaded (UTC)."""
    idle_seconds: float
    """Seconds since it was last got or a stage holding it ended; 0 while a stage holds it."""
    load_seconds: float
    """How long loading it took."""


class ModelRegistry:
    """Loads each model once (keyed by what makes it different), shares it, and serialises work per device.

    A family of models may be capped (`limit`): loading one more first unloads the least recently used model
    of that family that no stage is using. A model is in use from the moment a stage (`device` or `holding`)
    gets it until that stage ends; `release_idle` unloads the models no stage has used for a while.
    """

    def __init__(self) -> None:
        self._models: OrderedDict[Hashable, Any] = OrderedDict()
        self._loading: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self._device_locks: dict[str, threading.Lock] = {}
        self._limits: dict[Hashable, int] = {}
        self._in_use: Counter[Hashable] = Counter()
        self._stage = threading.local()
        self._load_seconds: dict[Hashable, float] = {}
        self._loaded_at: dict[Hashable, datetime] = {}
        self._last_used: dict[Hashable, float] = {}  # time.monotonic() of the last get, or of its stage's end

    def limit(self, kind: Hashable, count: int | None) -> None:
        """Keep at most `count` models of `kind` loaded (None: no bound)."""
        with self._lock:
            if count is None:
                self._limits.pop(kind, None)
            else:
                self._limits[kind] = count

    def get(self, key: Hashable, load: Callable[[], Model]) -> Model:
        """The model for `key`, calling `load` the first time. Concurrent first calls load it once."""
        # One store holds every family of model, so what a key holds is known by what loaded it.
        with self._lock:
            if key in self._models:
                return cast(Model, self._borrow(key))
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    return cast(Model, self._borrow(key))
                self._make_room(_kind(key))
            log.info("loading model %s", key)
            started = time.perf_counter()
            # No local name holds the model: a library that keeps an error's traceback from an import the loader
            # triggers (optuna keeps one for redis) keeps this frame alive, and a local would pin the model
            # after its release.
            return cast(Model, self._store(key, load(), time.perf_counter() - started))

    def _store(self, key: Hashable, model: Any, load_seconds: float) -> Any:
        with self._lock:
            self._models[key] = model
            self._load_seconds[key] = load_seconds
            self._loaded_at[key] = datetime.now(UTC)
            return self._borrow(key)

    def _borrow(self, key: Hashable) -> Any:
        """Mark `key` most recently used, and in use until the calling thread's stage ends."""
        self._models.move_to_end(key)
        self._last_used[key] = time.monotonic()
        borrowed = getattr(self._stage, "keys", None)
        if borrowed is not None and key not in borrowed:
            borrowed.append(key)
            self._in_use[key] += 1
        return self._models[key]

    def _make_room(self, kind: Hashable) -> None:
        """Unload idle models of `kind`, least recently used first, until one more fits its limit."""
        limit = self._limits.get(kind)
        if limit is None:
            return
        loaded = [key for key in self._models if _kind(key) == kind]
        idle = [key for key in loaded if not self._in_use[key]]
        for key in idle[: max(0, len(loaded) - limit + 1)]:
            log.info("unloading model %s (least recently used)", key)
            self._drop(key)

    def _drop(self, key: Hashable) -> Any:
        """Forget `key` and what is known about it; returns the model (None when it was not loaded)."""
        self._load_seconds.pop(key, None)
        self._loaded_at.pop(key, None)
        self._last_used.pop(key, None)
        return self._models.pop(key, None)

    def loaded(self) -> list[str]:
        """Readable keys of the models in memory."""
        with self._lock:
            return [_readable(key) for key in self._models]

    def loaded_models(self) -> list[LoadedModel]:
        """The models in memory, least recently used first, with when each was loaded and how long it idles."""
        now = time.monotonic()
        with self._lock:
            return [
                LoadedModel(
                    name=_readable(key),
                    family=str(_kind(key)),
                    loaded_at=self._loaded_at[key],
                    idle_seconds=0.0 if self._in_use[key] else max(0.0, now - self._last_used.get(key, now)),
                    load_seconds=self._load_seconds.get(key, 0.0),
                )
                for key in self._models
            ]

    def release(self, key: Hashable | None = None) -> None:
        """Forget one model (or all), so its memory can be reclaimed."""
        with self._lock:
            for each in list(self._models) if key is None else [key]:
                self._drop(each)

    def release_idle(self, max_idle_seconds: float) -> list[str]:
        """Unload every model no stage holds and none has got for more than `max_idle_seconds`, and give its
        memory back (GPU memory to the device). Returns the readable keys released; the next `get` of one
        loads it again."""
        now = time.monotonic()
        released: list[tuple[str, float]] = []
        models: list[Any] = []
        with self._lock:
            for key in list(self._models):
                idle = now - self._last_used.get(key, now)
                if self._in_use[key] or idle <= max_idle_seconds:
                    continue
                models.append(self._drop(key))
                released.append((_readable(key), idle))
        if not released:
            return []
        # The registry's last references, dropped outside its lock: freeing memory can take a while.
        del models
        free_memory()
        for name, idle in released:
            log.info("released idle model %s after %.0f s", name, idle)
        return [name for name, _ in released]

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Keep the models the calling thread gets in use until the block ends, without holding a device
        (for a stage that runs beside another one on the same device)."""
        outer = getattr(self._stage, "keys", None)
        borrowed: list[Hashable] = []
        self._stage.keys = borrowed
        try:
            yield
        finally:
            self._stage.keys = outer
            with self._lock:
                ended = time.monotonic()
                for key in borrowed:
                    if key in self._models:
                        self._last_used[key] = ended
                self._in_use.subtract(borrowed)
                self._in_use += Counter()  # drop the keys no longer in use

    @contextmanager
    def device(self, device: str) -> Iterator[None]:
        """Hold `device` for one stage: models on one device run one at a time, and the models the stage
        gets stay loaded until it ends."""
        with self._lock:
            lock = self._device_locks.setdefault(device, threading.Lock())
        with lock, self.holding():
            yield


def _readable(key: Hashable) -> str:
    return ":".join(str(part) for part in key) if isinstance(key, tuple) else str(key)


registry = ModelRegistry()
