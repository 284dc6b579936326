"""The API server and a RunPod worker writing one task store at once, under load, on SQLite and on PostgreSQL:
no "database is locked" (or any other store error) reaches a user, every answer is well formed, no task is
lost and none is left running."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.contracts.whisperx_fastapi.routes import COMBINE_EXAMPLE
from app.db.models import TaskStatus
from tests.reliability.helpers import (
    Proc,
    assert_no_traceback,
    flac_claiming,
    pg_database,
    sqlite_url,
    start,
    task_store,
    wait_until,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(300)]

LOAD_SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "20"))
HOLLOW_FLAC = flac_claiming(1.0)
STORE_ERRORS = ("database is locked", "OperationalError", "deadlock detected", "could not serialize")

TRANSCRIPT = COMBINE_EXAMPLE["aligned_transcript"]
SPEAKERS = COMBINE_EXAMPLE["diarization_result"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "data")
        return
    with pg_database(request.getfixturevalue("postgres_url")) as url:
        yield url


class Load:
    """Requests of both front doors from several threads; every answer is checked as it arrives."""

    def __init__(self, api: Proc, worker: Proc) -> None:
        self.api, self.worker = api, worker
        self.created: list[str] = []
        self.problems: list[str] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + LOAD_SECONDS

    def note(self, kind: str, problem: str | None = None, identifier: str | None = None) -> None:
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if problem:
                self.problems.append(f"{kind}: {problem}")
            if identifier:
                self.created.append(identifier)

    def check_body(self, kind: str, response: httpx.Response) -> Any:
        text = response.text
        for marker in STORE_ERRORS:
            if marker in text:
                self.note(kind, f"store error reached the user: {text[:300]}")
        try:
            assert_no_traceback(text)
            return response.json()
        except (AssertionError, ValueError) as error:
            self.note(kind, f"malformed answer ({error}): {text[:300]}")
            return {}

    def api_user(self, n: int) -> None:
        with httpx.Client(base_url=self.api.base, timeout=60) as client:
            while time.monotonic() < self.deadline:
                if n % 2:  # a task that completes
                    r = client.post(
                        "/service/combine",
                        json={"aligned_transcript": TRANSCRIPT, "diarization_result": SPEAKERS},
                    )
                else:  # a task that fails: its header passes at the door, it holds no audio (create, claim, fail)
                    r = client.post(
                        "/service/transcribe", files={"file": ("x.flac", HOLLOW_FLAC, "audio/flac")}
                    )
                body = self.check_body("api-create", r)
                if r.status_code != 200 or "identifier" not in body:
                    self.note("api-create", f"HTTP {r.status_code}: {r.text[:300]}")
                    continue
                self.note("api-create", identifier=body["identifier"])
                r = client.get(f"/task/{body['identifier']}")
                self.check_body("api-get", r)
                if r.status_code != 200:
                    self.note("api-get", f"HTTP {r.status_code}: {r.text[:300]}")
                r = client.get("/task/all", params={"page_size": 50})
                page = self.check_body("api-list", r)
                if r.status_code != 200 or "tasks" not in page:
                    self.note("api-list", f"HTTP {r.status_code}: {r.text[:300]}")

    def worker_user(self) -> None:
        with httpx.Client(base_url=self.worker.base, timeout=60) as client:
            while time.monotonic() < self.deadline:
                for job in (
                    {"action": "combine", "aligned_transcript": TRANSCRIPT, "diarization_result": SPEAKERS},
                    {"action": "get_all_tasks", "page_size": 50},
                    {"action": "transcribe", "file": "bm90IGF1ZGlv"},  # "not audio": a task that fails
                ):
                    r = client.post("/runsync", json={"input": job})
                    answer = self.check_body("worker", r)
                    if r.status_code != 200:
                        self.note("worker", f"HTTP {r.status_code}: {r.text[:300]}")
                        continue
                    if job["action"] == "transcribe":
                        error = json.loads(answer.get("error") or "{}")
                        if error.get("code") != "not_audio":
                            self.note("worker", f"expected not_audio: {answer}")
                        else:
                            self.note("worker", identifier=error["identifier"])
                    elif answer.get("status") != "COMPLETED":
                        self.note("worker", f"{job['action']}: {answer}")
                    elif job["action"] == "combine":
                        self.note("worker", identifier=answer["output"]["identifier"])


def test_server_and_worker_share_one_store_under_load(store_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"LIMITS__QUEUE_SIZE": "100000", "LEASE_SECONDS": "5"}
    if not store_url.startswith("sqlite"):
        env["DATABASE_URL"] = store_url
    # Both start at once: their migrations and recovery passes race too.
    with ThreadPoolExecutor(2) as pool:
        api_future = pool.submit(start, "api", data_dir, "api.log", **env)
        worker_future = pool.submit(start, "worker", data_dir, "worker.log", **env)
        api, worker = api_future.result(), worker_future.result()
    try:
        load = Load(api, worker)
        threads = [threading.Thread(target=load.api_user, args=(n,)) for n in range(4)]
        threads += [threading.Thread(target=load.worker_user) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=LOAD_SECONDS + 120)
        assert not any(t.is_alive() for t in threads), "a client thread hung"
        print(f"load over {LOAD_SECONDS:.0f} s: {load.counts}")
        assert not load.problems, load.problems[:10]
        assert load.counts.get("api-create", 0) >= 20 and load.counts.get("worker", 0) >= 10, load.counts

        store = task_store(store_url)

        def drained() -> bool:
            return all(
                store.list(status=s, limit=1)[1] == 0 for s in (TaskStatus.queued, TaskStatus.processing)
            )

        wait_until(drained, timeout=120, interval=0.5, what="the API's queue to drain")
        for identifier in load.created:  # nothing accepted was lost, and every task ended
            task = store.get(identifier)
            assert task is not None, f"task {identifier} was lost"
            assert task.status in (TaskStatus.completed, TaskStatus.failed), (identifier, task.status)
            assert task.status == TaskStatus.completed or task.error_code in ("not_audio", "empty_audio"), (
                task.error_code
            )
    finally:
        api.stop()
        worker.stop()
    for proc in (api, worker):
        output = proc.output()
        for marker in STORE_ERRORS:
            assert marker not in output, f"{marker!r} in {proc.log.name}"
