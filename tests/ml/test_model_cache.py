"""The model cache root: the RunPod volume by default when mounted, and where the hubs then download."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import huggingface_hub.constants as hub
import pytest
import torch.hub

from app import config
from app.config import Settings
from app.ml.model_cache import use_model_cache


@pytest.fixture
def restored_caches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HF_HOME", "HF_HUB_CACHE", "TORCH_HOME"):
        monkeypatch.setenv(name, "recorded")  # so that teardown restores what was there before
        monkeypatch.delenv(name)
    saved = hub.HF_HOME, hub.HF_HUB_CACHE, torch.hub.get_dir()
    yield
    hub.HF_HOME, hub.HF_HUB_CACHE = saved[0], saved[1]
    torch.hub.set_dir(saved[2])


def test_the_runpod_volume_is_the_default_cache_when_mounted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MODEL_CACHE_DIR", "HF_HOME", "HF_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "RUNPOD_VOLUME", tmp_path / "absent")
    assert Settings().resolved_model_cache_dir is None
    monkeypatch.setattr(config, "RUNPOD_VOLUME", tmp_path)
    assert Settings().resolved_model_cache_dir == tmp_path / "huggingface-cache"
    monkeypatch.setenv("HF_HOME", "/srv/models/huggingface")  # an image with baked models keeps them
    assert Settings().resolved_model_cache_dir is None
    monkeypatch.setenv("MODEL_CACHE_DIR", str(tmp_path / "mine"))  # unless the setting says otherwise
    assert Settings().resolved_model_cache_dir == tmp_path / "mine"


def test_downloads_go_under_the_cache_root(tmp_path: Path, restored_caches: None) -> None:
    from huggingface_hub import try_to_load_from_cache

    # A model as RunPod's model cache (or an earlier worker) left it, in the hub's layout.
    repo = tmp_path / "cache" / "hub" / "models--Systran--faster-whisper-large-v3"
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "model.bin").write_bytes(b"weights")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    use_model_cache(tmp_path / "cache")
    hub_cache = hub.HF_HUB_CACHE
    assert str(tmp_path / "cache" / "hub") == hub_cache
    assert torch.hub.get_dir() == str(tmp_path / "cache" / "torch")
    # faster-whisper and pyannote find their files through the hub, which now looks there.
    found = try_to_load_from_cache("Systran/faster-whisper-large-v3", "model.bin")
    assert found == str(repo / "snapshots" / "abc123" / "model.bin")
