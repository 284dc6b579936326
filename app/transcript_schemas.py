"""The transcripts and diarizations a client hands back to the align and combine jobs, checked as they arrive."""

from __future__ import annotations

from typing import Annotated, cast

from pydantic import BaseModel, ConfigDict, Field

from app.ml import results

# Times are seconds into the audio: finite, and within a week (longer audio is refused long before).
Seconds = Annotated[float, Field(strict=True, ge=0, le=7 * 24 * 3600, allow_inf_nan=False)]


class Word(BaseModel):
    model_config = ConfigDict(strict=True)

    word: str
    start: Seconds | None = None
    end: Seconds | None = None
    score: float | None = Field(None, allow_inf_nan=False)
    probability: float | None = Field(None, ge=0, le=1, description="the decoder's probability of the word")
    speaker: str | None = None


class TranscriptSegment(BaseModel):
    model_config = ConfigDict(strict=True)

    start: Seconds
    end: Seconds
    text: str
    words: list[Word] | None = None
    speaker: str | None = None
    # The decoder's own figures for the chunk the segment was decoded in.
    avg_logprob: float | None = Field(None, allow_inf_nan=False)
    no_speech_prob: float | None = Field(None, ge=0, le=1)
    compression_ratio: float | None = Field(None, ge=0, allow_inf_nan=False)
    temperature: float | None = Field(None, ge=0, le=1)


class Transcript(BaseModel):
    """A transcript as the transcription stage returns it (and the align stage takes it)."""

    model_config = ConfigDict(strict=True)

    language: str | None = None
    segments: list[TranscriptSegment] = Field(max_length=100_000)

    def as_transcript(self) -> results.Transcript:
        """The transcript as the pipeline takes it: the fields given, in the shape they were validated in."""
        return cast("results.Transcript", self.model_dump(exclude_none=True))


class AlignedTranscript(Transcript):
    word_segments: list[Word] = Field(default_factory=list)


class DiarizationSegment(BaseModel):
    model_config = ConfigDict(strict=True)

    start: Seconds
    end: Seconds
    speaker: str = Field(max_length=100)
