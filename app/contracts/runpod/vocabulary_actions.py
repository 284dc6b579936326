"""Saved vocabularies' RunPod actions, validated with the REST routes' schemas and answered in the handler's
shape, `{"identifier", "result", "message"}` (the identifier is the vocabulary's name); a `ServiceError` raised
here becomes the handler's `{"error"}`.

The worker has no API keys: its vocabularies are the keyless owner's (None), shared by every job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from app.contracts.runpod.answers import Answer
from app.errors import validated
from app.json_types import JSONObject, JSONValue
from app.runtime import Runtime
from app.services import vocabularies
from app.vocabulary_schemas import VocabularyIn, VocabularyOut, VocabularyTerms

if TYPE_CHECKING:
    from app.contracts.runpod.actions import JobContext

OWNER = None


class VocabularyRef(BaseModel):
    """The vocabulary an action is about."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)


class NoFields(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _fields(job_input: JSONObject, *besides: str) -> JSONObject:
    return {key: value for key, value in job_input.items() if key not in ("action", *besides)}


def _name(job_input: JSONObject) -> str:
    return validated(VocabularyRef, _fields(job_input)).name


def _vocabulary(vocabulary: VocabularyOut, message: str) -> Answer:
    return Answer(identifier=vocabulary.name, result=vocabulary.model_dump(mode="json"), message=message)


def _create_vocabulary(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    request = validated(VocabularyIn, _fields(job_input))
    return _vocabulary(vocabularies.create_vocabulary(runtime, OWNER, request), "vocabulary saved")


def _list_vocabularies(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    validated(NoFields, _fields(job_input))
    listed = vocabularies.list_vocabularies(runtime, OWNER)
    result: list[JSONValue] = [vocabulary.model_dump(mode="json") for vocabulary in listed]
    return Answer(identifier=None, result=result, message=f"{len(listed)} vocabulary(ies)")


def _get_vocabulary(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    return _vocabulary(vocabularies.get_vocabulary(runtime, OWNER, _name(job_input)), "vocabulary found")


def _update_vocabulary(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    name = validated(VocabularyRef, {k: v for k, v in job_input.items() if k == "name"}).name
    request = validated(VocabularyTerms, _fields(job_input, "name"))
    return _vocabulary(vocabularies.replace_vocabulary(runtime, OWNER, name, request), "vocabulary replaced")


def _delete_vocabulary(runtime: Runtime, job_input: JSONObject, _job: JobContext) -> Answer:
    name = _name(job_input)
    vocabularies.delete_vocabulary(runtime, OWNER, name)
    return Answer(identifier=name, result=None, message="vocabulary deleted")


VOCABULARY_ACTIONS: dict[str, Callable[[Runtime, JSONObject, JobContext], Answer]] = {
    "create_vocabulary": _create_vocabulary,
    "list_vocabularies": _list_vocabularies,
    "get_vocabulary": _get_vocabulary,
    "update_vocabulary": _update_vocabulary,
    "delete_vocabulary": _delete_vocabulary,
}
