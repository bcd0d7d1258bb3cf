"""The rules across entries, and on characters, which a JSON Schema cannot state.

- A username holds no invisible or format character, private-use, surrogate
  or unassigned code point (``identity.invisible_character``); a full name no
  bidirectional control or line separator.
- Usernames are unique by ``identity.username_key``: ignoring letter case
  (Alloy does not document whether it compares them case-sensitively, so the
  safe reading is that it might not) and Unicode form (NFKC), so that
  ``café`` and ``cafe`` + U+0301, or ``ａda`` and ``ada``, are one user.
- A previous username is nobody else's current username, and belongs to one
  entry. A case or Unicode variant of the entry's own username is accepted
  (a rename of letter case or form); the very same name is refused as
  pointless. Previous usernames may hold invisible characters: listing such
  a name is how a user created before this rule is renamed to a visible one.
- An empty ``users`` list needs ``allowEmpty: true``: it deletes every user.

Each clash is reported once, at its second occurrence, naming the line of the
first. Values of the wrong shape are skipped; the schema check reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from providers.manifest.identity import invisible_character, same_spelling, username_key
from providers.manifest.problems import Pointer, Problem, format_pointer
from providers.manifest.yaml_reader import Position, YamlDocument

EMPTY_USERS = (
    "is empty, which would delete every user this stack manages; "
    "if that is intended, add 'allowEmpty: true' at the top level"
)


class _Seen(NamedTuple):
    name: str  # as written
    at: Position
    entry: int


@dataclass
class _Report:
    document: YamlDocument
    problems: list[Problem] = field(default_factory=list)

    def __call__(self, pointer: Pointer, reason: str) -> None:
        at = self.document.values.get(pointer, Position(1, 1))
        self.problems.append(Problem(self.document.path, at.line, at.column, format_pointer(pointer), reason))


def entry_problems(document: YamlDocument) -> list[Problem]:
    """Refused characters, duplicate usernames, clashing previous usernames
    and an unintended empty manifest, in ``document.data`` as far as its
    shape allows."""
    data = document.data
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, list):
        return []
    report = _Report(document)
    if not users and data.get("allowEmpty") is not True:
        report(("users",), EMPTY_USERS)
    _full_name_problems(users, report)
    current = _username_problems(users, report)
    _previous_username_problems(users, current, report)
    return report.problems


def _full_name_problems(users: list[Any], report: _Report) -> None:
    """A full name is shown in plans and in Alloy: no bidi control reorders it."""
    for index, entry in enumerate(users):
        full_name = entry.get("fullName") if isinstance(entry, dict) else None
        if isinstance(full_name, str):
            refused = invisible_character(full_name, bidi_only=True)
            if refused is not None:
                report(("users", index, "fullName"), refused)


def _username_problems(users: list[Any], report: _Report) -> dict[str, _Seen]:
    """Refused characters and duplicates among the current usernames; returns
    the first entry of each username key."""
    current: dict[str, _Seen] = {}
    for index, entry in enumerate(users):
        name = _name(entry, "username")
        if name is None:
            continue
        pointer: Pointer = ("users", index, "username")
        refused = invisible_character(name)
        if refused is not None:
            report(pointer, refused)
            continue
        key = username_key(name)
        first = current.get(key)
        if first is None:
            current[key] = _Seen(name, report.document.values[pointer], index)
        elif first.name == name:
            report(pointer, f"duplicate username {name!r}; first on line {first.at.line}")
        else:
            shown, other, ignoring = _shown(name, first.name)
            rule = "ignoring case" if ignoring == "letter case" else "ignoring case and Unicode form (NFKC)"
            report(
                pointer,
                f"username {shown} differs from {other} on line {first.at.line} only in {ignoring}; "
                f"usernames must be unique {rule}",
            )
    return current


def _previous_username_problems(users: list[Any], current: dict[str, _Seen], report: _Report) -> None:
    """Each previous username is a former name of its own entry only."""
    claimed: dict[str, _Seen] = {}
    for index, entry in enumerate(users):
        olds = entry.get("previousUsernames") if isinstance(entry, dict) else None
        if not isinstance(olds, list):
            continue
        own = _name(entry, "username")
        own_key = username_key(own) if own is not None else None
        for position, old in enumerate(olds):
            if not isinstance(old, str) or not old.strip():
                continue
            pointer: Pointer = ("users", index, "previousUsernames", position)
            key = username_key(old)
            holder = current.get(key)
            if old == own:
                report(pointer, f"{old!r} is this user's own username; list only former usernames")
            elif key == own_key:
                continue  # a change of letter case or Unicode form: the same user, renamed
            elif holder is not None:
                report(pointer, _current_elsewhere(old, holder))
            elif key not in claimed:
                claimed[key] = _Seen(old, report.document.values[pointer], index)
            elif claimed[key].entry != index:
                first = claimed[key]
                if first.name.casefold() == old.casefold():
                    what = f"{old!r} is already a previous username on line {first.at.line}"
                else:
                    shown, other, ignoring = _shown(old, first.name)
                    what = f"{shown} is the previous username {other} on line {first.at.line}, ignoring {ignoring}"
                report(pointer, f"{what}; two users cannot share one")
            elif claimed[key].name != old:  # an exact repeat is the schema's uniqueItems
                first = claimed[key]
                shown, other, ignoring = _shown(old, first.name)
                report(pointer, f"{shown} differs from {other} on line {first.at.line} only in {ignoring}")


def _current_elsewhere(old: str, holder: _Seen) -> str:
    if old == holder.name:
        where = f"{old!r} is the username of the entry on line {holder.at.line}"
    else:
        shown, other, ignoring = _shown(old, holder.name)
        where = f"{shown} is the username {other} of the entry on line {holder.at.line}, ignoring {ignoring}"
    return f"{where}; a name cannot be both current and previous"


def _shown(name: str, other: str) -> tuple[str, str, str]:
    """Two different spellings of one username key, quoted so that they read
    differently, and what tells them apart: ``letter case`` (then plain
    ``repr``) or ``Unicode form or letter case`` (then every character
    outside printable ASCII as ``\\uXXXX``: ``'caf\\u00e9'``, ``'cafe\\u0301'``)."""
    if name.casefold() == other.casefold():
        return repr(name), repr(other), "letter case"
    return same_spelling(name), same_spelling(other), "Unicode form or letter case"


def _name(entry: Any, key: str) -> str | None:
    value = entry.get(key) if isinstance(entry, dict) else None
    return value if isinstance(value, str) and value.strip() else None
