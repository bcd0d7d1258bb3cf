"""Markdown that shows untrusted text (usernames, full names, error messages)
literally in a GitHub comment: no formatting, HTML, links, @mentions or
#references come alive, and a table cell is never split."""

from __future__ import annotations

import re
import unicodedata

_BACKTICKS = re.compile(r"`+")


def visible(text: str) -> str:
    """``text`` with every character that does not print written as an escape,
    so that two different strings never render the same.

    Escaped as ``\\uXXXX`` (``\\UXXXXXXXX`` above U+FFFF): every character of
    Unicode categories C* (controls, format characters such as U+200B ZERO
    WIDTH SPACE and the bidi controls, surrogates, private-use, unassigned)
    and Z* (separators) except the plain space U+0020; and, in a text that is
    not in Unicode NFC, its combining marks (M*), so that ``cafe`` + U+0301
    does not read as ``café``. A backslash is doubled when what follows it
    would read as part of an escape (a backslash, ``u`` or ``U``), which makes
    the rendering reversible: ``ada\\u200b`` typed out is shown as
    ``ada\\\\u200b``, ``ada`` + U+200B as ``ada\\u200b``.
    """
    marks_too = not unicodedata.is_normalized("NFC", text)
    pieces = [_shown(character, marks_too) for character in text]
    for index in range(len(pieces) - 2, -1, -1):
        if pieces[index] == "\\" and pieces[index + 1][:1] in ("\\", "u", "U"):
            pieces[index] = "\\\\"
    return "".join(pieces)


def _shown(character: str, marks_too: bool) -> str:
    category = unicodedata.category(character)
    if character != " " and (category[0] in "CZ" or (marks_too and category[0] == "M")):
        code_point = ord(character)
        return f"\\u{code_point:04x}" if code_point <= 0xFFFF else f"\\U{code_point:08x}"
    return character


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
