import multiprocessing
from multiprocessing.synchronize import Barrier

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


def _upgrade_when_all_are_ready(url: str, ready: Barrier) -> None:
    engine = make_engine(url)
    ready.wait()
    upgrade(engine)
    engine.dispose()


def test_processes_starting_together_migrate_one_fresh_database(database_url: str) -> None:
    """The server and workers starting at once on an empty store: each upgrades it, none fails."""
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(4)
    processes = [
        spawn.Process(target=_upgrade_when_all_are_ready, args=(database_url, ready)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    engine = make_engine(database_url)
    assert "tasks" in inspect(engine).get_table_names()
    engine.dispose()
