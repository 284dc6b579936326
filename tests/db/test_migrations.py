from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.db.migrate import downgrade, upgrade
from app.db.models import Base
from app.db.session import make_engine


def test_upgrade_creates_the_task_table_and_downgrade_removes_it(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("tasks")}
    assert {"identifier", "status", "task_type", "external_job_id", "lease_expires_at", "result"} <= columns
    downgrade(engine)
    assert "tasks" not in inspect(engine).get_table_names()
    upgrade(engine)  # and up again from nothing
    assert "tasks" in inspect(engine).get_table_names()
    engine.dispose()


def test_migrations_match_the_orm_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert "tasks" in inspect(engine).get_table_names()
    engine.dispose()
