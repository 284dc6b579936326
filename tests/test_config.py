from pathlib import Path

import pytest

from app.config import Settings, settings_table

SETTINGS_DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_defaults_are_the_embedded_offline_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.whisper_model == "tiny.en"
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'data' / 'tasks.db')}"
    assert settings.resolved_device == "cpu"
    assert settings.compute_type_for(settings.resolved_device) == "int8"


def test_environment_overrides_nested_groups_and_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIMITS__QUEUE_SIZE", "3")
    monkeypatch.setenv("WEBHOOK__SECRET", "sentinel-webhook-secret")
    monkeypatch.setenv("HF_TOKEN", "hf_sentinel_token")
    monkeypatch.setenv("DEVICE", "cuda")
    settings = Settings()
    assert settings.limits.queue_size == 3
    assert settings.compute_type_for(settings.resolved_device) == "float16"
    assert settings.hf_token is not None and settings.hf_token.get_secret_value() == "hf_sentinel_token"
    dumped = repr(settings) + settings.model_dump_json()
    assert "hf_sentinel_token" not in dumped and "sentinel-webhook-secret" not in dumped


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVICE", "tpu")
    with pytest.raises(ValueError):
        Settings()


def test_configuration_doc_lists_every_setting() -> None:
    assert settings_table() in SETTINGS_DOC.read_text(), (
        "regenerate it: `python scripts/update-settings-doc.py`"
    )
