"""A transcribing job's text rules at work: its keyterms folded into Whisper's prompt, and what was said
rewritten (keyterms' near spellings and replacements, then redaction) before anything is reported, stored or
sent, so a redacted original never reaches the task table, a stream, a webhook or a log."""

from __future__ import annotations

from typing import TypeVar

from app.errors import ServiceError
from app.ml import transcription
from app.ml.results import Caption, Transcript
from app.ml.transcription import WhisperSpec
from app.schemas import ASROptions
from app.services.pipeline_progress import Progress
from app.text import redaction, vocabulary
from app.text.near_spellings import NearSpellings
from app.text_schemas import TextRules

Rewritten = TypeVar("Rewritten", bound=Transcript)


def decoding_options(asr: ASROptions, rules: TextRules, spec: WhisperSpec) -> ASROptions:
    """`asr` with the keyterms after the initial prompt; refused when the prompt and hotwords together pass
    Whisper's prompt budget (the decoder would drop the rest without a word)."""
    if not rules.keyterms:
        return asr
    prompt = vocabulary.keyterm_prompt(rules.keyterms, asr.initial_prompt)
    texts = [" " + text.strip() for text in (prompt, asr.hotwords) if text]
    used = sum(len(ids) for ids in transcription.token_ids(spec, texts))
    if vocabulary.over_budget(used):
        raise ServiceError(
            "prompt_too_long",
            f"The keyterms with the initial prompt and hotwords take {used} tokens; Whisper's prompt holds "
            f"{vocabulary.PROMPT_TOKEN_BUDGET}. Give fewer keyterms.",
            details={"param": "keyterms", "tokens": used, "budget": vocabulary.PROMPT_TOKEN_BUDGET},
        )
    return asr.model_copy(update={"initial_prompt": prompt})


def rewritten(
    result: Rewritten, rules: TextRules, near: NearSpellings | None = None
) -> tuple[Rewritten, list[tuple[float, float]]]:
    """`result` with its segments and words rewritten by the replacements, then redacted, its other keys kept;
    and the spans of the redacted words (seconds)."""
    if not rules.rewrites:
        return result, []
    transcript = Transcript(segments=result["segments"])
    if "word_segments" in result:
        transcript["word_segments"] = result["word_segments"]
    replacements = _replacements([segment["text"] for segment in transcript["segments"]], rules, near)
    if replacements:
        transcript = vocabulary.replace_transcript(transcript, replacements)
    spans: list[tuple[float, float]] = []
    if rules.redact:
        transcript, spans = redaction.redact_transcript(transcript, rules.redact)
    changed = dict(result)
    changed.update(transcript)
    return changed, spans  # type: ignore[return-value]  # the same TypedDict, only its transcript keys replaced


def rewritten_captions(
    captions: list[Caption], rules: TextRules, near: NearSpellings | None = None
) -> list[Caption]:
    replacements = _replacements([caption["text"] for caption in captions], rules, near)
    if replacements:
        captions = vocabulary.replace_captions(captions, replacements)
    if rules.redact:
        captions = redaction.redact_captions(captions, rules.redact)
    return captions


def rewriting_progress(progress: Progress, rules: TextRules) -> Progress:
    """`progress` hearing the segments so far as they will be kept."""
    if not rules.rewrites:
        return progress
    near = NearSpellings(rules.keyterms)  # each report holds every segment so far: each is scanned once

    def report(fraction: float, stage: str, partial: list[Caption] | None = None) -> None:
        progress(fraction, stage, rewritten_captions(partial, rules, near) if partial is not None else None)

    return report


def _replacements(texts: list[str], rules: TextRules, near: NearSpellings | None) -> dict[str, str]:
    """The job's replacements, after those of the keyterms' near spellings found in `texts`."""
    if not rules.keyterms:
        return dict(rules.replacements)
    return (near or NearSpellings(rules.keyterms)).replacements(texts, rules.replacements)
