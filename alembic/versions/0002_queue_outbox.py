"""Queued tasks keep what they need to run after a restart; webhooks leave from an outbox table.

Revision ID: 0002_queue_outbox
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_queue_outbox"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("upload_path", sa.Text(), nullable=True))
        batch.add_column(sa.Column("inputs", sa.JSON(), nullable=True))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_identifier", sa.String(length=36), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.create_index(batch.f("ix_webhook_deliveries_task_identifier"), ["task_identifier"])
        batch.create_index(batch.f("ix_webhook_deliveries_status"), ["status"])
        batch.create_index(batch.f("ix_webhook_deliveries_next_attempt_at"), ["next_attempt_at"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("inputs")
        batch.drop_column("upload_path")
