"""Saved vocabularies: named lists of keyterms and replacements per owner, named by transcribing requests.

Revision ID: 0007_vocabularies
Revises: 0006_voice_tasks
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_vocabularies"
down_revision: str | None = "0006_voice_tasks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vocabularies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("owner_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("keyterms", sa.JSON(), nullable=False),
        sa.Column("replacements", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vocabularies")),
        sa.UniqueConstraint("owner_key", "name", name=op.f("uq_vocabularies_owner_key")),
    )
    with op.batch_alter_table("vocabularies") as batch:
        batch.create_index(batch.f("ix_vocabularies_owner"), ["owner"])


def downgrade() -> None:
    op.drop_table("vocabularies")
