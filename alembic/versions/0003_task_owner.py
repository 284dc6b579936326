"""Record which API key made each task (a fingerprint, never the key).

Revision ID: 0003_task_owner
Revises: 0002_queue_outbox
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_task_owner"
down_revision: str | None = "0002_queue_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_tasks_owner"), ["owner"])


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index(batch.f("ix_tasks_owner"))
        batch.drop_column("owner")
