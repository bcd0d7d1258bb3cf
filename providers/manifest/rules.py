"""The rules across entries, which a JSON Schema cannot state.

- Usernames are unique, ignoring letter case (Alloy does not document whether
  it compares them case-sensitively, so the safe reading is that it might not).
- A previous username is nobody's current username, and belongs to one entry.
- An empty ``users`` list needs ``allowEmpty: true``: it deletes every user.

Each clash is reported once, at its second occurrence, naming the line of the
first. Values of the wrong shape are skipped; the schema check reports them.
"""

from __future__ import annotations

from typing import Any

from providers.manifest.problems import Pointer, Problem, format_pointer
from providers.manifest.yaml_reader import Position, YamlDocument


def fold(name: str) -> str:
    """The form in which two usernames are compared."""
    return name.casefold()


def entry_problems(document: YamlDocument) -> list[Problem]:
    """Duplicate usernames, clashing previous usernames and an unintended
    empty manifest, in ``document.data`` as far as its shape allows."""
    data = document.data
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, list):
        return []
    problems: list[Problem] = []

    def report(pointer: Pointer, reason: str) -> None:
        at = document.values.get(pointer, Position(1, 1))
        problems.append(Problem(document.path, at.line, at.column, format_pointer(pointer), reason))

    if not users and data.get("allowEmpty") is not True:
        report(
            ("users",),
            "is empty, which would delete every user this stack manages; "
            "if that is intended, add 'allowEmpty: true' at the top level",
        )

    current: dict[str, tuple[str, Position]] = {}  # folded username -> (as written, where)
    for index, entry in enumerate(users):
        name = _name(entry, "username")
        if name is None:
            continue
        pointer: Pointer = ("users", index, "username")
        first = current.get(fold(name))
        if first is None:
            current[fold(name)] = (name, document.values[pointer])
        elif first[0] == name:
            report(pointer, f"duplicate username {name!r}; first on line {first[1].line}")
        else:
            report(
                pointer,
                f"username {name!r} differs from {first[0]!r} on line {first[1].line} only in letter case; "
                "usernames must be unique ignoring case",
            )

    claimed: dict[str, tuple[str, Position, int]] = {}  # folded previous name -> (as written, where, entry)
    for index, entry in enumerate(users):
        olds = entry.get("previousUsernames") if isinstance(entry, dict) else None
        if not isinstance(olds, list):
            continue
        own = _name(entry, "username")
        for position, old in enumerate(olds):
            if not isinstance(old, str) or not old.strip():
                continue
            pointer = ("users", index, "previousUsernames", position)
            key = fold(old)
            if own is not None and key == fold(own):
                report(pointer, f"{old!r} is this user's own username; list only former usernames")
            elif key in current:
                report(
                    pointer,
                    f"{old!r} is the username of the entry on line {current[key][1].line}; "
                    "a name cannot be both current and previous",
                )
            elif key not in claimed:
                claimed[key] = (old, document.values[pointer], index)
            elif claimed[key][2] != index:
                report(
                    pointer,
                    f"{old!r} is already a previous username on line {claimed[key][1].line}; "
                    "two users cannot share one",
                )
            elif claimed[key][0] != old:  # an exact repeat is the schema's uniqueItems
                first, first_at, _entry = claimed[key]
                report(pointer, f"{old!r} differs from {first!r} on line {first_at.line} only in letter case")
    return problems


def _name(entry: Any, key: str) -> str | None:
    value = entry.get(key) if isinstance(entry, dict) else None
    return value if isinstance(value, str) and value.strip() else None
