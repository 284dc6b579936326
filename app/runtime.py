"""The process's long-lived parts, built once and shared by both front doors."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar, cast

from sqlalchemy import Engine

from app.config import Settings, get_settings
from app.db.lease import LeaseKeeper
from app.db.migrate import upgrade
from app.db.outbox import DeliveryRepository
from app.db.repository import TaskRepository
from app.db.session import make_engine, make_session_factory
from app.db.vocabularies import VocabularyRepository
from app.db.voices import VoiceRepository
from app.errors import ServiceError
from app.ml.registry import registry
from app.observability.metrics import RUNTIME_FIGURES, RuntimeFigures

log = logging.getLogger(__name__)

ModelsState = Literal["not_requested", "loading", "loaded", "failed"]


class Background(Protocol):
    """A part a runtime runs in the background until it closes."""

    def stop(self) -> None: ...


Part = TypeVar("Part", bound=Background)


class LiveSessions:
    """How many live sessions a runtime has open: at most `REALTIME__MAX_SESSIONS`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = 0

    def claim(self, settings: Settings) -> None:
        """Count one more session open, or refuse it (`queue_full`) when all are in use."""
        limit = settings.realtime.max_sessions
        with self._lock:
            if self.open >= limit:
                raise ServiceError("queue_full", f"All {limit} live sessions are in use; try again later.")
            self.open += 1

    def release(self) -> None:
        with self._lock:
            self.open -= 1


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    tasks: TaskRepository
    worker_id: str
    lease_keeper: LeaseKeeper
    deliveries: DeliveryRepository
    voices: VoiceRepository
    vocabularies: VocabularyRepository
    models: ModelsState = "not_requested"
    """Where loading the configured models at start stands (`app.process.lifecycle`); readiness waits for it."""
    live_sessions: LiveSessions = field(default_factory=LiveSessions)
    """The live transcription sessions open in this process, within `REALTIME__MAX_SESSIONS`."""
    background: dict[str, Background] = field(default_factory=dict)
    """Threads the services start once per process (executor, webhook deliverer); stopped on close."""
    _background_lock: threading.Lock = field(default_factory=threading.Lock)

    def start_once(self, name: str, start: Callable[[], Part]) -> Part:
        """The background part `name`, started by `start()` the first time."""
        with self._background_lock:
            if name not in self.background:
                self.background[name] = start()
            # Each name is started by one kind of part, so the part under a name is what `start` makes.
            return cast(Part, self.background[name])

    def close(self) -> None:
        for part in reversed(list(self.background.values())):
            part.stop()
        self.lease_keeper.stop()
        self.engine.dispose()


def start_runtime(settings: Settings) -> Runtime:
    """Migrate the task store, recover tasks left by dead processes, and start the lease heartbeat."""
    logging.getLogger("app").setLevel(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    registry.limit("whisper", settings.max_loaded_models)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    tasks = TaskRepository(sessions, lease_seconds=settings.lease_seconds)
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    keeper = LeaseKeeper(tasks, worker_id)
    keeper.tick()
    keeper.start()
    log.info("task store ready (%s), worker %s", engine.dialect.name, worker_id)
    runtime = Runtime(
        settings,
        engine,
        tasks,
        worker_id,
        keeper,
        DeliveryRepository(sessions),
        VoiceRepository(sessions),
        VocabularyRepository(sessions),
    )
    runtime.start_once(
        RUNTIME_FIGURES, lambda: RuntimeFigures(tasks.count_queued, lambda: runtime.live_sessions.open)
    )
    return runtime


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The process's runtime, started on first use."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = start_runtime(get_settings())
        return _runtime


def stop_runtime() -> None:
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            _runtime.close()
            _runtime = None
