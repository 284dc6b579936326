"""The inputs of the two public RunPod whisper workers, with their field names, defaults and meanings.

`FasterWhisperInput` is worker-faster_whisper's input (`audio` / `audio_base64`), `WhisperXWorkerInput` is
whisperx-worker's (`audio_file`). Each maps onto the job schemas every other action uses, so it runs through the
same pipeline and task table.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.schemas import (
    AlignParams,
    ASROptions,
    DiarizeParams,
    ModelParams,
    SpeechToTextJob,
    TranscribeJob,
    VADOptions,
)

TextFormat = Literal["plain_text", "formatted_text", "srt", "vtt"]


class _WorkerInput(BaseModel):
    # Their validator refuses unknown keys too; ints are accepted where a float is expected, as theirs does.
    model_config = ConfigDict(extra="forbid", strict=True)


def _known_language(value: str | None) -> str | None:
    try:
        return ModelParams(language=value).language
    except ValidationError as error:
        raise ValueError(error.errors()[0]["msg"].removeprefix("Value error, ")) from None


def _text_format(value: Any) -> Any:
    # worker-faster_whisper's own test input spells it "plain text".
    return value.replace(" ", "_") if isinstance(value, str) else value


class FasterWhisperInput(_WorkerInput):
    """worker-faster_whisper's input (its `rp_schema.py`)."""

    audio: str | None = Field(None, max_length=8192, description="http(s) URL of the audio (or base64)")
    audio_base64: str | None = Field(None, description="the audio file, base64-encoded")
    model: str | None = Field(
        None, max_length=200, description="Whisper model; the configured one when absent"
    )
    transcription: TextFormat = "plain_text"
    translate: bool = False
    translation: TextFormat = "plain_text"
    language: str | None = None
    temperature: float = Field(0.0, ge=0, le=1)
    best_of: int = Field(5, ge=1, le=20)
    beam_size: int = Field(5, ge=1, le=20)
    patience: float = Field(1.0, gt=0, le=10)
    length_penalty: float | None = Field(0.0, ge=0, le=10)
    suppress_tokens: str = Field("-1", max_length=2000, pattern=r"^\s*-?\d+(\s*,\s*-?\d+)*\s*$")
    initial_prompt: str | None = Field(None, max_length=2000)
    condition_on_previous_text: bool = True
    temperature_increment_on_fallback: float | None = Field(0.2, ge=0.1, le=1)
    compression_ratio_threshold: float | None = Field(2.4, gt=0, le=100)
    logprob_threshold: float | None = Field(-1.0, ge=-100, le=0)
    no_speech_threshold: float | None = Field(0.6, ge=0, le=1)
    enable_vad: bool = False
    word_timestamps: bool = False
    repetition_penalty: float = Field(1.0, gt=0, le=10)
    no_repeat_ngram_size: int = Field(0, ge=0, le=100)

    _formats = field_validator("transcription", "translation", mode="before")(_text_format)
    _language = field_validator("language")(_known_language)

    @model_validator(mode="after")
    def _one_source(self) -> FasterWhisperInput:
        if bool(self.audio) == bool(self.audio_base64):
            raise ValueError("give the audio as exactly one of `audio` (a URL) or `audio_base64`")
        return self

    def temperatures(self) -> list[float]:
        """The fallback ladder: `temperature`, then up by the increment to 1.0 (theirs uses numpy's arange)."""
        if self.temperature_increment_on_fallback is None:
            return [self.temperature]
        steps = int((1.0 - self.temperature) / self.temperature_increment_on_fallback + 1e-6)
        return [
            round(self.temperature + i * self.temperature_increment_on_fallback, 6) for i in range(steps + 1)
        ]

    def transcribe_job(self, *, task: Literal["transcribe", "translate"] = "transcribe") -> TranscribeJob:
        """The same request as our `transcribe` action."""
        return TranscribeJob(
            file=self.audio or self.audio_base64,
            model_params=ModelParams(language=self.language, model=self.model, task=task),
            asr_options=ASROptions(
                beam_size=self.beam_size,
                best_of=self.best_of,
                patience=self.patience,
                length_penalty=1.0 if self.length_penalty is None else self.length_penalty,
                temperatures=self.temperatures(),
                compression_ratio_threshold=self.compression_ratio_threshold,
                log_prob_threshold=self.logprob_threshold,
                no_speech_threshold=self.no_speech_threshold,
                initial_prompt=self.initial_prompt,
                suppress_tokens=[int(token) for token in self.suppress_tokens.split(",")],
                repetition_penalty=self.repetition_penalty,
                no_repeat_ngram_size=self.no_repeat_ngram_size,
            ),
            # Their VAD filter is Silero; our batched decoding always splits at voice activity.
            vad_options=VADOptions(vad_method="silero" if self.enable_vad else "pyannote"),
            word_timestamps=self.word_timestamps and task == "transcribe",
        )


class SpeakerSample(_WorkerInput):
    """One of whisperx-worker's `speaker_samples`: a name, and a clip of that voice (without one, the voice
    enrolled in the library under that name)."""

    name: str = Field(min_length=1, max_length=64)
    url: str | None = Field(
        None, min_length=1, description="http(s) URL (or base64 / a data URI) of a 2–10 s clip"
    )


class WhisperXWorkerInput(_WorkerInput):
    """whisperx-worker's input (its `rp_schema.py`)."""

    audio_file: str = Field(description="http(s) URL of the audio, or base64 / a data URI")
    language: str | None = None
    language_detection_min_prob: float = Field(0, ge=0, le=1)
    language_detection_max_tries: int = Field(5, ge=1, le=100)
    initial_prompt: str | None = Field(None, max_length=2000)
    batch_size: int = Field(64, ge=1, le=256)
    temperature: float = Field(0, ge=0, le=1)
    vad_onset: float = Field(0.500, gt=0, lt=1)
    vad_offset: float = Field(0.363, gt=0, lt=1)
    align_output: bool = False
    diarization: bool = False
    huggingface_access_token: str | None = Field(
        None,
        max_length=200,
        description="not used: the worker's own HF_TOKEN decides the diarizer",
        repr=False,
    )
    min_speakers: int | None = Field(None, ge=1, le=50)
    max_speakers: int | None = Field(None, ge=1, le=50)
    speaker_verification: bool = Field(
        False, description="Name diarized speakers: after `speaker_samples`, or any voice in the library"
    )
    speaker_samples: list[SpeakerSample] = Field(default_factory=list, max_length=50)
    debug: bool = False

    _language = field_validator("language")(_known_language)

    @model_validator(mode="after")
    def _samples_to_verify(self) -> WhisperXWorkerInput:
        if self.speaker_samples and not (self.speaker_verification and self.diarization):
            raise ValueError("speaker_samples take effect with diarization and speaker_verification on")
        return self

    def _known_speakers(self) -> dict[str, Any]:
        """Speaker verification as our known speakers: the samples by name, else the whole voice library."""
        if not self.speaker_verification:
            return {}
        if not self.speaker_samples:
            return {"identify_speakers": True}
        return {"known_speakers": {sample.name: sample.url for sample in self.speaker_samples}}

    def job(self) -> TranscribeJob | SpeechToTextJob:
        """Transcription (aligned when asked), or the full pipeline when diarization is on (naming speakers with
        `speaker_verification`)."""
        groups: dict[str, Any] = {
            "file": self.audio_file,
            "model_params": ModelParams(language=self.language, batch_size=self.batch_size),
            "asr_options": ASROptions(temperatures=[self.temperature], initial_prompt=self.initial_prompt),
            "vad_options": VADOptions(vad_onset=self.vad_onset, vad_offset=self.vad_offset),
            "align_params": AlignParams(),
        }
        if self.diarization:
            speakers = DiarizeParams(
                min_speakers=self.min_speakers,
                max_speakers=self.max_speakers,
                **self._known_speakers(),
            )
            return SpeechToTextJob(**groups, diarize_params=speakers)
        return TranscribeJob(**groups, word_timestamps=self.align_output)
