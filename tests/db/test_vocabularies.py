"""Saved vocabularies' table on both backends: names unique per owner, owners apart, lists and timestamps kept,
replaced in place and deleted."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import Engine

from app.db.session import make_session_factory
from app.db.vocabularies import VocabularyNameTaken, VocabularyRepository

ALICE, BOB = "a" * 64, "b" * 64


def test_vocabularies_are_named_once_per_owner_and_kept_apart(engine: Engine) -> None:
    store = VocabularyRepository(make_session_factory(engine))
    acme = store.create(
        owner=ALICE, name="Acme", keyterms=["Acme-Pro", "Zylofax"], replacements={"acme pro": "Acme-Pro"}
    )
    assert (acme.name, acme.keyterms, acme.replacements) == (
        "Acme",
        ["Acme-Pro", "Zylofax"],
        {"acme pro": "Acme-Pro"},
    )
    assert acme.created_at.tzinfo == UTC and acme.updated_at == acme.created_at
    with pytest.raises(VocabularyNameTaken):
        store.create(owner=ALICE, name="Acme", keyterms=[], replacements={})
    store.create(owner=BOB, name="Acme", keyterms=["Bob"], replacements={})  # another owner's Acme
    store.create(owner=None, name="Acme", keyterms=[], replacements={})
    with pytest.raises(VocabularyNameTaken):
        store.create(owner=None, name="Acme", keyterms=[], replacements={})
    store.create(owner=ALICE, name="Medical", keyterms=["Okonkwo"], replacements={})

    assert [record.name for record in store.list(ALICE)] == ["Acme", "Medical"]
    assert [record.keyterms for record in store.list(BOB)] == [["Bob"]]
    assert store.get(ALICE, "Acme") == acme
    assert store.get(ALICE, "acme") is None and store.get(BOB, "Medical") is None


def test_a_vocabulary_is_replaced_and_deleted_by_its_owner_only(engine: Engine) -> None:
    store = VocabularyRepository(make_session_factory(engine))
    first = store.create(owner=ALICE, name="Acme", keyterms=["Acme-Pro"], replacements={"acme": "ACME"})
    store.create(owner=BOB, name="Acme", keyterms=["Bob"], replacements={})

    assert store.replace(BOB, "Missing", keyterms=[], replacements={}) is None
    replaced = store.replace(ALICE, "Acme", keyterms=["Zylofax"], replacements={"zylo fax": "Zylofax"})
    assert replaced is not None
    assert (replaced.keyterms, replaced.replacements) == (["Zylofax"], {"zylo fax": "Zylofax"})
    assert replaced.created_at == first.created_at and replaced.updated_at > first.updated_at
    assert store.get(ALICE, "Acme") == replaced
    bobs = store.get(BOB, "Acme")
    assert bobs is not None and bobs.keyterms == ["Bob"]

    assert not store.delete(None, "Acme")
    assert store.delete(ALICE, "Acme")
    assert not store.delete(ALICE, "Acme")
    assert store.get(ALICE, "Acme") is None and store.list(ALICE) == []
    assert [record.name for record in store.list(BOB)] == ["Acme"]
    # The name is free again once deleted.
    assert store.create(owner=ALICE, name="Acme", keyterms=[], replacements={}).keyterms == []
