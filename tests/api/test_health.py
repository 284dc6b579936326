import time
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.ml.registry import ModelRegistry


def test_health_reports_an_embedded_sqlite_store_migrated_at_start(service_env: Path) -> None:
    with TestClient(create_app()) as client:
        response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"kind": "sqlite", "reachable": True}
    assert body["device"] == "cpu"
    assert body["whisper_model"] == "tiny.en"
    assert (service_env / "tasks.db").exists()


def test_health_shows_each_loaded_model_since_when_and_stays_ready_once_idle_ones_are_released(
    service_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = ModelRegistry()
    monkeypatch.setattr("app.process.health.registry", registry)
    with TestClient(create_app()) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        runtime.models = "loaded"  # as a service that loaded its configured models at start
        runtime.settings = runtime.settings.model_copy(update={"preload_models": True})
        before = datetime.now().astimezone()
        registry.get(("whisper", "tiny.en", "cpu", 0, "int8"), object)
        time.sleep(0.3)
        body = client.get("/health").json()
        assert body["models_loaded"] == ["whisper:tiny.en:cpu:0:int8"]
        (model,) = body["models"]
        assert model["name"] == "whisper:tiny.en:cpu:0:int8"
        assert before <= datetime.fromisoformat(model["loaded_at"]) <= datetime.now().astimezone()
        assert 0.3 <= model["idle_seconds"] < 10

        assert registry.release_idle(0.1) == ["whisper:tiny.en:cpu:0:int8"]
        body = client.get("/health").json()
        assert body["models_loaded"] == [] and body["models"] == []
        ready = client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["ready"] is True
