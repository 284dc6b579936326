"""Load benchmark of the REST server on loopback, bounded in requests and time.

Starts the server (`uvicorn app.main:app`) with a small queue, sends more concurrent uploads than the queue
holds, and checks that the surplus gets 503 with Retry-After, that every accepted task completes (none lost),
and that `/health` stays fast meanwhile. Then measures the throughput of `GET /task/{id}`.

    .venv/bin/python bench/load.py --uploads 8 --queue-size 3 --task-gets 2000
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_S = 900


def clip_of_sample(seconds: float) -> bytes:
    import pyannote.audio

    sample = Path(pyannote.audio.__file__).parent / "sample" / "sample.wav"
    with wave.open(str(sample)) as source:
        rate = source.getframerate()
        source.setpos(int(6.5 * rate))
        frames = source.readframes(int(seconds * rate))
        params = source.getparams()
    out = io.BytesIO()
    with wave.open(out, "wb") as clip:
        clip.setparams(params)
        clip.writeframes(frames)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=8, help="concurrent uploads (keep it small)")
    parser.add_argument("--queue-size", type=int, default=3)
    parser.add_argument("--clip-seconds", type=float, default=5.0)
    parser.add_argument("--task-gets", type=int, default=2000, help="GET /task/{id} requests to time")
    parser.add_argument("--get-threads", type=int, default=4)
    args = parser.parse_args()
    started = time.monotonic()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="load-")
    env = {
        **os.environ,
        "DATA_DIR": data_dir,
        "LIMITS__QUEUE_SIZE": str(args.queue_size),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                try:
                    if client.get("/health/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() - started > 300:
                    raise SystemExit("server did not become ready")
                time.sleep(0.5)
            cold_start = time.monotonic() - started
            audio = clip_of_sample(args.clip_seconds)

            health_latencies: list[float] = []
            stop = threading.Event()

            def probe_health() -> None:
                with httpx.Client(base_url=base, timeout=10) as probe:
                    while not stop.is_set():
                        t0 = time.perf_counter()
                        probe.get("/health")
                        health_latencies.append((time.perf_counter() - t0) * 1000)
                        time.sleep(0.05)

            prober = threading.Thread(target=probe_health, daemon=True)
            prober.start()

            def send(_index: int) -> httpx.Response:
                with httpx.Client(base_url=base, timeout=60) as uploader:
                    files = {"file": ("clip.wav", audio, "audio/wav")}
                    return uploader.post("/speech-to-text", files=files)

            with ThreadPoolExecutor(args.uploads) as pool:
                responses = list(pool.map(send, range(args.uploads)))
            accepted = [r.json()["identifier"] for r in responses if r.status_code == 200]
            refused = [r for r in responses if r.status_code == 503]
            assert all(r.headers.get("retry-after") for r in refused), "503 without Retry-After"

            finished: dict[str, str] = {}
            while len(finished) < len(accepted) and time.monotonic() - started < DEADLINE_S:
                for identifier in accepted:
                    if identifier not in finished:
                        status = client.get(f"/task/{identifier}").json()["status"]
                        if status in ("completed", "failed", "cancelled"):
                            finished[identifier] = status
                time.sleep(1)
            stop.set()
            prober.join()

            lost = [i for i in accepted if finished.get(i) != "completed"]
            identifier = accepted[0]

            def get_many(count: int) -> None:
                with httpx.Client(base_url=base, timeout=10) as getter:
                    for _ in range(count):
                        getter.get(f"/task/{identifier}").raise_for_status()

            t0 = time.perf_counter()
            per_thread = args.task_gets // args.get_threads
            with ThreadPoolExecutor(args.get_threads) as pool:
                list(pool.map(get_many, [per_thread] * args.get_threads))
            throughput = per_thread * args.get_threads / (time.perf_counter() - t0)

        print(
            f"server ready after {cold_start:.1f} s; queue size {args.queue_size}; {args.uploads} concurrent "
            f"uploads of a {args.clip_seconds:.0f} s clip (full pipeline)"
        )
        print()
        print("| measure | value |")
        print("| --- | --- |")
        print(f"| uploads accepted / refused with 503 | {len(accepted)} / {len(refused)} |")
        print(f"| accepted tasks completed / lost | {len(accepted) - len(lost)} / {len(lost)} |")
        print(
            f"| `/health` while tasks run: median / p95 / max ms ({len(health_latencies)} probes) | "
            f"{statistics.median(health_latencies):.1f} / {percentile(health_latencies, 0.95):.1f} / "
            f"{max(health_latencies):.1f} |"
        )
        print(
            f"| `GET /task/{{id}}` throughput ({args.task_gets} requests, {args.get_threads} clients) | "
            f"{throughput:.0f} req/s |"
        )
        if lost or len(accepted) + len(refused) != args.uploads:
            raise SystemExit("tasks were lost or requests failed")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
