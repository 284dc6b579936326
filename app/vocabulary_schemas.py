"""Saved vocabularies' requests and answers, shared by the REST routes and the RunPod actions."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.text.vocabulary import unique_terms
from app.text_schemas import MAX_KEYTERMS, MAX_REPLACEMENTS, Spelling, Term

_NAME = re.compile(r"[\w .-]+")


def _plain_name(name: str) -> str:
    # A name travels in a URL path (`/vocabularies/{name}`): no slash, and not all dots.
    if not _NAME.fullmatch(name) or not any(char.isalnum() for char in name):
        raise ValueError(
            "a vocabulary's name holds letters, digits, spaces and `-_.`, with a letter or digit"
        )
    return name


VocabularyName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_plain_name)
]


class VocabularyTerms(BaseModel):
    """What a vocabulary holds; its limits are a request's own (`TextRules`)."""

    model_config = ConfigDict(extra="forbid")

    keyterms: list[Term] = Field(
        default_factory=list,
        max_length=MAX_KEYTERMS,
        description="Words and phrases decoding is biased toward, before a request's own keyterms",
    )
    replacements: dict[Term, Spelling] = Field(
        default_factory=dict,
        max_length=MAX_REPLACEMENTS,
        description='Spellings fixed after decoding, unless a request gives the same word: {"acme pro": "Acme-Pro"}',
    )

    @field_validator("keyterms")
    @classmethod
    def _each_term_once(cls, value: list[str]) -> list[str]:
        return unique_terms(value)


class VocabularyIn(VocabularyTerms):
    name: VocabularyName = Field(description="The name requests give as `vocabulary` (unique per API key)")


class VocabularyOut(BaseModel):
    name: str
    keyterms: list[str]
    replacements: dict[str, str]
    created_at: datetime
    updated_at: datetime
