"""Two API servers on one PostgreSQL database and one `DATA_DIR` drain one queue: every task runs, exactly once."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.helpers import clip_wav, pg_database, scratch_files, started, task_store, wait_until

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

        # Each task was run by one of the two processes, both took work, and no process ran a task twice:
        # what each process counted as finished is exactly the tasks recorded as its own.
        store = task_store(env["DATABASE_URL"])
        runners = [store.get(i).worker_id for i in identifiers]  # type: ignore[union-attr]
        for server in servers:
            worker_id = httpx.get(f"{server.base}/health", timeout=10).json()["worker_id"]
            assert runners.count(worker_id) >= 1, f"{worker_id} ran nothing: {runners}"
            assert _finished_counts(server.base) == runners.count(worker_id)
        assert scratch_files(data_dir) == []
