"""A loopback stand-in for RunPod's job queue, so `python handler.py` runs as it does on RunPod.

It serves the URLs the SDK's worker loop uses: job-take (hands out queued jobs), job-stop (RunPod's per-job stop
signal, long-polled), job-done (results and progress updates) and job-stream (a streaming worker's items),
recording what is posted.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.local_http import serving


@dataclass
class RunPodQueue:
    base: str
    jobs: list[dict[str, Any]] = field(default_factory=list)
    stops: list[str] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        """The variables RunPod gives a worker, pointing at this stand-in."""
        return {
            "RUNPOD_WEBHOOK_GET_JOB": f"{self.base}/v2/endpoint/job-take/$ID?gpu=none",
            "RUNPOD_WEBHOOK_POST_OUTPUT": f"{self.base}/v2/endpoint/job-done/$RUNPOD_POD_ID/$ID?gpu=none",
            "RUNPOD_WEBHOOK_POST_STREAM": f"{self.base}/v2/endpoint/job-stream/$RUNPOD_POD_ID/$ID?gpu=none",
            "RUNPOD_POD_ID": "loopback-worker",
            "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true",
            "DATA_DIR": str(data_dir),
            **extra,
        }

    def results(self, job_id: str) -> list[dict[str, Any]]:
        """Final results posted for `job_id` (progress updates and stream items left out)."""
        with self.lock:
            return [
                p["body"]
                for p in self.posts
                if p["job"] == job_id and not p["stream"] and p["body"].get("status") != "IN_PROGRESS"
            ]

    def progress(self, job_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [
                p["body"]["output"]
                for p in self.posts
                if p["job"] == job_id and not p["stream"] and "status" in p["body"]
            ]

    def streamed(self, job_id: str) -> list[Any]:
        """The items a streaming worker posted for `job_id`, in order."""
        with self.lock:
            return [p["body"]["output"] for p in self.posts if p["job"] == job_id and p["stream"]]

    def wait(self, predicate: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def runpod_queue() -> Iterator[RunPodQueue]:
    state: RunPodQueue

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            if "/job-take/" in self.path:
                with state.lock:
                    job = state.jobs.pop(0) if state.jobs else None
                    if job is not None:
                        state.taken.append(job["id"])
                if job is None:
                    time.sleep(0.3)  # RunPod holds the poll open; answer "no job" without a busy loop
                    self._answer(204)
                else:
                    self._answer(200, job)
            elif "/job-stop/" in self.path:
                with state.lock:
                    stops, state.stops[:] = list(state.stops), []
                if stops:
                    self._answer(200, {"jobsToStop": stops})
                else:
                    time.sleep(0.3)
                    self._answer(204)
            else:
                self._answer(404)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            job_id = urllib.parse.urlparse(self.path).path.rstrip("/").rsplit("/", 1)[-1]
            with state.lock:
                state.posts.append(
                    {"job": job_id, "body": json.loads(body), "stream": "/job-stream/" in self.path}
                )
            self._answer(200, {})

        def _answer(self, status: int, payload: Any = None) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with serving(Handler) as server:
        state = RunPodQueue(base=f"http://127.0.0.1:{server.server_port}")
        yield state
