"""The images as a user pulls them: each one's size, and the worker's cold start inside its image, container start
→ first result, as RunPod pays it when an endpoint scales up from zero.

Each run starts fresh containers of the worker image:
- `python handler.py --test_input` with the Hub's `speech_to_text` sample (the full pipeline on a 4 s clip): the
  total, container start → first result; the worker logs when it is ready, from its process start;
- the parts of that start-up, in a container of their own (as `bench/cold_start.py` splits them): importing the
  app, importing the ML libraries (torch, whisperx, pyannote.audio), loading the models;
- `docker run --rm IMAGE true`: creating, starting and removing a container.
The first job is what the total leaves after the container and the worker's start-up (`worker ready`, which
holds the three parts and the rest of the start: the task store's migrations, the RunPod SDK).

    KEEP_TEST_IMAGES=1 make test-images   # builds whisperx-api:test and whisperx-worker:test (tiny.en), kept
    .venv/bin/python bench/image_cold_start.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

from cold_start import PHASES

ROOT = Path(__file__).resolve().parents[1]
HUB_TESTS = json.loads((ROOT / ".runpod" / "tests.json").read_text())["tests"]
SAMPLE = next(test["input"] for test in HUB_TESTS if test["name"] == "speech_to_text")
READY = re.compile(r"worker ready ([\d.]+) s after its process started")
DOCKER = os.environ.get("DOCKER", "docker")


def timed(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"docker {' '.join(args[:3])} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return elapsed, result


def size_gb(image: str) -> float:
    return int(subprocess.check_output([DOCKER, "image", "inspect", "-f", "{{.Size}}", image])) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--image", default="whisperx-worker:test")
    parser.add_argument("--api-image", default="whisperx-api:test")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    run = ["run", "--rm", "--network", "host", "--env", f"DEVICE={args.device}"]
    if args.device == "cuda":
        run += ["--gpus", "all"]
    job = json.dumps({"input": SAMPLE})

    rows = []
    for _ in range(args.runs):
        container, _output = timed(*run, args.image, "true")
        _elapsed, phases = timed(*run, args.image, "python", "-c", PHASES.format(module="handler"))
        parts = {
            name: wall for name, (wall, _cpu) in json.loads(phases.stdout.strip().splitlines()[-1]).items()
        }
        total, worker = timed(*run, args.image, "python", "handler.py", "--test_input", job)
        output = worker.stdout + worker.stderr
        ready = READY.search(output)
        if not ready:
            raise SystemExit(f"the worker logged no ready line:\n{output[-3000:]}")
        first_job = total - container - float(ready[1])
        rows.append(
            {
                "container": container,
                "worker ready": float(ready[1]),
                **parts,
                "first job": first_job,
                "total": total,
            }
        )

    api_size, worker_size = size_gb(args.api_image), size_gb(args.image)
    print(f"image sizes: {args.api_image} {api_size:.2f} GB, {args.image} {worker_size:.2f} GB")
    print(f"worker cold start, {args.device}, medians of {args.runs} runs (seconds):")
    for part in rows[0]:
        values = [row[part] for row in rows]
        runs = ", ".join(f"{value:.2f}" for value in values)
        print(f"  {part:18} {statistics.median(values):6.2f}   runs: {runs}")


if __name__ == "__main__":
    main()
