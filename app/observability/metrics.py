"""Every Prometheus metric the service exports."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from app.db.models import TaskStatus, TaskType
from app.ml.registry import registry as model_registry

log = logging.getLogger(__name__)

STAGES = ("transcribe", "align", "diarize", "combine", "detect_language")

REQUESTS = Counter("whisperx_http_requests", "HTTP requests answered", ["method", "route", "status"])
TASKS = Counter(
    "whisperx_tasks_finished", "Tasks that ended, by type and final status", ["task_type", "status"]
)
STAGE_SECONDS = Histogram(
    "whisperx_stage_duration_seconds",
    "Time one pipeline stage took",
    ["stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
AUDIO_SECONDS = Counter("whisperx_audio_processed_seconds", "Seconds of audio in completed tasks")
WEBHOOK_DELIVERIES = Counter(
    "whisperx_webhook_deliveries", "Webhook delivery attempts by outcome", ["outcome"]
)
for _stage in STAGES:
    STAGE_SECONDS.labels(stage=_stage)


RUNTIME_FIGURES = "runtime figures"


class RuntimeFigures(Collector):
    """Figures read when scraped, exported while the runtime that starts them lives (`Runtime.start_once`):
    queue depth (from its task table), live sessions open and, for each model in memory, how long it took to
    load, when it was loaded and how long it has idled."""

    def __init__(self, queue_depth: Callable[[], int], live_sessions: Callable[[], int]) -> None:
        self._queue_depth = queue_depth
        self._live_sessions = live_sessions
        REGISTRY.register(self)

    def stop(self) -> None:
        REGISTRY.unregister(self)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("whisperx_queue_depth", "Tasks waiting in the shared queue")
        try:
            depth.add_metric([], self._queue_depth())
        except Exception:  # an unreachable database must not break the scrape (health reports it)
            log.warning("queue depth unavailable: the task store did not answer")
        yield depth
        loads = GaugeMetricFamily(
            "whisperx_model_load_seconds", "Seconds each loaded model took to load", labels=["model"]
        )
        loaded_at = GaugeMetricFamily(
            "whisperx_model_loaded_timestamp_seconds", "When each loaded model was loaded", labels=["model"]
        )
        idle = GaugeMetricFamily(
            "whisperx_model_idle_seconds",
            "Seconds since a request last used each loaded model (0 while one does)",
            labels=["model"],
        )
        for model in model_registry.loaded_models():
            loads.add_metric([model.name], model.load_seconds)
            loaded_at.add_metric([model.name], model.loaded_at.timestamp())
            idle.add_metric([model.name], model.idle_seconds)
        yield from (loads, loaded_at, idle)
        yield GaugeMetricFamily(
            "whisperx_live_sessions",
            "Live transcription sessions open (/v1/realtime)",
            value=self._live_sessions(),
        )


def observe_stage(stage: str, seconds: float) -> None:
    STAGE_SECONDS.labels(stage=stage).observe(seconds)


def observe_task(task_type: TaskType, status: TaskStatus, audio_seconds: float | None) -> None:
    """Count a task that ended, and the audio it processed."""
    TASKS.labels(task_type=task_type.value, status=status.value).inc()
    if status == TaskStatus.completed and audio_seconds:
        AUDIO_SECONDS.inc(audio_seconds)


def observe_request(method: str, route: str, status: int) -> None:
    REQUESTS.labels(method=method, route=route, status=str(status)).inc()


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
