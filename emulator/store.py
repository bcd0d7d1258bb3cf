"""SQLite storage of users.

Contract:
- Usernames are unique and compared exactly (case-sensitive, byte for byte):
  ``Alice`` and ``alice`` are two users. Alloy does not document its rule; an
  exact comparison is the strictest one that never merges two real users, and
  it is what SQLite's default BINARY collation enforces.
- Uniqueness is enforced by a UNIQUE constraint inside a transaction, so
  concurrent creates can never yield two users with one username.
- ``GET /users`` order is creation order (an AUTOINCREMENT sequence).
- A *reference* (``ref``) is a userId or a username. A userId match wins over a
  username that happens to look like another user's id.
- One connection, guarded by a lock: every method is safe to call from any
  thread (the app calls them from a worker thread, off the event loop).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

from emulator.defaults import MEMORY_DB
from emulator.ids import is_user_id, new_user_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL UNIQUE,
    username   TEXT NOT NULL UNIQUE,
    full_name  TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""
_COLUMNS = "seq, user_id, username, full_name, created_at, updated_at"


class UserNotFound(LookupError):
    """No user has this userId or username."""


class UsernameTaken(ValueError):
    """Another user already has this username."""


class UserIdTaken(ValueError):
    """Another user already has this userId (only possible when seeding with a fixed id)."""


@dataclass(frozen=True)
class User:
    """One stored user."""

    seq: int
    user_id: str
    username: str
    full_name: str | None
    created_at: str
    updated_at: str

    def public(self) -> dict[str, str | None]:
        """The user as the public API shows it (``fullName`` is null when never set)."""
        return {"userId": self.user_id, "username": self.username, "fullName": self.full_name}

    def raw(self) -> dict[str, object]:
        """Every stored column, for the admin dump."""
        return {
            "seq": self.seq,
            "userId": self.user_id,
            "username": self.username,
            "fullName": self.full_name,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UserStore:
    """Users in one SQLite database (a file path, or ``:memory:``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open (and create if needed) the database at ``path``."""
        self.path = str(path)
        if self.path != MEMORY_DB:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=5.0)
        if self.path != MEMORY_DB:
            # WAL + NORMAL: a committed write survives the process being killed.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._conn:
            self._conn.execute(_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._conn:
            yield self._conn

    def close(self) -> None:
        """Close the database; the store is unusable afterwards."""
        with self._lock:
            self._conn.close()

    def create(self, username: str, full_name: str | None = None, *, user_id: str | None = None) -> User:
        """Insert a user and return it. Raises UsernameTaken (or UserIdTaken for a fixed id)."""
        now = _now()
        uid = user_id if user_id is not None else new_user_id()
        try:
            with self._transaction() as conn:
                cursor = conn.execute(
                    "INSERT INTO users (user_id, username, full_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                    (uid, username, full_name, now, now),
                )
                seq = cursor.lastrowid
        except sqlite3.IntegrityError as exc:
            _raise_conflict(exc)
        assert seq is not None
        return User(seq, uid, username, full_name, now, now)

    def list_users(self) -> list[User]:
        """Every user, in creation order."""
        with self._transaction() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM users ORDER BY seq").fetchall()
        return [User(*row) for row in rows]

    def count(self) -> int:
        """How many users are stored."""
        with self._transaction() as conn:
            (n,) = conn.execute("SELECT COUNT(*) FROM users").fetchone()
        return int(n)

    def get(self, ref: str) -> User:
        """The user whose userId or username is ``ref``. Raises UserNotFound."""
        with self._transaction() as conn:
            return self._find(conn, ref)

    def update(self, ref: str, *, username: str | None = None, full_name: str | None = None) -> User:
        """Change the username and/or fullName (None leaves a field as is) and return the user.

        Raises UserNotFound, or UsernameTaken when renaming onto another user's username.
        Renaming a user to its own username is a no-op, not a conflict.
        """
        try:
            with self._transaction() as conn:
                user = self._find(conn, ref)
                new_username = user.username if username is None else username
                new_full_name = user.full_name if full_name is None else full_name
                now = _now()
                conn.execute(
                    "UPDATE users SET username = ?, full_name = ?, updated_at = ? WHERE seq = ?",
                    (new_username, new_full_name, now, user.seq),
                )
        except sqlite3.IntegrityError as exc:
            _raise_conflict(exc)
        return User(user.seq, user.user_id, new_username, new_full_name, user.created_at, now)

    def delete(self, ref: str) -> User:
        """Delete the user and return what it was. Raises UserNotFound."""
        with self._transaction() as conn:
            user = self._find(conn, ref)
            conn.execute("DELETE FROM users WHERE seq = ?", (user.seq,))
        return user

    def clear(self) -> int:
        """Delete every user; return how many there were."""
        with self._transaction() as conn:
            return conn.execute("DELETE FROM users").rowcount

    @staticmethod
    def _find(conn: sqlite3.Connection, ref: str) -> User:
        row = None
        if is_user_id(ref):
            row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE user_id = ?", (ref,)).fetchone()
        if row is None:
            row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE username = ?", (ref,)).fetchone()
        if row is None:
            raise UserNotFound(ref)
        return User(*row)


def _raise_conflict(exc: sqlite3.IntegrityError) -> NoReturn:
    """Translate a UNIQUE violation into the store's own exceptions."""
    message = str(exc)
    if "users.username" in message:
        raise UsernameTaken("username already exists") from exc
    if "users.user_id" in message:
        raise UserIdTaken("userId already exists") from exc
    raise exc
