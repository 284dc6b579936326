"""A saved vocabulary merged into a request's text rules: its keyterms first, each term once; its replacements
unless the request spells the same key; the request's redaction kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.audio.decode import Audio
from app.errors import ServiceError
from app.ml import transcription
from app.ml.results import Caption
from app.runtime import get_runtime
from app.schemas import PipelineParams, SpeechToTextJob, TranscribeJob
from app.services import speech_work
from app.services.speech_work import TaskScope
from app.services.vocabularies import merged_rules
from app.text_schemas import TextRules

OWNER = "a" * 64


def test_the_vocabulary_comes_first_and_the_request_wins_on_a_key() -> None:
    request = TextRules(
        keyterms=["Zylofax", "Okonkwo"],
        replacements={"Acme-Pro": "ACME Pro", "dr okonkwo": "Dr. Okonkwo"},
        redact=["email"],
        vocabulary="Acme",
    )
    merged = merged_rules(
        request,
        keyterms=["Acme-Pro", "zylofax"],
        replacements={"acme pro": "Acme-Pro", "zylo fax": "Zylofax"},
    )
    assert merged.keyterms == ["Acme-Pro", "zylofax", "Okonkwo"]
    # "acme pro" and "Acme-Pro" match the same words: the request's spelling is the one kept.
    assert merged.replacements == {"zylo fax": "Zylofax", "Acme-Pro": "ACME Pro", "dr okonkwo": "Dr. Okonkwo"}
    assert merged.redact == ["email"]
    assert request.keyterms == ["Zylofax", "Okonkwo"]  # the request is left as it was


def test_rewrites_follows_the_merged_replacements() -> None:
    job = TranscribeJob(file="x", vocabulary="Spellings")
    assert not job.rewrites
    merged = merged_rules(job, keyterms=[], replacements={"acme pro": "Acme-Pro"})
    assert merged.rewrites and merged.replacements == {"acme pro": "Acme-Pro"}
    # Keyterms alone rewrite too: they write their near spellings as given.
    assert merged_rules(job, keyterms=["Acme"], replacements={}).rewrites


def test_a_transcription_decodes_and_rewrites_by_the_merged_rules(
    service_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = get_runtime()
    runtime.vocabularies.create(
        owner=OWNER, name="Acme", keyterms=["Zylofax"], replacements={"acme pro": "Acme-Pro"}
    )
    # Whisper stands aside: one token per word, and a decoder that hears "the acme pro plan".
    monkeypatch.setattr(transcription, "token_ids", lambda _spec, texts: [text.split() for text in texts])
    prompts: list[str | None] = []
    said = [Caption(start=0.0, end=1.0, text="the acme pro plan")]

    def decoded(audio: Any, params: PipelineParams, settings: Any, **kwargs: Any) -> tuple[Any, None]:
        prompts.append(params.asr_options.initial_prompt)
        kwargs["on_progress"](1.0, said)
        return {"segments": said, "language": "en", "backend": "fake", "vad": "none"}, None

    monkeypatch.setattr(speech_work, "run_transcription", decoded)
    reported: list[str] = []

    def progress(_fraction: float, _stage: str, partial: list[Caption] | None = None) -> None:
        reported.extend(caption["text"] for caption in partial or [])

    job = TranscribeJob(file="x", keyterms=["Okonkwo"], vocabulary="Acme")
    silence = Audio(np.zeros(16_000, dtype=np.float32))
    result = speech_work.transcription(job, silence, progress, TaskScope(runtime, "task", OWNER))
    assert prompts == ["Zylofax, Okonkwo."]
    assert result["segments"][0]["text"] == "the Acme-Pro plan" and reported == ["the Acme-Pro plan"]
    # Another owner has no vocabulary of that name.
    with pytest.raises(ServiceError, match="No vocabulary is saved as 'Acme'"):
        speech_work.transcription(job, silence, progress, TaskScope(runtime, "task", "b" * 64))


def test_a_full_process_decodes_and_rewrites_by_the_merged_rules(
    service_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = get_runtime()
    runtime.vocabularies.create(owner=None, name="Acme", keyterms=["Zylofax"], replacements={"acme": "ACME"})
    monkeypatch.setattr(transcription, "token_ids", lambda _spec, texts: [text.split() for text in texts])
    prompts: list[str | None] = []
    said = [Caption(start=0.0, end=1.0, text="acme calling")]

    def pipeline(audio: Any, params: PipelineParams, settings: Any, **kwargs: Any) -> dict[str, Any]:
        prompts.append(params.asr_options.initial_prompt)
        return {"segments": said, "word_segments": [], "language": "en"}

    monkeypatch.setattr(speech_work, "run_full_pipeline", pipeline)
    job = SpeechToTextJob(file="x", vocabulary="Acme", redact=["email"])
    silence = Audio(np.zeros(16_000, dtype=np.float32))
    result = speech_work.full_process(job, silence, lambda *_: None, TaskScope(runtime, "task", None))
    assert prompts == ["Zylofax."] and result["segments"][0]["text"] == "ACME calling"
