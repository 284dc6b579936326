"""One registry of loaded models per process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


class ModelRegistry:
    """Loads each model once (keyed by what makes it different), shares it, and serialises work per device."""

    def __init__(self) -> None:
        self._models: dict[Hashable, Any] = {}
        self._loading: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self._device_locks: dict[str, threading.Lock] = {}
        self._load_seconds: dict[Hashable, float] = {}

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The model for `key`, calling `load` the first time. Concurrent first calls load it once."""
        with self._lock:
            if key in self._models:
                return self._models[key]
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    return self._models[key]
            log.info("loading model %s", key)
            started = time.perf_counter()
            model = load()
            with self._lock:
                self._models[key] = model
                self._load_seconds[key] = time.perf_counter() - started
            return model

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
        """Hold `device` for one stage: models on one device run one at a time."""
        with self._lock:
            lock = self._device_locks.setdefault(device, threading.Lock())
        with lock:
            yield


def _readable(key: Hashable) -> str:
    return ":".join(str(part) for part in key) if isinstance(key, tuple) else str(key)


registry = ModelRegistry()
