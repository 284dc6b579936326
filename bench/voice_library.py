"""The voice library, measured: voices enrolled from one recording named in another, and identification among
many enrolled voices on SQLite and PostgreSQL.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/voice_library.py
    .venv/bin/python bench/voice_library.py --voices 1000 --runs 20   # identification only
    .venv/bin/python bench/voice_library.py --no-naming

Naming: five espeak-ng voices each say two enrolment sentences (one recording); three of them (and a sixth, never
enrolled) then talk in a dialogue of twenty other sentences (another recording), which the configured diarizer
diarizes with the whole library as known voices (`identify_speakers`). The diarizer merges the sixth voice's
turns into enrolled speakers; a turn whose own voice is more like another enrolled voice keeps its label rather
than the name. Each diarized turn is scored against the true speaker it covers most, as a share of the turns and
of their time: named right, named wrong (another enrolled voice, or a name given to the voice never enrolled), or
left unnamed. Identification: `--voices` voices with random unit embeddings of the diarizer's size are enrolled,
and one clip's embedding is compared with all of them: the library read in one query and one vectorised scan,
median over `--runs`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from pyannote.core import Annotation, Segment  # noqa: E402

from app.config import get_settings  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402
from app.db.voices import VoiceRepository  # noqa: E402
from app.ml import diarization, speaker_names  # noqa: E402
from tests.synth import VOICES, dialogue  # noqa: E402

VOICES.update(
    {
        "D": ["-v", "en-gb+m1", "-p", "40", "-s", "140"],
        "E": ["-v", "en-us+f4", "-p", "85", "-s", "170"],
        "F": ["-v", "en-gb+f3", "-p", "55", "-s", "155"],
    }
)
ENROLMENT = [
    "the weather is lovely today and the sun is shining on the hills",
    "please remember to bring the blue folder to the meeting on friday",
]
ENROLLED = ("A", "B", "C", "D", "E")
CONVERSATION = [
    ("A", "good morning everyone shall we look at the numbers from last quarter"),
    ("B", "yes the sales went up in the north but the south stayed flat"),
    ("F", "i think the south needs a new plan before the summer starts"),
    ("C", "we could move two people from the north team to help them"),
    ("A", "that sounds fair let us write it down and decide next week"),
    ("B", "i will send the report to everyone tonight after dinner"),
    ("F", "thank you and please include the travel costs as well"),
    ("C", "of course i have them ready in a spreadsheet already"),
    ("A", "before we finish can someone book the room for thursday"),
    ("F", "i can do that right after this call if nobody minds"),
    ("B", "the projector in that room was broken last time we met"),
    ("C", "then let us ask the front desk to check it tomorrow"),
    ("F", "good idea i will mention it when i book the room"),
    ("A", "one more thing the new hires start on the first of june"),
    ("B", "we should plan a short welcome lunch for all of them"),
    ("C", "there is a nice place near the station that takes groups"),
    ("F", "let us keep the budget small this quarter please"),
    ("A", "agreed a simple lunch is enough for a first day"),
    ("C", "i will look at the menu and share a few options"),
    ("B", "great then we are done thank you all for your time"),
]


def naming() -> dict[str, tuple[float, float]]:
    """Each outcome's share of the diarized turns, and of their seconds."""
    settings = get_settings()
    diarizer = {"device": "cpu", "model_name": settings.diarization_model, "hf_token": settings.hf_token}
    library = {
        voice: diarization.embed_voice(
            [dialogue([(voice, text)], lead=0.2)[0] for text in ENROLMENT], **diarizer
        )[1]
        for voice in ENROLLED
    }
    audio, truth = dialogue(CONVERSATION, turn_gap=0.8)
    reference = Annotation()
    for word in truth:
        reference[Segment(word.start, word.end)] = word.speaker
    result = diarization.diarize(audio, voices=library, **diarizer)
    outcomes = ("right", "wrong", "unnamed", "unknown kept unnamed")
    turns, seconds = dict.fromkeys(outcomes, 0.0), dict.fromkeys(outcomes, 0.0)
    for turn in result["segments"]:
        overlap = reference.crop(Segment(turn["start"], turn["end"]))
        true = max(overlap.labels(), key=lambda label: overlap.label_timeline(label).duration(), default=None)
        named = turn["speaker"] if turn["speaker"] in library else None
        if true in library:
            outcome = "right" if named == true else "wrong" if named else "unnamed"
        else:
            outcome = "wrong" if named else "unknown kept unnamed"
        turns[outcome] += 1
        seconds[outcome] += turn["end"] - turn["start"]
    print(
        f"backend {result['backend']}; {sum(turns.values()):.0f} turns; "
        f"threshold {diarization.match_threshold(result['backend'])}"
    )
    for name, match in result.get("known_speakers", {}).items():
        print(f"  enrolled {name}: {match}")
    return {
        outcome: (turns[outcome] / sum(turns.values()), seconds[outcome] / sum(seconds.values()))
        for outcome in outcomes
    }


def identification(url: str, voices: int, runs: int, dimension: int) -> float:
    engine = make_engine(url)
    upgrade(engine)
    repository = VoiceRepository(make_session_factory(engine))
    owner = "0" * 64
    rng = np.random.default_rng(0)
    for index in range(voices):
        identifier = repository.create(owner=owner, name=f"voice {index}", description=None, clips=[])
        vector = rng.normal(size=dimension).astype(np.float32)
        repository.set_embedding(owner, identifier, "bench", vector / np.linalg.norm(vector))
    clip = rng.normal(size=dimension).astype(np.float32)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        identifiers, names, matrix = repository.embeddings(owner, "bench", dimension)
        similarities = speaker_names.cosine_similarities(clip[None, :], matrix)[0]
        best = names[int(np.argmax(similarities))]
        timings.append(time.perf_counter() - started)
    assert len(identifiers) == voices and best
    engine.dispose()
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voices", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--dimension", type=int, default=256, help="embedding size (Resemblyzer's: 256)")
    parser.add_argument("--no-naming", action="store_true")
    args = parser.parse_args()
    if not args.no_naming:
        rates = naming()
        print("| turns | share of turns | share of their time |\n| --- | --- | --- |")
        for key, (by_turn, by_time) in rates.items():
            print(f"| {key} | {by_turn:.1%} | {by_time:.1%} |")
    print()
    print(f"| database | identify among {args.voices} voices, median of {args.runs} |\n| --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        sqlite = identification(f"sqlite:///{folder}/voices.db", args.voices, args.runs, args.dimension)
    print(f"| SQLite | {sqlite * 1000:.1f} ms |")
    from tests.pg_cluster import temporary_postgres

    with temporary_postgres() as url:
        postgres = identification(url, args.voices, args.runs, args.dimension)
    print(f"| PostgreSQL | {postgres * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
