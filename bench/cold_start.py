"""Cold start of the worker and the server: what a scaled-to-zero endpoint pays before its first result.

For each front door, in fresh processes (runs alternate between them; medians are reported):
- process start → listening (the server answers `/ping` 204) and → ready (models loaded: `/ping` 200, or the
  worker's local API answering, which it starts only after loading);
- the first request's latency (the Hub's `speech_to_text` sample from `.runpod/tests.json`, the full pipeline) and
  the second's, warm;
- in a separate process, where start-up goes: importing the app, importing the ML libraries (torch, whisperx,
  pyannote.audio), loading the model weights; wall and CPU seconds.

    .venv/bin/python bench/cold_start.py --runs 3            # CPU, bundled tiny.en
    .venv/bin/python bench/cold_start.py --device cuda --model large-v3
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HUB_TESTS = json.loads((ROOT / ".runpod" / "tests.json").read_text())["tests"]
SAMPLE = next(test["input"] for test in HUB_TESTS if test["name"] == "speech_to_text")
PHASES = """
import json, sys, time
marks = [("start", time.perf_counter(), time.process_time())]
def mark(name): marks.append((name, time.perf_counter(), time.process_time()))
import {module}
mark("app import")
import torch, whisperx.asr, whisperx.vads, pyannote.audio, faster_whisper
mark("ML library import")
from app.config import get_settings
from app.services.pipeline import preload_models
preload_models(get_settings())
mark("model load")
print(json.dumps({{b[0]: [round(b[1] - a[1], 2), round(b[2] - a[2], 2)] for a, b in zip(marks, marks[1:])}}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(args: argparse.Namespace, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATA_DIR=tempfile.mkdtemp(prefix="cold-"), PRELOAD_MODELS="true", LOG_LEVEL="WARNING")
    env.update(
        WHISPER_MODEL=args.model, DEVICE=args.device, HF_HUB_OFFLINE=os.environ.get("HF_HUB_OFFLINE", "1")
    )
    env.update(PYANNOTE_METRICS_ENABLED="false", **extra)
    return env


def wait(url: str, process: subprocess.Popen[bytes], until: set[int], deadline: float) -> float:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=5).status_code in until:
                return time.monotonic()
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise SystemExit(f"{url} did not answer {until} in time")


def timed(send: Callable[[], httpx.Response]) -> float:
    started = time.monotonic()
    response = send()
    if response.status_code != 200 or '"error"' in response.text[:300]:
        raise SystemExit(f"the request failed: {response.text[:500]}")
    return time.monotonic() - started


def cold_run(
    command: list[str],
    env: dict[str, str],
    probe: str,
    starting: set[int],
    send: Callable[[], httpx.Response],
) -> dict[str, float]:
    """Start `python *command`; time its first answer on `probe` (any of `starting`, or 200), its first 200,
    and two requests."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, *command], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        listening = wait(probe, process, starting | {200}, started + 900)
        ready = wait(probe, process, {200}, started + 900)
        first, second = timed(send), timed(send)
    finally:
        process.terminate()
        process.wait(timeout=60)
    return {"listening": listening - started, "ready": ready - started, "first": first, "second": second}


def run_server(args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    audio = base64.b64decode(SAMPLE["file"].split(",", 1)[1])
    form = {key: json.dumps(SAMPLE[key]) for key in ("model_params", "diarize_params")}

    def send() -> httpx.Response:
        files = {"file": (SAMPLE["filename"], audio)}
        return httpx.post(f"{base}/speech-to-text?wait=true", files=files, data=form, timeout=600)

    # `/ping` says 204 as soon as the server listens, while it loads the models.
    return cold_run(["-m", "app"], environment(args, PORT=str(port)), f"{base}/ping", {204}, send)


def run_worker(args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = ["handler.py", "--rp_serve_api", "--rp_api_port", str(port), "--rp_api_host", "127.0.0.1"]

    def send() -> httpx.Response:
        return httpx.post(f"{base}/runsync", json={"input": SAMPLE}, timeout=600)

    # The worker loads its models before it starts serving: it listens when it is ready.
    return cold_run(command, environment(args), f"{base}/openapi.json", set(), send)


def phases(args: argparse.Namespace, module: str) -> dict[str, list[float]]:
    script = PHASES.format(module=module)
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment(args),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="tiny.en")
    args = parser.parse_args()
    doors = {"worker": (run_worker, "handler"), "server": (run_server, "app.main")}
    results: dict[str, list[dict[str, float]]] = {door: [] for door in doors}
    split: dict[str, list[dict[str, list[float]]]] = {door: [] for door in doors}
    for run in range(args.runs):
        for door, (measure, module) in doors.items():
            results[door].append(measure(args))
            split[door].append(phases(args, module))
            print(f"run {run + 1} {door}: {results[door][-1]} {split[door][-1]}", file=sys.stderr)

    print(f"{args.runs} runs, {args.device}, {args.model}; medians in seconds\n")
    print("| front door | start → listening | start → ready | first request | second request |")
    print("| --- | --- | --- | --- | --- |")
    for door, runs in results.items():
        cells = [statistics.median(x[key] for x in runs) for key in ("listening", "ready", "first", "second")]
        print(f"| {door} | " + " | ".join(f"{value:.1f}" for value in cells) + " |")
    print("\n| front door | app import wall / CPU | ML library import wall / CPU | model load wall / CPU |")
    print("| --- | --- | --- | --- |")
    for door, runs in split.items():
        cells = []
        for phase in ("app import", "ML library import", "model load"):
            wall = statistics.median(r[phase][0] for r in runs)
            cpu = statistics.median(r[phase][1] for r in runs)
            cells.append(f"{wall:.1f} / {cpu:.1f}")
        print(f"| {door} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
