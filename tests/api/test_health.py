from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app


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
