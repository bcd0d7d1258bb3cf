"""Pytest fixtures that run the Alloy emulator (a plugin module).

``tests/conftest.py`` loads it with ``pytest_plugins = ["tests.support.emulator_fixtures"]``.

- ``emulator_server`` (session): one ``python -m emulator`` process per
  session (per xdist worker) on a free port, with a temporary SQLite file.
- ``emulator`` (function): that process, reset (no users, log, counters or
  faults) before the test; an ``emulator.testing.EmulatorProcess``.
- ``emulator_factory`` (function): starts extra emulator processes
  (``EmulatorProcess`` keyword arguments), all stopped after the test.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator.testing import EmulatorProcess

# Distinctive, so a test can prove that it never leaks into a log or an output.
EMULATOR_TEST_API_KEY = f"emu-test-key-{secrets.token_hex(8)}"


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """The session's emulator process (file database in a temporary folder)."""
    database = tmp_path_factory.mktemp("emulator") / "users.db"
    process = EmulatorProcess(db=database, api_key=EMULATOR_TEST_API_KEY).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def emulator(emulator_server: EmulatorProcess) -> EmulatorProcess:
    """The session's emulator, reset before the test."""
    emulator_server.admin.reset()
    return emulator_server


@pytest.fixture
def emulator_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., EmulatorProcess]]:
    """``start(**EmulatorProcess kwargs) -> started EmulatorProcess``; every one is stopped afterwards."""
    started: list[EmulatorProcess] = []

    def start(**kwargs: Any) -> EmulatorProcess:
        kwargs.setdefault("api_key", EMULATOR_TEST_API_KEY)
        kwargs.setdefault("db", tmp_path_factory.mktemp("emulator") / "users.db")
        process = EmulatorProcess(**kwargs).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()  # also tidies up after a process a test already stopped or killed
