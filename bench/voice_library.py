"""The voice library, measured: voices enrolled from one recording named in another, and identification among
many enrolled voices on SQLite and PostgreSQL.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/voice_library.py
    .venv/bin/python bench/voice_library.py --voices 1000 --runs 20   # identification only
    .venv/bin/python bench/voice_library.py --no-naming

Naming: six espeak-ng voices, no two more alike than two people (`tests/synth.py`), each say two enrolment sentences
(one recording). In each of `--meetings` meetings, five of them are enrolled, three of those and the sixth (the
stranger, never enrolled) talk in a dialogue of twenty other sentences (another recording); each meeting rotates the
cast, so each has another stranger. The configured diarizer diarizes each meeting with the library as known voices
(`identify_speakers`), and the full pipeline (`--model`) transcribes it with them. Each diarized turn and each
transcript segment is scored against the true speaker it covers most, as a share of the count and of the time: named
right, named wrong (another enrolled voice, or a name given to the stranger), left unnamed, or the stranger kept
unnamed.
Identification: `--voices` voices with random unit embeddings of the diarizer's size are enrolled, and one clip's
embedding is compared with all of them: the library read in one query and one vectorised scan, median over `--runs`.
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

from app.config import Settings  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402
from app.db.voices import VoiceRepository  # noqa: E402
from app.ml import diarization, speaker_names  # noqa: E402
from app.schemas import PipelineParams  # noqa: E402
from app.services.full_pipeline import run_full_pipeline  # noqa: E402
from tests.corpus import MEETING_VOICES, enrolment_clips, meeting  # noqa: E402

OUTCOMES = ("right", "wrong", "unnamed", "unknown kept unnamed")
PIECES = ("diarized turns", "transcript segments")


def scored(pieces: list[dict], reference: Annotation, enrolled: set[str]) -> dict[str, list[float]]:
    """Each outcome's count of pieces (diarized turns or transcript segments) and their seconds: each piece
    against the true speaker it covers most."""
    outcomes = {outcome: [0.0, 0.0] for outcome in OUTCOMES}
    for piece in pieces:
        true = reference.crop(Segment(piece["start"], piece["end"])).argmax()  # who says most of it
        named = piece.get("speaker") if piece.get("speaker") in enrolled else None
        if true in enrolled:
            outcome = "right" if named == true else "wrong" if named else "unnamed"
        else:
            outcome = "wrong" if named else "unknown kept unnamed"
        outcomes[outcome][0] += 1
        outcomes[outcome][1] += piece["end"] - piece["start"]
    return outcomes


def naming(model: str, meetings: int) -> dict[str, dict[str, list[float]]]:
    """The outcomes of the diarizer's turns, and of the full pipeline's transcript segments (`model`), summed
    over `meetings` meetings: meeting k casts the voices rotated by k, so each has another stranger."""
    settings = Settings(_env_file=None, device="cpu", whisper_model=model)  # type: ignore[call-arg]
    diarizer = {"device": "cpu", "model_name": settings.diarization_model, "hf_token": settings.hf_token}
    enrolments = {
        voice: diarization.embed_voice(enrolment_clips(voice), device="cpu")[1] for voice in MEETING_VOICES
    }
    totals = {kind: {outcome: [0.0, 0.0] for outcome in OUTCOMES} for kind in PIECES}
    for k in range(meetings):
        voices = MEETING_VOICES[k:] + MEETING_VOICES[:k]
        library = {voice: enrolments[voice] for voice in voices[:5]}
        audio, reference = meeting(voices)
        turns = diarization.diarize(audio, voices=library, **diarizer)
        transcript = run_full_pipeline(audio, PipelineParams(), settings, voices=library)
        print(
            f"meeting {k + 1}: stranger {voices[5]}, backend {turns['backend']} "
            f"(threshold {speaker_names.MATCH_THRESHOLD}), {len(turns['segments'])} turns, "
            f"{len(transcript['segments'])} transcript segments ({model})"
        )
        for kind, pieces in zip(PIECES, (turns["segments"], transcript["segments"]), strict=True):
            for outcome, (count, seconds) in scored(pieces, reference, set(library)).items():
                totals[kind][outcome][0] += count
                totals[kind][outcome][1] += seconds
    return totals


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
    parser.add_argument("--model", default="tiny.en", help="the Whisper model of the transcript segments")
    parser.add_argument("--meetings", type=int, default=6, help="meetings, each with another stranger (1–6)")
    args = parser.parse_args()
    if not args.no_naming:
        totals = naming(args.model, args.meetings)
        print("| scored | named right | named wrong | left unnamed | stranger kept unnamed |")
        print("| --- | --- | --- | --- | --- |")
        for kind, outcomes in totals.items():
            for index, unit in enumerate(("count", "time")):
                whole = sum(figures[index] for figures in outcomes.values())
                cells = " | ".join(f"{outcomes[outcome][index] / whole:.1%}" for outcome in OUTCOMES)
                print(f"| {kind}, by {unit} | {cells} |")
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
