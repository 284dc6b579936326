"""50 consecutive full-pipeline jobs in one process: memory stays flat, scratch files are cleaned up, and the
models loaded for the first job serve every later one (nothing is reloaded)."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import psutil
import pytest

from app.ml.registry import registry
from app.runtime import stop_runtime
from handler import handler
from tests.reliability.helpers import clip_wav, data_uri, scratch_files

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(480)]

JOBS = int(os.environ.get("RELIABILITY_SOAK_JOBS", "50"))
WARM_UP = 5
# A 4 s clip of two speakers takes about 2 s through the whole pipeline on one laptop core.
CLIP_SECONDS = 4.0


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def test_fifty_jobs_in_one_process_leak_nothing(service_env: Path) -> None:
    stop_runtime()  # a runtime left by another module would point at its data dir
    job_input = {
        "action": "speech_to_text",
        "file": data_uri(clip_wav(CLIP_SECONDS)),
        "diarize_params": {"max_speakers": 2},
    }
    durations: list[float] = []
    baseline = models = keys = None
    texts = set()
    for n in range(JOBS):
        started = time.perf_counter()
        response = handler({"id": f"soak-{n}", "input": job_input})
        durations.append(time.perf_counter() - started)
        assert "error" not in response, (n, response)
        texts.add(" ".join(s["text"].strip() for s in response["result"]["segments"]))
        assert scratch_files(service_env) == [], f"scratch files left after job {n}"
        if n + 1 == WARM_UP:
            baseline = rss()
            keys = registry.loaded()
            models = {key: id(model) for key, model in registry._models.items()}
    final = rss()

    assert baseline is not None
    growth = (final - baseline) / baseline
    print(
        f"soak: {JOBS} jobs, {sum(durations):.0f} s, median {sorted(durations)[JOBS // 2]:.2f} s; "
        f"RSS {baseline / 2**20:.0f} -> {final / 2**20:.0f} MiB ({growth:+.1%})"
    )
    assert growth < 0.10, f"RSS grew {growth:.1%} over {JOBS - WARM_UP} jobs after warm-up"
    assert registry.loaded() == keys, "the set of loaded models changed"
    assert {key: id(model) for key, model in registry._models.items()} == models, "a model was reloaded"
    assert len(texts) == 1, f"the same audio gave different transcripts: {texts}"
    assert scratch_files(service_env) == []
