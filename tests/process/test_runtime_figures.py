"""The figures read at scrape time belong to the runtime: they are exported while it lives and leave with it."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY, generate_latest

from tests.servers import in_process_app


def test_the_queue_depth_is_exported_while_a_runtime_lives_and_goes_with_it(tmp_path: Path) -> None:
    for store in ("first", "second"):  # a runtime started again registers its figures again
        with in_process_app(tmp_path / store) as client:
            assert "whisperx_queue_depth 0.0" in client.get("/metrics").text.splitlines()
        assert b"whisperx_queue_depth" not in generate_latest(REGISTRY)
