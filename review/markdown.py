"""Markdown that shows untrusted text (usernames, full names, error messages)
literally in a GitHub comment: no formatting, HTML, links, @mentions or
#references come alive, and a table cell is never split."""

from __future__ import annotations

import re
import unicodedata

_BACKTICKS = re.compile(r"`+")
# Bidirectional overrides and isolates can make a name read as another one.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def visible(text: str) -> str:
    """``text`` with control, line-separator and bidi characters shown as ``\\uXXXX``."""
    return "".join(
        f"\\u{ord(ch):04x}" if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS else ch
        for ch in text
    )


def code(text: str, *, in_table: bool = True) -> str:
    """An inline code span that shows ``text`` as it is.

    The fence is one backtick longer than the longest run inside; padding
    spaces keep a leading or trailing backtick (or a space pair) intact. In a
    table cell a pipe is written ``\\|`` (GFM splits cells on pipes even in code
    spans and turns ``\\|`` back into ``|`` there).
    """
    text = visible(text) or " "
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    span = f"{fence}{pad}{text}{pad}{fence}"
    return span.replace("|", "\\|") if in_table else span


def fenced(text: str, info: str = "text") -> str:
    """A fenced code block of ``text``, with a fence longer than any backtick run in it."""
    fence = "`" * max(3, max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A GFM table; the cells must already be Markdown."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
