"""`GET /metrics` in Prometheus' text format, read with prometheus_client's own parser after a real task."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from app.ml.registry import ModelRegistry
from tests.reliability.helpers import clip_wav
from tests.servers import in_process_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with in_process_app(tmp_path_factory.mktemp("metrics")) as test_client:
        yield test_client


def scrape(client: TestClient) -> dict[str, list[Sample]]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list[Sample]], name: str, **labels: str) -> float:
    return sum(s.value for s in samples.get(name, []) if labels.items() <= s.labels.items())


@pytest.mark.slow
def test_metrics_show_a_finished_task_and_its_stage_timings(client: TestClient) -> None:
    before = scrape(client)
    answer = client.post(
        "/speech-to-text",
        files={"file": ("clip.wav", clip_wav(3.0), "audio/wav")},
        data={"model_params": '{"language": "en"}', "diarize_params": '{"num_speakers": 1}'},
        params={"wait": "true"},
    )
    assert answer.status_code == 200 and answer.json()["status"] == "completed", answer.text
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    for stage in ("transcribe", "align", "diarize", "combine"):
        assert grew("whisperx_stage_duration_seconds_count", stage=stage) == 1, stage
    timings = answer.json()["result"]["timings"]
    assert grew("whisperx_stage_duration_seconds_sum", stage="transcribe") == pytest.approx(
        timings["transcribe"], abs=0.01
    )
    assert grew("whisperx_tasks_finished_total", task_type="full_process", status="completed") == 1
    assert grew("whisperx_audio_processed_seconds_total") == pytest.approx(3.0, abs=0.01)
    assert grew("whisperx_http_requests_total", route="/speech-to-text", method="POST", status="200") == 1
    assert value(after, "whisperx_queue_depth") == 0
    loads = after["whisperx_model_load_seconds"]
    assert loads and all(s.value > 0 for s in loads), "each loaded model reports its load time"


def test_paths_with_identifiers_are_counted_by_route_template(client: TestClient) -> None:
    client.get("/task/no-such-task")
    client.get("/no/such/route")
    samples = scrape(client)
    assert value(samples, "whisperx_http_requests_total", route="/task/{identifier}", status="404") >= 1
    assert value(samples, "whisperx_http_requests_total", route="unmatched", status="404") >= 1
    routes = {s.labels["route"] for s in samples["whisperx_http_requests_total"]}
    assert "/task/no-such-task" not in routes


def test_metrics_show_each_loaded_model_since_when_and_how_long_idle(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = ModelRegistry()
    monkeypatch.setattr("app.observability.metrics.model_registry", registry)
    registry.get(("segmentation", "cpu"), object)
    (loaded,) = registry.loaded_models()
    time.sleep(0.3)
    samples = scrape(client)
    model = {"model": "segmentation:cpu"}
    assert value(samples, "whisperx_model_loaded_timestamp_seconds", **model) == pytest.approx(
        loaded.loaded_at.timestamp()
    )
    assert 0.3 <= value(samples, "whisperx_model_idle_seconds", **model) < 10
    assert [s.labels for s in samples["whisperx_model_load_seconds"]] == [model]

    registry.release_idle(0.1)
    samples = scrape(client)
    for name in ("whisperx_model_loaded_timestamp_seconds", "whisperx_model_idle_seconds"):
        assert not samples.get(name), f"{name}: a released model is no longer shown"
