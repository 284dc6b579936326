"""whisperX-FastAPI's contract on the routes we share with it: its query parameters (names, types and allowed
values), mapped onto our job schemas' parameter groups, and its shapes of a task, a diarization and a callback.

Its query parameters and our form groups may both be given: the form group wins, key by key (the query string
fills in what the group leaves out). An absent query parameter leaves our default (its defaults, such as
`language=en` or `device=cuda`, are not applied).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, HttpUrl, field_validator
from whisperx.utils import LANGUAGES

from app.db.models import TaskType
from app.schemas import ErrorBody, TaskOut

WHISPERX_FASTAPI = "whisperx_fastapi"
"""The `webhook_body` of a task whose callback takes whisperX-FastAPI's shape."""

TASK_TYPE_NAMES = {TaskType.combine_transcript_diarization: "combine_transcript&diarization"}
"""Its names of our task types, where they differ."""
TASK_TYPES_BY_NAME = {name: task_type for task_type, name in TASK_TYPE_NAMES.items()}

WhisperModelName = Literal[
    "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en", "large", "large-v1",
    "large-v2", "large-v3", "large-v3-turbo", "distil-large-v2", "distil-medium.en", "distil-small.en",
    "distil-large-v3", "nyrahealth/faster_CrisperWhisper",
]  # fmt: skip
LanguageCode = Literal[tuple(LANGUAGES)]  # type: ignore[valid-type]


class _QueryGroup(BaseModel):
    """Query parameters that fill one of our job's fields: a parameter group, or the job itself (None)."""

    group: ClassVar[str | None] = None

    @classmethod
    def adapt(cls, given: dict[str, Any]) -> dict[str, Any]:
        """The parameters of this part the query string named, as our keys and types."""
        return given


class ModelQuery(_QueryGroup):
    group: ClassVar[str | None] = "model_params"

    language: LanguageCode | None = Field(None, description="Language to transcribe (ISO code)")
    task: Literal["transcribe", "translate"] | None = None
    model: WhisperModelName | None = Field(None, description="Name of the Whisper model to use")
    device: Literal["cuda", "cpu"] | None = None
    device_index: int | None = None
    threads: int | None = None
    batch_size: int | None = None
    chunk_size: int | None = Field(None, description="Longest VAD chunk in seconds")
    compute_type: Literal["float16", "float32", "int8"] | None = None


class ASRQuery(_QueryGroup):
    group: ClassVar[str | None] = "asr_options"

    beam_size: int | None = None
    best_of: int | None = None
    patience: float | None = None
    length_penalty: float | None = None
    temperatures: float | None = Field(None, description="Temperature to use for sampling")
    compression_ratio_threshold: float | None = None
    log_prob_threshold: float | None = None
    no_speech_threshold: float | None = None
    initial_prompt: str | None = None
    suppress_tokens: list[int] | None = Field(None, description="Comma-separated token ids to suppress")
    suppress_numerals: bool | None = None
    hotwords: str | None = None

    @field_validator("suppress_tokens", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if all(isinstance(item, str) for item in items):
            return [token.strip() for item in items for token in item.split(",")]
        return value

    @classmethod
    def adapt(cls, given: dict[str, Any]) -> dict[str, Any]:
        if "temperatures" in given:
            given["temperatures"] = [given["temperatures"]]
        return given


class VADQuery(_QueryGroup):
    group: ClassVar[str | None] = "vad_options"

    vad_onset: float | None = None
    vad_offset: float | None = None


class AlignQuery(_QueryGroup):
    group: ClassVar[str | None] = "align_params"

    align_model: str | None = None
    interpolate_method: Literal["nearest", "linear", "ignore"] | None = None
    return_char_alignments: bool | None = None


class DiarizeQuery(_QueryGroup):
    group: ClassVar[str | None] = "diarize_params"

    min_speakers: int | None = None
    max_speakers: int | None = None
    return_embeddings: bool | None = Field(
        None, description="Give each speaker's voice embedding in the result"
    )
    identify_speakers: bool | None = Field(
        None, description="Name speakers after the stored speakers (`/speakers`) they match"
    )
    auto_store_speakers: bool | None = Field(
        None, description="Store each speaker no stored speaker matched, linked to the task"
    )


class DeviceQuery(_QueryGroup):
    device: Literal["cuda", "cpu"] | None = None


class CallbackQuery(_QueryGroup):
    callback_url: HttpUrl | None = Field(
        None, description="Receives the finished task in whisperX-FastAPI's shape; checked reachable first"
    )

    @classmethod
    def adapt(cls, given: dict[str, Any]) -> dict[str, Any]:
        if given.get("callback_url") is None:
            return {}
        return {"webhook_url": given["callback_url"], "webhook_body": WHISPERX_FASTAPI}


class TranscribeQuery(ModelQuery, ASRQuery, VADQuery):
    """`/service/transcribe`."""


class SpeechToTextQuery(TranscribeQuery, AlignQuery, DiarizeQuery, CallbackQuery):
    """`/speech-to-text` and `/speech-to-text-url`."""


class AlignServiceQuery(DeviceQuery, AlignQuery):
    """`/service/align`."""


class DiarizeServiceQuery(DeviceQuery, DiarizeQuery):
    """`/service/diarize`."""


def job_fields(query: _QueryGroup | None, form: dict[str, Any]) -> dict[str, Any]:
    """Our job's fields from its query parameters and our form fields; the form wins, key by key."""
    fields = dict(form)
    if query is None:
        return fields
    for part in type(query).__mro__:
        own = {name for name in vars(part).get("__annotations__", {}) if name != "group"}
        if not (isinstance(part, type) and issubclass(part, _QueryGroup)) or not own:
            continue
        given = part.adapt(query.model_dump(mode="json", include=own & query.model_fields_set))
        if part.group is None:
            fields.update({k: v for k, v in given.items() if fields.get(k) is None})
        elif given:
            fields[part.group] = _beneath(given, fields.get(part.group))
    return fields


def _beneath(given: dict[str, Any], group: Any) -> Any:
    """`given` with the form's group on top; a group that is not a JSON object is left for validation."""
    if isinstance(group, str):
        with contextlib.suppress(ValueError, RecursionError):
            group = json.loads(group)
    if group is None:
        return given
    return {**given, **group} if isinstance(group, dict) else group


def task_type_name(task_type: str) -> str:
    return TASK_TYPE_NAMES.get(TaskType(task_type), task_type)


def diarization_turns(result: Any) -> Any:
    """A diarization result as its list of `{label, speaker, start, end}` (`label` repeats the speaker); with
    the speakers' embeddings, `{"segments": that list, "speaker_embeddings"}`."""
    if not isinstance(result, dict) or not isinstance(result.get("segments"), list):
        return result
    turns = [
        {
            "label": turn.get("speaker"),
            "speaker": turn.get("speaker"),
            "start": turn["start"],
            "end": turn["end"],
        }
        for turn in result["segments"]
    ]
    if "speaker_embeddings" in result:
        return {"segments": turns, "speaker_embeddings": result["speaker_embeddings"]}
    return turns


def task_metadata(task: TaskOut) -> dict[str, Any]:
    return {
        "task_type": task_type_name(task.task_type),
        "task_params": task.params,
        "language": task.language,
        "file_name": task.file_name,
        "url": task.url,
        "callback_url": task.params.get("webhook_url"),
        "duration": task.duration,
        "audio_duration": task.audio_duration,
        "start_time": task.started_at.isoformat() if task.started_at else None,
        "end_time": task.finished_at.isoformat() if task.finished_at else None,
    }


class TaskView(TaskOut):
    """A task on whisperX-FastAPI's routes: its keys (`metadata`, `error` as text, its task type names) and ours."""

    task_type: TaskType | Literal["combine_transcript&diarization"]  # type: ignore[assignment]
    error: str | None = None  # type: ignore[assignment]
    error_detail: ErrorBody | None = None
    metadata: dict[str, Any]
    start_time: str | None
    end_time: str | None
    callback_url: str | None


class TaskViewPage(BaseModel):
    tasks: list[TaskView]
    total: int
    page: int
    page_size: int


def task_view(task: TaskOut) -> dict[str, Any]:
    """A task in its shape (`metadata`, `error` as text, its task type names and diarization turns), our keys
    beside; our error object is `error_detail`."""
    view = task.model_dump(mode="json")
    metadata = task_metadata(task)
    view.update(
        task_type=metadata["task_type"],
        metadata=metadata,
        error=task.error.message if task.error else None,
        error_detail=view["error"],
        start_time=metadata["start_time"],
        end_time=metadata["end_time"],
        callback_url=metadata["callback_url"],
    )
    if task.task_type == TaskType.diarization:
        view["result"] = diarization_turns(task.result)
    return view


def callback_body(task: TaskOut) -> dict[str, Any]:
    """Its callback: `{status, result, metadata, error}`, times in ISO 8601."""
    view = task_view(task)
    return {key: view[key] for key in ("status", "result", "metadata", "error", "identifier", "error_detail")}
