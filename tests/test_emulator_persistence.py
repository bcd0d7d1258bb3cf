"""SQLite persistence: restarts lose nothing, concurrent creates never duplicate a username."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from emulator.store import UsernameImmutable, UsernameTaken, UserNotFound, UserStore
from emulator.testing import EmulatorProcess

TIMEOUT_S = 10


@pytest.mark.parametrize(
    "stop", [pytest.param("sigterm", id="clean-stop"), pytest.param("sigkill", id="killed")]
)
def test_a_restart_loses_nothing(emulator_factory: Callable[..., EmulatorProcess], tmp_path: Path, stop: str) -> None:
    database = tmp_path / "users.db"
    first = emulator_factory(db=database)
    headers = first.headers()
    for name in ("zed", "amy", "bob"):
        assert requests.post(first.users_url(), json={"username": name, "fullName": name.title()}, headers=headers, timeout=TIMEOUT_S).ok
    requests.put(first.users_url("amy"), json={"username": "amy@example.com"}, headers=headers, timeout=TIMEOUT_S)
    requests.delete(first.users_url("bob"), headers=headers, timeout=TIMEOUT_S)
    before = requests.get(first.users_url(), headers=headers, timeout=TIMEOUT_S).json()
    if stop == "sigkill":
        first.kill()
    else:
        assert first.stop() == 0

    second = emulator_factory(db=database)
    after = requests.get(second.users_url(), headers=headers, timeout=TIMEOUT_S).json()
    assert after == before
    assert [user["username"] for user in after["data"]] == ["zed", "amy@example.com"]
    created = requests.post(second.users_url(), json={"username": "new"}, headers=headers, timeout=TIMEOUT_S)
    assert created.status_code == 200
    assert [user["username"] for user in second.users()] == ["zed", "amy@example.com", "new"]


def test_fifty_concurrent_creates_of_one_username_make_one_user(emulator: EmulatorProcess) -> None:
    attempts = 50
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []
    lock = threading.Lock()

    def create() -> None:
        barrier.wait()
        response = requests.post(
            emulator.users_url(), json={"username": "race@example.com"}, headers=emulator.headers(), timeout=TIMEOUT_S
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=create) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(statuses) == {200: 1, 409: attempts - 1}
    assert [user["username"] for user in emulator.users()] == ["race@example.com"]


def test_concurrent_creates_of_different_usernames_all_succeed(emulator: EmulatorProcess) -> None:
    names = [f"user_{i}" for i in range(40)]
    results: dict[str, int] = {}

    def create(name: str) -> None:
        response = requests.post(emulator.users_url(), json={"username": name}, headers=emulator.headers(), timeout=TIMEOUT_S)
        results[name] = response.status_code

    threads = [threading.Thread(target=create, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results.values()) == {200}
    users = emulator.users()
    assert sorted(user["username"] for user in users) == sorted(names)
    assert len({user["userId"] for user in users}) == len(names)
    assert [user["seq"] for user in users] == sorted(user["seq"] for user in users)


# --- the store itself -------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[UserStore]:
    opened = UserStore(tmp_path / "store.db")
    yield opened
    opened.close()


def test_store_keeps_creation_order_and_exact_usernames(store: UserStore) -> None:
    for name in ("b", "A", "a", "c"):
        store.create(name)
    assert [user.username for user in store.list_users()] == ["b", "A", "a", "c"]
    with pytest.raises(UsernameTaken):
        store.create("A")


def test_store_resolves_a_reference_by_id_then_username(store: UserStore) -> None:
    jane = store.create("jane", "Jane")
    assert store.get(jane.user_id) == jane
    assert store.get("jane") == jane
    with pytest.raises(UserNotFound):
        store.get("nobody")


def test_store_update_is_atomic_on_conflict(store: UserStore) -> None:
    store.create("alice")
    bob = store.create("bob", "Bob")
    with pytest.raises(UsernameTaken):
        store.update("bob", username="alice", full_name="Changed")
    assert store.get(bob.user_id).full_name == "Bob"


def test_store_survives_reopening(tmp_path: Path) -> None:
    first = UserStore(tmp_path / "again.db")
    jane = first.create("jane")
    first.close()
    second = UserStore(tmp_path / "again.db")
    assert second.list_users() == [jane]
    second.close()


def test_memory_store_is_private_to_its_instance() -> None:
    one, two = UserStore(":memory:"), UserStore(":memory:")
    one.create("jane")
    assert two.count() == 0
    assert one.clear() == 1


def test_store_folds_case_only_when_asked(store: UserStore) -> None:
    ada = store.create("Ada")
    with pytest.raises(UsernameTaken):
        store.create("ADA", fold_case=True)
    assert store.get("aDA", fold_case=True) == ada
    with pytest.raises(UserNotFound):
        store.get("aDA")
    store.create("ADA")  # exact comparison: another user


def test_store_immutable_modes(store: UserStore) -> None:
    jane = store.create("jane", "Jane")
    with pytest.raises(UsernameImmutable):
        store.update("jane", username="jd", full_name="J", immutable="reject")
    assert store.get(jane.user_id).full_name == "Jane"
    kept = store.update("jane", username="jd", full_name="J", immutable="ignore")
    assert (kept.username, kept.full_name) == ("jane", "J")


def test_store_pages_in_creation_order(store: UserStore) -> None:
    names = [f"u{i}" for i in range(5)]
    for name in names:
        store.create(name)
    page, total = store.list_page(offset=3, limit=10)
    assert ([user.username for user in page], total) == (["u3", "u4"], 5)
    assert store.list_page(offset=1 << 70, limit=1) == ([], 5)


def test_store_keeps_users_without_username(store: UserStore) -> None:
    first, second = store.create(None, "One"), store.create(None)
    assert [user.username for user in store.list_users()] == [None, None]
    assert first.public() == {"userId": first.user_id, "fullName": "One"}
    assert second.updated() == {"userId": second.user_id, "fullName": None}


OLD_SCHEMA = """
CREATE TABLE users (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL UNIQUE,
    username   TEXT NOT NULL UNIQUE,
    full_name  TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


def test_a_database_of_the_previous_emulator_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_SCHEMA)
        for i, name in enumerate(["Ada@X.test", "bob", "gone"], start=1):
            conn.execute(
                "INSERT INTO users (user_id, username, full_name, created_at, updated_at) VALUES (?, ?, ?, 't', 't')",
                (f"{i:024x}", name, name.title()),
            )
        conn.execute("DELETE FROM users WHERE username = 'gone'")
    conn.close()
    store = UserStore(path)
    try:
        assert [(user.seq, user.username) for user in store.list_users()] == [(1, "Ada@X.test"), (2, "bob")]
        assert store.get("ada@x.test", fold_case=True).user_id == f"{1:024x}"
        with pytest.raises(UsernameTaken):
            store.create("ADA@x.test", fold_case=True)
        nameless = store.create(None)
        assert nameless.seq == 4  # the sequence survives: seq 3 (deleted) is not reused
    finally:
        store.close()
    reopened = UserStore(path)  # already migrated: opens as is
    assert [user.username for user in reopened.list_users()] == ["Ada@X.test", "bob", None]
    reopened.close()
