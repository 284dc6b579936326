"""whisperX-FastAPI's contract on the routes we share with it: its query parameters (names, types and allowed
values), mapped onto our job schemas' parameter groups, and its shapes of a task, a diarization and a callback.

Its query parameters and our form groups may both be given: the form group wins, key by key (the query string
fills in what the group leaves out). An absent query parameter leaves our default (its defaults, such as
`language=en` or `device=cuda`, are not applied).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal, TypeAlias, TypedDict, TypeGuard

from pydantic import BaseModel, Field, GetPydanticSchema, HttpUrl, field_validator
from pydantic_core import core_schema
from whisperx.utils import LANGUAGES

from app.db.models import TaskType
from app.json_types import JSONObject
from app.ml.results import Diarization
from app.schemas import ErrorBody
from app.services.results import TaskResult
from app.task_schemas import TaskOut

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
# One of whisperx's language codes: validated, and documented as an enum, as `Literal[<its codes>]` would be (the
# same pydantic schema), which a type checker cannot read when the codes are whisperx's at run time.
LanguageCode = Annotated[
    str, GetPydanticSchema(lambda _source, _handler: core_schema.literal_schema(list(LANGUAGES)))
]


class QueryGroup(BaseModel):
    """Query parameters that fill one of our job's fields: a parameter group, or the job itself (None)."""

    group: ClassVar[str | None] = None

    @classmethod
    def adapt(cls, given: JSONObject) -> JSONObject:
        """The parameters of this part the query string named, as our keys and types."""
        return given


class ModelQuery(QueryGroup):
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


class ASRQuery(QueryGroup):
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
    def _comma_separated(cls, value: object) -> object:
        items: list[object] = value if isinstance(value, list) else [value]
        texts = [item for item in items if isinstance(item, str)]
        if len(texts) == len(items):
            return [token.strip() for text in texts for token in text.split(",")]
        return value

    @classmethod
    def adapt(cls, given: JSONObject) -> JSONObject:
        if "temperatures" in given:
            given["temperatures"] = [given["temperatures"]]
        return given


class VADQuery(QueryGroup):
    group: ClassVar[str | None] = "vad_options"

    vad_onset: float | None = None
    vad_offset: float | None = None


class AlignQuery(QueryGroup):
    group: ClassVar[str | None] = "align_params"

    align_model: str | None = None
    interpolate_method: Literal["nearest", "linear", "ignore"] | None = None
    return_char_alignments: bool | None = None


class DiarizeQuery(QueryGroup):
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


class DeviceQuery(QueryGroup):
    device: Literal["cuda", "cpu"] | None = None


class CallbackQuery(QueryGroup):
    callback_url: HttpUrl | None = Field(
        None, description="Receives the finished task in whisperX-FastAPI's shape; checked reachable first"
    )

    @classmethod
    def adapt(cls, given: JSONObject) -> JSONObject:
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


def job_fields(query: QueryGroup | None, form: Mapping[str, object]) -> dict[str, object]:
    """Our job's fields from its query parameters and our form fields; the form wins, key by key."""
    fields = dict(form)
    if query is None:
        return fields
    for part in type(query).__mro__:
        own = {name for name in vars(part).get("__annotations__", {}) if name != "group"}
        if not (isinstance(part, type) and issubclass(part, QueryGroup)) or not own:
            continue
        given = part.adapt(query.model_dump(mode="json", include=own & query.model_fields_set))
        if part.group is None:
            fields.update({k: v for k, v in given.items() if fields.get(k) is None})
        elif given:
            fields[part.group] = _beneath(given, fields.get(part.group))
    return fields


def _beneath(given: JSONObject, group: object) -> object:
    """`given` with the form's group on top; a group that is not a JSON object is left for validation."""
    if isinstance(group, str):
        with contextlib.suppress(ValueError, RecursionError):
            group = json.loads(group)
    if group is None:
        return given
    return {**given, **group} if isinstance(group, dict) else group


def task_type_name(task_type: str) -> str:
    return TASK_TYPE_NAMES.get(TaskType(task_type), task_type)


class LabelledTurn(TypedDict):
    """A speaker turn as it answers one: `label` repeats the speaker."""

    label: str | None
    speaker: str | None
    start: float
    end: float


class EmbeddedTurns(TypedDict):
    """Its diarization with the speakers' voice embeddings (`return_embeddings`)."""

    segments: list[LabelledTurn]
    speaker_embeddings: dict[str, list[float]]


DiarizationView: TypeAlias = list[LabelledTurn] | EmbeddedTurns
"""A diarization as it answers one: its turns, or its turns and the speakers' embeddings."""


def is_diarization(result: object) -> TypeGuard[Diarization]:
    """Whether a stored result holds speaker turns (a diarization task has none until it completes)."""
    return isinstance(result, dict) and isinstance(result.get("segments"), list)


def diarization_turns(result: Diarization) -> DiarizationView:
    """A diarization result as its list of `{label, speaker, start, end}` (`label` repeats the speaker); with
    the speakers' embeddings, `{"segments": that list, "speaker_embeddings"}`."""
    turns: list[LabelledTurn] = [
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


class TaskMetadata(TypedDict):
    """Its `metadata` of a task: times in ISO 8601."""

    task_type: str
    task_params: JSONObject
    language: str | None
    file_name: str | None
    url: str | None
    callback_url: str | None
    duration: float | None
    audio_duration: float | None
    start_time: str | None
    end_time: str | None


def task_metadata(task: TaskOut) -> TaskMetadata:
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

    # Its keys of the same names say other things than ours, which `error_detail` and `params` keep.
    task_type: TaskType | Literal["combine_transcript&diarization"]  # type: ignore[assignment]  # its names too
    error: str | None = None  # type: ignore[assignment]  # its error is the message; ours is `error_detail`
    error_detail: ErrorBody | None = None
    metadata: dict[str, object]  # a `TaskMetadata`, documented as the open object it always was
    start_time: str | None
    end_time: str | None
    callback_url: str | None


class TaskViewPage(BaseModel):
    tasks: list[TaskView]
    total: int
    page: int
    page_size: int


class TaskViewKeys(TypedDict):
    """What a task says in its shape over ours (a diarization's result as its turns)."""

    task_type: str
    metadata: TaskMetadata
    error: str | None
    error_detail: JSONObject | None
    start_time: str | None
    end_time: str | None
    callback_url: str | None
    result: TaskResult | DiarizationView | None


def _its_keys(task: TaskOut, result: TaskResult | None, error: JSONObject | None) -> TaskViewKeys:
    """Its keys of `task`, whose result and error (ours) are `result` and `error` in JSON."""
    metadata = task_metadata(task)
    view: TaskViewKeys = {
        "task_type": metadata["task_type"],
        "metadata": metadata,
        "error": task.error.message if task.error else None,
        "error_detail": error,
        "start_time": metadata["start_time"],
        "end_time": metadata["end_time"],
        "callback_url": metadata["callback_url"],
        "result": result,
    }
    if task.task_type == TaskType.diarization and is_diarization(result):
        view["result"] = diarization_turns(result)
    return view


def task_view(task: TaskOut) -> dict[str, object]:
    """A task in its shape (`metadata`, `error` as text, its task type names and diarization turns), our keys
    beside; our error object is `error_detail`."""
    ours = task.model_dump(mode="json")  # JSON mode: JSON values only
    return {**ours, **_its_keys(task, ours["result"], ours["error"])}


class CallbackBody(TypedDict):
    """Its callback: `{status, result, metadata, error}`; ours beside, `identifier` and `error_detail`."""

    status: str
    result: TaskResult | DiarizationView | None
    metadata: TaskMetadata
    error: str | None
    identifier: str
    error_detail: JSONObject | None


def callback_body(task: TaskOut) -> CallbackBody:
    """Its callback: `{status, result, metadata, error}`, times in ISO 8601."""
    ours = task.model_dump(mode="json", include={"status", "result", "error"})
    its = _its_keys(task, ours["result"], ours["error"])
    return {
        "status": ours["status"],
        "result": its["result"],
        "metadata": its["metadata"],
        "error": its["error"],
        "identifier": task.identifier,
        "error_detail": its["error_detail"],
    }
