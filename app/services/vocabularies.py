"""Saved vocabularies' use cases: keep named lists of keyterms and replacements per API key, and add the one a
transcribing request names to the request's own rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict

from app.db.vocabularies import VocabularyNameTaken, VocabularyRecord
from app.errors import FieldError, NotFoundError, ServiceError
from app.runtime import Runtime
from app.text.vocabulary import replacement_key, unique_terms
from app.text_schemas import TextRules
from app.vocabulary_schemas import VocabularyIn, VocabularyOut, VocabularyTerms


def _not_found(name: str) -> ServiceError:
    return NotFoundError("Vocabulary", name)


def _out(record: VocabularyRecord) -> VocabularyOut:
    return VocabularyOut.model_validate(asdict(record))


def create_vocabulary(runtime: Runtime, owner: str | None, request: VocabularyIn) -> VocabularyOut:
    """Save a new vocabulary; a name the owner has already saved is a `conflict`."""
    try:
        record = runtime.vocabularies.create(
            owner=owner, name=request.name, keyterms=request.keyterms, replacements=request.replacements
        )
    except VocabularyNameTaken:
        message = f"A vocabulary named {request.name!r} is already saved; replace it, or choose another name."
        raise ServiceError("conflict", message, details=[FieldError(field="name", message=message)]) from None
    return _out(record)


def list_vocabularies(runtime: Runtime, owner: str | None) -> list[VocabularyOut]:
    """The owner's vocabularies by name."""
    return [_out(record) for record in runtime.vocabularies.list(owner)]


def get_vocabulary(runtime: Runtime, owner: str | None, name: str) -> VocabularyOut:
    record = runtime.vocabularies.get(owner, name)
    if record is None:
        raise _not_found(name)
    return _out(record)


def replace_vocabulary(
    runtime: Runtime, owner: str | None, name: str, request: VocabularyTerms
) -> VocabularyOut:
    """A saved vocabulary's keyterms and replacements, replaced by those given."""
    record = runtime.vocabularies.replace(
        owner, name, keyterms=request.keyterms, replacements=request.replacements
    )
    if record is None:
        raise _not_found(name)
    return _out(record)


def delete_vocabulary(runtime: Runtime, owner: str | None, name: str) -> None:
    if not runtime.vocabularies.delete(owner, name):
        raise _not_found(name)


def merged_rules(rules: TextRules, *, keyterms: Sequence[str], replacements: Mapping[str, str]) -> TextRules:
    """`rules` with a saved vocabulary's added: its keyterms first, then the request's, each once (compared
    case-insensitively); its replacements, but the request's where both give the same key."""
    given = {replacement_key(key) for key in rules.replacements}
    kept = {key: value for key, value in replacements.items() if replacement_key(key) not in given}
    # Not validated again: together they may pass a request's count of keyterms, and the prompt budget
    # (`decoding_options`) is what bounds them.
    return rules.model_copy(
        update={
            "keyterms": unique_terms([*keyterms, *rules.keyterms]),
            "replacements": {**kept, **rules.replacements},
        }
    )


def rules_with_vocabulary(runtime: Runtime, owner: str | None, rules: TextRules) -> TextRules:
    """A transcribing job's text rules with the vocabulary it names (of `owner`) added; `rules` when it names
    none. A name the owner has not saved is `invalid_input`."""
    if rules.vocabulary is None:
        return rules
    record = runtime.vocabularies.get(owner, rules.vocabulary)
    if record is None:
        message = f"No vocabulary is saved as {rules.vocabulary!r}; save it first, or leave `vocabulary` out."
        details = [FieldError(field="vocabulary", message=message)]
        raise ServiceError("invalid_input", message, details=details)
    return merged_rules(rules, keyterms=record.keyterms, replacements=record.replacements)
