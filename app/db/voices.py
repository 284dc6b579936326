"""All reads and writes of the voice library. Each method is one short transaction; voices are scoped to their
owner (an API key's fingerprint, or None when keys are off) exactly as tasks are."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Voice, VoiceClip, VoiceEmbedding, utcnow

PCM_SCALE = 32767.0


@dataclass(frozen=True)
class VoiceRecord:
    identifier: str
    name: str
    description: str | None
    task_id: str | None
    clips: int
    seconds: float
    backends: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


class NameTaken(Exception):
    """Another voice of the same owner has that name."""


def _name_taken(session: Session, owner: str | None, name: str, *, besides: int | None = None) -> bool:
    query = select(Voice.id).where(Voice.owner_key == (owner or ""), Voice.name == name, Voice.id != besides)
    return session.scalars(query.limit(1)).first() is not None


def _put_embedding(
    session: Session, voice_id: int, backend: str, vector: Sequence[float] | np.ndarray
) -> None:
    """The voice's embedding by `backend`, replacing the one it had."""
    vector = np.asarray(vector, dtype="<f4")
    session.execute(
        delete(VoiceEmbedding).where(VoiceEmbedding.voice_id == voice_id, VoiceEmbedding.backend == backend)
    )
    session.add(
        VoiceEmbedding(voice_id=voice_id, backend=backend, vector=vector.tobytes(), dimension=len(vector))
    )


def to_pcm(samples: np.ndarray) -> bytes:
    pcm: bytes = (np.clip(samples, -1.0, 1.0) * PCM_SCALE).astype("<i2").tobytes()
    return pcm


def from_pcm(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / PCM_SCALE


class VoiceRepository:
    """The voice library's tables: voices, the clips they were enrolled from, their embeddings per diarizer."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(
        self,
        *,
        owner: str | None,
        name: str,
        description: str | None,
        clips: Iterable[tuple[np.ndarray, str | None]],
        task_id: str | None = None,
        unique_name: bool = True,
        embedding: tuple[str, Sequence[float] | np.ndarray] | None = None,
    ) -> str:
        """A new voice with its clips (16 kHz samples and where each came from) and, given as `(backend,
        vector)`, its embedding, in one transaction; its identifier. With `unique_name`, `NameTaken` when the
        owner has a voice of that name."""
        with self._sessions.begin() as session:
            if unique_name and _name_taken(session, owner, name):
                raise NameTaken(name)
            voice = Voice(
                owner=owner, owner_key=owner or "", name=name, description=description, task_id=task_id
            )
            session.add(voice)
            session.flush()
            self._add_clips(session, voice.id, clips)
            if embedding is not None:
                _put_embedding(session, voice.id, *embedding)
            return voice.identifier

    def add_clips(
        self, owner: str | None, identifier: str, clips: Iterable[tuple[np.ndarray, str | None]]
    ) -> bool:
        """Add clips to a voice; its embeddings, now out of date, are dropped. False when there is no such voice."""
        with self._sessions.begin() as session:
            voice = self._voice(session, owner, identifier)
            if voice is None:
                return False
            self._add_clips(session, voice.id, clips)
            session.execute(delete(VoiceEmbedding).where(VoiceEmbedding.voice_id == voice.id))
            voice.updated_at = utcnow()
            return True

    @staticmethod
    def _add_clips(session: Session, voice_id: int, clips: Iterable[tuple[np.ndarray, str | None]]) -> None:
        for samples, source in clips:
            seconds = round(len(samples) / 16_000, 3)
            session.add(VoiceClip(voice_id=voice_id, pcm=to_pcm(samples), seconds=seconds, source=source))

    def update(
        self,
        owner: str | None,
        identifier: str,
        *,
        name: str | None = None,
        description: str | None = None,
        unique_name: bool = True,
    ) -> bool:
        """Rename or describe a voice (what is given changes). False when there is no such voice; with
        `unique_name`, `NameTaken` when another voice of the owner has the new name."""
        with self._sessions.begin() as session:
            voice = self._voice(session, owner, identifier)
            if voice is None:
                return False
            if name is not None:
                if unique_name and _name_taken(session, owner, name, besides=voice.id):
                    raise NameTaken(name)
                voice.name = name
            if description is not None:
                voice.description = description
            voice.updated_at = utcnow()
            return True

    def delete(self, owner: str | None, identifier: str) -> bool:
        return self._delete(owner, Voice.identifier == identifier) > 0

    def delete_from_task(self, owner: str | None, task_id: str) -> int:
        """Delete the voices taken from a task; how many there were."""
        return self._delete(owner, Voice.task_id == task_id)

    def _delete(self, owner: str | None, which: ColumnElement[bool]) -> int:
        with self._sessions.begin() as session:
            ids = list(session.scalars(select(Voice.id).where(Voice.owner_key == (owner or ""), which)))
            # Clips and embeddings go with them (also where the database does not cascade).
            session.execute(delete(VoiceClip).where(VoiceClip.voice_id.in_(ids)))
            session.execute(delete(VoiceEmbedding).where(VoiceEmbedding.voice_id.in_(ids)))
            session.execute(delete(Voice).where(Voice.id.in_(ids)))
            return len(ids)

    def get(self, owner: str | None, identifier: str) -> VoiceRecord | None:
        records = self.list(owner, identifiers=[identifier])
        return records[0] if records else None

    def by_name(self, owner: str | None, names: Iterable[str]) -> dict[str, str]:
        """name → identifier of the owner's voices with those names."""
        wanted = list(names)
        with self._sessions() as session:
            rows = session.execute(
                select(Voice.name, Voice.identifier).where(
                    Voice.owner_key == (owner or ""), Voice.name.in_(wanted)
                )
            )
            return {name: identifier for name, identifier in rows}

    def list(
        self,
        owner: str | None,
        *,
        identifiers: Iterable[str] | None = None,
        name_contains: str | None = None,
        task_id: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[VoiceRecord]:
        """The owner's voices by name (those `identifiers`, those whose name contains `name_contains`, those
        taken from `task_id`), in one read."""
        with self._sessions() as session:
            query = select(Voice).where(Voice.owner_key == (owner or "")).order_by(Voice.name, Voice.id)
            if identifiers is not None:
                query = query.where(Voice.identifier.in_(list(identifiers)))
            if name_contains:
                query = query.where(func.lower(Voice.name).contains(name_contains.lower()))
            if task_id is not None:
                query = query.where(Voice.task_id == task_id)
            query = query.limit(limit).offset(offset)
            voices = list(session.scalars(query))
            ids = [voice.id for voice in voices]
            clips = {
                voice_id: (count, seconds)
                for voice_id, count, seconds in session.execute(
                    select(VoiceClip.voice_id, func.count(), func.coalesce(func.sum(VoiceClip.seconds), 0.0))
                    .where(VoiceClip.voice_id.in_(ids))
                    .group_by(VoiceClip.voice_id)
                )
            }
            backends: dict[int, list[str]] = {}
            for voice_id, backend in session.execute(
                select(VoiceEmbedding.voice_id, VoiceEmbedding.backend).where(
                    VoiceEmbedding.voice_id.in_(ids)
                )
            ):
                backends.setdefault(voice_id, []).append(backend)
            return [
                VoiceRecord(
                    identifier=voice.identifier,
                    name=voice.name,
                    description=voice.description,
                    task_id=voice.task_id,
                    clips=clips.get(voice.id, (0, 0.0))[0],
                    seconds=round(float(clips.get(voice.id, (0, 0.0))[1]), 3),
                    backends=tuple(sorted(backends.get(voice.id, []))),
                    created_at=voice.created_at,
                    updated_at=voice.updated_at,
                )
                for voice in voices
            ]

    def clips(self, owner: str | None, identifier: str) -> builtins.list[np.ndarray]:
        """A voice's clips as 16 kHz samples, oldest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(VoiceClip.pcm)
                .join(Voice, Voice.id == VoiceClip.voice_id)
                .where(Voice.owner_key == (owner or ""), Voice.identifier == identifier)
                .order_by(VoiceClip.id)
            )
            return [from_pcm(pcm) for pcm in rows]

    def set_embedding(
        self, owner: str | None, identifier: str, backend: str, vector: Sequence[float] | np.ndarray
    ) -> None:
        with self._sessions.begin() as session:
            voice = self._voice(session, owner, identifier)
            if voice is not None:
                _put_embedding(session, voice.id, backend, vector)

    def embeddings(
        self,
        owner: str | None,
        backend: str | None,
        dimension: int,
        *,
        names: Iterable[str] | None = None,
    ) -> tuple[builtins.list[str], builtins.list[str], np.ndarray]:
        """The owner's voices embedded by `backend` (any, with None) in `dimension` dimensions (all, or those
        `names`): their identifiers, their names and one (voices, dimension) matrix, read in one query."""
        with self._sessions() as session:
            query = (
                select(Voice.identifier, Voice.name, VoiceEmbedding.vector)
                .join(VoiceEmbedding, VoiceEmbedding.voice_id == Voice.id)
                .where(Voice.owner_key == (owner or ""), VoiceEmbedding.dimension == dimension)
                .order_by(Voice.id)
            )
            if backend is not None:
                query = query.where(VoiceEmbedding.backend == backend)
            if names is not None:
                query = query.where(Voice.name.in_(list(names)))
            rows = session.execute(query).all()
        matrix = np.frombuffer(b"".join(row[2] for row in rows), dtype="<f4").reshape(len(rows), dimension)
        return [row[0] for row in rows], [row[1] for row in rows], matrix

    def vectors(self, owner: str | None, identifiers: Iterable[str]) -> dict[str, np.ndarray]:
        """Each of those voices' latest embedding (by whichever diarizer made it last), by identifier."""
        with self._sessions() as session:
            rows = session.execute(
                select(Voice.identifier, VoiceEmbedding.vector)
                .join(Voice, Voice.id == VoiceEmbedding.voice_id)
                .where(Voice.owner_key == (owner or ""), Voice.identifier.in_(list(identifiers)))
                .order_by(VoiceEmbedding.id)
            ).all()
        return {identifier: np.frombuffer(vector, dtype="<f4") for identifier, vector in rows}

    def unembedded(
        self, owner: str | None, backend: str, *, names: Iterable[str] | None = None
    ) -> builtins.list[str]:
        """Identifiers of the owner's voices (all, or those `names`) that `backend` has not embedded yet."""
        with self._sessions() as session:
            embedded = select(VoiceEmbedding.voice_id).where(VoiceEmbedding.backend == backend)
            query = select(Voice.identifier).where(
                Voice.owner_key == (owner or ""), Voice.id.not_in(embedded)
            )
            if names is not None:
                query = query.where(Voice.name.in_(list(names)))
            return list(session.scalars(query))

    @staticmethod
    def _voice(session: Session, owner: str | None, identifier: str) -> Voice | None:
        return session.scalars(
            select(Voice).where(Voice.owner_key == (owner or ""), Voice.identifier == identifier)
        ).first()
