"""All reads and writes of saved vocabularies. Each method is one short transaction; vocabularies are scoped to
their owner (an API key's fingerprint, or None when keys are off) exactly as voices are, and found by name."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Vocabulary, utcnow


@dataclass(frozen=True)
class VocabularyRecord:
    name: str
    keyterms: list[str]
    replacements: dict[str, str]
    created_at: datetime
    updated_at: datetime


class VocabularyNameTaken(Exception):
    """The owner already has a vocabulary of that name."""


def _record(row: Vocabulary) -> VocabularyRecord:
    return VocabularyRecord(
        name=row.name,
        keyterms=list(row.keyterms),
        replacements=dict(row.replacements),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class VocabularyRepository:
    """The `vocabularies` table."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(
        self, *, owner: str | None, name: str, keyterms: Sequence[str], replacements: Mapping[str, str]
    ) -> VocabularyRecord:
        """A new vocabulary; `VocabularyNameTaken` when the owner has one of that name."""
        now = utcnow()
        try:
            with self._sessions.begin() as session:
                row = Vocabulary(
                    owner=owner,
                    owner_key=owner or "",
                    name=name,
                    keyterms=list(keyterms),
                    replacements=dict(replacements),
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                # The unique (owner_key, name) decides, so two requests saving one name at once cannot both win.
                session.flush()
                return _record(row)
        except IntegrityError:
            raise VocabularyNameTaken(name) from None

    def list(self, owner: str | None) -> builtins.list[VocabularyRecord]:
        """The owner's vocabularies by name."""
        with self._sessions() as session:
            query = select(Vocabulary).where(Vocabulary.owner_key == (owner or "")).order_by(Vocabulary.name)
            return [_record(row) for row in session.scalars(query)]

    def get(self, owner: str | None, name: str) -> VocabularyRecord | None:
        with self._sessions() as session:
            row = self._row(session, owner, name)
            return _record(row) if row is not None else None

    def replace(
        self, owner: str | None, name: str, *, keyterms: Sequence[str], replacements: Mapping[str, str]
    ) -> VocabularyRecord | None:
        """The vocabulary with new keyterms and replacements; None when there is no such vocabulary."""
        with self._sessions.begin() as session:
            row = self._row(session, owner, name)
            if row is None:
                return None
            row.keyterms = list(keyterms)
            row.replacements = dict(replacements)
            row.updated_at = utcnow()
            session.flush()
            return _record(row)

    def delete(self, owner: str | None, name: str) -> bool:
        with self._sessions.begin() as session:
            row = self._row(session, owner, name)
            if row is not None:
                session.delete(row)
            return row is not None

    @staticmethod
    def _row(session: Session, owner: str | None, name: str) -> Vocabulary | None:
        return session.scalars(
            select(Vocabulary).where(Vocabulary.owner_key == (owner or ""), Vocabulary.name == name)
        ).first()
