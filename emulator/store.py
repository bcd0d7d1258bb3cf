"""SQLite storage of users.

Contract:
- Usernames are unique and compared exactly (case-sensitive, byte for byte)
  by default: ``Alice`` and ``alice`` are two users. Alloy does not document
  its rule; an exact comparison is the strictest one that never merges two
  real users, and it is what SQLite's default BINARY collation enforces.
  With ``fold_case=True`` (the ``case_insensitive_usernames`` variant) a
  create or rename is also refused when another user's username is equal
  after ``str.casefold`` (kept in the indexed ``username_folded`` column).
- Uniqueness is enforced by a UNIQUE constraint (and the case-folded check)
  inside one locked transaction, so concurrent creates can never yield two
  users with one username.
- A user may have no username (NULL): only seeding through the admin API
  makes one (Alloy's list example shows such a user).
- ``GET /users`` order is creation order (an AUTOINCREMENT sequence).
- A *reference* (``ref``) is a userId or a username. A userId match wins over a
  username that happens to look like another user's id; with ``fold_case``
  an exact username match wins over the oldest case-insensitive one.
- A database written by an older emulator (``username NOT NULL``, no
  ``username_folded``) is migrated in place when opened; rows, userIds and
  the sequence are kept.
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

_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS {table} (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         TEXT NOT NULL UNIQUE,
    username        TEXT UNIQUE,
    username_folded TEXT,
    full_name       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
)
"""
_INDEX_SQL = "CREATE INDEX IF NOT EXISTS users_username_folded ON users (username_folded)"
_COLUMNS = "seq, user_id, username, full_name, created_at, updated_at"
# The largest offset handed to SQLite (its integers are 64-bit).
_MAX_OFFSET = 1 << 62


class UserNotFound(LookupError):
    """No user has this userId or username."""


class UsernameTaken(ValueError):
    """Another user already has this username."""


class UserIdTaken(ValueError):
    """Another user already has this userId (only possible when seeding with a fixed id)."""


class UsernameImmutable(ValueError):
    """A rename was refused: usernames cannot be changed (the ``reject`` mode)."""


def fold(username: str | None) -> str | None:
    """The case-folded form used for case-insensitive comparison."""
    return None if username is None else username.casefold()


@dataclass(frozen=True)
class User:
    """One stored user."""

    seq: int
    user_id: str
    username: str | None
    full_name: str | None
    created_at: str
    updated_at: str

    def public(self) -> dict[str, str | None]:
        """The user as the public API shows it (``fullName`` is null when never set;
        no ``username`` key when the user has none)."""
        shown: dict[str, str | None] = {"userId": self.user_id, "username": self.username, "fullName": self.full_name}
        if self.username is None:
            del shown["username"]
        return shown

    def updated(self) -> dict[str, str | None]:
        """The body of a successful PUT: ``userId``, ``fullName``, ``username`` (left out when none)."""
        shown: dict[str, str | None] = {"userId": self.user_id, "fullName": self.full_name, "username": self.username}
        if self.username is None:
            del shown["username"]
        return shown

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
        self._conn.create_function("emulator_casefold", 1, fold, deterministic=True)
        _migrate(self._conn)
        with self._conn:
            self._conn.execute(_TABLE_SQL.format(table="users"))
            self._conn.execute(_INDEX_SQL)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._conn:
            yield self._conn

    def close(self) -> None:
        """Close the database; the store is unusable afterwards."""
        with self._lock:
            self._conn.close()

    def create(
        self,
        username: str | None,
        full_name: str | None = None,
        *,
        user_id: str | None = None,
        fold_case: bool = False,
    ) -> User:
        """Insert a user and return it. Raises UsernameTaken (or UserIdTaken for a fixed id).

        ``fold_case``: also refuse a username equal to another one ignoring case.
        ``username=None`` stores a user without a username.
        """
        now = _now()
        uid = user_id if user_id is not None else new_user_id()
        try:
            with self._transaction() as conn:
                if fold_case:
                    _refuse_folded_duplicate(conn, username, except_seq=None)
                cursor = conn.execute(
                    "INSERT INTO users (user_id, username, username_folded, full_name, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (uid, username, fold(username), full_name, now, now),
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

    def list_page(self, offset: int, limit: int) -> tuple[list[User], int]:
        """Users ``offset`` .. ``offset+limit-1`` in creation order, and how many users there are."""
        with self._transaction() as conn:
            (total,) = conn.execute("SELECT COUNT(*) FROM users").fetchone()
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM users ORDER BY seq LIMIT ? OFFSET ?", (limit, min(offset, _MAX_OFFSET))
            ).fetchall()
        return [User(*row) for row in rows], int(total)

    def count(self) -> int:
        """How many users are stored."""
        with self._transaction() as conn:
            (n,) = conn.execute("SELECT COUNT(*) FROM users").fetchone()
        return int(n)

    def get(self, ref: str, *, fold_case: bool = False) -> User:
        """The user whose userId or username is ``ref``. Raises UserNotFound."""
        with self._transaction() as conn:
            return self._find(conn, ref, fold_case)

    def update(
        self,
        ref: str,
        *,
        username: str | None = None,
        full_name: str | None = None,
        fold_case: bool = False,
        immutable: str = "off",
    ) -> User:
        """Change the username and/or fullName (None leaves a field as is) and return the user.

        Raises UserNotFound, or UsernameTaken when renaming onto another user's username.
        Renaming a user to its own username is a no-op, not a conflict.
        ``immutable`` (the ``immutable_usernames`` variant), when ``username``
        differs from the stored one (exact comparison): ``"ignore"`` drops the
        rename and applies the rest; ``"reject"`` raises UsernameImmutable and
        changes nothing.
        """
        try:
            with self._transaction() as conn:
                user = self._find(conn, ref, fold_case)
                if username is not None and username != user.username and immutable != "off":
                    if immutable == "reject":
                        raise UsernameImmutable("username cannot be changed after creation")
                    username = None
                new_username = user.username if username is None else username
                new_full_name = user.full_name if full_name is None else full_name
                if fold_case and new_username != user.username:
                    _refuse_folded_duplicate(conn, new_username, except_seq=user.seq)
                now = _now()
                conn.execute(
                    "UPDATE users SET username = ?, username_folded = ?, full_name = ?, updated_at = ? WHERE seq = ?",
                    (new_username, fold(new_username), new_full_name, now, user.seq),
                )
        except sqlite3.IntegrityError as exc:
            _raise_conflict(exc)
        return User(user.seq, user.user_id, new_username, new_full_name, user.created_at, now)

    def delete(self, ref: str, *, fold_case: bool = False) -> User:
        """Delete the user and return what it was. Raises UserNotFound."""
        with self._transaction() as conn:
            user = self._find(conn, ref, fold_case)
            conn.execute("DELETE FROM users WHERE seq = ?", (user.seq,))
        return user

    def clear(self) -> int:
        """Delete every user; return how many there were."""
        with self._transaction() as conn:
            return conn.execute("DELETE FROM users").rowcount

    @staticmethod
    def _find(conn: sqlite3.Connection, ref: str, fold_case: bool = False) -> User:
        row = None
        if is_user_id(ref):
            row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE user_id = ?", (ref,)).fetchone()
        if row is None:
            row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE username = ?", (ref,)).fetchone()
        if row is None and fold_case:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM users WHERE username_folded = ? ORDER BY seq LIMIT 1", (fold(ref),)
            ).fetchone()
        if row is None:
            raise UserNotFound(ref)
        return User(*row)


def _refuse_folded_duplicate(conn: sqlite3.Connection, username: str | None, except_seq: int | None) -> None:
    if username is None:
        return
    row = conn.execute(
        "SELECT 1 FROM users WHERE username_folded = ? AND seq IS NOT ? LIMIT 1", (fold(username), except_seq)
    ).fetchone()
    if row is not None:
        raise UsernameTaken("username already exists")


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a database of an older emulator (username NOT NULL, no username_folded) to the current schema."""
    columns = {row[1]: row for row in conn.execute("PRAGMA table_info(users)").fetchall()}
    if not columns:
        return  # a new database
    username_not_null = bool(columns["username"][3])
    if "username_folded" in columns and not username_not_null:
        return
    old_sequence = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'users'").fetchone()
    isolation = conn.isolation_level
    conn.isolation_level = None  # explicit transaction: DDL included
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DROP TABLE IF EXISTS users_migrating")
            conn.execute(_TABLE_SQL.format(table="users_migrating"))
            conn.execute(
                "INSERT INTO users_migrating (seq, user_id, username, username_folded, full_name, created_at, updated_at)"
                " SELECT seq, user_id, username, emulator_casefold(username), full_name, created_at, updated_at"
                " FROM users ORDER BY seq"
            )
            conn.execute("DROP TABLE users")
            conn.execute("ALTER TABLE users_migrating RENAME TO users")
            if old_sequence is not None:
                conn.execute("DELETE FROM sqlite_sequence WHERE name = 'users'")
                conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('users', ?)", (old_sequence[0],))
            conn.execute(_INDEX_SQL)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.isolation_level = isolation


def _raise_conflict(exc: sqlite3.IntegrityError) -> NoReturn:
    """Translate a UNIQUE violation into the store's own exceptions."""
    message = str(exc)
    if "users.username" in message:
        raise UsernameTaken("username already exists") from exc
    if "users.user_id" in message:
        raise UserIdTaken("userId already exists") from exc
    raise exc
