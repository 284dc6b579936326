"""Alembic environment: migrates the database named by the service settings, or a given connection."""

from __future__ import annotations

from logging.config import fileConfig

from sqlalchemy import text

from alembic import context
from app.config import get_settings
from app.db.models import Base
from app.db.session import make_engine

config = context.config
# Held for the migration's transaction on PostgreSQL: the server and its workers, starting together on one empty
# store, migrate it one after another instead of racing to create the same tables.
MIGRATION_LOCK = 0x77687370  # any constant shared by every process of the service
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations(connection) -> None:  # type: ignore[no-untyped-def]
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        run_migrations(conn)
        conn.commit()
    engine.dispose()
