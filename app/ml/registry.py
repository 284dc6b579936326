"""One registry of loaded models per process."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


def _kind(key: Hashable) -> Hashable:
    """A key's family (`"whisper"`, `"align"`, …): its first part."""
    return key[0] if isinstance(key, tuple) and key else key


class ModelRegistry:
    """Loads each model once (keyed by what makes it different), shares it, and serialises work per device.

    A family of models may be capped (`limit`): loading one more first unloads the least recently used model
    of that family that no stage is using. A model is in use from the moment a stage (`device`) gets it until
    that stage ends.
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

    def limit(self, kind: Hashable, count: int | None) -> None:
        """Keep at most `count` models of `kind` loaded (None: no bound)."""
        with self._lock:
            if count is None:
                self._limits.pop(kind, None)
            else:
                self._limits[kind] = count

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The model for `key`, calling `load` the first time. Concurrent first calls load it once."""
        with self._lock:
            if key in self._models:
                return self._borrow(key)
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    return self._borrow(key)
                self._make_room(_kind(key))
            log.info("loading model %s", key)
            started = time.perf_counter()
            model = load()
            with self._lock:
                self._models[key] = model
                self._load_seconds[key] = time.perf_counter() - started
                return self._borrow(key)

    def _borrow(self, key: Hashable) -> Any:
        """Mark `key` most recently used, and in use until the calling thread's stage ends."""
        self._models.move_to_end(key)
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
            del self._models[key]
            self._load_seconds.pop(key, None)

    def loaded(self) -> list[str]:
        """Readable keys of the models in memory."""
        with self._lock:
            return [_readable(key) for key in self._models]

    def load_seconds(self) -> dict[str, float]:
        """How long each model in memory took to load, by readable key."""
        with self._lock:
            return {_readable(key): self._load_seconds.get(key, 0.0) for key in self._models}

    def release(self, key: Hashable | None = None) -> None:
        """Forget one model (or all), so its memory can be reclaimed."""
        with self._lock:
            if key is None:
                self._models.clear()
            else:
                self._models.pop(key, None)

    @contextmanager
    def device(self, device: str) -> Iterator[None]:
        """Hold `device` for one stage: models on one device run one at a time, and the models the stage
        gets stay loaded until it ends."""
        with self._lock:
            lock = self._device_locks.setdefault(device, threading.Lock())
        with lock:
            outer = getattr(self._stage, "keys", None)
            self._stage.keys = borrowed = []
            try:
                yield
            finally:
                self._stage.keys = outer
                with self._lock:
                    self._in_use.subtract(borrowed)
                    self._in_use += Counter()  # drop the keys no longer in use


def _readable(key: Hashable) -> str:
    return ":".join(str(part) for part in key) if isinstance(key, tuple) else str(key)


registry = ModelRegistry()
