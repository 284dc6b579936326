"""Run the worker's actions in-process and print a readable report; exit non-zero on any failure.

    python test_handler_local.py

Covers the actions the worker serves today (`health`); the speech actions join as they land.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from handler import handler

JOBS: list[dict[str, Any]] = [
    {"id": "local-health", "input": {"action": "health"}},
]


def main() -> int:
    failures = 0
    for job in JOBS:
        started = time.perf_counter()
        response = handler(job)
        elapsed = time.perf_counter() - started
        ok = "error" not in response
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {job['input']['action']:<20} {elapsed:6.2f} s")
        print("     " + json.dumps(response.get("error") or response.get("result"))[:300])
    print(f"{len(JOBS) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
