"""Run Alembic migrations from code (at start-up and in tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine

from alembic import command

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def _run(engine: Engine, action: Callable[[Config, str], None], revision: str) -> None:
    with engine.begin() as connection:
        config = Config(str(ALEMBIC_INI))
        config.attributes.update(configure_logger=False, connection=connection)
        action(config, revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (the latest by default)."""
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the schema back to `revision` (empty by default)."""
    _run(engine, command.downgrade, revision)
