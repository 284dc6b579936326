"""Two API servers on one PostgreSQL database and one `DATA_DIR` drain one queue: every task runs, exactly once."""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.helpers import clip_wav, pg_database, scratch_files, started, wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(400)]

TASKS = 6


def _finished_counts(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    family = next(f for f in text_string_to_metric_families(text) if f.name == "whisperx_tasks_finished")
    return sum(sample.value for sample in family.samples if sample.name.endswith("_total"))


def test_two_servers_share_one_queue_and_run_each_task_once(tmp_path: Path, postgres_url: str) -> None:
    data_dir = tmp_path / "data"
    with ExitStack() as stack:
        env = {"DATABASE_URL": stack.enter_context(pg_database(postgres_url)), "LIMITS__QUEUE_SIZE": "50"}
        servers = [stack.enter_context(started("api", data_dir, f"api-{n}.log", **env)) for n in range(2)]
        identifiers = [
            httpx.post(
                f"{servers[n % 2].base}/service/transcribe",
                files={"file": (f"clip-{n}.wav", clip_wav(2.0), "audio/wav")},
                data={"model_params": '{"language": "en"}'},
                timeout=30,
            ).json()["identifier"]
            for n in range(TASKS)
        ]

        def all_done() -> list[dict] | None:
            tasks = [httpx.get(f"{servers[0].base}/task/{i}", timeout=10).json() for i in identifiers]
            return tasks if all(t["status"] not in ("queued", "processing") for t in tasks) else None

        tasks = wait_until(all_done, timeout=300, interval=0.5, what="the queue to drain")
        assert [t["status"] for t in tasks] == ["completed"] * TASKS, tasks

        # Each task was claimed once, by one of the two processes, and both took work.
        started_lines = [
            match
            for server in servers
            for match in re.findall(r"task ([0-9a-f-]{36}) started", server.output())
        ]
        assert sorted(started_lines) == sorted(identifiers), started_lines
        per_server = [len(re.findall(r"task [0-9a-f-]{36} started", s.output())) for s in servers]
        assert all(per_server), f"one process ran everything: {per_server}"
        assert sum(_finished_counts(s.base) for s in servers) == TASKS
        assert scratch_files(data_dir) == []
