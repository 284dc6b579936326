"""ORM tables. Schema changes go through Alembic (`alembic/versions`), never `create_all`."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypedDict

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.json_types import JSONObject, JSONValue
from app.ml.results import Caption

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class TaskStatus(enum.StrEnum):
    queued = "queued"
    processing = "processing"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


ACTIVE_STATUSES = (TaskStatus.queued, TaskStatus.processing)


class TaskType(enum.StrEnum):
    full_process = "full_process"
    transcription = "transcription"
    transcription_alignment = "transcription_alignment"
    diarization = "diarization"
    combine_transcript_diarization = "combine_transcript_diarization"
    language_detection = "language_detection"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite drops the zone; this puts it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SpeakerVoices(TypedDict, total=False):
    """A diarizing task's speakers' voices: each speaker's embedding by label, in `backend`'s space. Both are
    always written; a reader takes either as possibly absent, as from any JSON column."""

    backend: str
    speakers: dict[str, list[float]]


class Task(Base):
    """One unit of work a client asked for, from queueing to its result or error."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    identifier: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    status: Mapped[str] = mapped_column(String(16), index=True, default=TaskStatus.queued)
    task_type: Mapped[str] = mapped_column(String(40), index=True)
    params: Mapped[JSONObject] = mapped_column(JSON, default=dict)
    file_name: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    upload_path: Mapped[str | None] = mapped_column(Text)
    """The kept upload, relative to `DATA_DIR`, until the task ends."""
    # JSON annotations are spelled out where they are optional: SQLAlchemy evaluates them, and `JSONObject` is
    # a string at run time.
    inputs: Mapped[dict[str, JSONValue] | None] = mapped_column(JSON)
    """Documents the request carried besides its parameters (transcripts), so the row alone can run it."""
    language: Mapped[str | None] = mapped_column(String(16))
    audio_duration: Mapped[float | None] = mapped_column(Float)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(40))
    partial: Mapped[list[Caption] | None] = mapped_column(JSON)
    """The segments decoded so far, while the task runs (readable by any process sharing the database)."""
    result: Mapped[Mapping[str, object] | None] = mapped_column(JSON)
    """What the task's kind gives (`app.services.results.TaskResult`), as JSON."""
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    external_job_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    worker_id: Mapped[str | None] = mapped_column(String(128), index=True)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    """Fingerprint of the API key that made the task (never the key); None when keys are off."""
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration: Mapped[float | None] = mapped_column(Float)
    speaker_embeddings: Mapped[SpeakerVoices | None] = mapped_column(JSON)
    """A diarizing task's speakers' voices, kept so a speaker can be enrolled in the voice library after the
    task; never part of a response."""


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class WebhookDelivery(Base):
    """One webhook to send: a signed body for a URL, retried until delivered or out of attempts."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    task_identifier: Mapped[str] = mapped_column(String(36), index=True)
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), index=True, default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Voice(Base):
    """A person's enrolled voice, owned by an API key like a task, named so requests can name it. Names enrolled
    through our routes are unique per owner (`app.services.voices`); whisperX-FastAPI's `/speakers` may repeat
    a label, as it does."""

    __tablename__ = "voices"
    __table_args__ = (Index("ix_voices_owner_key_name", "owner_key", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    identifier: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    owner_key: Mapped[str] = mapped_column(String(64))
    """`owner`, or an empty string when keys are off: one value to look names up by on every database."""
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    """The diarizing task the voice was taken from, if it was."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VoiceClip(Base):
    """One clip a voice was enrolled from: 16 kHz mono 16-bit PCM, kept to embed it again for another
    diarizer."""

    __tablename__ = "voice_clips"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"), index=True)
    pcm: Mapped[bytes] = mapped_column(LargeBinary)
    seconds: Mapped[float] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VoiceEmbedding(Base):
    """A voice as one diarizer embeds it: the mean direction of its clips' embeddings (float32, unit length)."""

    __tablename__ = "voice_embeddings"
    __table_args__ = (UniqueConstraint("voice_id", "backend"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"), index=True)
    backend: Mapped[str] = mapped_column(String(200), index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    dimension: Mapped[int] = mapped_column(Integer)


class Vocabulary(Base):
    """A saved list of keyterms and replacements, owned by an API key like a voice; a transcribing request
    names it (`vocabulary`) to have them added to its own."""

    __tablename__ = "vocabularies"
    __table_args__ = (UniqueConstraint("owner_key", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    owner_key: Mapped[str] = mapped_column(String(64))
    """`owner`, or an empty string when keys are off: one value the names are unique by on every database."""
    name: Mapped[str] = mapped_column(String(100))
    keyterms: Mapped[list[str]] = mapped_column(JSON, default=list)
    replacements: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
