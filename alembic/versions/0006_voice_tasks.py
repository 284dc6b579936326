"""Voices taken from a diarizing task keep its identifier; a voice's name is unique per owner by the enrolling
use case, no longer by the table, so whisperX-FastAPI's `/speakers` may repeat a label.

Revision ID: 0006_voice_tasks
Revises: 0005_voices
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_voice_tasks"
down_revision: str | None = "0005_voices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("voices") as batch:
        batch.add_column(sa.Column("task_id", sa.String(length=36), nullable=True))
        batch.drop_constraint(batch.f("uq_voices_owner_key"), type_="unique")
        batch.create_index(batch.f("ix_voices_task_id"), ["task_id"])
        batch.create_index("ix_voices_owner_key_name", ["owner_key", "name"])


def downgrade() -> None:
    with op.batch_alter_table("voices") as batch:
        batch.drop_index("ix_voices_owner_key_name")
        batch.drop_index(batch.f("ix_voices_task_id"))
        batch.create_unique_constraint(batch.f("uq_voices_owner_key"), ["owner_key", "name"])
        batch.drop_column("task_id")
