"""The options that rewrite what was said, shared by every job that transcribes: the words a business uses
(`keyterms`, `replacements`) and what must not be kept (`redact`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from app.text.redaction import REDACT_KINDS, RedactKind

Term = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Spelling = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
MAX_KEYTERMS = 100
MAX_REPLACEMENTS = 200


class TextRules(BaseModel):
    """Vocabulary and redaction, as fields of a transcribing job."""

    keyterms: list[Term] = Field(
        default_factory=list,
        max_length=MAX_KEYTERMS,
        description="Words and phrases decoding is biased toward, added to Whisper's prompt (with the initial "
        "prompt and hotwords they must fit its 223 tokens), and written as given where the model spelt one "
        "nearly so",
    )
    replacements: dict[Term, Spelling] = Field(
        default_factory=dict,
        max_length=MAX_REPLACEMENTS,
        description='Spellings fixed after decoding, on whole words, case-insensitively: {"acme pro": "Acme-Pro"}',
    )
    vocabulary: str | None = Field(
        None,
        max_length=100,
        description="The name of a saved vocabulary (`/vocabularies`): its keyterms come before these, and its "
        "replacements apply where these do not give the same word",
    )
    redact: list[RedactKind] = Field(
        default_factory=list,
        max_length=len(REDACT_KINDS),
        description="Kinds of entity replaced by their kind in brackets in every output, never stored: "
        + ", ".join(REDACT_KINDS),
    )
    redact_audio: bool = Field(
        False,
        description="Also keep the audio with the redacted words bleeped, to download with the result "
        "(`redacted_audio` in the result)",
    )

    @model_validator(mode="after")
    def _bleeps_need_redaction(self) -> TextRules:
        if self.redact_audio and not self.redact:
            raise ValueError("`redact_audio` bleeps what `redact` finds: name the kinds to redact")
        return self

    @field_validator("keyterms", "replacements", "redact", mode="before")
    @classmethod
    def _json_text(cls, value: Any) -> Any:
        # A form field holds text: the list or the object may come as its JSON.
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("must be JSON: a list, or an object for `replacements`") from None
        return value

    @field_validator("redact")
    @classmethod
    def _each_kind_once(cls, value: list[RedactKind]) -> list[RedactKind]:
        return list(dict.fromkeys(value))

    @property
    def rewrites(self) -> bool:
        """Whether any rule rewrites the transcript after decoding (keyterms fix their near spellings)."""
        return bool(self.keyterms or self.replacements or self.redact)
