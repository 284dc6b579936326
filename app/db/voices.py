"""All reads and writes of the voice library. Each method is one short transaction; voices are scoped to their
owner (an API key's fingerprint, or None when keys are off) exactly as tasks are."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Voice, VoiceClip, VoiceEmbedding, utcnow

PCM_SCALE = 32767.0


@dataclass(frozen=True)
class VoiceRecord:
    identifier: str
    name: str
    description: str | None
    clips: int
    seconds: float
    backends: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


class NameTaken(Exception):
    """Another voice of the same owner has that name."""


def to_pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * PCM_SCALE).astype("<i2").tobytes()


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
    ) -> str:
        """A new voice with its clips (16 kHz samples and where each came from); its identifier."""
        with self._sessions.begin() as session:
            voice = Voice(owner=owner, owner_key=owner or "", name=name, description=description)
            session.add(voice)
            try:
                session.flush()
            except IntegrityError:
                raise NameTaken(name) from None
            self._add_clips(session, voice.id, clips)
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
        self, owner: str | None, identifier: str, *, name: str | None = None, description: str | None = None
    ) -> bool:
        """Rename or describe a voice (what is given changes). False when there is no such voice."""
        with self._sessions.begin() as session:
            voice = self._voice(session, owner, identifier)
            if voice is None:
                return False
            if name is not None:
                voice.name = name
            if description is not None:
                voice.description = description
            voice.updated_at = utcnow()
            try:
                session.flush()
            except IntegrityError:
                raise NameTaken(name or "") from None
            return True

    def delete(self, owner: str | None, identifier: str) -> bool:
        with self._sessions.begin() as session:
            voice = self._voice(session, owner, identifier)
            if voice is None:
                return False
            # Clips and embeddings go with it (also where the database does not cascade).
            session.execute(delete(VoiceClip).where(VoiceClip.voice_id == voice.id))
            session.execute(delete(VoiceEmbedding).where(VoiceEmbedding.voice_id == voice.id))
            session.delete(voice)
            return True

    def get(self, owner: str | None, identifier: str) -> VoiceRecord | None:
        records = self._records(owner, identifiers=[identifier])
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

    def list(self, owner: str | None, *, name_contains: str | None = None) -> list[VoiceRecord]:
        return self._records(owner, name_contains=name_contains)

    def _records(
        self, owner: str | None, *, identifiers: list[str] | None = None, name_contains: str | None = None
    ) -> list[VoiceRecord]:
        with self._sessions() as session:
            query = select(Voice).where(Voice.owner_key == (owner or "")).order_by(Voice.name)
            if identifiers is not None:
                query = query.where(Voice.identifier.in_(identifiers))
            if name_contains:
                query = query.where(func.lower(Voice.name).contains(name_contains.lower()))
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
                    clips=clips.get(voice.id, (0, 0.0))[0],
                    seconds=round(float(clips.get(voice.id, (0, 0.0))[1]), 3),
                    backends=tuple(sorted(backends.get(voice.id, []))),
                    created_at=voice.created_at,
                    updated_at=voice.updated_at,
                )
                for voice in voices
            ]

    def clips(self, owner: str | None, identifier: str) -> list[np.ndarray]:
        """A voice's clips as 16 kHz samples, oldest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(VoiceClip.pcm)
                .join(Voice, Voice.id == VoiceClip.voice_id)
                .where(Voice.owner_key == (owner or ""), Voice.identifier == identifier)
                .order_by(VoiceClip.id)
            )
            return [from_pcm(pcm) for pcm in rows]

    def set_embedding(self, owner: str | None, identifier: str, backend: str, vector: np.ndarray) -> None:
        vector = np.asarray(vector, dtype="<f4")
        with self._sessions.begin() as session:
            voice = self._voice(session, owner, identifier)
            if voice is None:
                return
            session.execute(
                delete(VoiceEmbedding).where(
                    VoiceEmbedding.voice_id == voice.id, VoiceEmbedding.backend == backend
                )
            )
            session.add(
                VoiceEmbedding(
                    voice_id=voice.id, backend=backend, vector=vector.tobytes(), dimension=len(vector)
                )
            )

    def embeddings(
        self, owner: str | None, backend: str, *, names: Iterable[str] | None = None
    ) -> tuple[list[str], list[str], np.ndarray]:
        """The owner's voices embedded by `backend` (all, or those `names`): their identifiers, their names and
        one (voices, dimension) matrix, read in one query."""
        with self._sessions() as session:
            query = (
                select(Voice.identifier, Voice.name, VoiceEmbedding.vector)
                .join(VoiceEmbedding, VoiceEmbedding.voice_id == Voice.id)
                .where(Voice.owner_key == (owner or ""), VoiceEmbedding.backend == backend)
                .order_by(Voice.id)
            )
            if names is not None:
                query = query.where(Voice.name.in_(list(names)))
            rows = session.execute(query).all()
        if not rows:
            return [], [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(row[2] for row in rows), dtype="<f4").reshape(len(rows), -1)
        return [row[0] for row in rows], [row[1] for row in rows], matrix

    def unembedded(self, owner: str | None, backend: str, *, names: Iterable[str] | None = None) -> list[str]:
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
