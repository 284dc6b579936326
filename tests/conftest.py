"""Fixtures: task stores on SQLite and a real PostgreSQL server, settings overrides, a clean runtime."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from app.config import get_settings
from app.db.migrate import upgrade
from app.db.repository import TaskRepository
from app.db.session import make_engine, make_session_factory
from app.runtime import stop_runtime
from tests.pg_cluster import temporary_postgres

BACKENDS = ["sqlite", "postgresql"]
_backend_counts = {backend: 0 for backend in BACKENDS}


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server: `TEST_POSTGRES_URL` when given, else a throwaway local cluster."""
    given = os.environ.get("TEST_POSTGRES_URL")
    if given:
        yield given
        return
    with temporary_postgres() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend: a SQLite file, or a fresh PostgreSQL database."""
    _backend_counts[request.param] += 1
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tasks.db'}"
        return
    server_url = request.getfixturevalue("postgres_url")
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated task store."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def tasks(engine: Engine) -> TaskRepository:
    return TaskRepository(make_session_factory(engine), lease_seconds=60)


@pytest.fixture
def service_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings pointing at a temporary data dir (embedded SQLite), and a runtime torn down after."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PRELOAD_MODELS", "false")
    get_settings.cache_clear()
    yield tmp_path / "data"
    stop_runtime()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def multilingual_model() -> str:
    """The multilingual Whisper `base` folder (assembled once from its two packages), as a request's model."""
    from tests.multilingual import multilingual_model_folder

    return str(multilingual_model_folder())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts = ", ".join(f"{count} on {backend}" for backend, count in _backend_counts.items())
    terminalreporter.write_line(f"task-store tests run: {counts}")
