"""What a manifest check reports: ``Problem`` (one finding, with its place in
the file) and ``ManifestError`` (all of them at once).

A problem prints as ``users.yaml:12:7: users[3].username: must not be empty``:
the file as the user named it, 1-based line and column, a JSON-ish pointer to
the value (left out when the problem concerns the whole file), the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

Pointer = tuple[str | int, ...]


def format_pointer(pointer: Sequence[str | int]) -> str:
    """``("users", 3, "username")`` -> ``users[3].username``; the root is ``""``."""
    text = ""
    for part in pointer:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True)
class Problem:
    """One finding. ``line`` and ``column`` are 1-based; ``pointer`` is
    formatted (``users[3].username``) and empty for the file as a whole.

    ``plain_reason`` is the reason without any text of the file (set when
    ``reason`` quotes a key, value or tag): what is shown when the file is
    not recognisably a manifest (see ``without_content``)."""

    path: str
    line: int
    column: int
    pointer: str
    reason: str
    plain_reason: str | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}: "
        return f"{where}{self.pointer}: {self.reason}" if self.pointer else f"{where}{self.reason}"

    def without_content(self) -> Problem:
        """This problem with nothing of the file in it: no pointer (its keys
        are the file's) and ``plain_reason`` when the reason quotes the file."""
        return replace(self, pointer="", reason=self.plain_reason or self.reason, plain_reason=None)

    def sort_key(self) -> tuple[int, int, str, str]:
        """File order, then pointer and reason so that the order is total."""
        return (self.line, self.column, self.pointer, self.reason)


# More problems than this are summed up in one last line: past a hundred, the
# reader needs the first ones fixed, not a wall of text.
MAX_SHOWN_PROBLEMS = 100


class ManifestError(Exception):
    """The manifest is not valid. ``problems`` holds every finding, sorted by
    position and without repeats; ``str()`` is one problem per line (the
    first ``MAX_SHOWN_PROBLEMS``, then a line that counts the rest)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = sorted(set(problems), key=Problem.sort_key)
        if not self.problems:
            raise ValueError("ManifestError needs at least one problem")
        lines = [str(problem) for problem in self.problems[:MAX_SHOWN_PROBLEMS]]
        hidden = self.problems[MAX_SHOWN_PROBLEMS:]
        if hidden:
            first = hidden[0]
            summary = Problem(first.path, first.line, first.column, "", f"and {len(hidden)} more problems")
            lines.append(str(summary))
        super().__init__("\n".join(lines))
