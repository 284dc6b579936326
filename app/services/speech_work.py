"""The work each speech action runs on its validated request and its decoded audio, reporting progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict, TypeVar

import numpy as np

from app.audio.decode import Audio
from app.audio.sources import load_reference_clip
from app.config import Settings
from app.ml.results import Transcript, Turn
from app.runtime import Runtime
from app.schemas import (
    AlignJob,
    CombineJob,
    DetectLanguageJob,
    DiarizeJob,
    DiarizeParams,
    JobInput,
    PipelineParams,
    SpeechToTextJob,
    TranscribeJob,
)
from app.services.channels import ChannelDiarization, channels_full_result, transcribe_channels
from app.services.full_pipeline import run_full_pipeline
from app.services.pipeline import (
    Progress,
    run_alignment,
    run_combine,
    run_diarization,
    run_language_detection,
    run_transcription,
    whisper_spec,
)
from app.services.redacted_audio import keep_bleeped
from app.services.results import Aligned, DetectedLanguage, Diarized, FullResult, TaskResult, Transcribed
from app.services.text_rules import decoding_options, rewriting_progress, rewritten
from app.services.vocabularies import rules_with_vocabulary
from app.services.voices import enrolled_voices, keep_speaker_embeddings
from app.text_schemas import TextRules


@dataclass(frozen=True)
class TaskScope:
    """Whose task runs, and where: what the work needs beyond its request and audio."""

    runtime: Runtime
    task_id: str
    owner: str | None

    @property
    def settings(self) -> Settings:
        return self.runtime.settings


Job = TypeVar("Job", bound=JobInput)
Params = TypeVar("Params", bound=PipelineParams)
Input = TypeVar("Input", Audio, None)
Work = Callable[[Job, Input, Progress, TaskScope], TaskResult]
"""What an action does with its request and its audio (`None` for an action that takes none)."""


def full_process(job: SpeechToTextJob, audio: Audio, progress: Progress, scope: TaskScope) -> FullResult:
    rules = rules_with_vocabulary(scope.runtime, scope.owner, job)
    # The job is itself a PipelineParams: it carries every parameter group.
    params = _with_keyterms(job, rules, scope.settings)
    progress = rewriting_progress(progress, rules)
    if job.multichannel:
        timings: dict[str, float] = {}
        diarized = (
            ChannelDiarization(job.diarize_params, scope.settings, timings) if job.diarize_channels else None
        )
        transcript = transcribe_channels(
            audio,
            params,
            scope.settings,
            names=job.channel_names,
            progress=progress,
            words=True,
            timings=timings,
            diarize=diarized,
        )
        return _kept(channels_full_result(transcript, timings, diarized), rules, audio, scope)
    result = run_full_pipeline(
        audio.samples,
        params,
        scope.settings,
        progress=progress,
        **_known_voices(job.diarize_params, scope),
    )
    keep_speaker_embeddings(scope.runtime, scope.owner, scope.task_id, job.diarize_params, result)
    return _kept(result, rules, audio, scope)


def transcription(job: TranscribeJob, audio: Audio, progress: Progress, scope: TaskScope) -> Transcribed:
    settings = scope.settings
    rules = rules_with_vocabulary(scope.runtime, scope.owner, job)
    groups = ("model_params", "asr_options", "vad_options", "align_params")
    params = _with_keyterms(
        PipelineParams(**{group: getattr(job, group) for group in groups}), rules, settings
    )
    # Bleeping the redacted words needs their timings.
    words = job.word_timestamps or rules.redact_audio
    share = 0.8 if words else 1.0
    progress = rewriting_progress(progress, rules)
    if job.multichannel:
        heard = transcribe_channels(
            audio, params, settings, names=job.channel_names, progress=progress, words=words
        )
        return _kept(heard, rules, audio, scope)
    result, decoded_words = run_transcription(
        audio.samples,
        params,
        settings,
        on_progress=lambda part, partial: progress(share * part, "transcribe", partial),
        words=words,
        token_logprobs=job.token_logprobs,
    )
    if words:
        progress(share, "align")
        aligned = run_alignment(
            audio.samples,
            result,
            settings,
            align_params=job.align_params,
            model_params=job.model_params,
            decoded_words=decoded_words,
            on_progress=lambda part: progress(share + (1 - share) * part, "align"),
        )
        result = {**result, **aligned}
    result["audio_duration"] = round(audio.duration, 3)
    return _kept(result, rules, audio, scope)


Kept = TypeVar("Kept", Transcribed, FullResult)


def _kept(result: Kept, rules: TextRules, audio: Audio, scope: TaskScope) -> Kept:
    """The result as it may be stored and sent: rewritten by the job's rules, with the audio bleeped where
    words were redacted when `redact_audio` asks for it."""
    kept, spans = rewritten(result, rules)
    if rules.redact_audio:
        kept["redacted_audio"] = keep_bleeped(scope.settings, scope.task_id, audio.samples, spans)
    return kept


def _with_keyterms(params: Params, rules: TextRules, settings: Settings) -> Params:
    """`params` whose decoding is biased toward the keyterms of `rules` (the job's, with its vocabulary's)."""
    spec = whisper_spec(settings, params.model_params)
    return params.model_copy(update={"asr_options": decoding_options(params.asr_options, rules, spec)})


def alignment(job: AlignJob, audio: Audio, progress: Progress, scope: TaskScope) -> Aligned:
    progress(0.0, "align")
    result = run_alignment(
        audio.samples,
        job.transcript.as_transcript(),
        scope.settings,
        align_params=job.align_params,
        model_params=job.model_params,
        device=job.device,
        on_progress=lambda fraction: progress(fraction, "align"),
    )
    return Aligned(**result, audio_duration=round(audio.duration, 3))


def diarization(job: DiarizeJob, audio: Audio, progress: Progress, scope: TaskScope) -> Diarized:
    progress(0.0, "diarize")
    result = run_diarization(
        audio.samples,
        scope.settings,
        diarize_params=job.diarize_params,
        device=job.device,
        on_progress=lambda percent: progress(percent / 100, "diarize"),
        **_known_voices(job.diarize_params, scope),
    )
    keep_speaker_embeddings(scope.runtime, scope.owner, scope.task_id, job.diarize_params, result)
    return Diarized(**result, audio_duration=round(audio.duration, 3))


def language_detection(
    job: DetectLanguageJob, audio: Audio, progress: Progress, scope: TaskScope
) -> DetectedLanguage:
    progress(0.0, "detect_language")
    detected = run_language_detection(audio.samples, job.model_params, scope.settings)
    detected["audio_duration"] = round(audio.duration, 3)
    return detected


def combination(job: CombineJob, _audio: None, _progress: Progress, _scope: TaskScope) -> Transcript:
    turns = [Turn(start=turn.start, end=turn.end, speaker=turn.speaker) for turn in job.diarization_result]
    return run_combine(job.aligned_transcript.as_transcript(), turns)


class KnownVoices(TypedDict):
    references: dict[str, np.ndarray]
    voices: dict[str, np.ndarray]


def _known_voices(params: DiarizeParams, scope: TaskScope) -> KnownVoices:
    """The voices to name: `references`, the clips given (name → 16 kHz samples, loaded as any audio is), and
    `voices`, the enrolled voices named or, to identify speakers, the whole library (name → embedding)."""
    references = {
        name: load_reference_clip(name, source, settings=scope.settings).samples
        for name, source in params.reference_clips.items()
    }
    return KnownVoices(references=references, voices=enrolled_voices(scope.runtime, scope.owner, params))
