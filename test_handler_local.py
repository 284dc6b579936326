"""Run every worker action in-process on real audio and print a readable report; exit non-zero on any failure.

    .venv/bin/python test_handler_local.py [audio-file]

Without an argument it uses pyannote.audio's sample (30 s, two speakers on the phone).
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

from handler import handler


def sample_path() -> Path:
    import pyannote.audio

    return Path(pyannote.audio.__file__).parent / "sample" / "sample.wav"


def summary(action: str, result: Any) -> str:
    """One line a person can read: the words, who spoke, or the task's state."""
    if isinstance(result, str):
        return result.strip().splitlines()[0][:100] if result.strip() else ""
    if not isinstance(result, dict):
        return json.dumps(result)[:100]
    if "segments" in result and result["segments"] and "text" in result["segments"][0]:
        text = " ".join(s["text"].strip() for s in result["segments"])
        speakers = sorted({s["speaker"] for s in result["segments"] if s.get("speaker")})
        return f"{text[:90]!r}" + (f" speakers={speakers}" if speakers else "")
    if "segments" in result:
        return f"{len(result['segments'])} turns by {sorted({s['speaker'] for s in result['segments']})}"
    if "tasks" in result:
        return f"{result['total']} task(s)"
    return ", ".join(f"{k}={v}" for k, v in list(result.items())[:4])[:100]


def main() -> int:
    audio = Path(sys.argv[1]) if len(sys.argv) > 1 else sample_path()
    file = "data:audio/wav;base64," + base64.b64encode(audio.read_bytes()).decode()
    outcomes: list[bool] = []
    results: dict[str, Any] = {}

    def run(action: str, **fields: Any) -> Any:
        started = time.perf_counter()
        response = handler({"id": f"local-{action}-{time.time_ns()}", "input": {"action": action, **fields}})
        elapsed = time.perf_counter() - started
        ok = "error" not in response
        outcomes.append(ok)
        detail = response["error"] if not ok else summary(action, response.get("result"))
        print(f"{'ok  ' if ok else 'FAIL'} {action:<20} {elapsed:6.1f} s  {detail}")
        results[action] = response.get("result")
        return response

    print(f"audio: {audio}")
    run("health")
    full = run("speech_to_text", file=file, filename=audio.name)
    run("speech_to_text_url", file=file, output_format="srt")
    run("transcribe", file=file)
    if results.get("transcribe"):
        run("align", file=file, transcript=results["transcribe"])
    run("diarize", file=file)
    if results.get("align") and results.get("diarize"):
        run(
            "combine",
            aligned_transcript=results["align"],
            diarization_result=results["diarize"]["segments"],
            output_format="txt",
        )
    if "identifier" in full:
        run("get_task", identifier=full["identifier"])
    run("get_all_tasks", page_size=5)
    if "identifier" in full:
        run("delete_task", identifier=full["identifier"])
    failed = outcomes.count(False)
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
