"""Saved vocabularies: named lists of keyterms and replacements, per API key, that a transcribing request names
as `vocabulary`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import OwnerDep, RuntimeDep
from app.services import vocabularies
from app.vocabulary_schemas import VocabularyIn, VocabularyOut, VocabularyTerms

router = APIRouter(prefix="/vocabularies", tags=["vocabularies"])


@router.post("", status_code=201, response_model=VocabularyOut)
def create_vocabulary(runtime: RuntimeDep, owner: OwnerDep, request: VocabularyIn) -> VocabularyOut:
    """Save a vocabulary under a name not yet used by this API key."""
    return vocabularies.create_vocabulary(runtime, owner, request)


@router.get("", response_model=list[VocabularyOut])
def list_vocabularies(runtime: RuntimeDep, owner: OwnerDep) -> list[VocabularyOut]:
    """The saved vocabularies, by name."""
    return vocabularies.list_vocabularies(runtime, owner)


@router.get("/{name}", response_model=VocabularyOut)
def get_vocabulary(runtime: RuntimeDep, owner: OwnerDep, name: str) -> VocabularyOut:
    """A saved vocabulary."""
    return vocabularies.get_vocabulary(runtime, owner, name)


@router.put("/{name}", response_model=VocabularyOut)
def replace_vocabulary(
    runtime: RuntimeDep, owner: OwnerDep, name: str, request: VocabularyTerms
) -> VocabularyOut:
    """Replace a saved vocabulary's keyterms and replacements."""
    return vocabularies.replace_vocabulary(runtime, owner, name, request)


@router.delete("/{name}", status_code=204, response_class=Response)
def delete_vocabulary(runtime: RuntimeDep, owner: OwnerDep, name: str) -> Response:
    """Delete a saved vocabulary; tasks already queued naming it fail when they start."""
    vocabularies.delete_vocabulary(runtime, owner, name)
    return Response(status_code=204)
