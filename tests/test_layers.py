"""The layers, declared once: a module imports only from its own layer and the layers below it. The modules are
read from the tree (every top-level module and package of `app/`, and `handler.py`), so a new one must be given a
layer before this passes."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

# Lowest first. A module imports from its own layer and the layers below it, never from one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("app", "app.config", "app.errors", "app.json_types"),  # version, settings, error codes, JSON's types
    # Models, audio, the task store and the metrics: plain options, never a request schema or a use case.
    ("app.ml", "app.audio", "app.db", "app.observability", "app.text"),
    # The job schema, and what a process builds once and holds while it lives.
    (
        "app.schemas",
        "app.task_schemas",
        "app.transcript_schemas",
        "app.voice_schemas",
        "app.vocabulary_schemas",
        "app.text_schemas",
        "app.runtime",
    ),
    ("app.outbox",),  # the webhook outbox and its deliverer
    ("app.services",),  # the use cases
    ("app.process",),  # the executor, start-up, the health report, idle model unloading
    ("app.api",),  # our REST routes and the HTTP app around every contract
    ("app.contracts",),  # one package per outside contract
    ("app.main", "app.__main__", "handler"),  # the entry points
)
LAYER = {name: rank for rank, names in enumerate(LAYERS) for name in names}
# Web frameworks and the RunPod SDK belong to the doors: the HTTP app (`app.api`) and what sits above it.
DOOR_LIBRARIES = ("fastapi", "starlette", "runpod")
BELOW_THE_DOORS = [name for name in LAYER if LAYER[name] < LAYER["app.api"]]


def tree_modules() -> set[str]:
    """Every top-level module and package of `app/` (the package's own `__init__` as `app`), and `handler`."""
    found = {"handler"}
    for path in APP.iterdir():
        if path.suffix == ".py":
            found.add("app" if path.stem == "__init__" else f"app.{path.stem}")
        elif path.is_dir() and any(path.rglob("*.py")):
            found.add(f"app.{path.name}")
    return found


def files(module: str) -> list[Path]:
    if module == "handler":
        return [ROOT / "handler.py"]
    if module == "app":
        return [APP / "__init__.py"]
    path = APP / module.removeprefix("app.")
    return sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def is_ours(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


@cache
def imported(path: Path) -> frozenset[str]:
    """Every module `path` imports, wherever the import sits (module level, a function, `TYPE_CHECKING`), relative
    imports resolved, and `from package import module` counted as that module."""
    package = path.relative_to(ROOT).parent.parts  # where `from . import x` starts, in a package or a module
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            anchor = package[: len(package) - node.level + 1] if node.level else ()
            base = ".".join([*anchor, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if is_ours(f"{base}.{alias.name}"))
    return frozenset(names)


def owner(name: str) -> str | None:
    """The layered module an imported name belongs to, or None outside ours."""
    parts = name.split(".")
    return next((".".join(parts[:n]) for n in (2, 1) if ".".join(parts[:n]) in LAYER), None)


def upward_imports(module: str) -> dict[str, list[str]]:
    """What `module` imports from layers above its own: file -> imported names."""
    found: dict[str, list[str]] = {}
    for path in files(module):
        above = sorted(
            name
            for name in imported(path)
            if (target := owner(name)) is not None and LAYER[target] > LAYER[module]
        )
        if above:
            found[str(path.relative_to(ROOT))] = above
    return found


def test_every_module_has_a_layer() -> None:
    modules = tree_modules()
    assert sorted(modules - LAYER.keys()) == [], "give each new module a layer in LAYERS"
    assert sorted(LAYER.keys() - modules) == [], "LAYERS names a module that is gone"


@pytest.mark.parametrize("module", sorted(LAYER))
def test_no_module_imports_a_layer_above_its_own(module: str) -> None:
    assert upward_imports(module) == {}


@pytest.mark.parametrize("module", BELOW_THE_DOORS)
def test_below_the_doors_no_web_framework_or_runpod(module: str) -> None:
    # What lies below the doors serves both: a worker runs it without FastAPI, the HTTP server without RunPod.
    wrong = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported(path) if name.split(".")[0] in DOOR_LIBRARIES
        )
        for path in files(module)
    }
    assert {path: names for path, names in wrong.items() if names} == {}
