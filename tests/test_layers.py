"""The layers: the core (job schema, use cases, models, audio, task store) imports no outside contract, no front
door and neither FastAPI nor the RunPod SDK."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
CORE = ["config.py", "errors.py", "runtime.py", "schemas.py", "services", "process", "ml", "audio", "db"]
DOORS = ("app.contracts", "app.api", "app.main", "handler", "fastapi", "starlette", "runpod")


def modules(entry: str) -> list[Path]:
    path = APP / entry
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def reaching(names: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(name for name in names if any(name == p or name.startswith(p + ".") for p in prefixes))


@pytest.mark.parametrize("entry", CORE)
def test_the_core_imports_no_door(entry: str) -> None:
    wrong = {str(path.relative_to(APP)): reaching(imported(path), DOORS) for path in modules(entry)}
    assert not {path: names for path, names in wrong.items() if names}


@pytest.mark.parametrize("entry", ["ml", "audio", "db"])
def test_what_lies_below_the_core_takes_plain_options(entry: str) -> None:
    # Models, audio and the task store know no request schema and no use case: they take plain arguments.
    above = ("app.schemas", "app.services", "app.process", *DOORS)
    wrong = {str(path.relative_to(APP)): reaching(imported(path), above) for path in modules(entry)}
    assert not {path: names for path, names in wrong.items() if names}
