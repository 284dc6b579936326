"""The voice library: enrolled voices, their clips and their embeddings per diarizer; a diarizing task's
speakers' voices, kept so a speaker can be enrolled after the task.

Revision ID: 0005_voices
Revises: 0004_task_partial
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_voices"
down_revision: str | None = "0004_task_partial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("speaker_embeddings", sa.JSON(), nullable=True))
    op.create_table(
        "voices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("identifier", sa.String(length=36), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("owner_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voices")),
        sa.UniqueConstraint("identifier", name=op.f("uq_voices_identifier")),
        sa.UniqueConstraint("owner_key", "name", name=op.f("uq_voices_owner_key")),
    )
    with op.batch_alter_table("voices") as batch:
        batch.create_index(batch.f("ix_voices_owner"), ["owner"])
    op.create_table(
        "voice_clips",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("voice_id", sa.Integer(), nullable=False),
        sa.Column("pcm", sa.LargeBinary(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["voice_id"], ["voices.id"], name=op.f("fk_voice_clips_voice_id_voices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_clips")),
    )
    with op.batch_alter_table("voice_clips") as batch:
        batch.create_index(batch.f("ix_voice_clips_voice_id"), ["voice_id"])
    op.create_table(
        "voice_embeddings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("voice_id", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=200), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["voice_id"], ["voices.id"], name=op.f("fk_voice_embeddings_voice_id_voices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_embeddings")),
        sa.UniqueConstraint("voice_id", "backend", name=op.f("uq_voice_embeddings_voice_id")),
    )
    with op.batch_alter_table("voice_embeddings") as batch:
        batch.create_index(batch.f("ix_voice_embeddings_voice_id"), ["voice_id"])
        batch.create_index(batch.f("ix_voice_embeddings_backend"), ["backend"])


def downgrade() -> None:
    op.drop_table("voice_embeddings")
    op.drop_table("voice_clips")
    op.drop_table("voices")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("speaker_embeddings")
